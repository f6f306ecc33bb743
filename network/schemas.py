"""Marshmallow base for HTML forms and API input, with Dutch messages.

``load_form(SchemaClass, request.form)`` returns ``(data, errors)``: the view re-renders with
the submitted values and ``errors`` (field -> list of Dutch messages) when validation fails.
Those messages come from :func:`network.errors.field_messages`, as every ``ValidationError``'s
do (services, the API's bodies).
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, pre_load, validate

from network.errors import field_messages

DUTCH_MESSAGES = {
    "required": _l("Vul dit veld in."),
    "null": _l("Vul dit veld in."),
    "invalid": _l("Deze waarde is niet geldig."),
}


#: the ids of the hub's rows: PostgreSQL ``integer`` (the ids SQLite hands out fit it too)
MAX_ID = 2**31 - 1
ID_RANGE = validate.Range(min=1, max=MAX_ID, error=_l("Dit nummer bestaat niet."))


class BaseSchema(Schema):
    """Strips strings, turns empty strings into None (so optional fields may be left blank),
    and speaks Dutch. Public API schemas keep ``unknown = RAISE``; forms exclude extra keys
    such as ``csrf_token``."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": _l("Onbekend veld."), "type": _l("Stuur een JSON-object met de velden.")}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if isinstance(field, fields.Integer) and name.endswith("_id") and not field.dump_only:
                # an id beyond the database's integer range is "not found", not a server error
                field.validators = [*field.validators, ID_RANGE]
            for key, message in DUTCH_MESSAGES.items():
                if key not in field.error_messages or field.error_messages[key] in _ENGLISH_DEFAULTS:
                    field.error_messages[key] = message
            if isinstance(field, fields.Date):
                field.error_messages["invalid"] = _l("Vul een geldige datum in (dd-mm-jjjj).")
            if isinstance(field, fields.Email):
                message = _l("Vul een geldig e-mailadres in, zoals naam@voorbeeld.nl.")
                field.error_messages["invalid"] = message
                # fields.Email builds its validator (with an English message) at construction
                field.validators = [validate.Email(error=message) if isinstance(v, validate.Email) else v
                                    for v in field.validators]
            if isinstance(field, fields.Integer):
                field.error_messages["invalid"] = _l("Vul een heel getal in.")

    @pre_load
    def _strip(self, data: Any, **kwargs: Any) -> Any:
        if not hasattr(data, "items"):
            return data
        cleaned = {}
        for key, value in data.items():
            if isinstance(value, str):
                value = value.strip()
                if value == "":
                    value = None
            cleaned[key] = value
        return cleaned


class FormSchema(BaseSchema):
    class Meta:
        unknown = EXCLUDE


_ENGLISH_DEFAULTS = {
    "Missing data for required field.", "Field may not be null.", "Invalid input.",
    "Not a valid string.", "Not a valid date.", "Not a valid email address.", "Not a valid integer.",
}


def load_form(schema_cls: type[Schema], form: Any, **schema_kwargs: Any) -> tuple[dict | None, dict[str, list[str]]]:
    """Validate a submitted form. Returns ``(data, {})`` or ``(None, errors)``."""
    raw = {key: form.get(key) for key in form.keys()} if hasattr(form, "keys") else dict(form)
    try:
        return schema_cls(**schema_kwargs).load(raw), {}
    except ValidationError as exc:
        return None, field_messages(exc)
