"""One error vocabulary. Services raise :class:`DomainError` subclasses; this module maps them
(and every HTTP error) once: to RFC 9457 ``application/problem+json`` under ``/api`` and on
``/.well-known``, ``/healthz`` and ``/readyz``, and to a Dutch error page everywhere else.
Nothing leaks internals: a 500 says only that something went wrong and gives the request id.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, json, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError

from network.db import db, is_unique_violation

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://schakel.nl/problems/"


class DomainError(Exception):
    status = 400
    code = "bad-request"
    title = "Ongeldig verzoek"

    def __init__(self, detail: str | None = None, *, errors: dict[str, list[str]] | None = None,
                 headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = errors or {}
        self.headers = headers or {}
        self.extra = extra


class ValidationFailed(DomainError):
    """Input that does not pass validation; ``errors`` maps field names to Dutch messages."""

    status, code, title = 400, "invalid-input", "Ongeldige invoer"


class NotAuthenticated(DomainError):
    status, code, title = 401, "not-authenticated", "Niet ingelogd"


class Forbidden(DomainError):
    status, code, title = 403, "forbidden", "Geen toegang"


class NotFound(DomainError):
    status, code, title = 404, "not-found", "Niet gevonden"


class Conflict(DomainError):
    """A state change that is not allowed now, or a concurrent edit. ``allowed`` may list the
    transitions that are."""

    status, code, title = 409, "conflict", "Conflict"


class TooManyRequests(DomainError):
    status, code, title = 429, "too-many-requests", "Te veel verzoeken"


class UnsupportedMediaType(DomainError):
    status, code, title = 415, "unsupported-media-type", "Niet-ondersteund formaat"


class PreconditionFailed(DomainError):
    status, code, title = 412, "precondition-failed", "De gegevens zijn intussen gewijzigd"


class PreconditionRequired(DomainError):
    status, code, title = 428, "precondition-required", "If-Match ontbreekt"


_HTTP_TITLES = {
    400: "Ongeldig verzoek", 401: "Niet ingelogd", 403: "Geen toegang", 404: "Niet gevonden",
    405: "Methode niet toegestaan", 409: "Conflict", 412: "De gegevens zijn intussen gewijzigd",
    413: "Verzoek te groot", 415: "Niet-ondersteund formaat", 422: "Ongeldige invoer",
    428: "If-Match ontbreekt", 429: "Te veel verzoeken", 500: "Er ging iets mis",
    503: "Tijdelijk niet beschikbaar",
}


#: the operators' endpoints: answered in JSON (problem+json on errors), never with a page
_PROBES = frozenset({"/healthz", "/readyz", "/readyz/scheduler", "/metrics"})


def wants_problem_json() -> bool:
    path = request.path
    return path.startswith(("/api/", "/.well-known/", "/oauth/")) or path in _PROBES


def problem_response(status: int, *, title: str | None = None, detail: str | None = None,
                     code: str | None = None, errors: dict[str, list[str]] | None = None,
                     headers: dict[str, str] | None = None, **extra: Any) -> Response:
    """Build an RFC 9457 problem+json response."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (code or str(status)),
        "title": title or _HTTP_TITLES.get(status, "Fout"),
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body["instance"] = request.path
    if errors:
        body["errors"] = [{"field": field, "message": message}
                          for field, messages in field_messages(errors).items() for message in messages]
    if getattr(g, "request_id", None):
        body["requestId"] = g.request_id
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def field_messages(messages: Any, *, dotted: bool = False) -> dict[str, list[str]]:
    """Validation messages as ``{field: [text, ...]}``: the shape of
    :attr:`ValidationFailed.errors`, of an HTML form's errors and of a problem's ``errors``.

    ``messages`` is a marshmallow ``ValidationError`` or what it holds (``{field: messages}``,
    as ``normalized_messages()`` and webargs give it). Every message becomes text (lazy
    translations included). A nested field's messages (an item of a list, a ``Nested``
    schema, a ``Dict`` entry) stay under the top-level field, each saying where:
    ``{"contacts": ["0: name: Vul dit veld in."]}``; with ``dotted`` the path is the field's
    name: ``{"contacts.0.name": ["Vul dit veld in."]}`` (a ``Dict`` entry's key or value, and
    a nested schema's own ``_schema`` messages, name the entry or the nested field). A form
    whose inputs are named otherwise (``contact-0-name``) renames the dotted paths."""
    if hasattr(messages, "normalized_messages"):
        messages = messages.normalized_messages()
    found: dict[str, list[str]] = {}
    for key, value in messages.items():
        if dotted:
            for name, texts in _dotted(value, str(key)).items():
                found.setdefault(name, []).extend(texts)
        else:
            found.setdefault(str(key), []).extend(_prefixed(value))
    return found


