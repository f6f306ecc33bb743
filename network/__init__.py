"""Schakel's core: the app factory. ``flask --app network ...`` and ``schakel ...`` find it."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Any

from flask import Flask, g, request
from flask_babel import get_locale
from flask_talisman import Talisman

from network import clock

PROJECT_ROOT = Path(__file__).resolve().parent.parent
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

# prometheus-client reads PROMETHEUS_MULTIPROC_DIR when it is imported (network.metrics, after this
# package) and writes there at once: an empty value (a blank line in an env file) means none, not
# "files in the working directory", and a directory not made yet is made.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR") == "":
    del os.environ["PROMETHEUS_MULTIPROC_DIR"]
elif os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)  # its files go there at import


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the hub. ``config`` overrides everything else (tests pass a dict)."""
    from network.config import load_config
    from network.crypto import Keyring
    from network.db import db
    from network.errors import init_errors
    from network.extensions import babel, csrf, limiter, migrate
    from network.i18n import select_locale
    from network.passwords import make_hasher
    from network.request_checks import refuse_nul_input, refuse_unreadable_json
    from network.request_log import configure_logging, log_request, start_request_timer
    from network.sessions import ServerSessionInterface
    from network.transaction import init_transactions
    from network.web.metrics import init_metrics

    instance_path = os.environ.get("SCHAKEL_INSTANCE_PATH") or str(PROJECT_ROOT / "instance")
    app = Flask(
        __name__,
        instance_path=instance_path,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    # before the configuration is read, so what reading it logs is in the chosen format too
    configure_logging((config or {}).get("LOG_FORMAT") or os.environ.get("LOG_FORMAT", "text"))
    app.config.update(load_config(app.instance_path, config))

    app.extensions["schakel.keyring"] = Keyring(app.config["SECRETS"])
    app.extensions["schakel.hasher"] = make_hasher(app.config["ARGON2_TIME_COST"], app.config["ARGON2_MEMORY_COST"],
                                                 max_concurrent=app.config["ARGON2_MAX_CONCURRENT"])
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"),
                     render_as_batch=True, compare_type=True)
    # before the other extensions' hooks: the one request timer starts first, and the request's
    # log line and its count (after_request hooks registered early run late) see the final status
    app.before_request(start_request_timer)
    app.after_request(log_request)
    init_metrics(app)
    app.session_interface = ServerSessionInterface()
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(Path(__file__).parent / "translations"))

    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.filters["wall_time"] = clock.wall_time
    app.jinja_env.filters["wall_date"] = clock.wall_date
    app.config["RATELIMIT_ENABLED"] = app.config.get("RATELIMIT_ENABLED", True)
    limiter.init_app(app)
    production = app.config["SCHAKEL_ENV"] == "production"
    app.extensions["schakel.talisman"] = Talisman(
        app,
        force_https=production,
        strict_transport_security=production,
        strict_transport_security_max_age=31536000,
        session_cookie_secure=production,
        session_cookie_http_only=True,
        frame_options="DENY",
        referrer_policy="same-origin",
        content_security_policy={
            "default-src": "'self'",
            "img-src": "'self' data:",
            "style-src": "'self'",
            "script-src": "'self'",
            "form-action": "'self'",
            "frame-ancestors": "'none'",
            "base-uri": "'none'",
            "object-src": "'none'",
        },
    )
    if app.config["PROXY_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_HOPS"],
                                x_proto=app.config["PROXY_HOPS"], x_host=app.config["PROXY_HOPS"])

    @app.before_request  # first of the hooks the blueprints add, so their errors carry the id too
    def _request_id() -> None:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex

    # before the blueprints' hooks, which may read the body or query with the input
    app.before_request(refuse_unreadable_json)
    app.before_request(refuse_nul_input)

    _register_blueprints(app)
    init_errors(app)

    @app.after_request
    def _headers(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if request.path.startswith("/api/"):
            response.headers["API-Version"] = app.config["API_VERSION"]
        if getattr(g, "principal", None) is not None and g.principal.is_authenticated:
            # Pages of a logged-in user can hold personal data: never cache them.
            response.headers["Cache-Control"] = "no-store"
        return response

    init_transactions(app)  # the last after_request hook registered, so it runs first

    from network.cli import register_cli

    register_cli(app)
    return app


def _register_blueprints(app: Flask) -> None:
    """The explicit list of blueprints; features are imported here, never at module level.
    Importing a feature package registers its jobs, access bases and demo data with the core."""
    # the view modules that add their routes to referrals.blueprint.bp, socialmap.blueprint.bp,
    # consent.agreements.blueprint.bp, referrals.route_views.bp and referrals.placements.api_blueprint.bp
    import consent.agreements.edit_views
    import consent.agreements.views  # noqa: F401 - imported for its routes, as the one above
    import referrals.exit_handover_views
    import referrals.exit_views
    import referrals.instrument_api
    import referrals.instrument_views
    import referrals.placements.api_assessments
    import referrals.placements.api_contacts
    import referrals.placements.assessment_inbox_views
    import referrals.placements.assessment_student_views
    import referrals.placements.assessment_views
    import referrals.placements.employer_views
    import referrals.placements.guidance_views
    import referrals.placements.proposal_views
    import referrals.placements.protocol_views
    import referrals.placements.student_views
    import referrals.placements.views
    import referrals.sent_views
    import referrals.views  # noqa: F401 - imported for its routes, as the fifteen around it
    import socialmap.bulk_views
    import socialmap.employer_views
    import socialmap.views  # noqa: F401 - imported for its routes
    from consent.admin_views import bp as consent_admin_bp
    from consent.agreements.api import bp as agreements_api_bp
    from consent.agreements.blueprint import bp as agreements_bp
    from consent.agreements.sign_views import bp as agreement_signing_bp
    from consent.agreements.verify_views import bp as agreement_verify_bp
    from consent.api import bp as consents_api_bp
    from consent.partner_views import bp as consent_partner_bp
    from consent.staff_views import bp as consent_staff_bp
    from consent.views import bp as consent_bp
    from network.api import init_api
    from network.directory_api import bp as directory_api_bp
    from network.oauth import init_oauth
    from network.student_api import bp as students_api_bp
    from network.web import init_web
    from network.web.admin import bp as admin_bp
    from network.web.api_clients import bp as api_clients_bp
    from network.web.auth import bp as auth_bp
    from network.web.dev import bp as dev_bp
    from network.web.main import bp as main_bp
    from network.web.notifications import bp as notifications_bp
    from network.web.oauth import bp as oauth_bp
    from network.web.students import bp as students_bp
    from network.web.webhooks import bp as webhooks_admin_bp
    from network.webhook_api import bp as webhooks_api_bp
    from referrals.api import bp as referrals_api_bp
    from referrals.blueprint import bp as referrals_bp
    from referrals.dashboard_views import bp as region_bp
    from referrals.inbox_views import bp as inbox_bp
    from referrals.placements.api import bp as placements_api_bp
    from referrals.placements.blueprint import bp as placements_bp
    from referrals.route_api import bp as routes_api_bp
    from referrals.route_views import bp as routes_bp
    from referrals.student_route_views import bp as my_route_bp
    from socialmap.api import bp as hsds_bp
    from socialmap.blueprint import bp as socialmap_bp
    from socialmap.service_api import bp as services_api_bp

    init_web(app)
    init_oauth(app)
    for blueprint in (main_bp, auth_bp, oauth_bp, api_clients_bp, students_bp, admin_bp, dev_bp, notifications_bp,
                      consent_bp, consent_staff_bp, consent_partner_bp, consent_admin_bp, socialmap_bp, hsds_bp,
                      referrals_bp, inbox_bp, routes_bp, my_route_bp, placements_bp, region_bp, agreements_bp,
                      agreement_signing_bp, agreement_verify_bp, webhooks_admin_bp):
        app.register_blueprint(blueprint)
    init_api(app, [directory_api_bp, referrals_api_bp, routes_api_bp, placements_api_bp, agreements_api_bp,
                   webhooks_api_bp, students_api_bp, consents_api_bp, services_api_bp])


