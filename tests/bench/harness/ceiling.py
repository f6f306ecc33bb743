"""The ceiling: a bare Flask app returning a constant JSON body. The harness runs it under the
same gunicorn command as the hub; every hub figure is reported as a ratio to it."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
def hello():
    return jsonify(status="ok", service="ceiling")
