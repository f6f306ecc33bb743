"""The student sign-up form (DOMAIN.md, seed 001 appendix 2.2.2): fields, Dutch labels and
Dutch messages. Duplicate BSNs within the school are the service's check."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, post_load, validate, validates, validates_schema
from stdnum.nl import bsn as stdnum_bsn
from stdnum.nl import postcode as stdnum_postcode

from network import clock
from network.clock import age_on, under_consent_age
from network.models import SchoolLevel
from network.schemas import FormSchema

#: a pupil starts secondary school (PrO, VSO) at about 12; there is no upper age: entree and the
#: adult routes take students of any age, so only a date no living person has is refused
MIN_AGE, OLDEST = 12, 120

LEVEL_LABELS = {
    SchoolLevel.entree: _l("Entree (mbo niveau 1)"),
    SchoolLevel.mbo2: _l("mbo niveau 2"),
    SchoolLevel.mbo3: _l("mbo niveau 3"),
    SchoolLevel.mbo4: _l("mbo niveau 4"),
    SchoolLevel.pro: _l("Praktijkonderwijs (PrO)"),
    SchoolLevel.vso: _l("Voortgezet speciaal onderwijs (VSO)"),
    SchoolLevel.other: _l("Anders"),
}

#: field -> Dutch label, in the order of the form; the views and templates use it
FIELD_LABELS = {
    "first_name": _l("Voornaam"),
    "last_name": _l("Achternaam"),
    "date_of_birth": _l("Geboortedatum"),
    "email": _l("E-mailadres"),
    "phone": _l("Telefoonnummer"),
    "address": _l("Adres"),
    "postcode": _l("Postcode"),
    "city": _l("Woonplaats"),
    "parent_name": _l("Naam ouder of verzorger"),
    "parent_email": _l("E-mailadres ouder of verzorger"),
    "parent_phone": _l("Telefoonnummer ouder of verzorger"),
    "programme": _l("Opleiding"),
    "level": _l("Niveau"),
    "expected_exit_date": _l("Verwachte uitstroomdatum"),
    "bsn": _l("BSN"),
}

_TOO_LONG = _l("Gebruik hoogstens %(max)d tekens.")
_PHONE = validate.Regexp(r"^\+?[0-9 ()-]{8,20}$", error=_l("Vul een geldig telefoonnummer in, zoals 06 12345678."))
_DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y")


class DutchDate(fields.Date):
    """A date typed as dd-mm-jjjj (what people write) or sent as jjjj-mm-dd (``<input type=date>``)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dt.date:
        if isinstance(value, str):
            for fmt in _DATE_FORMATS:
                try:
                    return dt.datetime.strptime(value.strip(), fmt).date()
                except ValueError:
                    continue
        raise self.make_error("invalid")


def email_field(required: bool = False) -> fields.String:
    """An e-mail address with a Dutch message (``fields.Email`` bakes in its English one)."""
    kwargs: dict[str, Any] = {"required": True} if required else {"load_default": None}
    return fields.String(validate=[validate.Email(error=_l("Vul een geldig e-mailadres in, zoals naam@voorbeeld.nl.")),
                                   validate.Length(max=254, error=_TOO_LONG)], **kwargs)


def _text(max_length: int, required: bool = False) -> fields.String:
    kwargs: dict[str, Any] = {"required": True} if required else {"load_default": None}
    return fields.String(validate=validate.Length(max=max_length, error=_TOO_LONG), **kwargs)


class StudentArgs(FormSchema):
    """Register a student. Optional fields may be left empty."""

    first_name = _text(100, required=True)
    last_name = _text(150, required=True)
    date_of_birth = DutchDate(required=True)
    email = email_field()
    phone = fields.String(load_default=None, validate=_PHONE)
    address = _text(200)
    postcode = fields.String(load_default=None)
    city = _text(100)
    parent_name = _text(200)
    parent_email = email_field()
    parent_phone = fields.String(load_default=None, validate=_PHONE)
    programme = _text(200)
    level = fields.Enum(SchoolLevel, by_value=True, required=True,
                        error_messages={"unknown": _l("Kies een niveau uit de lijst."),
                                        "required": _l("Kies het niveau van de opleiding.")})
    expected_exit_date = DutchDate(load_default=None)
    bsn = fields.String(load_default=None)

    @validates("date_of_birth")
    def _plausible_birth(self, value: dt.date, **kwargs: Any) -> None:
        today = clock.today()
        if value >= today:
            raise ValidationError(_l("De geboortedatum moet in het verleden liggen."))
        age = age_on(value, today)
        if age > OLDEST:
            raise ValidationError(_l("Controleer de geboortedatum: die ligt meer dan %(max)d jaar terug.", max=OLDEST))
        if age < MIN_AGE:
            raise ValidationError(_l("Controleer de geboortedatum: een leerling is minstens %(min)d jaar oud.",
                                     min=MIN_AGE))

    @validates("postcode")
    def _postcode(self, value: str | None, **kwargs: Any) -> None:
        if value is not None and not stdnum_postcode.is_valid(value):
            raise ValidationError(_l("Vul een geldige postcode in, zoals 6511 AB."))

    @validates("bsn")
    def _bsn(self, value: str | None, **kwargs: Any) -> None:
        if value is not None and not stdnum_bsn.is_valid(value):
            raise ValidationError(_l("Dit is geen geldig BSN: controleer de 9 cijfers."))

    @validates_schema(skip_on_field_errors=False)
    def _dates_and_parent(self, data: dict[str, Any], **kwargs: Any) -> None:
        born, leaves = data.get("date_of_birth"), data.get("expected_exit_date")
        errors: dict[str, list] = {}
        if born and leaves:
            if leaves <= born:
                errors["expected_exit_date"] = [_l("De uitstroomdatum moet na de geboortedatum liggen.")]
            elif leaves.year - clock.today().year > 10:
                errors["expected_exit_date"] = [_l("Vul een uitstroomdatum in binnen tien jaar.")]
        # under 16 a parent or guardian gives consent, so their contact is required
        if born and under_consent_age(born, clock.today()):
            if not data.get("parent_name"):
                errors["parent_name"] = [_l("Een leerling onder de 16 heeft een ouder of verzorger: vul de naam in.")]
            if not (data.get("parent_email") or data.get("parent_phone")):
                errors["parent_phone"] = [_l("Vul een telefoonnummer of e-mailadres van de ouder of verzorger in.")]
        if errors:
            raise ValidationError(errors)

    @post_load
    def _normalise(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data.get("postcode"):
            # 7 characters fit the column: "6511 AB"
            data["postcode"] = stdnum_postcode.validate(data["postcode"])
        if data.get("bsn"):
            data["bsn"] = stdnum_bsn.compact(data["bsn"])
        for key in ("email", "parent_email"):
            if data.get(key):
                data[key] = data[key].lower()
        return data


class StudentEditArgs(StudentArgs):
    """Edit a student: the row version the editor saw, and the BSN kept unless a new one is
    typed or removal is ticked (the form never shows the full BSN)."""

    version = fields.Integer(required=True)
    remove_bsn = fields.Boolean(load_default=False, truthy={"1", "on", "true"}, falsy={"0", "off", "false"})
