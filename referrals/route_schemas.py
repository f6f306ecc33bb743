"""Form schemas of the route pages (Dutch messages via :mod:`network.schemas`). Checks that
need the database or the clock (the responsible contact, dates in the future) are the
service's."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate

from network.schemas import FormSchema
from referrals.models import RoutePhase, Situation


class OpenRouteArgs(FormSchema):
    expected_exit_date = fields.Date(load_default=None)
    start_date = fields.Date(load_default=None)
    responsible_account_id = fields.Integer(load_default=None)


def _update_fields() -> dict[str, fields.Field]:
    result: dict[str, fields.Field] = {
        "phase": fields.String(required=True, error_messages={"required": _l("Kies een fase.")},
                               validate=validate.OneOf([p.value for p in RoutePhase], error=_l("Kies een fase."))),
        "responsible_account_id": fields.Integer(required=True, error_messages={
            "required": _l("Kies een medewerker van de school als verantwoordelijke.")}),
        "expected_exit_date": fields.Date(required=True),
        #: a checkbox: an application for the doelgroepregister (banenafspraak) runs on this route
        "doelgroepregister_open": fields.Boolean(load_default=False),
        "version": fields.Integer(load_default=None),
    }
    for phase in RoutePhase:
        result[f"planned_{phase.value}"] = fields.Date(load_default=None)
        result[f"reached_{phase.value}"] = fields.Date(load_default=None)
    return result


#: the route's edit form: phase, responsible, expected exit, planned/reached date per phase
UpdateRouteArgs = FormSchema.from_dict(_update_fields(), name="UpdateRouteArgs")


#: the exit form's answer about the startkwalificatie -> what the route stores (None: not said)
STARTKWALIFICATIE_ANSWERS = {"ja": True, "nee": False, "onbekend": None}


class CheckInArgs(FormSchema):
    situation = fields.String(required=True, error_messages={"required": _l("Kies hoe het met de oud-leerling gaat.")},
                              validate=validate.OneOf(
        [s.value for s in Situation], error=_l("Kies hoe het met de oud-leerling gaat.")))
    note = fields.String(load_default=None, validate=validate.Length(
        max=2000, error=_l("Houd de notitie korter dan 2000 tekens.")))
    #: the retourticket: "wil terug naar school" (a ticked box)
    wants_back = fields.Boolean(load_default=False, truthy={"ja", "on", "true", "1"}, falsy={"", "nee", "false", "0"})
    #: with "niet bereikt": the day of the attempt and how (the service requires them then)
    attempt_date = fields.Date(load_default=None)
    attempt_method = fields.String(load_default=None)
