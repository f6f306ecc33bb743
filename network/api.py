"""The JSON API at ``/api/v1`` (flask-smorest): OpenAPI from the marshmallow schemas, NL API
Design Rules conventions, and RFC 9457 problem+json for every error.

flask-smorest's own HTTP error handler answers ``{"code", "status"}`` and would swallow
authlib's 401 headers; :class:`ProblemApi` routes every error through ``network.errors``.
``create_app`` passes the list of API blueprints (features' ``api.py``) to :func:`init_api`.

The conventions hold for every feature's endpoints without work in their views:
:func:`api_require` runs authenticated POSTs through ``Idempotency-Key`` handling
(:mod:`network.idempotency`); :class:`network.api_openapi.ConventionsPlugin` documents, per
operation, the OAuth2 scopes, the errors every endpoint can answer (401/403/429 behind a token, 404 with path
parameters, 400/413 with a body, 409/422 for a reused key), the ``Idempotency-Key`` parameter
and the ``API-Version`` header; :func:`init_api` adds the request checks (413 before anything
reads an oversize body, ``Cache-Control: no-store`` on answers to requests with credentials)
and the docs page with self-hosted Swagger UI (the CSP allows no inline script, so it starts
from a static file).

The helpers every feature's API module uses are here too: :func:`json_body` (a JSON body
loaded with a schema: 415 unless JSON, 400 with the messages per field) and :func:`body_doc`
to document it, :func:`etag` and :func:`check_if_match` (428 without ``If-Match``, 412 when
stale) with :func:`if_match_doc`, and the problems they answer (``NOT_JSON``, ``STALE``,
``NO_IF_MATCH``) for ``bp.problems``. The messages per field come from
:func:`network.errors.field_messages`, as a form's and a service's do.
"""

from __future__ import annotations

import dataclasses
import functools
import http
import time
from collections.abc import Callable
from typing import Any

from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, current_app, g, json, render_template, request, url_for
from flask_smorest import Api
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest.utils import prepare_response
from limits import parse as parse_limit
from marshmallow import INCLUDE, Schema, ValidationError, fields, validate
from webargs.flaskparser import FlaskParser
from webargs.flaskparser import abort as webargs_abort
from werkzeug.exceptions import RequestEntityTooLarge

from network import idempotency
from network.api_openapi import ConventionsPlugin, addressed, document_conventions, schema_namer
from network.errors import (
    _HTTP_TITLES,
    Forbidden,
    NotAuthenticated,
    PreconditionFailed,
    PreconditionRequired,
    TooManyRequests,
    UnsupportedMediaType,
    ValidationFailed,
    field_messages,
    handle_http_exception,
)
from network.extensions import csrf, limiter
from network.oauth import bearer_principal, insufficient_scope, raise_insufficient_scope
from network.web import current_principal, request_source

PROBLEM_JSON = "application/problem+json"


class ProblemApi(Api):
    #: no catch-all ``default`` response: every status an operation can answer is documented
    #: (the generic ones by :class:`ConventionsPlugin`), so a client and schemathesis know them
    DEFAULT_ERROR_RESPONSE_NAME = None

    def handle_http_exception(self, error):
        return handle_http_exception(error)

    def _register_error_handlers(self):
        # Error handling is app-wide and lives in network.errors.
        pass

    def _register_responses(self):
        """The reusable error responses (``UNAUTHORIZED``, ...; flask-smorest's ``@arguments``
        refers to ``BAD_REQUEST``): RFC 9457 problem+json, as network.errors answers them."""
        for status in http.HTTPStatus:
            if status < 400:
                continue
            response = {"description": _HTTP_TITLES.get(status, status.phrase), "schema": ProblemSchema,
                        "headers": {"API-Version": "API-Version"}}
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)

    def _register_swagger_ui_rule(self, blueprint):
        # flask-smorest's page starts Swagger UI from an inline script, which the CSP forbids
        blueprint.add_url_rule("/docs", endpoint="openapi_swagger_ui", view_func=self._openapi_swagger_ui)

    def _openapi_swagger_ui(self):
        """The API documentation (Swagger UI, served from ``static/vendor``)."""
        return render_template("api/docs.html", title=self.spec.title,
                               spec_url=url_for(f"{self._make_doc_blueprint_name()}.openapi_json"))

    def _openapi_json(self):
        response = current_app.response_class(json.dumps(addressed(self.spec.to_dict()), indent=2, sort_keys=False),
                                              mimetype="application/json")
        # public, and readable by any origin's tooling (it holds no data)
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response


class _Parser(FlaskParser):
    #: NL API Design Rules: invalid input is 400, not webargs' 422
    DEFAULT_VALIDATION_STATUS = 400

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        webargs_abort(400, exc=error, messages={"json": ["Ongeldige JSON: stuur een geldig JSON-document."]})


