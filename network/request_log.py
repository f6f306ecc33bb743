"""The request log, and no BSN in the access log.

One line per request (logger ``schakel.request``): the request id, the method, the path
*template* (``/leerlingen/<int:student_id>``, never the path as typed, with its ids, nor the
query string), the status and the duration. Monitoring's probes are logged at DEBUG so they do
not bury the rest. With ``LOG_FORMAT=json`` every log line is one JSON object
(:func:`json_formatter`), with these fields as keys, for the IT department's log stack.

No BSN in the access log. A BSN typed into a search box (the student search ``?q=``, the
sociale kaart, any GET form with free text) travels in the query string, and the request line
that the web server logs carries the query string with it. A filter on the access loggers masks
every query value that holds a BSN (9 digits, or 8 with the leading zero left off, possibly with
dots, spaces or dashes, passing the 11-proef) as ``[BSN]`` before any handler sees the record.

Both access logs are covered: werkzeug's (``schakel run``; the record's arguments hold the
request line) and gunicorn's when an operator turns it on (``gunicorn.access``; the record's
argument is gunicorn's dict of atoms: the request line ``r``, the query string ``q``, the
referrer ``f``, the environment ``{query_string}e``…). The filter is installed by the app factory,
so it runs in every gunicorn worker.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from flask import Response, g, request
from stdnum.nl import bsn

MASK = "[BSN]"
#: the loggers that write a request line: the development server's and gunicorn's access log
ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")
#: 8 or 9 digits, each pair at most one separator apart; the 11-proef decides
_CANDIDATE = re.compile(r"(?<!\d)\d(?:[ .\-]?\d){7,8}(?!\d)")
#: the query part of a URL inside a longer text (a request line, a referrer)
_QUERY_IN_TEXT = re.compile(r"\?([^\s\"]*)")
#: gunicorn atoms that hold a bare query string (no ``?`` in front)
_BARE_QUERY_ATOMS = frozenset({"q", "{query_string}e"})


def holds_bsn(text: str) -> bool:
    """Whether ``text`` (a decoded query value) contains something that passes as a BSN."""
    return any(bsn.is_valid(match.group()) for match in _CANDIDATE.finditer(text))


def mask_query(query: str) -> str:
    """``query`` (``a=1&q=111222333``) with every value that holds a BSN replaced by ``[BSN]``;
    the other parameters stay exactly as they were."""
    parts = []
    for part in query.split("&"):
        name, sep, value = part.partition("=")
        decoded = unquote_plus(value if sep else name)
        if holds_bsn(decoded):
            part = f"{name}={MASK}" if sep else MASK
        parts.append(part)
    return "&".join(parts)


def mask_urls(text: str) -> str:
    """``text`` with the query string of every URL in it masked (see :func:`mask_query`)."""
    if "?" not in text:
        return text
    return _QUERY_IN_TEXT.sub(lambda m: "?" + mask_query(m.group(1)), text)


def _mask_arg(value: Any) -> Any:
    return mask_urls(value) if isinstance(value, str) else value


class MaskBsnInUrls(logging.Filter):
    """Masks BSNs in the query strings of an access log record (its message and arguments)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_urls(record.msg)
        if isinstance(record.args, Mapping):
            # gunicorn's atoms: masked in place, so its wrapper keeps answering '-' for a missing atom
            for key, value in list(record.args.items()):
                if isinstance(value, str):
                    record.args[key] = mask_query(value) if key in _BARE_QUERY_ATOMS else mask_urls(value)  # type: ignore[index]
        elif isinstance(record.args, tuple):
            record.args = tuple(_mask_arg(arg) for arg in record.args)
        return True


def install_access_log_filter() -> None:
    """Put the filter on the access loggers, once per process (the app factory calls this for
    every app it makes)."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, MaskBsnInUrls) for f in logger.filters):
            logger.addFilter(MaskBsnInUrls())


REQUEST_LOGGER = logging.getLogger("schakel.request")
#: what monitoring calls every few seconds: logged at DEBUG
_PROBES = frozenset({"main.healthz", "main.readyz", "main.readyz_scheduler", "main.metrics"})
#: the path logged for a request no route matched (a 404): not the path as typed, which may hold anything
UNMATCHED = "<geen route>"


def start_request_timer() -> None:
    """The one timer of a request: its log line and its count in /metrics read it."""
    g.request_started = time.perf_counter()


def elapsed_seconds() -> float | None:
    """Seconds since :func:`start_request_timer` (None when it did not run)."""
    started = g.get("request_started")
    return time.perf_counter() - started if started is not None else None


def log_request(response: Response) -> Response:
    """The request's one line (an ``after_request`` hook registered before the others, so it
    runs after them: the duration includes the commit)."""
    elapsed = elapsed_seconds()
    fields = {
        "request_id": g.get("request_id", ""),
        "method": request.method,
        "path": request.url_rule.rule if request.url_rule is not None else UNMATCHED,
        "status": response.status_code,
        "duration_ms": round(elapsed * 1000, 1) if elapsed is not None else None,
    }
    level = logging.DEBUG if request.endpoint in _PROBES else logging.INFO
    REQUEST_LOGGER.log(level, "%(method)s %(path)s %(status)s %(duration_ms)sms request_id=%(request_id)s",
                       fields, extra=fields)
    return response


def json_formatter() -> logging.Formatter:
    """One JSON object per line: time, level, logger, message and the record's extra fields
    (a request line's request_id, method, path, status, duration_ms)."""
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter("{asctime}{levelname}{name}{message}", style="{",
                         rename_fields={"asctime": "time", "levelname": "level", "name": "logger"})


def configure_logging(log_format: str) -> None:
    """Root logging for the process, unless someone (gunicorn's ``--log-config``, pytest) set it
    up already; then the access-log filter."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(json_formatter() if log_format == "json"
                             else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    install_access_log_filter()  # no BSN typed into a search box in the request lines of the access log
