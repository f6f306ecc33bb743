"""The entry form (and the imports' row check): fields, Dutch labels and Dutch messages.

``load_service_form(form)`` reads a submitted form (repeated checkboxes, the contact rows
``contact-<n>-<field>`` and one location ``location-<field>``) and returns ``(data, errors)``;
error keys are the form's field names so the page can point at each field.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import (
    ValidationError,
    fields,
    post_load,
    validate,
    validates,
    validates_schema,
)

from network.errors import field_messages
from network.schemas import FormSchema
from socialmap.models import CapacityStatus, ServiceStatus
from socialmap.vocab import OFFERS, TARGET_GROUPS

CONTACT_ROWS = 3
_TOO_LONG = _l("Gebruik hoogstens {max} tekens.")
#: a phone number, or a gemeente's short number "14" + area code (14 0487)
PHONE = validate.Regexp(r"^(\+?[0-9 ()-]{8,20}|14 ?0[0-9]{2,3})$",
                        error=_l("Vul een geldig telefoonnummer in, zoals 06 12345678."))
EMAIL = validate.Email(error=_l("Vul een geldig e-mailadres in, zoals naam@voorbeeld.nl."))
URL = validate.URL(schemes={"http", "https"}, require_tld=True,
                   error=_l("Vul een geldig webadres in, zoals https://www.voorbeeld.nl."))
_POSTCODE = re.compile(r"^(\d{4})\s?([A-Za-z]{2})$")
_AREA_TOKEN = re.compile(r"^\d{4}(\s?[A-Za-z]{2})?(-\d{4})?$")

FIELD_LABELS = {
    "organisation_id": _l("Organisatie"),
    "name": _l("Naam van de dienst"),
    "description": _l("Omschrijving"),
    "categories": _l("Waarvoor te benaderen"),
    "department": _l("Afdeling"),
    "url": _l("Website"),
    "email": _l("Algemeen e-mailadres"),
    "phone": _l("Algemeen telefoonnummer"),
    "minimum_age": _l("Minimumleeftijd"),
    "maximum_age": _l("Maximumleeftijd"),
    "target_groups": _l("Doelgroepen"),
    "eligibility_description": _l("Voor wie (toelichting)"),
    "gemeenten": _l("Gemeenten"),
    "area_postcodes": _l("Postcodes"),
    "opening_hours": _l("Openingstijden"),
    "response_days": _l("Reactietermijn in werkdagen"),
    "capacity": _l("Capaciteit"),
    "is_internal": _l("Interne dienst van de school"),
    "status": _l("Status"),
    "sector": _l("Sector"),
    "sbb_recognised": _l("Erkend leerbedrijf (SBB)"),
    "offers": _l("Wat de werkgever biedt"),
    "contact": _l("Contactpersoon"),
    "location": _l("Locatie"),
    # the company side of an employer entry (socialmap.employer_offer)
    "employer": _l("Stagebedrijf"),
    "places": _l("Stageplaatsen per soort"),
    "adaptations": _l("Aanpassingen op de werkplek"),
    "trained_trainer": _l("Opgeleide praktijkopleider"),
    "trained_since": _l("Praktijkopleider opgeleid sinds"),
    "functions": _l("Functies en werkprocessen"),
    "bbl_possible": _l("Leerbaan (BBL) mogelijk"),
    "sbb_number": _l("SBB-nummer"),
    "banenafspraak": _l("Ervaring met de banenafspraak"),
    "loonkostensubsidie": _l("Ervaring met loonkostensubsidie"),
}


def _text(max_length: int, required: bool = False) -> fields.String:
    kwargs: dict[str, Any] = {"required": True} if required else {"load_default": None}
    return fields.String(validate=validate.Length(max=max_length, error=_TOO_LONG), **kwargs)


def normalise_postcode(value: str | None) -> str | None:
    """``6511ab`` → ``6511 AB``; None when it is not a Dutch postcode."""
    match = _POSTCODE.match((value or "").strip())
    return f"{match.group(1)} {match.group(2).upper()}" if match else None


class ContactArgs(FormSchema):
    id = fields.UUID(load_default=None)
    name = _text(200)
    title = _text(120)
    email = fields.String(load_default=None, validate=[EMAIL, validate.Length(max=254, error=_TOO_LONG)])
    phone = fields.String(load_default=None, validate=PHONE)

    @validates_schema(skip_on_field_errors=False)
    def _named(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("name") and any(data.get(k) for k in ("title", "email", "phone")):
            raise ValidationError(_("Vul de naam van de contactpersoon in."), "name")


class LocationArgs(FormSchema):
    id = fields.UUID(load_default=None)
    name = _text(200)
    address = _text(200)
    postal_code = fields.String(load_default=None)
    city = _text(120)
    description = _text(500)

    @validates("postal_code")
    def _postcode(self, value: str | None, **kwargs: Any) -> None:
        if value and not normalise_postcode(value):
            raise ValidationError(_("Vul een geldige postcode in, zoals 6511 AB."))

    @post_load
    def _clean(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data.get("postal_code"):
            data["postal_code"] = normalise_postcode(data["postal_code"])
        return data


class ServiceArgs(FormSchema):
    """An entry as the form sends it. Optional fields may be left empty."""

    organisation_id = fields.Integer(load_default=None)
    version = fields.Integer(load_default=None)
    name = _text(200, required=True)
    description = _text(5000)
    categories = fields.List(fields.String(), load_default=list)
    department = _text(120)
    url = fields.String(load_default=None, validate=[URL, validate.Length(max=300, error=_TOO_LONG)])
    email = fields.String(load_default=None, validate=[EMAIL, validate.Length(max=254, error=_TOO_LONG)])
    phone = fields.String(load_default=None, validate=PHONE)
    minimum_age = fields.Integer(load_default=None, validate=validate.Range(
        min=0, max=99, error=_l("Vul een leeftijd tussen 0 en 99 in.")))
    maximum_age = fields.Integer(load_default=None, validate=validate.Range(
        min=0, max=99, error=_l("Vul een leeftijd tussen 0 en 99 in.")))
    target_groups = fields.List(fields.String(validate=validate.OneOf(
        list(TARGET_GROUPS), error=_l("Kies een doelgroep uit de lijst."))), load_default=list)
    eligibility_description = _text(2000)
    gemeenten = fields.String(load_default=None, validate=validate.Length(max=1000, error=_TOO_LONG))
    area_postcodes = fields.String(load_default=None, validate=validate.Length(max=500, error=_TOO_LONG))
    opening_hours = _text(500)
    capacity = fields.Enum(CapacityStatus, by_value=True, load_default=None,
                           error_messages={"unknown": _l("Kies een capaciteit uit de lijst.")})
    is_internal = fields.Boolean(load_default=False)
    status = fields.Enum(ServiceStatus, by_value=True, load_default=ServiceStatus.active,
                         error_messages={"unknown": _l("Kies een status uit de lijst.")})
    sector = _text(120)
    response_days = fields.Integer(load_default=None, validate=validate.Range(
        min=1, max=60, error=_l("Vul een aantal werkdagen tussen 1 en 60 in.")))
    sbb_recognised = fields.Boolean(load_default=False)
    offers = fields.List(fields.String(validate=validate.OneOf(
        list(OFFERS), error=_l("Kies een aanbod uit de lijst."))), load_default=list)
    contacts = fields.List(fields.Nested(ContactArgs), load_default=list)
    location = fields.Nested(LocationArgs, load_default=None)

    @validates("area_postcodes")
    def _area(self, value: str | None, **kwargs: Any) -> None:
        bad = [token for token in _tokens(value) if not _AREA_TOKEN.match(token)]
        if bad:
            raise ValidationError(_("Gebruik postcodes of reeksen zoals 6511, 6511 AB of 6511-6519."))

    @validates_schema(skip_on_field_errors=False)
    def _ages(self, data: dict[str, Any], **kwargs: Any) -> None:
        low, high = data.get("minimum_age"), data.get("maximum_age")
        if low is not None and high is not None and low > high:
            raise ValidationError(_("De minimumleeftijd is hoger dan de maximumleeftijd."), "maximum_age")

    @post_load
    def _shape(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["gemeenten"] = [" ".join(g.split()) for g in _tokens(data.get("gemeenten"))]
        data["area_postcodes"] = ", ".join(_tokens(data.get("area_postcodes"))) or None
        data["contacts"] = [c for c in data["contacts"] if c.get("name")]
        location = data.pop("location", None)
        if location is not None:
            filled = any(location.get(k) for k in ("name", "address", "postal_code", "city", "description"))
            data["locations"] = [location] if filled else []
        return data


def _tokens(value: str | None) -> list[str]:
    return [t.strip() for t in re.split(r"[,;\n]", value or "") if t.strip()]


def form_to_raw(form) -> dict[str, Any]:
    """A submitted form (a MultiDict) as the nested dict :class:`ServiceArgs` loads."""
    raw: dict[str, Any] = {key: form.get(key) for key in form
                           if not key.startswith(("contact-", "location-", "csrf_token"))}
    for key in ("categories", "target_groups", "offers"):
        raw[key] = form.getlist(key)
    for key in ("is_internal", "sbb_recognised"):
        raw[key] = key in form
    raw["contacts"] = [{f: form.get(f"contact-{i}-{f}", "") for f in ("id", "name", "title", "email", "phone")}
                       for i in range(CONTACT_ROWS)]
    raw["location"] = {f: form.get(f"location-{f}", "") for f in ("id", "name", "address", "postal_code", "city",
                                                                   "description")}
    return raw


def _form_errors(exc: ValidationError) -> dict[str, list[str]]:
    """The messages named as the entry form names its inputs: ``contact-0-name``,
    ``location-city``; an item of a list field (a category) under the field, each message once."""
    errors: dict[str, list[str]] = {}
    for path, texts in field_messages(exc, dotted=True).items():
        key, _, rest = path.partition(".")
        if rest and key == "contacts":
            errors[f"contact-{rest.replace('.', '-')}"] = texts
        elif rest and key == "location":
            errors[f"location-{rest}"] = texts
        elif rest:
            errors[key] = sorted({*errors.get(key, ()), *texts})
        else:
            errors[key] = texts
    return errors


def load_service(raw: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    """Validate an entry. Returns ``(data, {})`` or ``(None, errors)`` keyed by form field name."""
    try:
        return ServiceArgs().load(raw), {}
    except ValidationError as exc:
        return None, _form_errors(exc)


class CategoryArgs(FormSchema):
    code = fields.String(required=True, validate=validate.Regexp(
        r"^[a-z][a-z0-9-]{1,39}$", error=_l("Gebruik 2 tot 40 kleine letters, cijfers of streepjes.")))
    name = _text(80, required=True)
    description = _text(300)
    position = fields.Integer(load_default=0)
    is_active = fields.Boolean(load_default=False)