class Blueprint(SmorestBlueprint):
    """The API blueprint every feature uses (400 on invalid input)."""

    ARGUMENTS_PARSER = _Parser()

    def problems(self, *codes: tuple[int, str]) -> Callable:
        """Document the RFC 9457 problem+json answers ``(status, description)`` of an operation."""

        def decorator(view: Callable) -> Callable:
            for status, description in reversed(codes):
                view = self.alt_response(status, schema=ProblemSchema, content_type="application/problem+json",
                                         description=description)(view)
            return view

        return decorator


class ProblemSchema(Schema):
    """RFC 9457 problem details, as every error of the API (one schema for every feature's API).
    Problems may carry extension members (``current_version`` on 412, ...): documented as open."""

    class Meta:
        unknown = INCLUDE

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String()
    requestId = fields.String()
    errors = fields.List(fields.Dict(), metadata={"description": "Per veld: `{field, message}` (400)."})
    allowed = fields.List(fields.String(), metadata={"description": "De statussen die nu wel kunnen (409)."})
    error = fields.String(metadata={"description": "OAuth2-foutcode (RFC 6750), bij 401 en 403 van een token."})
    error_description = fields.String(metadata={"description": "Toelichting bij `error`."})


def api_require(permission: Any, message: str = "U heeft hier geen toegang toe.") -> Callable:
    """Like :func:`network.web.require`, for the API. A request with ``Authorization: Bearer``
    acts as that token's API client (network.oauth; an invalid token is 401 with
    ``WWW-Authenticate``, never a fall-back to the browser session); without one, as the
    browser session's account. Anonymous is 401, a token without the scope for ``permission``
    403 ``insufficient_scope``, an actor without the permission 403 with ``message``. Marks the
    principal's channel as ``api`` for the audit log. A POST runs through the optional
    ``Idempotency-Key`` (:func:`network.idempotency.run_idempotent`)."""
    decorator = api_require_any(permission, message=message)

    def declare(view: Callable) -> Callable:
        wrapped = decorator(view)
        wrapped.required_permission = permission  # read by the authorization-matrix test
        del wrapped.required_permissions
        return wrapped

    return declare


def api_require_any(*permissions: Any, message: str = "U heeft hier geen toegang toe.") -> Callable:
    """:func:`api_require` for a route that school staff and partner staff each reach with their
    own permission (a school's students under ``student_view``, a partner's under
    ``student_shared_view``): any one of ``permissions`` will do. A client whose role holds one
    of them but whose token's scope grants none is 403 ``insufficient_scope``."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            principal = api_principal()
            if not principal.is_authenticated:
                raise NotAuthenticated("Log in om de API te gebruiken: stuur een OAuth2-token "
                                       "(Authorization: Bearer).",
                                       headers={"WWW-Authenticate": 'Bearer realm="schakel"'})
            if not any(principal.has(permission) for permission in permissions):
                for permission in permissions:
                    if insufficient_scope(permission, principal):
                        raise_insufficient_scope(permission)
                raise Forbidden(message)
            if request.method == "POST":
                return idempotency.run_idempotent(principal, view, args, kwargs)
            return view(*args, **kwargs)

        wrapped.required_permissions = tuple(permissions)  # read by the authorization-matrix test
        return wrapped

    return decorator


#: PostgreSQL text cannot hold NUL characters. ``network.request_checks.refuse_nul_input`` refuses them
#: in every request (400); this validator says so in the OpenAPI document of a query field.
NO_NUL = validate.Regexp(r"^[^\x00]*$", error="Tekst mag geen NUL-teken (\\u0000) bevatten.")


# -- request bodies, ETags and If-Match: the helpers every feature's API module uses ------------

#: the problem+json answers of these helpers, as an operation documents them (``bp.problems``)
NOT_JSON = (415, "Geen application/json")
STALE = (412, "If-Match klopt niet (meer)")
NO_IF_MATCH = (428, "If-Match ontbreekt")
#: the ``ETag`` header of an answer (``bp.response(..., headers=ETAG_HEADER)``)
ETAG_HEADER = {"ETag": {"description": 'W/"<versie>" voor If-Match', "schema": {"type": "string"}}}


def require_json() -> None:
    """415 unless the body is declared JSON (``Content-Type: application/json``). The API also
    takes the browser session's cookie and is exempt from the forms' CSRF token: a cross-site
    HTML form cannot send JSON, and a cross-site ``fetch`` with it needs a CORS preflight this
    API never grants. :func:`json_body` checks it too; call it first where 415 must come
    before other answers (412, 428)."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("Stuur de gegevens als JSON (Content-Type: application/json).")


