"""Schemas of the referral API (``/api/v1/referrals``): ``XxxArgs`` load (unknown fields are
refused), ``XxxSchema`` dump a whitelist of fields. The views hand them plain dicts built from
what the viewer may see (the student's name only with a basis for contact data; the packet
only through :func:`referrals.packet.read_packet`)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from network.api import ProblemSchema  # noqa: F401  (re-exported for the referral API)
from network.schemas import BaseSchema
from referrals.states import Outcome, ReferralStatus

STATUSES = [s.value for s in ReferralStatus]


class ReferralListArgs(BaseSchema):
    cursor = fields.String(validate=validate.Length(max=200),
                           metadata={"description": "De `next_cursor` van de vorige pagina."})
    limit = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100),
                           metadata={"description": "Aantal verwijzingen per pagina (1-100)."})
    status = fields.String(validate=validate.OneOf(["open", *STATUSES]),
                           metadata={"description": "Alleen deze status, of `open` voor alles wat nog loopt."})


class TransitionArgs(BaseSchema):
    """The body of ``POST /referrals/{id}/transitions``."""

    status = fields.String(required=True, validate=validate.OneOf(STATUSES),
                           metadata={"description": "De nieuwe status (HL7 Gravity)."})
    reason = fields.String(allow_none=True, validate=validate.Length(max=500),
                           metadata={"description": "Verplicht voor rejected, cancelled, on-hold, failed en "
                                                    "entered-in-error."})
    outcome = fields.String(allow_none=True, validate=validate.OneOf([o.value for o in Outcome]),
                            metadata={"description": "Verplicht voor completed."})


class NamedSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class HandoverSchema(Schema):
    held_on = fields.Date(allow_none=True)
    present = fields.String(allow_none=True)
    recorded_by = fields.String(allow_none=True)
    confirmed_at = fields.DateTime(allow_none=True)
    confirmed_by = fields.String(allow_none=True)


class ReferralSchema(Schema):
    id = fields.Integer()
    status = fields.String(metadata={"enum": STATUSES})
    status_reason = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True, metadata={"enum": [o.value for o in Outcome]})
    type = fields.String()
    purpose = fields.String()
    version = fields.Integer(metadata={"description": "Rijversie; ook de ETag (`W/\"<versie>\"`)."})
    student_name = fields.String(allow_none=True,
                                 metadata={"description": "Alleen met een grondslag voor contactgegevens."})
    service = fields.Nested(NamedSchema)
    from_organisation = fields.Nested(NamedSchema)
    from_name = fields.String()
    to_organisation = fields.Nested(NamedSchema)
    owner = fields.Nested(NamedSchema, allow_none=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    response_due = fields.Date(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    handover = fields.Nested(HandoverSchema)
    allowed_transitions = fields.List(fields.String(), metadata={"description": "Wat u nu mag."})


class ReferralPageSchema(Schema):
    items = fields.List(fields.Nested(ReferralSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "Leeg op de laatste pagina."})


class PacketSchema(Schema):
    state = fields.String(metadata={"enum": ["open", "withdrawn", "denied", "none"],
                                    "description": "withdrawn: toestemming ingetrokken of verlopen, geen gegevens"})
    shared_categories = fields.List(fields.String())
    visible_categories = fields.List(fields.String())
    content = fields.Dict(allow_none=True, metadata={"description": "Alleen in state open: per categorie."})
    withdrawn_at = fields.DateTime(allow_none=True)
    withdrawn_reason = fields.String(allow_none=True)


class EventSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    at = fields.DateTime()
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    body = fields.String(allow_none=True)
    internal = fields.Boolean(metadata={"description": "Interne notitie: alleen voor uw organisatie."})
    actor_name = fields.String()
    actor_organisation = fields.String(allow_none=True)


class ReferralDetailSchema(ReferralSchema):
    packet = fields.Nested(PacketSchema)
    events = fields.List(fields.Nested(EventSchema))