def _prefixed(messages: Any) -> list[str]:
    if isinstance(messages, dict):
        return [f"{key}: {m}" for key, value in messages.items() for m in _prefixed(value)]
    if isinstance(messages, (list, tuple)):
        return [m for item in messages for m in _prefixed(item)]
    return [str(messages)]


def _dotted(messages: Any, prefix: str) -> dict[str, list[str]]:
    if not isinstance(messages, dict):
        return {prefix: _prefixed(messages)}
    found: dict[str, list[str]] = {}
    for key, value in messages.items():
        name = prefix if key in ("key", "value", "_schema") else f"{prefix}.{key}"
        for field, texts in _dotted(value, name).items():
            found.setdefault(field, []).extend(texts)
    return found


def _html_error(status: int, detail: str | None = None) -> Response:
    title = _HTTP_TITLES.get(status, "Fout")
    body = render_template("errors/error.html", status=status, title=title, detail=detail,
                           request_id=getattr(g, "request_id", None))
    return Response(body, status=status, mimetype="text/html")


def handle_domain_error(error: DomainError) -> Response:
    db.session.rollback()
    if wants_problem_json():
        return problem_response(error.status, title=error.title, detail=error.detail, code=error.code,
                                errors=error.errors, headers=error.headers, **error.extra)
    return _html_error(error.status, error.detail)


def handle_http_exception(error: HTTPException) -> Response:
    if error.code and error.code >= 500:
        db.session.rollback()
    if wants_problem_json():
        return _http_problem(error)
    if error.code == 429:
        return _html_error(429, _("U heeft het te vaak geprobeerd. Wacht even en probeer het opnieuw."))
    return _html_error(error.code or 500)


def _http_problem(error: HTTPException) -> Response:
    """An HTTP error as problem+json: the headers it carries, webargs' field errors or its
    description as the detail, and authlib's OAuth error fields."""
    headers = _problem_headers(error)
    detail = None
    data = getattr(error, "data", None)
    errors = None
    if isinstance(data, dict) and "messages" in data:  # webargs / flask-smorest validation
        errors = _validation_errors(data["messages"])
    elif error.code not in (404, 405):
        detail = error.description if error.code and error.code < 500 else None
    extra = _oauth_error(error)
    if extra:  # authlib's RFC 6750 error (401 invalid_token, 403 insufficient_scope)
        detail = extra.get("error_description") or detail
    return problem_response(error.code or 500, errors=errors, detail=detail, headers=headers, **extra)


def _problem_headers(error: HTTPException) -> dict[str, str]:
    """The headers of the error's own response a client needs: how to authenticate, when to
    retry, which methods are allowed."""
    headers = {}
    if error.code == 405 and error.response is None:
        headers["Allow"] = ", ".join(error.valid_methods or [])  # type: ignore[attr-defined]
    original = error.get_response()
    for header in ("WWW-Authenticate", "Retry-After", "Allow"):
        if header in original.headers:
            headers[header] = original.headers[header]
    return headers


def _validation_errors(messages: dict[str, Any]) -> dict[str, list[str]]:
    """webargs' messages per location (json, query, ...) as one ``{field: [text, ...]}``."""
    errors: dict[str, list[str]] = {}
    for location, found in messages.items():
        for name, texts in field_messages(found if isinstance(found, dict) else {location: found}).items():
            errors.setdefault(name, []).extend(texts)
    return errors


def _oauth_error(error: HTTPException) -> dict[str, str]:
    body = getattr(error, "body", None)
    if not isinstance(body, str) or not body.startswith("{"):
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return {key: str(data[key]) for key in ("error", "error_description") if key in data}


def handle_unexpected(error: Exception) -> Response:
    original = getattr(error, "original_exception", None)
    # raised where Flask no longer looks for its handler: the commit point (an after_request
    # hook) or saving the session
    if isinstance(original, StaleDataError):
        return handle_stale_data(original)
    if isinstance(original, DBAPIError) and (database_unavailable(original) or is_unique_violation(original)):
        return handle_database_error(original)
    # the traceback of what went wrong: Flask hands a view's exception over wrapped in a 500
    log.error("Unhandled error in request %r", getattr(g, "request_id", None), exc_info=original or error)
    db.session.rollback()
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    if wants_problem_json():
        return problem_response(500, detail="Er ging iets mis aan onze kant. Probeer het later opnieuw.")
    return _html_error(500)


