"""The OAuth 2 endpoints of the hub (RFC 6749 client credentials, RFC 7009 revocation, RFC 7662
introspection) and their metadata (RFC 8414). Errors here are OAuth's own JSON
(``{"error": "invalid_client"}``, what every OAuth client library reads), not problem+json.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, url_for

from network.extensions import csrf, limiter
from network.oauth import SCOPES, authorization

bp = Blueprint("oauth", __name__)
csrf.exempt(bp)

_token_limit = limiter.limit(lambda: current_app.config["TOKEN_RATE_LIMIT"])


@bp.post("/oauth/token")
@_token_limit
def issue_token():
    response = authorization.create_token_response()
    return response


@bp.post("/oauth/revoke")
@_token_limit
def revoke_token():
    response = authorization.create_endpoint_response("revocation")
    return response


@bp.post("/oauth/introspect")
@_token_limit
def introspect_token():
    return authorization.create_endpoint_response("introspection")


@bp.get("/.well-known/oauth-authorization-server")
def metadata():
    base = current_app.config["BASE_URL"].rstrip("/")
    auth_methods = ["client_secret_basic", "client_secret_post"]
    return jsonify({
        "issuer": base,
        "token_endpoint": base + url_for("oauth.issue_token"),
        "revocation_endpoint": base + url_for("oauth.revoke_token"),
        "introspection_endpoint": base + url_for("oauth.introspect_token"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "scopes_supported": sorted(SCOPES),
        "service_documentation": base + "/api/v1/docs",
    })
