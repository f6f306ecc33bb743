"""Forms of the beheer pages: organisations, accounts and memberships (Dutch messages).

Format checks live here; checks that need the database (duplicates, role fits organisation)
live in :mod:`network.directory`, which the views call next. BRIN/KvK/OIN rules are shared with
the service through :func:`network.directory.clean_identifiers`.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate, validates_schema

from network.directory import clean_identifiers
from network.models import OrganisationType, Role
from network.schemas import FormSchema
from network.student_schemas import email_field

ORGANISATION_TYPE_LABELS = {
    OrganisationType.school: _l("School (mbo, PrO, VSO)"),
    OrganisationType.gemeente: _l("Gemeente"),
    OrganisationType.uwv: _l("UWV"),
    OrganisationType.wsp: _l("Werkgeversservicepunt"),
    OrganisationType.rmc: _l("RMC"),
    OrganisationType.sbb: _l("SBB"),
    OrganisationType.leerwerkloket: _l("Leerwerkloket"),
    OrganisationType.mee: _l("MEE"),
    OrganisationType.zorg: _l("Zorgaanbieder"),
    OrganisationType.werkgever: _l("Werkgever"),
    OrganisationType.hub: _l("Regionale hub"),
    OrganisationType.other: _l("Anders"),
}

ROLE_LABELS = {
    Role.zorgcoordinator: _l("Zorgcoördinator"),
    Role.mentor: _l("Mentor / SLB'er"),
    Role.bpv_begeleider: _l("BPV-begeleider"),
    Role.decaan: _l("Decaan"),
    Role.partner_staff: _l("Medewerker partnerorganisatie"),
    Role.coordinator: _l("Uitstroomcoördinator"),
    Role.hub_admin: _l("Beheerder van de hub"),
    Role.student: _l("Leerling"),
}

_CHOOSE = _l("Maak een keuze uit de lijst.")
_PHONE = validate.Regexp(r"^\+?[0-9 ()-]{8,20}$", error=_l("Vul een geldig telefoonnummer in, zoals 024 123 45 67."))


class OrganisationArgs(FormSchema):
    """Create or edit an organisation."""

    region_id = fields.Integer(required=True, error_messages={"required": _l("Kies een regio.")})
    name = fields.String(required=True, validate=validate.Length(max=200, error=_l("Gebruik hoogstens 200 tekens.")))
    type = fields.Enum(OrganisationType, by_value=True, required=True,
                       error_messages={"unknown": _CHOOSE, "required": _l("Kies de soort organisatie.")})
    brin = fields.String(load_default=None)
    kvk = fields.String(load_default=None)
    oin = fields.String(load_default=None)
    gemeente = fields.String(load_default=None, validate=validate.Length(max=120))
    email = email_field()
    phone = fields.String(load_default=None, validate=_PHONE)
    website = fields.String(load_default=None, validate=[
        validate.Regexp(r"^https?://[^\s/]+\.[^\s]+$", error=_l("Vul een webadres in dat begint met https://.")),
        validate.Length(max=300, error=_l("Gebruik hoogstens 300 tekens."))])

    @validates_schema(skip_on_field_errors=False)
    def _identifiers(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "type" not in data:
            return
        _, errors = clean_identifiers(data["type"], brin=data.get("brin"), kvk=data.get("kvk"), oin=data.get("oin"))
        if errors:
            raise ValidationError(errors)


class OrganisationEditArgs(OrganisationArgs):
    region_id = fields.Integer(load_default=None)
    version = fields.Integer(required=True)
    is_active = fields.Boolean(load_default=False, truthy={"1", "on", "true"}, falsy={"0", "off", "false"})


class MembershipArgs(FormSchema):
    """Give an account a role in an organisation."""

    organisation_id = fields.Integer(required=True, error_messages={"required": _l("Kies een organisatie.")})
    role = fields.Enum(Role, by_value=True, required=True,
                       error_messages={"unknown": _CHOOSE, "required": _l("Kies een rol.")})
    title = fields.String(load_default=None,
                          validate=validate.Length(max=120, error=_l("Gebruik hoogstens 120 tekens.")))


class AccountArgs(MembershipArgs):
    """A new account with its first membership; the password is optional (reset flow)."""

    email = email_field(required=True)
    name = fields.String(required=True, validate=validate.Length(max=200, error=_l("Gebruik hoogstens 200 tekens.")))
    password = fields.String(load_default=None)
