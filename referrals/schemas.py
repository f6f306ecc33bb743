"""The forms of the referral wizard and the school's referral pages: marshmallow FormSchemas
with Dutch messages, the Dutch labels of statuses, types and events, and the helpers that turn
the flat sign-up form (``ld-gezondheid-explanation``, ``cw-0-name``, ...) into the nested
``details`` document of :mod:`referrals.signup` and back.

The fields of the sign-up form are flat so every input has its own id (``f-<name>``) that the
error summary links to; :func:`details_from` and :func:`signup_values` translate.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate, validates_schema

from network.schemas import FormSchema
from referrals.models import EventKind
from referrals.signup import BACKGROUND, LIFE_DOMAINS, SCHOOL_SITUATION
from referrals.states import ReferralStatus, ReferralType

CARE_WORKER_ROWS = 3
CARE_WORKER_FIELDS = ("name", "function", "organisation", "contact")
_TOO_LONG = _l("Gebruik hoogstens {max} tekens.")  # marshmallow fills in {max}

STATUS_LABELS = {
    ReferralStatus.draft: _l("Concept"),
    ReferralStatus.requested: _l("Verstuurd, wacht op antwoord"),
    ReferralStatus.accepted: _l("Geaccepteerd"),
    ReferralStatus.rejected: _l("Afgewezen"),
    ReferralStatus.in_progress: _l("Begeleiding loopt"),
    ReferralStatus.on_hold: _l("Gepauzeerd"),
    ReferralStatus.completed: _l("Afgerond"),
    ReferralStatus.failed: _l("Mislukt"),
    ReferralStatus.cancelled: _l("Ingetrokken"),
    ReferralStatus.entered_in_error: _l("Ten onrechte ingevoerd"),
}

#: the sign-up form's three kinds, with the seed's explanation (seed 001, appendix 2.2.3)
TYPE_LABELS = {
    ReferralType.transitieroute: (_l("Transitieroute"), _l(
        "De student start of zit in de eindstage van de opleiding en heeft meer begeleiding nodig dan de "
        "reguliere bpv-bezoeken om de opleiding te kunnen halen.")),
    ReferralType.school_ex: (_l("School-ex"), _l(
        "De student is een voortijdig schoolverlater en wil begeleiding bij het zoeken naar een "
        "vervolgopleiding of baan.")),
    ReferralType.rmc: (_l("RMC"), _l("De student is (tussentijds) gemeld bij RMC/Leerplicht.")),
}

EVENT_LABELS = {
    EventKind.created: _l("Concept aangemaakt"),
    EventKind.transition: _l("Status gewijzigd"),
    EventKind.update: _l("Bericht"),
    EventKind.note: _l("Interne notitie"),
    EventKind.handover: _l("Warme overdracht vastgelegd"),
    EventKind.handover_confirmed: _l("Warme overdracht bevestigd"),
    EventKind.assigned: _l("Toegewezen"),
    EventKind.reminder: _l("Herinnering verstuurd"),
    EventKind.escalation: _l("Geëscaleerd naar de uitstroomcoördinator"),
    EventKind.nudge: _l("Herinnering: lang geen voortgang"),
    EventKind.packet_withdrawn: _l("Toestemming beëindigd: gedeelde gegevens verwijderd"),
}

#: the seed's explanation of each leefgebied (seed 001, "Toelichting aanmeldformulier")
LIFE_DOMAIN_HINTS = {
    "thuis": _l("Ouders, partner of familie bieden onvoldoende steun of hebben een negatieve invloed."),
    "huisvesting": _l("Geen passende of stabiele woonsituatie."),
    "vrije_tijd": _l("Vrije tijd heeft een negatieve invloed, of er is verveling of rondhangen."),
    "gezondheid": _l("Lichamelijke of psychische aandoeningen, verslaving, eet- of slaapproblemen."),
    "werk": _l("Geen stageplek vinden of houden, werknemersvaardigheden of werkhouding."),
    "financien": _l("Schulden, weinig financiële zelfredzaamheid."),
    "gedrag": _l("Sociale vaardigheden, pesten of gepest worden, gedragsstoornissen."),
    "justitie": _l("In aanraking gekomen met politie of justitie."),
    "overig": _l("Andere problemen, zoals ingrijpende gebeurtenissen."),
}


def _text(max_length: int) -> fields.String:
    return fields.String(load_default=None, validate=validate.Length(max=max_length, error=_TOO_LONG))


def form_raw(form: Any, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """A submitted form (a MultiDict) as a dict, with ``lists`` as lists (repeated checkboxes)."""
    raw = {key: form.get(key) for key in form.keys() if key != "csrf_token"}
    for key in lists:
        raw[key] = form.getlist(key)
    return raw


class ServiceStepArgs(FormSchema):
    """Step 2: the service chosen on the sociale kaart."""

    service_id = fields.Integer(required=True, error_messages={"required": _l("Kies een dienst van de sociale kaart."),
                                                               "null": _l("Kies een dienst van de sociale kaart.")})
    client_token = fields.String(load_default=None, validate=validate.Length(max=64))
    version = fields.Integer(load_default=None)


def _signup_fields() -> dict[str, fields.Field]:
    found: dict[str, fields.Field] = {
        "purpose": fields.String(load_default=None, validate=validate.Length(max=60)),
        "type": fields.Enum(ReferralType, by_value=True, load_default=None,
                            error_messages={"unknown": _l("Kies een soort aanmelding uit de lijst.")}),
        "reason": _text(4000),
        "remarks": _text(4000),
        "version": fields.Integer(load_default=None),
    }
    for code in SCHOOL_SITUATION:
        found[f"ss-{code}"] = _text(2000)
    for code in LIFE_DOMAINS:
        found[f"ld-{code}-problem"] = fields.Boolean(load_default=False)
        found[f"ld-{code}-explanation"] = _text(2000)
    for index in range(CARE_WORKER_ROWS):
        for name in CARE_WORKER_FIELDS:
            found[f"cw-{index}-{name}"] = _text(200)
    for code in BACKGROUND:
        found[f"bg-{code}"] = _text(2000)
    return found


class SignupStepArgs(FormSchema.from_dict(_signup_fields(), name="SignupFields")):  # type: ignore[misc]
    """Step 3: purpose, type and the sign-up form. The reason is required only at sending, so
    a half-filled form is saved as it is."""

    @validates_schema(skip_on_field_errors=False)
    def _care_workers_named(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors = {}
        for index in range(CARE_WORKER_ROWS):
            row = {name: data.get(f"cw-{index}-{name}") for name in CARE_WORKER_FIELDS}
            if not row["name"] and any(row.values()):
                errors[f"cw-{index}-name"] = [str(_l("Vul de naam van de hulpverlener in."))]
        if errors:
            raise ValidationError(errors)


def details_from(data: dict[str, Any]) -> dict[str, Any]:
    """The loaded step-3 form as the ``details`` document of :mod:`referrals.signup`."""
    return {
        "reason": data.get("reason") or "",
        "school_situation": {code: data.get(f"ss-{code}") or "" for code in SCHOOL_SITUATION},
        "life_domains": {code: {"problem": bool(data.get(f"ld-{code}-problem")),
                                "explanation": data.get(f"ld-{code}-explanation") or ""} for code in LIFE_DOMAINS},
        "care_workers": [row for row in ({name: data.get(f"cw-{i}-{name}") or "" for name in CARE_WORKER_FIELDS}
                                         for i in range(CARE_WORKER_ROWS)) if row["name"]],
        "background": {code: data.get(f"bg-{code}") or "" for code in BACKGROUND},
        "remarks": data.get("remarks") or "",
    }


def signup_values(details: dict[str, Any]) -> dict[str, Any]:
    """The flat form values of a saved ``details`` document (to fill step 3 again)."""
    values: dict[str, Any] = {"reason": details.get("reason") or "", "remarks": details.get("remarks") or ""}
    for code in SCHOOL_SITUATION:
        values[f"ss-{code}"] = (details.get("school_situation") or {}).get(code) or ""
    for code in LIFE_DOMAINS:
        domain = (details.get("life_domains") or {}).get(code) or {}
        values[f"ld-{code}-problem"] = bool(domain.get("problem"))
        values[f"ld-{code}-explanation"] = domain.get("explanation") or ""
    for index, row in enumerate((details.get("care_workers") or [])[:CARE_WORKER_ROWS]):
        for name in CARE_WORKER_FIELDS:
            values[f"cw-{index}-{name}"] = row.get(name) or ""
    for code in BACKGROUND:
        values[f"bg-{code}"] = (details.get("background") or {}).get(code) or ""
    return values


class CategoriesStepArgs(FormSchema):
    """Step 4: the data categories to share."""

    categories = fields.List(fields.String(), load_default=list)
    version = fields.Integer(load_default=None)


class SendArgs(FormSchema):
    """Step 5: the optional answer deadline, then send."""

    response_due = fields.Date(load_default=None)
    version = fields.Integer(load_default=None)


class ReasonArgs(FormSchema):
    """Cancel, or mark as entered in error: a reason is required."""

    reason = fields.String(required=True, validate=validate.Length(max=500, error=_TOO_LONG),
                           error_messages={"required": _l("Geef een reden op."), "null": _l("Geef een reden op.")})
    version = fields.Integer(load_default=None)


class HandoverArgs(FormSchema):
    """The warm hand-over as the school records it."""

    held_on = fields.Date(required=True, error_messages={"required": _l("Vul de datum van het gesprek in."),
                                                         "null": _l("Vul de datum van het gesprek in.")})
    present = fields.String(required=True, validate=validate.Length(max=500, error=_TOO_LONG),
                            error_messages={"required": _l("Vul in wie er bij het gesprek waren."),
                                            "null": _l("Vul in wie er bij het gesprek waren.")})
    version = fields.Integer(load_default=None)


class MessageArgs(FormSchema):
    """An update to the receiving organisation."""

    text = fields.String(required=True, validate=validate.Length(max=4000, error=_TOO_LONG),
                         error_messages={"required": _l("Schrijf een bericht."), "null": _l("Schrijf een bericht.")})


#: labels of the hand-over packet's fields (:func:`referrals.signup.snapshot`)
PACKET_LABELS = {
    "name": _l("Naam"), "date_of_birth": _l("Geboortedatum"), "address": _l("Adres"), "postcode": _l("Postcode"),
    "city": _l("Woonplaats"), "phone": _l("Telefoon"), "email": _l("E-mailadres"),
    "parent_name": _l("Naam ouder/verzorger"), "parent_email": _l("E-mailadres ouder/verzorger"),
    "parent_phone": _l("Telefoon ouder/verzorger"), "school": _l("School"), "programme": _l("Opleiding"),
    "level": _l("Niveau"), "expected_exit_date": _l("Verwachte uitstroomdatum"),
    "reason": _l("Reden van de verwijzing"),
    "remarks": _l("Overige opmerkingen"), "organisation": _l("Organisatie"), "function": _l("Functie"),
    "contact": _l("Contactgegevens"),
}


def packet_vocab(category_labels: dict[str, str]) -> dict[str, Any]:
    """The labels the packet template (``referrals/sent/_packet.html``) needs."""
    return {"fields": PACKET_LABELS, "categories": category_labels,
            "life_domains": {code: label for code, (label, _c) in LIFE_DOMAINS.items()},
            "background": {code: label for code, (label, _c) in BACKGROUND.items()},
            "school_situation": SCHOOL_SITUATION}
