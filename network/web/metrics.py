"""The web side of :mod:`network.metrics`: counting every request, and who may read
``/metrics`` (the view itself is ``main.metrics``).

Reading needs the bearer token ``metrics_token`` from the secrets file (``schakel keys
metrics-token`` adds one to an existing file): ``Authorization: Bearer <token>``, compared in
constant time. A token rather than an allow-list of addresses: the scraper usually reaches the
hub through the TLS proxy (so the hub sees the proxy's address, or one from ``X-Forwarded-For``
that only the proxy vouches for), and a token travels with the scrape config wherever the
monitoring runs. Operators who want an allow-list as well put it in the proxy (README, Monitoring).
"""

from __future__ import annotations

import hmac

from flask import Flask, Response, current_app, request
from flask_babel import gettext as _

from network import metrics
from network.db import db
from network.errors import problem_response
from network.request_log import elapsed_seconds


def init_metrics(app: Flask) -> None:
    """Count every request. Call it before the other extensions add their hooks (after the
    request timer, :func:`network.request_log.start_request_timer`): the count (an
    ``after_request`` hook registered early runs late) sees the status after the commit point
    settled it."""
    app.after_request(_count_request)
    with app.app_context():
        metrics.watch_pool(db.engine)


def _count_request(response: Response) -> Response:
    metrics.count_request(request.endpoint, request.method, response.status_code, elapsed_seconds())
    return response


def scrape_refusal() -> Response | None:
    """Why this request may not read the metrics (a problem+json answer), or None when it may."""
    expected = current_app.config["SECRETS"].get("metrics_token")
    if not expected:
        return problem_response(404, detail=_(
            "Er is geen metrics-token ingesteld, dus /metrics staat uit. Maak er een met `schakel keys "
            "metrics-token` en herstart de hub."))
    scheme, _sep, given = request.headers.get("Authorization", "").partition(" ")
    given = given.strip()
    if scheme.lower() != "bearer" or not given:
        return problem_response(401, detail=_("Geef het metrics-token mee: Authorization: Bearer <token>."),
                                headers={"WWW-Authenticate": 'Bearer realm="schakel-metrics"'})
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return problem_response(401, detail=_("Dit metrics-token klopt niet."), headers={
            "WWW-Authenticate": 'Bearer realm="schakel-metrics", error="invalid_token"'})
    if request.environ.get("wsgi.multiprocess") and not metrics.MULTIPROCESS_DIR:
        # each worker would answer with only its own counts, a different total at every scrape
        return problem_response(503, detail=_(
            "De hub draait met meerdere werkprocessen zonder PROMETHEUS_MULTIPROC_DIR: elk proces telt dan voor "
            "zich. Start gunicorn met -c python:network.gunicorn_conf (README, Monitoring)."))
    return None
