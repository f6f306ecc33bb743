"""Languages: Dutch by default (the msgids are Dutch, so Dutch needs no catalog), English on
request through the language switch, and an English translation for every extracted string."""

from __future__ import annotations

import re

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from network import PROJECT_ROOT
from tests.conftest import csrf_from
from tests.network.test_auth_views import HOSTILE_NEXT

TRANSLATIONS = PROJECT_ROOT / "network" / "translations"
EN_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
EN_MO = EN_PO.with_suffix(".mo")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
            "lazy_ngettext": (1, 2), "N_": None}
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")


def _catalog():
    with EN_PO.open("rb") as fh:
        return read_po(fh, locale="en")


@pytest.fixture(scope="module")
def english_compiled(app):
    """The scripts compile the catalogs; a bare ``pytest`` run gets them compiled here too."""
    if not EN_MO.exists() or EN_MO.stat().st_mtime < EN_PO.stat().st_mtime:
        with EN_MO.open("wb") as fh:
            write_mo(fh, _catalog())
        app.extensions["babel"].instance.domain_instance.cache.clear()
    return _catalog()


def _lang(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', html)
    assert match, "page has no <html lang>"
    return match.group(1)


def _switch_to(client, locale: str, page: str = "/") -> str:
    token = csrf_from(client.get(page).get_data(as_text=True))
    response = client.post("/taal", data={"locale": locale, "next": page, "csrf_token": token})
    assert response.status_code == 302
    return client.get(page).get_data(as_text=True)


def test_pages_are_dutch_by_default(client):
    html = client.get("/").get_data(as_text=True)
    assert _lang(html) == "nl"
    assert "Naar de inhoud" in html
    assert "Inloggen" in html


def test_browser_language_is_not_followed(client):
    html = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert _lang(html) == "nl"


def test_language_switch_gives_english_and_back(client, english_compiled):
    html = _switch_to(client, "en")
    assert _lang(html) == "en"
    skip = english_compiled.get("Naar de inhoud")
    assert skip is not None and skip.string
    assert skip.string in html
    assert "Naar de inhoud" not in html
    assert 'lang="nl">Nederlands</button>' in html  # the way back, labelled in its own language

    html = _switch_to(client, "nl")
    assert _lang(html) == "nl" and "Naar de inhoud" in html


def test_unknown_language_is_ignored(client):
    html = _switch_to(client, "fr")
    assert _lang(html) == "nl"


@pytest.mark.parametrize("hostile", HOSTILE_NEXT)
def test_language_switch_refuses_offsite_redirect(client, hostile):
    """The switch goes back to the page it came from, and only to a page of the hub: a ``next``
    a browser could read as another host (or that would split the header) goes to the start."""
    token = csrf_from(client.get("/").get_data(as_text=True))
    response = client.post("/taal", data={"locale": "en", "next": hostile, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def _extract() -> dict[str, tuple[str, ...]]:
    """Every translatable string in the code and templates, as pybabel extract finds them."""
    with (PROJECT_ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: dict[str, tuple[str, ...]] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
            str(PROJECT_ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True):
        ids = message if isinstance(message, tuple) else (message,)
        if ids[0]:
            found.setdefault(ids[0], ids)
            found[ids[0] + "\0file"] = (filename,)
    return found


def test_every_string_has_an_english_translation():
    extracted = _extract()
    catalog = _catalog()
    missing, untranslated, fuzzy, broken = [], [], [], []
    for msgid, ids in extracted.items():
        if msgid.endswith("\0file"):
            continue
        where = extracted[msgid + "\0file"][0]
        message = catalog.get(msgid)
        if message is None:
            missing.append(f"{where}: {msgid!r}")
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            untranslated.append(f"{where}: {msgid!r}")
        elif message.fuzzy:
            fuzzy.append(f"{where}: {msgid!r}")
        elif any(sorted(_PLACEHOLDER.findall(ids[0])) != sorted(_PLACEHOLDER.findall(s)) for s in strings[:1]):
            broken.append(f"{where}: {msgid!r} -> {strings[0]!r}")
    hint = "run `make translations-update` and translate network/translations/en/LC_MESSAGES/messages.po"
    assert not missing, f"not in the English catalog ({hint}):\n" + "\n".join(missing)
    assert not untranslated, f"no English translation ({hint}):\n" + "\n".join(untranslated)
    assert not fuzzy, "fuzzy translations (check and remove the fuzzy flag):\n" + "\n".join(fuzzy)
    assert not broken, "placeholders differ between Dutch and English:\n" + "\n".join(broken)

