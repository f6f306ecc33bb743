"""network.api's helpers (ETag and If-Match, JSON bodies) and network.errors.field_messages."""

from __future__ import annotations

import json

import pytest
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields

from network.api import check_if_match, etag, if_match_doc, json_body
from network.errors import (
    PreconditionFailed,
    PreconditionRequired,
    UnsupportedMediaType,
    ValidationFailed,
    field_messages,
)


def test_etag_is_weak_and_names_the_version():
    assert etag(7) == 'W/"7"'


# werkzeug also reads an unquoted tag (7) as "7"
@pytest.mark.parametrize("header", ['W/"7"', '"7"', "*", 'W/"6", W/"7"', "7"])
def test_if_match_naming_the_version_passes(app, header):
    with app.test_request_context(headers={"If-Match": header}):
        assert check_if_match(7, "de verwijzing") == 7
        assert check_if_match(7, "de verwijzing", required=False) == 7


def test_if_match_missing_is_428_unless_optional(app):
    with app.test_request_context():
        with pytest.raises(PreconditionRequired) as missing:
            check_if_match(7, "de verwijzing")
        assert missing.value.status == 428
        assert missing.value.detail == 'Stuur If-Match met de ETag van de verwijzing (W/"7").'
        assert check_if_match(7, "de verwijzing", required=False) is None


@pytest.mark.parametrize("header", ['W/"6"', '"8"', "70", "onzin"])
def test_if_match_naming_another_version_is_412_with_the_current_one(app, header):
    with app.test_request_context(headers={"If-Match": header}):
        with pytest.raises(PreconditionFailed) as stale:
            check_if_match(7, "de verwijzing", required=False)
    assert stale.value.status == 412
    assert stale.value.detail == "De verwijzing is intussen gewijzigd; haal de nieuwe stand op."
    assert stale.value.extra == {"current_version": 7}
    with app.test_request_context(headers={"If-Match": header}):
        with pytest.raises(PreconditionFailed) as worded:
            check_if_match(7, "de dienst", stale="De dienst is intussen gewijzigd; haal hem opnieuw op.")
    assert worded.value.detail == "De dienst is intussen gewijzigd; haal hem opnieuw op."


def test_if_match_doc_names_the_row():
    assert if_match_doc()["description"] == 'De ETag zoals u die las (W/"<versie>").'
    assert if_match_doc("de dienst")["description"] == 'De ETag van de dienst zoals u die las (W/"<versie>").'
    assert if_match_doc("het abonnement", required=False) == {
        "in": "header", "name": "If-Match", "schema": {"type": "string"},
        "description": 'De ETag van het abonnement zoals u het las (W/"<versie>").'}
    assert if_match_doc()["required"] is True


class _Row(Schema):
    name = fields.String(required=True)


class _Body(Schema):
    title = fields.String(required=True)
    rows = fields.List(fields.Nested(_Row))
    tags = fields.Dict(keys=fields.String(), values=fields.Integer())


def _load(app, body, *, content_type="application/json", **kwargs):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    with app.test_request_context(method="POST", data=data, content_type=content_type):
        return json_body(_Body, **kwargs)


def test_json_body_loads_an_object(app):
    assert _load(app, {"title": "x", "rows": [{"name": "a"}]}) == {"title": "x", "rows": [{"name": "a"}]}


def test_json_body_refuses_what_is_not_json_or_not_an_object(app):
    with pytest.raises(UnsupportedMediaType):
        _load(app, "title=x", content_type="application/x-www-form-urlencoded")
    for body in ("[1, 2]", '{"title": ', ""):
        with pytest.raises(ValidationFailed) as refused:
            _load(app, body)
        assert refused.value.errors == {"body": ["Stuur een JSON-object."]}


def test_json_body_optional_takes_an_empty_body_as_an_empty_object(app):
    with pytest.raises(ValidationFailed) as refused:
        _load(app, "", optional=True)
    assert refused.value.errors == {"title": ["Missing data for required field."]}


def test_json_body_names_nested_messages_under_the_field_or_by_path(app):
    bad = {"rows": [{"name": "a"}, {}], "tags": {"x": "veel"}, "extra": 1}
    with pytest.raises(ValidationFailed) as prefixed:
        _load(app, bad)
    assert prefixed.value.errors == {
        "title": ["Missing data for required field."], "rows": ["1: name: Missing data for required field."],
        "tags": ["x: value: Not a valid integer."], "extra": ["Unknown field."]}
    with pytest.raises(ValidationFailed) as dotted:
        _load(app, bad, dotted=True)
    assert dotted.value.errors == {
        "title": ["Missing data for required field."], "rows.1.name": ["Missing data for required field."],
        "tags.x": ["Not a valid integer."], "extra": ["Unknown field."]}


def test_field_messages_turns_every_message_into_text(app):
    with app.test_request_context():
        # marshmallow keeps a lone lazy translation unwrapped: one message, not its characters
        error = ValidationError({"name": _l("Vul dit veld in."), "_schema": [_l("Kies er één.")]})
        assert field_messages(error) == {"name": ["Vul dit veld in."], "_schema": ["Kies er één."]}
        assert field_messages({"name": [_l("Vul dit veld in.")]}, dotted=True) == {"name": ["Vul dit veld in."]}
