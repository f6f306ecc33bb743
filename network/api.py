"""The JSON API at ``/api/v1`` (flask-smorest): OpenAPI from the marshmallow schemas, NL API
Design Rules conventions, and RFC 9457 problem+json for every error.

flask-smorest's own HTTP error handler answers ``{"code", "status"}`` and would swallow
authlib's 401 headers; :class:`ProblemApi` routes every error through ``network.errors``.
``create_app`` passes the list of API blueprints (features' ``api.py``) to :func:`init_api`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import time

from flask import Flask, current_app, g
from limits import parse as parse_limit
from flask_smorest import Api
from flask_smorest import Blueprint as SmorestBlueprint
from webargs.flaskparser import FlaskParser
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from network.db import db
from network.errors import Forbidden, NotAuthenticated, TooManyRequests, handle_http_exception
from network.extensions import csrf, limiter
from network.oauth import bearer_principal, insufficient_scope, raise_insufficient_scope
from network.models import Organisation, OrganisationType, Region


class ProblemApi(Api):
    def handle_http_exception(self, error):  # noqa: D102 - see module docstring
        return handle_http_exception(error)

    def _register_error_handlers(self):
        # Error handling is app-wide and lives in network.errors.
        pass


class _Parser(FlaskParser):
    #: NL API Design Rules: invalid input is 400, not webargs' 422
    DEFAULT_VALIDATION_STATUS = 400


class Blueprint(SmorestBlueprint):
    """The API blueprint every feature uses (400 on invalid input)."""

    ARGUMENTS_PARSER = _Parser()


class ProblemSchema(Schema):
    """RFC 9457 problem details, as every error of the API (one schema for every feature's API)."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String()
    requestId = fields.String()
    errors = fields.List(fields.Dict(), metadata={"description": "Per veld: `{field, message}` (400)."})
    allowed = fields.List(fields.String(), metadata={"description": "De statussen die nu wel kunnen (409)."})


def api_require(permission: Any, message: str = "U heeft hier geen toegang toe.") -> Callable:
    """Like :func:`network.web.require`, for the API. A request with ``Authorization: Bearer``
    acts as that token's API client (network.oauth; an invalid token is 401 with
    ``WWW-Authenticate``, never a fall-back to the browser session); without one, as the
    browser session's account. Anonymous is 401, a token without the scope for ``permission``
    403 ``insufficient_scope``, an actor without the permission 403 with ``message``. Marks the
    principal's channel as ``api`` for the audit log."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            principal = api_principal()
            if not principal.is_authenticated:
                raise NotAuthenticated("Log in om de API te gebruiken: stuur een OAuth2-token "
                                       "(Authorization: Bearer).", headers={"WWW-Authenticate": 'Bearer realm="schakel"'})
            if not principal.has(permission):
                if insufficient_scope(permission, principal):
                    raise_insufficient_scope(permission)
                raise Forbidden(message)
            return view(*args, **kwargs)

        wrapped.required_permission = permission  # read by the authorization-matrix test
        return wrapped

    return decorator


def api_principal():
    """The actor of an API request (bearer token, else browser session), channel ``api``;
    memoised on ``g`` like :func:`network.web.current_principal`."""
    from network.web import current_principal, request_source

    if g.get("api_principal") is None:
        principal = bearer_principal(request_source(channel="api"))
        if principal is None:
            principal = dataclasses.replace(current_principal(), channel="api")
        else:
            _limit_client(principal.client_id)
        g.principal = g.api_principal = principal
    return g.api_principal


def _limit_client(client_id: int) -> None:
    """The per-client rate limit (``API_CLIENT_RATE_LIMIT``; in Redis when ``REDIS_URL`` is set,
    so it holds across workers): 429 with ``Retry-After`` when spent."""
    if not limiter.enabled:
        return
    limit = parse_limit(current_app.config["API_CLIENT_RATE_LIMIT"])
    if not limiter.limiter.hit(limit, "api-client", str(client_id)):
        reset = limiter.limiter.get_window_stats(limit, "api-client", str(client_id)).reset_time
        raise TooManyRequests("Deze client doet te veel verzoeken; probeer het zo weer.",
                              headers={"Retry-After": str(max(1, int(reset - time.time())))})


blp = Blueprint("directory", __name__, url_prefix="/api/v1", description="Regio's en organisaties (openbaar)")


class RegionSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String()
    name = fields.String()


class OrganisationQueryArgs(Schema):
    class Meta:
        ordered = True

    type = fields.String(validate=validate.OneOf([t.value for t in OrganisationType]),
                         metadata={"description": "Soort organisatie"})
    region = fields.String(validate=validate.Length(min=1, max=40), metadata={"description": "Regiocode"})


class OrganisationSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String()
    type = fields.Enum(OrganisationType, by_value=True)
    region = fields.Function(lambda o: o.region.code)
    gemeente = fields.String(allow_none=True)
    brin = fields.String(allow_none=True)
    kvk = fields.String(allow_none=True)
    website = fields.String(allow_none=True)


@blp.route("/regions")
@blp.response(200, RegionSchema(many=True))
def list_regions():
    """Alle regio's van de hub."""
    return db.session.execute(select(Region).order_by(Region.name)).scalars().all()


@blp.route("/organisations")
@blp.arguments(OrganisationQueryArgs, location="query")
@blp.response(200, OrganisationSchema(many=True))
def list_organisations(args):
    """Actieve organisaties in het netwerk, te filteren op soort en regio."""
    query = select(Organisation).join(Region).where(Organisation.is_active.is_(True)).order_by(Organisation.name)
    if "type" in args:
        query = query.where(Organisation.type == OrganisationType(args["type"]))
    if "region" in args:
        query = query.where(Region.code == args["region"])
    return db.session.execute(query).scalars().all()


def init_api(app: Flask, blueprints: list[Blueprint]) -> Api:
    """One Api per app (tests build several apps); API clients use tokens, not cookies: no CSRF."""
    api = ProblemApi(app, spec_kwargs={"info": {"description": "Schakel: de regionale hub van school naar werk."}})
    for blueprint in [blp, *blueprints]:
        api.register_blueprint(blueprint)
        csrf.exempt(blueprint)
    app.extensions["schakel.api"] = api
    return api
