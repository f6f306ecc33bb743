"""Schemas of the sociale kaart's write API (``/api/v1/services``): ``ServiceWriteArgs`` loads
a whole entry (POST), ``ServicePatchArgs`` the changed fields (PATCH), unknown fields refused; the
others dump plain dicts the views build. Field rules are the entry form's (socialmap.schemas):
the same lengths, phone, e-mail, web address and postcode checks, with Dutch messages."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates, validates_schema

from network.api import NO_NUL
from network.schemas import BaseSchema
from socialmap.models import CapacityStatus, ServiceStatus
from socialmap.schemas import EMAIL, PHONE, URL, normalise_postcode
from socialmap.vocab import OFFERS, TARGET_GROUPS

_TOO_LONG = _l("Gebruik hoogstens {max} tekens.")
_AREA_TOKEN = re.compile(r"^\d{4}(\s?[A-Za-z]{2})?(-\d{4})?$")


def _text(max_length: int, **kwargs: Any) -> fields.String:
    return fields.String(allow_none=True, validate=validate.Length(max=max_length, error=_TOO_LONG), **kwargs)


def _age() -> fields.Integer:
    return fields.Integer(allow_none=True, validate=validate.Range(min=0, max=99,
                                                                   error=_l("Vul een leeftijd tussen 0 en 99 in.")))


class ServiceContactArgs(BaseSchema):
    """A contact person. ``id`` keeps an existing one (PATCH); leave it out for a new one."""

    id = fields.UUID(allow_none=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200, error=_TOO_LONG))
    title = _text(120, metadata={"description": "De functie, bijvoorbeeld Jobcoach."})
    email = fields.String(allow_none=True, validate=[EMAIL, validate.Length(max=254, error=_TOO_LONG)])
    phone = fields.String(allow_none=True, validate=PHONE)


class ServiceLocationArgs(BaseSchema):
    id = fields.UUID(allow_none=True)
    name = _text(200)
    address = _text(200)
    postal_code = fields.String(allow_none=True)
    city = _text(120)
    description = _text(500)

    @validates("postal_code")
    def _postcode(self, value: str | None, **kwargs: Any) -> None:
        if value and not normalise_postcode(value):
            raise ValidationError(_l("Vul een geldige postcode in, zoals 6511 AB."))

    @post_load
    def _clean(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data.get("postal_code"):
            data["postal_code"] = normalise_postcode(data["postal_code"])
        return data


class ServiceWriteArgs(BaseSchema):
    """An entry of the own organisation. On PATCH every field is optional and a field left out
    stays as it is; ``contacts`` and ``locations``, when sent, are the whole new list."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200, error=_TOO_LONG))
    alternate_name = _text(200)
    description = _text(5000)
    categories = fields.List(fields.String(validate=validate.Length(max=40)), metadata={
        "description": "Codes van \"waarvoor te benaderen\" (zie de HSDS-taxonomie `waarvoor-te-benaderen`)."})
    department = _text(120)
    url = fields.String(allow_none=True, validate=[URL, validate.Length(max=300, error=_TOO_LONG)])
    email = fields.String(allow_none=True, validate=[EMAIL, validate.Length(max=254, error=_TOO_LONG)],
                          metadata={"description": "Het algemene adres; personen staan bij `contacts`."})
    phone = fields.String(allow_none=True, validate=PHONE)
    minimum_age = _age()
    maximum_age = _age()
    target_groups = fields.List(fields.String(validate=validate.OneOf(
        list(TARGET_GROUPS), error=_l("Kies een doelgroep uit de lijst."))))
    eligibility_description = _text(2000)
    gemeenten = fields.List(fields.String(validate=validate.Length(min=1, max=120, error=_TOO_LONG)),
                            metadata={"description": "De gemeenten waarvoor de dienst er is."})
    area_postcodes = fields.String(allow_none=True, validate=validate.Length(max=500, error=_TOO_LONG),
                                   metadata={"description": "Postcodes of reeksen, zoals `6511, 6511 AB, 6511-6519`."})
    opening_hours = _text(500)
    capacity = fields.Enum(CapacityStatus, by_value=True, allow_none=True,
                           error_messages={"unknown": _l("Kies een capaciteit uit de lijst.")})
    is_internal = fields.Boolean(metadata={"description": "Een interne dienst van de school (stagebureau, ...)."})
    status = fields.Enum(ServiceStatus, by_value=True,
                         error_messages={"unknown": _l("Kies een status uit de lijst.")})
    sector = _text(120)
    response_days = fields.Integer(allow_none=True, validate=validate.Range(
        min=1, max=60, error=_l("Vul een aantal werkdagen tussen 1 en 60 in.")))
    sbb_recognised = fields.Boolean()
    offers = fields.List(fields.String(validate=validate.OneOf(
        list(OFFERS), error=_l("Kies een aanbod uit de lijst."))))
    contacts = fields.List(fields.Nested(ServiceContactArgs))
    locations = fields.List(fields.Nested(ServiceLocationArgs))

    @validates("area_postcodes")
    def _area(self, value: str | None, **kwargs: Any) -> None:
        if any(not _AREA_TOKEN.match(token) for token in _tokens(value)):
            raise ValidationError(_l("Gebruik postcodes of reeksen zoals 6511, 6511 AB of 6511-6519."))

    @validates_schema(skip_on_field_errors=True)
    def _ages(self, data: dict[str, Any], **kwargs: Any) -> None:
        low, high = data.get("minimum_age"), data.get("maximum_age")
        if low is not None and high is not None and low > high:
            raise ValidationError(_l("De minimumleeftijd is hoger dan de maximumleeftijd."), "maximum_age")

    @post_load
    def _shape(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if "area_postcodes" in data:
            data["area_postcodes"] = ", ".join(_tokens(data["area_postcodes"])) or None
        if "gemeenten" in data:
            data["gemeenten"] = [" ".join(g.split()) for g in data["gemeenten"] or []]
        for name in ("categories", "target_groups", "offers", "contacts", "locations"):
            if name in data and data[name] is None:
                data[name] = []
        return data


class ServicePatchArgs(ServiceWriteArgs):
    """The body of PATCH: every field optional (also the name); what is left out stays."""

    name = fields.String(validate=validate.Length(min=1, max=200, error=_TOO_LONG))


def _tokens(value: str | None) -> list[str]:
    return [t.strip() for t in re.split(r"[,;\n]", value or "") if t.strip()]


class ServiceListArgs(BaseSchema):
    q = fields.String(validate=[validate.Length(max=100), NO_NUL], metadata={"description": "Zoekwoorden."})
    status = fields.Enum(ServiceStatus, by_value=True,
                         metadata={"description": "Alleen deze status (standaard: alle)."})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


class ServiceOrganisationSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class ServiceContactSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    title = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)


