"""The OpenAPI document of the JSON API: what every operation shares, documented once.

:class:`ConventionsPlugin` documents, per operation, the OAuth2 scopes, the errors every
endpoint can answer (401/403/429 behind a token, 404 with path parameters, 400/413 with a body,
409/422 for a reused key), the ``Idempotency-Key`` parameter and the ``API-Version`` header;
:func:`document_conventions` declares the security scheme, headers and parameter they refer to,
and :func:`schema_namer` keeps schema names unique across features. :func:`network.api.init_api`
plugs them into the app's Api.
"""

from __future__ import annotations

import http
from collections.abc import Callable
from typing import Any

from apispec import BasePlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Flask, current_app, request
from flask_smorest import Api

from network import idempotency
from network.oauth import SCOPES

#: the OpenAPI security scheme of partner systems' tokens
SECURITY_SCHEME = "oauth2"


def scopes_granting(*permissions: Any) -> list[str]:
    """The OAuth2 scopes whose tokens may hold one of ``permissions``."""
    return [name for name, scope in SCOPES.items() if any(p in scope.permissions for p in permissions)]


_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class ConventionsPlugin(BasePlugin):
    """Documents what every operation shares, from its route and its view: the security
    requirement (the scopes granting ``api_require``'s permission), the errors it can answer
    whatever the view does, the ``Idempotency-Key`` parameter on POST and the ``API-Version``
    header on every response. What an operation documents itself wins."""

    def __init__(self, app: Flask):
        super().__init__()
        self.app = app

    def operation_helper(self, path=None, operations=None, **kwargs):
        rule = kwargs.get("rule")
        view = self.app.view_functions.get(rule.endpoint) if rule is not None else None
        permissions = getattr(view, "required_permissions", None) or (
            (view.required_permission,) if hasattr(view, "required_permission") else ())
        for method, operation in (operations or {}).items():
            if method not in _METHODS:
                continue
            _document_operation(method, operation, rule, permissions)


def _document_operation(method: str, operation: dict[str, Any], rule: Any, permissions: tuple) -> None:
    """One operation's shared parts, in the document's order: security, parameters, responses."""
    if permissions:
        scopes = scopes_granting(*permissions)
        operation.setdefault("security", [{SECURITY_SCHEME: [s]} for s in scopes] or [{SECURITY_SCHEME: []}])
    if method == "post":
        operation.setdefault("parameters", []).append(idempotency.HEADER)
    responses = operation.setdefault("responses", {})
    for status in _shared_statuses(method, rule, permissions):
        if status not in responses and str(status) not in responses:
            responses[str(status)] = http.HTTPStatus(status).name
    _document_response_headers(method, responses, permissions)


def _shared_statuses(method: str, rule: Any, permissions: tuple) -> list[int]:
    """The statuses an operation can answer whatever its view does."""
    statuses = []
    if permissions:
        statuses += [401, 403, 429]
    if rule is not None and rule.arguments:
        statuses.append(404)
    if method in ("post", "put", "patch"):
        statuses += [400, 413]
    if method == "post" and permissions:
        statuses += [409, 422]
    return statuses


def _document_response_headers(method: str, responses: dict[Any, Any], permissions: tuple) -> None:
    """``API-Version`` on every response; ``Idempotent-Replayed`` on an authenticated POST's
    answers but server errors (those are never stored for a replay)."""
    for status, response in responses.items():
        if isinstance(response, dict):
            headers = response.setdefault("headers", {})
            headers.setdefault("API-Version", "API-Version")
            if method == "post" and permissions and not str(status).startswith("5"):
                headers.setdefault(idempotency.REPLAYED_HEADER, idempotency.REPLAYED_HEADER)


def _nullable_enum(self, field, ret=None, **kwargs) -> dict:
    """apispec (OpenAPI 3.1) makes an ``allow_none`` field's type nullable but leaves ``null``
    out of its ``enum``: the documented schema would refuse the answers' nulls."""
    if field.allow_none and "enum" in (ret or {}) and None not in ret["enum"]:
        return {"enum": [*ret["enum"], None]}
    return {}


