"""Schemas of the placement API (``/api/v1/placements``): ``XxxArgs`` load a JSON body (unknown
fields refused, Dutch messages), ``XxxSchema`` document and dump the answers. The body is the
form's content in JSON's shape: the praktijkopleider and a proposed company as objects, the week
as hours per day (``{"ma": 7.5, "di": 7.5}``), the lists as arrays. :func:`to_service_data`
turns it into what :func:`referrals.placements.service.create_placement` takes.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate, validates_schema
from marshmallow.exceptions import ValidationError

from network.schemas import BaseSchema
from referrals.api_schemas import ApiArgs, one_of
from referrals.placements.schemas import MAX_HOURS
from referrals.placements.states import PlacementKind, PlacementStatus, Weekday

KINDS = [kind.value for kind in PlacementKind]
STATUSES = [status.value for status in PlacementStatus]
DAYS = [day.value for day in Weekday]


def _text(max_length: int, **kwargs: Any) -> fields.String:
    return fields.String(allow_none=True, validate=validate.Length(max=max_length), **kwargs)


class TrainerArgs(ApiArgs):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    function = _text(120)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    phone = fields.String(allow_none=True, validate=validate.Regexp(r"^[0-9 +()-]{6,40}$",
                                                                    error="Een telefoonnummer, zoals 0487 512 345."))


class ProposalArgs(ApiArgs):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kvk = fields.String(allow_none=True, validate=validate.Regexp(r"^\d{8}$", error="Een KvK-nummer heeft 8 cijfers."))
    gemeente = _text(120)
    note = _text(500)


class PlacementArgs(ApiArgs):
    """A placement as ``POST /routes/{id}/placements`` creates it and ``PATCH`` changes it
    (with ``partial``: only what is sent changes)."""

    kind = fields.String(required=True, validate=one_of(KINDS))
    service_id = fields.Integer(allow_none=True, metadata={
        "description": "Het onderdeel van de sociale kaart van de werkgever (of `proposal`)."})
    proposal = fields.Nested(ProposalArgs, allow_none=True, metadata={
        "description": "Een bedrijf dat nog niet op de sociale kaart staat: voorgesteld aan de redactie."})
    function = fields.String(required=True, validate=validate.Length(min=1, max=200))
    trainer = fields.Nested(TrainerArgs, required=True, metadata={"description": "De praktijkopleider."})
    supervisor_account_id = fields.Integer(required=True, metadata={"description": "De stagebegeleider van de school."})
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    schedule = fields.Dict(keys=fields.String(validate=one_of(DAYS)),
                           values=fields.Float(validate=validate.Range(
                               min=0, max=MAX_HOURS, error=f"Van 0 tot {MAX_HOURS} uur per dag.")), required=True,
                           metadata={"description": "Uren per dag (`ma` … `zo`), bijvoorbeeld {\"ma\": 7.5}."})
    with_coach = fields.Boolean(load_default=False)
    coach_name = _text(200)
    learning_goals = fields.List(fields.String(validate=validate.Length(min=1, max=300)),
                                 validate=validate.Length(max=10), load_default=list)
    werkprocessen = fields.List(fields.String(validate=validate.Length(min=1, max=200)),
                                validate=validate.Length(max=30), load_default=list)
    confirm_overlap = fields.Boolean(load_default=False, metadata={
        "description": "Ja: de stage overlapt bewust met een andere stage van de leerling."})

    @validates_schema
    def _dates(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("start_date") and data.get("end_date") and data["end_date"] < data["start_date"]:
            raise ValidationError({"end_date": ["De einddatum ligt vóór de startdatum."]})


class StatusArgs(ApiArgs):
    status = fields.String(required=True, validate=one_of(STATUSES))
    on_date = fields.Date(allow_none=True, metadata={"description": "De dag waarop het gebeurde (standaard vandaag)."})
    reason = _text(500, metadata={"description": "Verplicht bij `ended_early`."})
    hired = fields.Boolean(allow_none=True, metadata={
        "description": "Alleen bij `completed`: nam het bedrijf de student daarna aan? (leeg: onbekend)"})


class PlacementListArgs(BaseSchema):
    status = fields.String(validate=one_of(STATUSES))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


class _Named(BaseSchema):
    id = fields.Raw()
    name = fields.String(allow_none=True)


class _Company(BaseSchema):
    organisation_id = fields.Integer(allow_none=True)
    service_id = fields.Integer(allow_none=True)
    proposal_id = fields.Integer(allow_none=True)
    name = fields.String()


class _Trainer(BaseSchema):
    name, function = fields.String(), fields.String(allow_none=True)
    email, phone = fields.String(allow_none=True), fields.String(allow_none=True)


class PlacementSchema(BaseSchema):
    id = fields.Integer()
    uuid = fields.String()
    route_id = fields.Integer()
    student = fields.Nested(_Named)
    kind, status = fields.String(), fields.String()
    company = fields.Nested(_Company)
    function = fields.String()
    trainer = fields.Nested(_Trainer, allow_none=True)
    supervisor = fields.Nested(_Named, allow_none=True)
    start_date, end_date = fields.Date(), fields.Date()
    started_on, ended_on = fields.Date(allow_none=True), fields.Date(allow_none=True)
    end_reason = fields.String(allow_none=True)
    hired = fields.Boolean(allow_none=True)
    schedule = fields.Dict(keys=fields.String(), values=fields.Float())
    with_coach = fields.Boolean()
    coach_name = fields.String(allow_none=True)
    learning_goals = fields.List(fields.String(), allow_none=True)
    werkprocessen = fields.List(fields.String())
    version = fields.Integer()


class PlacementPageSchema(BaseSchema):
    items = fields.List(fields.Nested(PlacementSchema))
    page, per_page, total, pages = fields.Integer(), fields.Integer(), fields.Integer(), fields.Integer()


def to_service_data(body: dict[str, Any]) -> dict[str, Any]:
    """The API body as the service (and the form's schema) hands it over."""
    data = {key: body.get(key) for key in ("service_id", "function", "supervisor_account_id", "start_date",
                                            "end_date", "with_coach", "coach_name", "learning_goals",
                                            "werkprocessen", "confirm_overlap")}
    data["kind"] = PlacementKind(body["kind"])
    data["schedule"] = {day: round(hours * 60) for day, hours in (body.get("schedule") or {}).items()
                        if round(hours * 60)}
    for key, value in (body.get("trainer") or {}).items():
        data[f"trainer_{key}"] = value
    for key, value in (body.get("proposal") or {}).items():
        data[f"proposal_{key}"] = value
    return data


#: the service's field names (those of the form) as the API body names them
_FIELD_NAMES = {**{f"trainer_{key}": f"trainer.{key}" for key in ("name", "function", "email", "phone")},
                **{f"proposal_{key}": f"proposal.{key}" for key in ("name", "kvk", "gemeente", "note")},
                **{f"hours_{day}": "schedule" for day in DAYS}}


def api_field_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    named: dict[str, list[str]] = {}
    for field, messages in errors.items():
        named.setdefault(_FIELD_NAMES.get(field, field), []).extend(str(m) for m in messages)
    return named
