"""The instruments of the move into work in the route API (issue 20, item 4):

- ``GET /routes/{id}/instruments``: the instruments the caller may see (the school all of them; a
  gemeente or UWV those of its own law, on its basis for the student), one decision and its
  audit event (``instrument:view``) for the whole list.
- ``POST /routes/{id}/instruments``: record one through :func:`referrals.instruments.record_instrument`
  (the service the page uses): 201 with the instrument; bad input 400 with Dutch messages per
  field (problem+json) and nothing written; a closed route 409. ``Idempotency-Key`` is honoured.

The walls and the decision are :func:`referrals.instruments.instrument_access`'s: a route the
caller has no basis for is 404, as one that does not exist (the denial is audited).
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from network.api import NOT_JSON, api_principal, api_require, api_require_any, body_doc, require_json
from network.db import db
from network.permissions import Permission
from network.web import keyring
from referrals.api_common import BAD_INPUT, NO_SCOPE, NOT_FOUND, load_body
from referrals.api_schemas import ApiArgs, _text, one_of
from referrals.instruments import instrument_access, instrument_note, record_instrument, route_instruments
from referrals.instruments_models import Funder, Instrument, InstrumentKind, RegisterStatus
from referrals.route_api import bp
from referrals.tags import InstrumentTag

_CLOSED = (409, "Het traject is afgesloten")
_NO_ACCESS = "U heeft geen toegang tot de instrumenten van trajecten."


class InstrumentArgsApi(ApiArgs):
    """The body of ``POST /routes/{id}/instruments``; what each kind needs is checked by the service."""

    kind = fields.String(required=True, validate=one_of([k.value for k in InstrumentKind]))
    register_status = fields.String(allow_none=True, load_default=None,
                                    validate=one_of([s.value for s in RegisterStatus]),
                                    metadata={"description": "Alleen bij `doelgroepregister`."})
    funder = fields.String(allow_none=True, load_default=None, validate=one_of([f.value for f in Funder]),
                           metadata={"description": "Alleen bij `jobcoach` en `werkplekaanpassing`."})
    hours_per_week = fields.Integer(allow_none=True, load_default=None,
                                    metadata={"description": "Alleen bij `jobcoach`: 1 tot en met 40."})
    start_date = fields.Date(required=True)
    end_date = fields.Date(allow_none=True, load_default=None)
    arranged_by_organisation_id = fields.Integer(required=True,
                                                 metadata={"description": "Een organisatie uit de regio."})
    arranged_by_name = _text(200)
    evidence = _text(200, "Kenmerk en datum van het besluit, waar de wet een besluit vraagt.")
    note = _text(2000)


class InstrumentSchema(Schema):
    id = fields.Integer()
    route_id = fields.Integer()
    kind = fields.String(metadata={"enum": [k.value for k in InstrumentKind]})
    register_status = fields.String(allow_none=True)
    funder = fields.String(allow_none=True)
    hours_per_week = fields.Integer(allow_none=True)
    start_date = fields.Date()
    end_date = fields.Date(allow_none=True)
    arranged_by_organisation_id = fields.Integer()
    arranged_by_organisation = fields.String()
    arranged_by_name = fields.String()
    evidence = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    recorded_by = fields.String()
    created_at = fields.DateTime()


class InstrumentListSchema(Schema):
    route_id = fields.Integer()
    items = fields.List(fields.Nested(InstrumentSchema))


def instrument_body(instrument: Instrument) -> dict[str, Any]:
    return {"id": instrument.id, "route_id": instrument.route_id, "kind": instrument.kind.value,
            "register_status": instrument.register_status.value if instrument.register_status else None,
            "funder": instrument.funder.value if instrument.funder else None,
            "hours_per_week": instrument.hours_per_week, "start_date": instrument.start_date,
            "end_date": instrument.end_date, "arranged_by_organisation_id": instrument.arranged_by_organisation_id,
            "arranged_by_organisation": instrument.arranged_by.name, "arranged_by_name": instrument.arranged_by_name,
            "evidence": instrument.evidence, "note": instrument_note(keyring(), instrument),
            "recorded_by": instrument.recorded_by_name, "created_at": instrument.created_at}


@bp.route("/routes/<int:route_id>/instruments", methods=["GET"])
@api_require(Permission.referral_view, _NO_ACCESS)
@bp.response(200, InstrumentListSchema)
@bp.problems(NO_SCOPE, NOT_FOUND)
def list_instruments(route_id):
    """De instrumenten naar werk van een traject die u mag zien: de school alle, een gemeente of
    UWV die van de eigen wet (met een grondslag voor de leerling; zonder grondslag: 404)."""
    access = instrument_access(db.session, api_principal(), route_id)
    return {"route_id": access.route.id, "items": [instrument_body(i) for i in route_instruments(db.session, access)]}


@bp.route("/routes/<int:route_id>/instruments", methods=["POST"])
@api_require_any(Permission.route_manage, Permission.referral_handle, message=_NO_ACCESS)
@bp.doc(requestBody=body_doc(InstrumentArgsApi))
@bp.response(201, InstrumentSchema)
@bp.problems(BAD_INPUT, NO_SCOPE, NOT_FOUND, _CLOSED, NOT_JSON)
def record_instrument_api(route_id):
    """Leg een instrument naar werk vast. De school legt elk instrument vast; een gemeente of UWV
    alleen die van de eigen wet. Einddatum niet vóór de start, 1 tot en met 40 uur jobcoaching,
    een besluit waar de wet het vraagt: anders 400 met een Nederlandse melding per veld."""
    principal = api_principal()
    # decided as a read: its audit event outlives a refused body (the record is audited as a create)
    access = instrument_access(db.session, principal, route_id, event_type=InstrumentTag.form)
    require_json()
    data = load_body(InstrumentArgsApi)
    made = record_instrument(db.session, principal, keyring(), access, data)
    return instrument_body(made), 201