def json_body(schema: Schema | type[Schema], *, dotted: bool = False, optional: bool = False) -> dict[str, Any]:
    """The request's JSON object loaded with ``schema`` (a class or an instance, e.g.
    ``Args(partial=True)``; unknown fields are refused by the schema).

    415 unless the body is JSON (:func:`require_json`). Malformed JSON, or JSON that is not an
    object, is 400 on ``body``; invalid fields are 400 with their messages per field
    (:func:`network.errors.field_messages`: a nested field's under the top-level field, or with
    ``dotted`` under its path, ``details.reason``). With ``optional`` an empty body is ``{}``.
    Document the body with :func:`body_doc`."""
    require_json()
    raw = request.get_json(silent=True) if request.get_data() or not optional else {}
    if not isinstance(raw, dict):
        raise ValidationFailed("Stuur een JSON-object.", errors={"body": ["Stuur een JSON-object."]})
    try:
        return (schema() if isinstance(schema, type) else schema).load(raw)
    except ValidationError as exc:
        raise ValidationFailed(errors=field_messages(exc, dotted=dotted)) from None


def body_doc(schema: Schema | type[Schema] | dict[str, Any], *, required: bool = True,
             description: str | None = None) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of a body :func:`json_body` loads: ``@bp.doc(requestBody=...)``.

    Not ``@bp.arguments(schema, location="json")``: webargs would load the body before the view
    runs, so an invalid body would answer 400 before the view's own 404, 403, 428 or 412 (and
    before the audit event of its read), a body that is not JSON 400 instead of 415, and the
    errors would not be named as :func:`json_body` names them."""
    body: dict[str, Any] = {"required": required, "content": {"application/json": {"schema": schema}}}
    if description:
        body["description"] = description
    return body


def etag(version: int) -> str:
    """The ETag of a row at ``version`` (weak: the same version may be written differently)."""
    return f'W/"{version}"'


def if_match_doc(what: str | None = None, *, required: bool = True) -> dict[str, Any]:
    """The OpenAPI ``If-Match`` parameter of an operation that :func:`check_if_match` guards;
    ``what`` names the row (``"de dienst"``, ``"het abonnement"``)."""
    read_as = f"van {what} zoals u {'het' if what.startswith('het ') else 'die'} las" if what else "zoals u die las"
    parameter = {"in": "header", "name": "If-Match", "schema": {"type": "string"},
                 "description": f'De ETag {read_as} (W/"<versie>").'}
    return {**parameter, "required": True} if required else parameter


def check_if_match(version: int, what: str, *, required: bool = True, stale: str | None = None) -> int | None:
    """The row version the caller saw, from ``If-Match`` (``W/"<version>"``, or ``*`` for any).

    428 when the header is missing (None when it is not ``required``); 412, with
    ``current_version``, when it names another version. ``what`` names the row in the
    messages (``"de verwijzing"``); ``stale`` replaces the 412's message."""
    if "If-Match" not in request.headers:
        if required:
            raise PreconditionRequired(f"Stuur If-Match met de ETag van {what} ({etag(version)}).")
        return None
    if not (request.if_match.star_tag or request.if_match.contains_weak(str(version))):
        moved = f"{what[0].upper()}{what[1:]} is intussen gewijzigd; haal de nieuwe stand op."
        raise PreconditionFailed(stale or moved, current_version=version)
    return version


def api_principal():
    """The actor of an API request (bearer token, else browser session), channel ``api``;
    memoised on ``g`` like :func:`network.web.current_principal`."""
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


def _check_body_size() -> None:
    """413 for an oversize API request body before anything (authentication included) reads it."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and request.path.startswith("/api/") and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge(f"Het verzoek is groter dan {limit} bytes.")


def _api_headers(response):
    """An answer to a request with credentials can hold personal data: never stored by a cache
    (the app's own hook does this for a logged-in principal; a token's 4xx counts too)."""
    if request.path.startswith("/api/") and "Authorization" in request.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


def init_api(app: Flask, blueprints: list[Blueprint]) -> Api:
    """One Api per app (tests build several apps), with ``blueprints`` in the OpenAPI document's
    order; API clients use tokens, not cookies: no CSRF."""
    base_url = app.config["BASE_URL"].rstrip("/")
    api = ProblemApi(app, spec_kwargs={
        "info": {"description": "Schakel: de regionale hub van school naar werk."},
        "servers": [{"url": base_url, "description": "Deze hub"}],
        "marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=schema_namer()),
        "extra_plugins": [ConventionsPlugin(app)]})
    document_conventions(api, app)
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
        csrf.exempt(blueprint)
    app.before_request(_check_body_size)
    app.after_request(_api_headers)
    app.extensions["schakel.api"] = api
    return api