def schema_namer() -> Callable[[Any], str]:
    """apispec's schema names (the class name without ``Schema``), kept unique across features:
    a second ``NamedSchema`` from another module becomes ``ConsentNamed`` instead of apispec's
    warning and ``Named1``. One namer per spec (tests build several apps)."""
    owners: dict[str, type] = {}

    def name(schema: Any) -> str:
        cls = resolve_schema_cls(schema)
        cls = cls[0] if isinstance(cls, list) else cls
        base = cls.__name__.removesuffix("Schema") or cls.__name__
        module = cls.__module__.split(".")
        for candidate in (base, module[0].title() + base, "".join(p.title() for p in module) + base):
            if owners.setdefault(candidate, cls) is cls:
                return candidate
        return f"{base}{id(cls)}"

    return name


def document_conventions(api: Api, app: Flask) -> None:
    components = api.spec.components
    components.security_scheme(SECURITY_SCHEME, {
        "type": "oauth2",
        "description": "OAuth2 client credentials (RFC 6749 §4.4): een partnersysteem vraagt met zijn "
                       "client_id en geheim een token (hoogstens een uur geldig) en stuurt dat als "
                       "`Authorization: Bearer`.",
        "flows": {"clientCredentials": {"tokenUrl": app.config["BASE_URL"].rstrip("/") + "/oauth/token",
                                        "scopes": {name: scope.description for name, scope in SCOPES.items()}}}})
    components.header("API-Version", {"description": "De versie van de API die antwoordt (NL API Design Rules).",
                                      "required": True, "schema": {"type": "string"}})
    components.header(idempotency.REPLAYED_HEADER, {
        "description": "`true` als dit het bewaarde antwoord is op een eerder verzoek met dezelfde "
                       "Idempotency-Key (er is niets opnieuw gedaan).",
        "schema": {"type": "string", "enum": ["true"]}})
    components.parameter(idempotency.HEADER, "header", {
        "required": False,
        "description": "Optioneel (draft-ietf-httpapi-idempotency-key-header): een unieke sleutel, bijvoorbeeld "
                       "een UUID. Hetzelfde verzoek met dezelfde sleutel krijgt binnen "
                       f"{app.config['IDEMPOTENCY_HOURS']} uur hetzelfde antwoord terug (met "
                       "`Idempotent-Replayed: true`) en wordt niet nog eens uitgevoerd; dezelfde sleutel met "
                       "een ander verzoek is 422, terwijl het eerste nog loopt 409. Geldt voor aanroepen met "
                       "een token of sessie; zonder wordt de header genegeerd.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": idempotency.KEY_PATTERN}})
    api.ma_plugin.converter.add_attribute_function(_nullable_enum)


def public_base_url() -> str:
    """The hub's address as a client should call it: ``SCHAKEL_BASE_URL`` when the operator set
    it (always in production), else the address this request came to (behind a proxy as the
    proxy names it, with ``SCHAKEL_PROXY_HOPS``)."""
    if current_app.config.get("BASE_URL_CONFIGURED"):
        return current_app.config["BASE_URL"].rstrip("/")
    return request.url_root.rstrip("/")


def addressed(spec: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document ``spec`` with :func:`public_base_url` as its server and in the token
    URL of the security scheme (a copy: the Api's own document is shared by all requests)."""
    base = public_base_url()
    spec = {**spec, "servers": [{**server, "url": base} for server in spec.get("servers", [])]}
    schemes = spec.get("components", {}).get("securitySchemes", {})
    if SECURITY_SCHEME in schemes:
        scheme = schemes[SECURITY_SCHEME]
        flow = {**scheme["flows"]["clientCredentials"], "tokenUrl": base + "/oauth/token"}
        scheme = {**scheme, "flows": {**scheme["flows"], "clientCredentials": flow}}
        spec["components"] = {**spec["components"], "securitySchemes": {**schemes, SECURITY_SCHEME: scheme}}
    return spec