#: SQLSTATEs of a database that is up but cannot write: read-only transaction, disk full,
#: out of memory, too many connections, shutting down
_UNAVAILABLE_SQLSTATES = ("25006", "53100", "53200", "53300", "57P01", "57P02", "57P03")


def database_unavailable(error: Exception) -> bool:
    """True for an error that means the database is unreachable or cannot write now (the
    request can be tried again later), as opposed to a bug."""
    if isinstance(error, DisconnectionError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    code = getattr(getattr(error, "orig", None), "sqlstate", None)
    if code in _UNAVAILABLE_SQLSTATES:
        return True
    if isinstance(error, (OperationalError, InterfaceError)):
        message = str(error.orig).lower() if error.orig is not None else ""
        # SQLite: a locked, full or read-only file; PostgreSQL: no connection
        return not any(bug in message for bug in ("no such table", "no such column", "syntax error"))
    return False


def handle_database_error(error: Exception) -> Response:
    """The database is away or cannot write: roll back (nothing half-written), log it once,
    and answer 503 with ``Retry-After`` instead of a 500. A write a unique index refused (two
    requests made the same thing at once) is a 409."""
    if getattr(getattr(error, "orig", None), "sqlstate", None) == "22003":
        # a number beyond the column's range that no schema stopped: invalid input, not a crash
        db.session.rollback()
        return handle_domain_error(ValidationFailed("Een getal in het verzoek is te groot."))
    if is_unique_violation(error):
        # two requests made the same thing at once (a double click) and the other was stored
        # first: the database's unique index refused ours; a conflict, not a crash
        db.session.rollback()
        log.info("Concurrent insert refused by a unique index in request %r", getattr(g, "request_id", None))
        return handle_domain_error(Conflict(_(
            "Dit is zojuist al vastgelegd, door een ander verzoek of een dubbele klik. Er is niets van dit verzoek "
            "opgeslagen; laad opnieuw en kijk of het er staat.")))
    if not database_unavailable(error):
        return handle_unexpected(error)
    log.error("Database unavailable in request %r: %s", getattr(g, "request_id", None), type(error).__name__)
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection may be gone; the pool replaces it
        db.session.remove()
    detail = ("De database is even niet bereikbaar of kan niets opslaan. Er is niets half opgeslagen; probeer het "
              "zo opnieuw.")
    if wants_problem_json():
        return problem_response(503, code="database-unavailable", detail=detail, headers={"Retry-After": "5"})
    response = _html_error(503, _("De database is even niet bereikbaar of kan niets opslaan. Er is niets half "
                                  "opgeslagen; probeer het zo opnieuw."))
    response.headers["Retry-After"] = "5"
    return response


def handle_stale_data(error: Exception) -> Response:
    """Two requests changed the same row at once and the other committed first (the row
    version moved between our read and our write): nothing of ours is kept. With ``If-Match``
    that is a failed precondition (412), otherwise a conflict (409)."""
    db.session.rollback()
    log.info("Concurrent edit refused in request %r", getattr(g, "request_id", None))
    detail = _("Iemand anders heeft dit net gewijzigd. Er is niets van dit verzoek opgeslagen; laad opnieuw en "
               "probeer het nog eens.")
    if request.headers.get("If-Match"):
        error_class: type[DomainError] = PreconditionFailed
    else:
        error_class = Conflict
    return handle_domain_error(error_class(detail))


def handle_overflow(error: OverflowError) -> Response:
    """A number too large for the database (SQLite refuses to bind an integer beyond 64 bits,
    where PostgreSQL answers 22003, see :func:`handle_database_error`): invalid input, not a crash."""
    db.session.rollback()
    log.info("Number out of range in request %r: %s", getattr(g, "request_id", None), error)
    return handle_domain_error(ValidationFailed("Een getal in het verzoek is te groot."))


def init_errors(app: Flask) -> None:
    app.register_error_handler(StaleDataError, handle_stale_data)
    app.register_error_handler(OverflowError, handle_overflow)
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(DisconnectionError, handle_database_error)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(InternalServerError, handle_unexpected)
    app.register_error_handler(Exception, handle_unexpected)
