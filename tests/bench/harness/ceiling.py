"""The ceiling: a bare Flask app returning a constant JSON body. The harness runs it under the
same gunicorn command as the hub; every hub figure is reported as a ratio to it.

``/query`` is the same bare app doing one SQL round trip through a SQLAlchemy pool on the
bench database (``DATABASE_URL``): the least any page that reads the database does. Its ratio
shows how much of the ceiling is left once a request touches the database at all.
"""

import os

from flask import Flask, jsonify
from sqlalchemy import create_engine, text

app = Flask(__name__)
_engine = create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True) if os.environ.get("DATABASE_URL") else None


@app.get("/")
def hello():
    return jsonify(status="ok", service="ceiling")


@app.get("/query")
def one_query():
    with _engine.connect() as conn:
        row = conn.execute(text("SELECT id, name FROM region ORDER BY id LIMIT 1")).one()
    return jsonify(id=row.id, name=row.name)
