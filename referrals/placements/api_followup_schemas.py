"""Schemas of the placement API's follow-up (``/api/v1/placements/{id}/contacts`` and
``…/assessments``): :class:`ContactRecordArgs` loads the record of a planned contact (unknown
fields refused, Dutch messages); the ``…Schema`` classes document and dump the answers.

The body names a contact's record as the form does, with the evaluation's topics (seed 001,
Bijlage 5.2) as one object; :func:`contact_service_data` turns it into what
:func:`referrals.placements.protocol.record_contact` takes and :func:`contact_field_errors`
names the service's field errors as the body does.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from network.schemas import BaseSchema
from referrals.api_schemas import ApiArgs, one_of
from referrals.placements.protocol import EVALUATION_TOPICS, MAX_TEXT
from referrals.placements.protocol_models import ContactHow, ContactWith


def _text(**kwargs: Any) -> fields.String:
    return fields.String(allow_none=True, validate=validate.Length(max=MAX_TEXT), **kwargs)


class TopicsArgs(ApiArgs):
    """The evaluation's topics: at least one of them for an evaluation."""

    criteria = _text(metadata={"description": "Beoordelingscriteria."})
    future_profile = _text(metadata={"description": "Toekomstprofiel."})
    vacancy = _text(metadata={"description": "Een passende vacature bij het bedrijf."})
    workplace = _text(metadata={"description": "Werkplek en bedrijfscultuur."})


class ContactRecordArgs(ApiArgs):
    """The record of a planned contact (``POST …/contacts/{contact_id}/record``)."""

    done_on = fields.Date(required=True, metadata={"description": "De dag van het contact (niet in de toekomst)."})
    with_whom = fields.String(required=True, validate=one_of(c.value for c in ContactWith))
    how = fields.String(required=True, validate=one_of(c.value for c in ContactHow))
    agreed = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TEXT),
                           metadata={"description": "Wat er is besproken en afgesproken."})
    follow_up = _text(metadata={"description": "Vervolgacties."})
    topics = fields.Nested(TopicsArgs, allow_none=True, metadata={
        "description": "De onderwerpen van een evaluatie (bij een evaluatie minstens één)."})


def contact_service_data(body: dict[str, Any]) -> dict[str, Any]:
    """The API body as :func:`~referrals.placements.protocol.record_contact` takes it."""
    data = {key: body.get(key) for key in ("done_on", "with_whom", "how", "agreed", "follow_up")}
    data.update({topic: (body.get("topics") or {}).get(topic) for topic in EVALUATION_TOPICS})
    return data


def contact_field_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """The service's field errors (named as the form names them) named as the body does."""
    return {(f"topics.{field}" if field in EVALUATION_TOPICS else field): [str(m) for m in messages]
            for field, messages in errors.items()}


class _Topics(BaseSchema):
    criteria, future_profile = fields.String(allow_none=True), fields.String(allow_none=True)
    vacancy, workplace = fields.String(allow_none=True), fields.String(allow_none=True)


class _Notes(BaseSchema):
    agreed = fields.String(allow_none=True)
    follow_up = fields.String(allow_none=True)
    topics = fields.Nested(_Topics)


class ContactSchema(BaseSchema):
    id = fields.Integer()
    uuid = fields.String()
    placement_id = fields.Integer()
    kind = fields.String(metadata={"description": "`first_call_student`, `first_call_trainer`, `visit`, "
                                                  "`evaluation` of `other` (niet gepland)."})
    sequence = fields.Integer()
    status = fields.String(metadata={"description": "`planned`, `done` of `cancelled` (vervallen)."})
    due_date = fields.Date(allow_none=True, metadata={"description": "Uiterlijk op deze dag (gepland)."})
    planned_date = fields.Date(allow_none=True, metadata={"description": "De dag die eerst gepland was."})
    late = fields.Boolean(metadata={"description": "Gepland en de datum is voorbij."})
    moved = fields.Boolean()
    move_reason = fields.String(allow_none=True)
    done_on = fields.Date(allow_none=True)
    with_whom = fields.String(allow_none=True)
    how = fields.String(allow_none=True)
    recorded_by = fields.String(allow_none=True)
    recorded_at = fields.DateTime(allow_none=True)
    notes = fields.Nested(_Notes, allow_none=True, metadata={
        "description": "Wat is vastgelegd (versleuteld bewaard); alleen met een grondslag voor de opleidingsgegevens."})


class ContactListSchema(BaseSchema):
    placement_id = fields.Integer()
    version = fields.Integer(metadata={"description": "De versie van de stage: de ETag voor `If-Match`."})
    items = fields.List(fields.Nested(ContactSchema))


class _Choice(BaseSchema):
    code = fields.String()
    label = fields.String()


class _Scored(BaseSchema):
    key = fields.String()
    number = fields.String()
    text = fields.String()
    score = fields.String(allow_none=True)
    label = fields.String(allow_none=True)


class _Group(BaseSchema):
    number = fields.Integer()
    title = fields.String()
    items = fields.List(fields.Nested(_Scored))


class AssessmentSummarySchema(BaseSchema):
    id = fields.Integer()
    uuid = fields.String()
    placement_id = fields.Integer()
    status = fields.String(metadata={"description": "`requested` (de link is verstuurd) of `submitted`."})
    link = fields.String(metadata={"description": "`open`, `expired`, `revoked` of `used`: de link zelf staat "
                                                  "nooit in de API."})
    channel = fields.String(metadata={"description": "`link` (persoonlijke link per e-mail, zonder account) of "
                                                     "`inbox` (de medewerkers van het bedrijf in Schakel)."})
    sent_to = fields.String(metadata={"description": "Het e-mailadres van de praktijkopleider, of bij `inbox` de "
                                                     "naam van het bedrijf."})
    sent_at = fields.DateTime()
    expires_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)
    assessed_on = fields.Date(allow_none=True)
    assessor_name = fields.String(allow_none=True)


class AssessmentListSchema(BaseSchema):
    placement_id = fields.Integer()
    items = fields.List(fields.Nested(AssessmentSummarySchema))


class AssessmentSchema(AssessmentSummarySchema):
    header = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True), allow_none=True, metadata={
        "description": "Deelnemer, bedrijf, setting, functie, beoordelaar, begeleider, datum."})
    eindoordeel = fields.Dict(allow_none=True, metadata={
        "description": "`would_hire`, `can_develop` (ja/nee) en de open antwoorden `if_not`, `if_so`."})
    scales = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(_Choice)))
    werkprocessen = fields.List(fields.Nested(_Scored), allow_none=True)
    competences = fields.List(fields.Nested(_Group), allow_none=True)
    attention = fields.List(fields.Nested(_Choice), allow_none=True, metadata={
        "description": "De aangekruiste punten van \"Er moet meer aandacht besteed worden aan\"."})
    toelichting = fields.String(allow_none=True)
    signed_name = fields.String(allow_none=True)
