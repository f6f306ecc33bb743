"""Form schemas of the placement pages (Dutch messages via :mod:`network.schemas`). What needs
the database (the employer, the stagebegeleider, overlapping placements) is the service's; the
service repeats the checks made here that an API caller could skip (the end before the start,
a week without working days).

The form's lists are textareas, one item per line; its week is an hours field per day.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from network.schemas import FormSchema
from referrals.placements.models import ProposalStatus
from referrals.placements.states import PlacementKind, Weekday

#: at most this many hours on one day
MAX_HOURS = 12
_HOURS = re.compile(r"^\d{1,2}([.,]\d{1,2})?$")


class Hours(fields.Field):
    """Hours on one day, typed as ``6``, ``7,5`` or ``7.5``: loaded as whole minutes (``0``: None)."""

    default_error_messages = {"invalid": _l("Vul een aantal uren in, zoals 6 of 7,5 (hoogstens 12 per dag).")}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int | None:
        text = str(value).strip()
        if not _HOURS.match(text):
            raise self.make_error("invalid")
        minutes = round(float(text.replace(",", ".")) * 60)
        if minutes > MAX_HOURS * 60:
            raise self.make_error("invalid")
        return minutes or None  # 0: no placement that day


class Lines(fields.Field):
    """A textarea of one item per line: loaded as the list of its non-empty lines."""

    def __init__(self, *, max_items: int, max_length: int, what: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.max_items, self.max_length, self.what = max_items, max_length, what

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        lines = [line.strip() for line in str(value).splitlines() if line.strip()]
        if len(lines) > self.max_items:
            raise ValidationError(_l("Vul hoogstens %(n)s %(what)s in, één per regel.", n=self.max_items,
                                     what=self.what))
        if any(len(line) > self.max_length for line in lines):
            raise ValidationError(_l("Houd elke regel korter dan %(n)s tekens.", n=self.max_length))
        return lines


def _missing(message: Any) -> dict[str, Any]:
    """The same message for a field left out and a field left empty."""
    return {"required": message, "null": message}


def _text(max_length: int, **kwargs: Any) -> fields.String:
    message = _l("Houd dit korter dan %(n)s tekens.", n=max_length)
    kwargs.setdefault("load_default", None)
    return fields.String(validate=validate.Length(max=max_length, error=message), **kwargs)


def _required_text(max_length: int, message: Any) -> fields.String:
    return fields.String(required=True, error_messages=_missing(message),
                         validate=validate.Length(max=max_length, error=_l("Houd dit korter dan %(n)s tekens.",
                                                                            n=max_length)))


START_WITH = {"alleen": False, "begeleider": True}
START_WITH_MESSAGE = _l("Kies of de leerling alleen begint of samen met een begeleider.")


def _placement_fields() -> dict[str, fields.Field]:
    result: dict[str, fields.Field] = {
        "kind": fields.String(required=True, error_messages=_missing(_l("Kies het soort stage.")),
                              validate=validate.OneOf([k.value for k in PlacementKind],
                                                      error=_l("Kies het soort stage."))),
        "service_id": fields.Integer(load_default=None),
        "proposal_name": _text(200),
        "proposal_kvk": fields.String(load_default=None, validate=validate.Regexp(
            r"^\d{8}$", error=_l("Een KvK-nummer heeft 8 cijfers."))),
        "proposal_gemeente": _text(120),
        "proposal_note": _text(500),
        "function": _required_text(200, _l("Vul de functie of de werkzaamheden in.")),
        "trainer_name": _required_text(200, _l("Vul de naam van de praktijkopleider in.")),
        "trainer_function": _text(120),
        "trainer_email": fields.Email(load_default=None, validate=validate.Length(max=254)),
        "trainer_phone": fields.String(load_default=None, validate=validate.Regexp(
            r"^[0-9 +()-]{6,40}$", error=_l("Vul een geldig telefoonnummer in, zoals 0487 512 345."))),
        "supervisor_account_id": fields.Integer(required=True, error_messages=_missing(
            _l("Kies de stagebegeleider van de school."))),
        "start_date": fields.Date(required=True, error_messages=_missing(_l("Vul de startdatum in."))),
        "end_date": fields.Date(required=True, error_messages=_missing(_l("Vul de geplande einddatum in."))),
        "start_with": fields.String(required=True, error_messages=_missing(START_WITH_MESSAGE),
                                    validate=validate.OneOf(list(START_WITH), error=START_WITH_MESSAGE)),
        "coach_name": _text(200),
        "learning_goals": Lines(max_items=10, max_length=300, what=_l("leerdoelen"), load_default=list),
        "werkprocessen": Lines(max_items=30, max_length=200, what=_l("werkprocessen"), load_default=list),
        "goals_agreement_id": fields.UUID(load_default=None),
        "goals_agreement_version": fields.Integer(load_default=None),
        "confirm_overlap": fields.Boolean(load_default=False),
        "copy_werkprocessen": fields.Boolean(load_default=False),
        "version": fields.Integer(load_default=None),
    }
    for day in Weekday:
        result[f"hours_{day.value}"] = Hours(load_default=None)
    return result


class _PlacementChecks(FormSchema):
    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _week_and_dates(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        errors = {}
        # judged on what was typed: a day with hours that are not valid has its own error
        if not any(str(original.get(f"hours_{day.value}") or "").strip() for day in Weekday):
            errors["hours_ma"] = [_l("Vul voor minstens één dag het aantal uren in.")]
        if data.get("start_date") and data.get("end_date") and data["end_date"] < data["start_date"]:
            errors["end_date"] = [_l("De einddatum ligt vóór de startdatum.")]
        if errors:
            raise ValidationError(errors)

    @post_load
    def _assemble(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["kind"] = PlacementKind(data["kind"])
        data["schedule"] = {day.value: minutes for day in Weekday
                            if (minutes := data.pop(f"hours_{day.value}", None))}
        data["with_coach"] = START_WITH[data.pop("start_with")]
        return data


#: the register and edit form of a placement
PlacementArgs = _PlacementChecks.from_dict(_placement_fields(), name="PlacementArgs")


class StatusArgs(FormSchema):
    """The status form: what happened (a status; an unknown one is the service's field error),
    on which day, and why (to end early)."""

    status = fields.String(required=True, error_messages=_missing(_l("Kies wat er met de stage is gebeurd.")))
    on_date = fields.Date(load_default=None)
    reason = _text(500)
    #: on completion: "ja", "nee" or empty (not known)
    hired = fields.String(load_default=None, validate=validate.OneOf(
        ["ja", "nee", ""], error=_l("Kies ja, nee of weet ik niet.")))
    version = fields.Integer(load_default=None)


class ProposalDecisionArgs(FormSchema):
    decision = fields.String(required=True, error_messages=_missing(_l("Kies of het bedrijf op de kaart komt.")),
                             validate=validate.OneOf([ProposalStatus.added.value, ProposalStatus.declined.value],
                                                     error=_l("Kies of het bedrijf op de kaart komt.")))
    service_id = fields.Integer(load_default=None)
    reason = _text(500)
