"""Schemas of the consents API: ``ConsentRecordArgs`` loads (unknown fields refused), the others
dump plain dicts the views build from what the caller may see."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from consent.models import Channel, ConsentStatus, GivenBy, Relation
from network.access import Category
from network.schemas import BaseSchema

_CATEGORIES = [c.value for c in Category]
_CATEGORY = fields.String(validate=validate.OneOf(_CATEGORIES, error=_l("Onbekende soort gegevens.")))


class ConsentRecordArgs(BaseSchema):
    """The body of ``POST /students/{id}/consents``: a consent the student (or, under 16, a
    legal representative) gave in person or on paper, recorded by the school's system."""

    recipient_id = fields.Integer(required=True, metadata={"description": "De organisatie die de gegevens krijgt."})
    purpose_code = fields.String(required=True, validate=validate.Length(min=1, max=60),
                                 metadata={"description": "Het doel, bijvoorbeeld `jobcoaching`."})
    categories = fields.List(_CATEGORY, required=True, metadata={
        "description": "De soorten gegevens; alleen wat het doel nodig heeft."})
    explicit = fields.List(_CATEGORY, load_default=list, metadata={
        "description": "Bijzondere gegevens (ondersteuningsbehoefte, justitie) waarvoor apart en uitdrukkelijk "
                       "toestemming is gegeven."})
    valid_from = fields.Date(load_default=None, metadata={"description": "Standaard vandaag."})
    valid_until = fields.Date(load_default=None, metadata={"description": "Standaard het einde van de route."})
    channel = fields.String(load_default=Channel.in_person.value, validate=validate.OneOf(
        [Channel.in_person.value, Channel.paper.value], error="Kies in_person of paper."),
        metadata={"description": "Hoe de toestemming is gegeven: in een gesprek (`in_person`) of op papier."})
    representative_name = fields.String(load_default=None, validate=validate.Length(max=200), metadata={
        "description": "Onder de 16: de naam van de wettelijk vertegenwoordiger die toestemming gaf."})
    representative_relation = fields.String(load_default=None, validate=validate.OneOf(
        [r.value for r in Relation], error=_l("Kies de relatie tot de leerling.")))
    text_version = fields.String(load_default=None, validate=validate.Length(max=40), metadata={
        "description": "De versie van de toestemmingstekst die de leerling zag; als u hem meestuurt, moet hij de "
                       "huidige zijn."})


class ConsentRecipientSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class ConsentPurposeSchema(Schema):
    code = fields.String()
    label = fields.String()


class ConsentItemSchema(Schema):
    category = fields.String(metadata={"enum": _CATEGORIES})
    explicit = fields.Boolean(metadata={"description": "Apart en uitdrukkelijk aangevinkt (bijzonder gegeven)."})


class ConsentSchema(Schema):
    id = fields.Integer()
    student_id = fields.UUID()
    recipient = fields.Nested(ConsentRecipientSchema)
    purpose = fields.Nested(ConsentPurposeSchema)
    categories = fields.List(fields.Nested(ConsentItemSchema))
    status = fields.String(metadata={"enum": [s.value for s in ConsentStatus]})
    valid_from = fields.Date()
    valid_until = fields.Date()
    given_by = fields.String(metadata={"enum": [g.value for g in GivenBy]})
    representative_name = fields.String(allow_none=True, metadata={"description": "Alleen voor de school."})
    representative_relation = fields.String(allow_none=True, metadata={"description": "Alleen voor de school."})
    channel = fields.String(metadata={"enum": [c.value for c in Channel]})
    text_version = fields.String(metadata={"description": "De versie van de getoonde toestemmingstekst."})
    text_hash = fields.String(metadata={"description": "SHA-256 van de precieze tekst."})
    recorded_by = fields.String(metadata={"description": "Wie de toestemming vastlegde (een persoon of "
                                                         "`API-client <naam>`)."})
    given_at = fields.DateTime()
    withdrawn_at = fields.DateTime(allow_none=True)
    expired_at = fields.DateTime(allow_none=True)


class ConsentListSchema(Schema):
    items = fields.List(fields.Nested(ConsentSchema))
