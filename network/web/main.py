"""Dashboard, language switch, health probes, the metrics for Prometheus, the public signing
keys and the audit log's published checkpoints."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import text

from network.audit_publish import PAGE_MAX, checkpoints_page
from network.clock import utcnow
from network.db import db
from network.errors import problem_response
from network.extensions import csrf
from network.health import hub_health
from network.keys import published_jwks
from network.metrics import CONTENT_TYPE, render
from network.web import current_principal, keyring, local_path, login_required_view, operations_health
from network.web.metrics import scrape_refusal

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
    return render_template("network/dashboard.html", health=operations_health(),
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


@bp.get("/readyz/scheduler")
def readyz_scheduler():
    """The scheduler process, which no web request needs but without which no mail leaves and no
    audit event is sealed: its heartbeat, and every job started within twice its interval. 503
    when not (a separate probe: /readyz stays about this web process)."""
    health = hub_health(db.session, current_app.config, utcnow())
    return jsonify(health.scheduler_json()), 200 if health.scheduler_ok else 503


@bp.get("/metrics")
def metrics():
    """The hub's figures for Prometheus (README, Monitoring); only with the metrics token. The
    scheduler's, the outbox's and the audit log's are read now, once for this scrape."""
    refusal = scrape_refusal()
    if refusal is not None:
        return refusal
    body = render(lambda: hub_health(db.session, current_app.config, utcnow()))
    return Response(body, content_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})


@bp.get("/.well-known/jwks.json")
def jwks():
    """The public halves of the hub's Ed25519 signing keys, with key ids (RFC 7517)."""

    response = jsonify(published_jwks(db.session, keyring()))
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/.well-known/audit-checkpoints")
def audit_checkpoints():
    """The signed checkpoints of the audit log, newest first, for witnesses to keep
    (``?before=SEQ`` for older ones, ``?limit=`` up to 1000; ``next`` links the next page)."""
    try:
        before = int(request.args["before"]) if "before" in request.args else None
        limit = int(request.args.get("limit", 100))
    except ValueError:
        return problem_response(400, detail=_("before en limit zijn gehele getallen."))
    if not 1 <= limit <= PAGE_MAX or (before is not None and not 1 <= before < 2**63):
        return problem_response(400, detail=_("limit ligt tussen 1 en %(max)s; before is een volgnummer (1 of meer).",
                                              max=PAGE_MAX))
    page, next_before = checkpoints_page(db.session, before=before, limit=limit)
    following = url_for("main.audit_checkpoints", before=next_before, limit=limit) if next_before else None
    response = jsonify(checkpoints=page, next=following, jwks=url_for("main.jwks"))
    response.headers["Cache-Control"] = "public, max-age=30"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


csrf.exempt(healthz)
csrf.exempt(readyz)
csrf.exempt(readyz_scheduler)
csrf.exempt(metrics)