class ServiceLocationSchema(Schema):
    id = fields.UUID()
    name = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    postal_code = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    description = fields.String(allow_none=True)


class ServiceSchema(Schema):
    id = fields.UUID(metadata={"description": "Het HSDS-id van de dienst (ook in `/hsds`)."})
    organisation = fields.Nested(ServiceOrganisationSchema)
    name = fields.String()
    alternate_name = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    categories = fields.List(fields.String())
    department = fields.String(allow_none=True)
    url = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    minimum_age = fields.Integer(allow_none=True)
    maximum_age = fields.Integer(allow_none=True)
    target_groups = fields.List(fields.String())
    eligibility_description = fields.String(allow_none=True)
    gemeenten = fields.List(fields.String())
    area_postcodes = fields.String(allow_none=True)
    opening_hours = fields.String(allow_none=True)
    capacity = fields.String(allow_none=True, metadata={"enum": [c.value for c in CapacityStatus]})
    capacity_updated_at = fields.DateTime(allow_none=True)
    is_internal = fields.Boolean()
    status = fields.String(metadata={"enum": [s.value for s in ServiceStatus]})
    sector = fields.String(allow_none=True)
    sbb_recognised = fields.Boolean()
    offers = fields.List(fields.String())
    response_days = fields.Integer(allow_none=True)
    assured_date = fields.Date(allow_none=True)
    verified_at = fields.DateTime()
    updated_at = fields.DateTime()
    version = fields.Integer(metadata={"description": "Rijversie; ook de ETag (`W/\"<versie>\"`)."})
    contacts = fields.List(fields.Nested(ServiceContactSchema))
    locations = fields.List(fields.Nested(ServiceLocationSchema))


class ServicePageSchema(Schema):
    items = fields.List(fields.Nested(ServiceSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()
