"""The language of what a command prints for people (``schakel doctor``): ``--lang nl|en``, or
else the locale of the environment as POSIX orders it (the first of ``LC_ALL``,
``LC_MESSAGES``, ``LANG`` that is set: ``LANG=en_US.UTF-8`` gives English); Dutch otherwise,
as on the pages.

A command that must work while the app cannot start has no Flask-Babel: the project's own
catalogs (``network/translations``, the same msgids as the pages) are read with Babel's
``support.Translations``. Dutch is the source language, so it needs no catalog.
"""

from __future__ import annotations

import datetime as dt
import gettext
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from babel.support import Translations

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"

_DUTCH = gettext.NullTranslations()
_current: ContextVar[gettext.NullTranslations | None] = ContextVar("schakel_cli_translations", default=None)


def language_from_environment(environ: Mapping[str, str] | None = None) -> str:
    """``en`` or ``nl`` from the locale variables (``C``, ``POSIX`` and other languages: Dutch)."""
    environ = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value:
            code = value.split(".")[0].split("_")[0].split("-")[0].lower()
            return code if code in LANGUAGES else DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Translate :func:`_` and :func:`ngettext` into ``language`` inside the block. A catalog that
    was not compiled (``pybabel compile``) leaves the Dutch source text."""
    translations: gettext.NullTranslations = gettext.NullTranslations()
    if language != DEFAULT_LANGUAGE:
        translations = Translations.load(str(TRANSLATIONS), [language])
    token = _current.set(translations)
    try:
        yield
    finally:
        _current.reset(token)


def _(message: str, **values: object) -> str:
    """``message`` in the current language, with ``%(name)s`` filled from ``values``."""
    text = (_current.get() or _DUTCH).gettext(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, num: int, **values: object) -> str:
    """The singular or plural form for ``num`` (``%(num)d`` in the text), as Flask-Babel's."""
    return (_current.get() or _DUTCH).ngettext(singular, plural, num) % {"num": num, **values}


def duration(span: dt.timedelta) -> str:
    """A span as a person reads it: 40 s, 12 min, 5 uur, 3 dagen."""
    seconds = max(0, int(span.total_seconds()))
    if seconds < 120:
        return _("%(n)s s", n=seconds)
    if seconds < 2 * 3600:
        return _("%(n)s min", n=seconds // 60)
    if seconds < 2 * 86400:
        return _("%(n)s uur", n=seconds // 3600)
    return _("%(n)s dagen", n=seconds // 86400)
