"""What the referral and route APIs share: JSON-only writes (415 otherwise), bodies loaded
with unknown fields refused (400 with the messages per field, nested names dotted), ``If-Match``
(428 missing, 412 stale) and the problem+json answers an operation documents.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from marshmallow import Schema, ValidationError

from network.errors import DomainError, PreconditionFailed, PreconditionRequired, ValidationFailed


class UnsupportedMediaType(DomainError):
    status, code, title = 415, "unsupported-media-type", "Niet-ondersteund formaat"


def require_json() -> None:
    """415 unless the body is declared JSON: a cross-site HTML form cannot send that, and a
    cross-site ``fetch`` with it needs a CORS preflight this API never grants (the browser
    session also authenticates here, and the API is exempt from the forms' CSRF token)."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("Stuur de gegevens als JSON (Content-Type: application/json).")


def check_if_match(version: int, what: str) -> None:
    """428 without ``If-Match``, 412 unless it names ``version`` (``W/"<version>"`` or ``*``)."""
    if "If-Match" not in request.headers:
        raise PreconditionRequired(f'Stuur If-Match met de ETag van {what} (W/"{version}").')
    if not (request.if_match.star_tag or request.if_match.contains_weak(str(version))):
        raise PreconditionFailed(f"{what[0].upper()}{what[1:]} is intussen gewijzigd; haal de nieuwe stand op.",
                                 current_version=version)


def _flat(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as ``{"details.reason": [...]}``."""
    if isinstance(messages, dict):
        found: dict[str, list[str]] = {}
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key in ("key", "value", "_schema") and prefix:  # a Dict entry's key or value: name the entry
                name = prefix
            for field, texts in _flat(value, name).items():
                found.setdefault(field, []).extend(texts)
        return found
    texts = messages if isinstance(messages, list) else [messages]
    return {prefix or "body": [str(m) for m in texts]}


def json_body(schema: type[Schema]) -> dict[str, Any]:
    """The request's JSON object loaded with ``schema`` (unknown fields refused); an empty body
    is an empty object. Anything else is 400 with the messages per field."""
    raw = request.get_json(silent=True) if request.get_data() else {}
    if not isinstance(raw, dict):
        raise ValidationFailed("Stuur een JSON-object.", errors={"body": ["Stuur een JSON-object."]})
    try:
        return schema().load(raw)
    except ValidationError as exc:
        raise ValidationFailed(errors=_flat(exc.normalized_messages())) from None


def base_url() -> str:
    return current_app.config.get("BASE_URL", "")


BAD_INPUT = (400, "Ongeldige invoer (JSON, onbekende of ontbrekende velden); `errors` per veld")
NOT_FOUND = (404, "Niet gevonden (of niet van uw organisatie)")
NO_SCOPE = (403, "Geen toegang, of de token mist de scope (`insufficient_scope`)")
NOT_JSON = (415, "Geen application/json")
STALE = (412, "If-Match klopt niet (meer)")
NO_IF_MATCH = (428, "If-Match ontbreekt")
IF_MATCH = {"in": "header", "name": "If-Match", "required": True, "schema": {"type": "string"},
            "description": 'De ETag zoals u die las (W/"<versie>").'}
ETAG_HEADER = {"ETag": {"description": 'W/"<versie>" voor If-Match', "schema": {"type": "string"}}}


def body_doc(schema: type[Schema]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


