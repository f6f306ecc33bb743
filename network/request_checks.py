"""The checks every request passes before any view: a body declared JSON must be JSON a view can
read (parseable, nested no deeper than :data:`MAX_JSON_DEPTH`), and no text may hold a NUL
character. Both answer 400 through :class:`network.errors.ValidationFailed` (problem+json on the
API and ``/oauth``, a Dutch page elsewhere), once, for every route, so no loader has to remember
them and none of them fails with a 500."""

from __future__ import annotations

import json
from typing import Any

from flask import request
from flask_babel import gettext as _

from network.errors import ValidationFailed

#: the deepest nesting of objects and arrays a JSON body may have; no document of the API comes
#: near it, and a deeper one would exhaust Python's recursion in a parser or loader (a 500)
MAX_JSON_DEPTH = 32


def _nests_deeper_than(value: Any, limit: int) -> bool:
    """True when ``value`` has objects or arrays more than ``limit`` levels deep (without
    recursion: the point is to refuse what recursion cannot handle)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


def refuse_unreadable_json() -> None:
    """A body declared JSON (``application/json``, ``…+json``) that is not JSON, or that nests
    deeper than :data:`MAX_JSON_DEPTH`, is 400 on ``body``, whatever the method: the parser's
    ``RecursionError`` on a deep document is no ``ValueError`` and escaped every ``silent``
    loader as a 500. An empty body is no body. The parsed body stays in Flask's cache for the
    views."""
    if not request.is_json or not request.get_data(cache=True):
        return
    too_deep = _("De JSON in het verzoek is te diep genest (hoogstens %(n)d niveaus).", n=MAX_JSON_DEPTH)
    try:
        body = request.get_json(silent=True)
        if body is None:  # not JSON (or a literal null): parse again to say where it goes wrong
            json.loads(request.get_data(cache=True))
    except RecursionError:
        raise ValidationFailed(too_deep, errors={"body": [too_deep]}) from None
    except ValueError as exc:  # JSONDecodeError, or bytes that are no UTF-8/16/32 text
        if isinstance(exc, json.JSONDecodeError):
            message = _("Het verzoek bevat geen geldige JSON (regel %(line)d, kolom %(column)d).",
                        line=exc.lineno, column=exc.colno)
        else:
            message = _("Het verzoek bevat geen geldige JSON.")
        raise ValidationFailed(message, errors={"body": [message]}) from None
    if _nests_deeper_than(body, MAX_JSON_DEPTH):
        raise ValidationFailed(too_deep, errors={"body": [too_deep]})


def _nul_paths(value: Any, path: str = "") -> list[str]:
    """The dotted paths of the strings (and keys) in a JSON document that hold a NUL."""
    if isinstance(value, str):
        return [path or "body"] if "\x00" in value else []
    if isinstance(value, dict):
        items = [(str(key), item) for key, item in value.items()]
    elif isinstance(value, list):
        items = [(str(index), item) for index, item in enumerate(value)]
    else:
        return []
    found = []
    for key, item in items:
        inner = f"{path}.{key}" if path else key
        found += [path or "body"] if "\x00" in key else _nul_paths(item, inner)
    return found


def refuse_nul_input() -> None:
    """A NUL character (U+0000) anywhere in what a client sends as text is 400 on that field,
    before any view runs: PostgreSQL cannot store or even compare such a string (it would be a
    500 deep in a query), and no Dutch name, note or code holds one. Looks at the path, the
    query string, form fields (not uploaded files' bytes) and a JSON body (read by
    :func:`refuse_unreadable_json` before), once, for every route."""
    fields: list[str] = []
    if "\x00" in request.path:
        fields.append("path")
    for source in (request.args, request.form if request.method != "GET" else None):
        for name, value in (source.items(multi=True) if source else ()):
            if "\x00" in name or "\x00" in value:
                fields.append(name.replace("\x00", "") or "body")
    if request.is_json:
        fields += _nul_paths(request.get_json(silent=True))
    if fields:
        message = _("Tekst mag geen NUL-teken (\\u0000) bevatten.")
        raise ValidationFailed(_("Het verzoek bevat een NUL-teken (\\u0000) in: %(fields)s.",
                                 fields=", ".join(dict.fromkeys(fields))),
                               errors={name: [message] for name in dict.fromkeys(fields)})
