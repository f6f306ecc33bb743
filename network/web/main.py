"""Dashboard, language switch, health probes and the public signing keys."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import text

from network.db import db
from network.extensions import csrf
from network.keys import published_jwks
from network.web import current_principal, keyring, local_path, login_required_view

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    if current_principal().is_authenticated:
        return redirect(url_for("main.dashboard"))
    return render_template("network/index.html")


@bp.get("/dashboard")
@login_required_view
def dashboard():
    """The landing page after login. Open to every account: one without a membership (a
    parent or guardian) is shown where its own pages are instead of a 403."""
    return render_template("network/dashboard.html",
                           has_portal="consent.home" in current_app.view_functions)


@bp.post("/taal")
def set_language():
    """Switch the interface language (a form, so it works without JavaScript)."""
    locale = request.form.get("locale", "")
    if locale in current_app.config["LANGUAGES"]:
        session["locale"] = locale
        if current_user.is_authenticated:
            current_user.locale = locale
    return redirect(local_path(request.form.get("next")) or url_for("main.index"))


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Readiness: the database answers and its schema is at the newest migration."""
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(conn).get_current_heads())
        script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
        heads = set(script.get_heads())
    except Exception:  # noqa: BLE001 - the probe reports, it does not explain: any failure to check is "not ready"
        current_app.logger.warning("readiness check: database unreachable")
        return jsonify(status="unavailable", database="unreachable"), 503
    if current != heads:
        return jsonify(status="unavailable", database="ok", migrations="behind",
                       current=sorted(current), head=sorted(heads)), 503
    return jsonify(status="ok", database="ok", migrations="current")


@bp.get("/.well-known/jwks.json")
def jwks():
    """The public halves of the hub's Ed25519 signing keys, with key ids (RFC 7517)."""

    response = jsonify(published_jwks(db.session, keyring()))
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


csrf.exempt(healthz)
csrf.exempt(readyz)
