"""No BSN in the access log. A BSN typed into a search box (the student search ``?q=``, the
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
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

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
