"""The partner inbox's forms and words: Dutch labels of statuses, outcomes and actions, the
``XxxArgs`` of each action form on the receiver's referral page, and the hand-over packet laid
out in sections with the sign-up form's labels (:mod:`referrals.signup`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate

from network.access import Category
from network.crypto import mask_bsn
from network.schemas import FormSchema
from network.student_schemas import LEVEL_LABELS
from referrals.signup import BACKGROUND, LIFE_DOMAINS, SCHOOL_SITUATION, SHAREABLE
from referrals.states import MOVED_BY, RECEIVER, Outcome, ReferralStatus, ReferralType

S = ReferralStatus

STATUS_LABELS: dict[ReferralStatus, Any] = {
    S.draft: _l("Concept"),
    S.requested: _l("Nieuw, wacht op antwoord"),
    S.accepted: _l("Geaccepteerd"),
    S.rejected: _l("Afgewezen"),
    S.in_progress: _l("Begeleiding loopt"),
    S.on_hold: _l("Gepauzeerd"),
    S.completed: _l("Afgerond"),
    S.failed: _l("Mislukt"),
    S.cancelled: _l("Geannuleerd"),
    S.entered_in_error: _l("Ten onrechte ingevoerd"),
}

OUTCOME_LABELS: dict[Outcome, Any] = {
    Outcome.werk: _l("Werk"),
    Outcome.stage: _l("Stage"),
    Outcome.opleiding: _l("Opleiding"),
    Outcome.andere_hulp: _l("Andere hulp"),
    Outcome.dagbesteding: _l("Dagbesteding"),
    Outcome.geen_contact: _l("Geen contact"),
    Outcome.overig: _l("Overig"),
}

TYPE_LABELS: dict[ReferralType, Any] = {
    ReferralType.transitieroute: _l("Transitieroute"),
    ReferralType.school_ex: _l("School-ex"),
    ReferralType.rmc: _l("RMC"),
}

#: the button (and form heading) of each step the receiver can take
ACTION_LABELS: dict[ReferralStatus, Any] = {
    S.accepted: _l("Accepteren"),
    S.rejected: _l("Afwijzen"),
    S.in_progress: _l("Hervatten"),
    S.on_hold: _l("Pauzeren"),
    S.completed: _l("Afronden met een uitkomst"),
    S.failed: _l("Afsluiten als mislukt"),
    S.cancelled: _l("Annuleren"),
    S.entered_in_error: _l("Markeren als ten onrechte ingevoerd"),
}

#: the states a receiver may move a referral into
RECEIVER_TARGETS = [s for s in ReferralStatus if RECEIVER in MOVED_BY.get(s, ())]

#: the inbox's status filter: "open" (all open states, the default), "alle", or one status
STATUS_FILTERS: list[tuple[str, Any]] = [("open", _l("Open (nog in behandeling)")), ("alle", _l("Alle statussen"))] + [
    (s.value, STATUS_LABELS[s]) for s in ReferralStatus if s is not S.draft]
DUE_FILTERS = [("overdue", _l("Antwoordtermijn verlopen")), ("week", _l("Antwoord nodig binnen 7 dagen"))]
OWNER_FILTERS = [("me", _l("Aan mij toegewezen")), ("none", _l("Nog niet opgepakt"))]


#: the timeline's words for each kind of event (transitions name their statuses)
EVENT_LABELS: dict[str, Any] = {
    "created": _l("Verwijzing aangemaakt"),
    "transition": _l("Status gewijzigd"),
    "update": _l("Bericht"),
    "note": _l("Interne notitie"),
    "handover": _l("Warme overdracht vastgelegd"),
    "handover_confirmed": _l("Warme overdracht bevestigd"),
    "assigned": _l("Toegewezen aan"),
    "reminder": _l("Herinnering: de antwoordtermijn loopt af"),
    "escalation": _l("Gemeld bij de uitstroomcoördinator"),
    "nudge": _l("Herinnering: al lang geen nieuws"),
    "packet_withdrawn": _l("Toestemming beëindigd; de gedeelde gegevens zijn verwijderd"),
}


def action_words(statuses) -> str:
    """``Accepteren, Afwijzen`` for a list of allowed statuses (for a conflict message)."""
    return ", ".join(str(ACTION_LABELS.get(ReferralStatus(s), s)) for s in statuses)


# -- the action forms --------------------------------------------------------------------------

class _Versioned(FormSchema):
    #: the row version the form was rendered with: a stale form is a conflict, never an overwrite
    version = fields.Integer(load_default=None, allow_none=True)


class TransitionArgs(_Versioned):
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in RECEIVER_TARGETS],
                                                                  error=_l("Kies een geldige stap.")))
    reason = fields.String(load_default=None, allow_none=True,
                           validate=validate.Length(max=500, error=_l("Hoogstens 500 tekens.")))
    outcome = fields.String(load_default=None, allow_none=True,
                            validate=validate.OneOf([o.value for o in Outcome], error=_l("Kies een uitkomst.")))
    #: declining: another service of the sociale kaart to suggest to the school
    suggestion_service_id = fields.Integer(load_default=None, allow_none=True)


class AssignArgs(_Versioned):
    owner_account_id = fields.Integer(required=True)


class HandoverArgs(_Versioned):
    held_on = fields.Date(required=True)
    present = fields.String(required=True, validate=validate.Length(max=500, error=_l("Hoogstens 500 tekens.")))


class ConfirmArgs(_Versioned):
    pass


class MessageArgs(FormSchema):
    text = fields.String(required=True, validate=validate.Length(max=4000, error=_l("Hoogstens 4000 tekens.")))
    visibility = fields.String(required=True, validate=validate.OneOf(["update", "note"],
                                                                      error=_l("Kies voor wie het bericht is.")))


# -- the hand-over packet, laid out ------------------------------------------------------------

CATEGORY_LABELS: dict[Category, Any] = {
    Category.contact: _l("Contactgegevens"),
    Category.education: _l("Opleiding en reden van de verwijzing"),
    Category.life_domains: _l("Leefgebieden"),
    Category.support: _l("Ondersteuningsbehoefte en gezondheid"),
    Category.justice: _l("Justitie"),
    Category.bsn: _l("Burgerservicenummer (BSN)"),
    Category.plan: _l("School-naar-werk-plan"),
}
CONTACT_LABELS = {
    "name": _l("Naam"), "date_of_birth": _l("Geboortedatum"), "address": _l("Adres"), "postcode": _l("Postcode"),
    "city": _l("Woonplaats"), "phone": _l("Telefoonnummer"), "email": _l("E-mailadres"),
    "parent_name": _l("Naam ouder of voogd"), "parent_email": _l("E-mailadres ouder of voogd"),
    "parent_phone": _l("Telefoonnummer ouder of voogd"),
}
EDUCATION_LABELS = {
    "school": _l("School"), "programme": _l("Opleiding"), "level": _l("Niveau"),
    "expected_exit_date": _l("Verwachte uitstroomdatum"), "reason": _l("Reden van de verwijzing"),
}
CARE_WORKER_LABELS = {"name": _l("Naam"), "function": _l("Functie"), "organisation": _l("Organisatie"),
                      "contact": _l("Contact")}


def _date(value: Any) -> str:
    try:
        return dt.date.fromisoformat(value).strftime("%d-%m-%Y")
    except (TypeError, ValueError):
        return str(value or "")


def _domains(part: dict[str, Any]) -> list[tuple[Any, str]]:
    rows = []
    for code, (label, _category) in LIFE_DOMAINS.items():
        answer = part.get(code)
        if not answer or not (answer.get("problem") or answer.get("explanation")):
            continue
        flag = _l("zorg op dit gebied") if answer.get("problem") else _l("geen zorg op dit gebied")
        rows.append((label, f"{flag}: {answer['explanation']}" if answer.get("explanation") else str(flag)))
    return rows


def packet_sections(content: dict[str, Any]) -> list[dict[str, Any]]:
    """The shared categories of a packet as sections ``{code, title, rows, care_workers}``,
    each row a (Dutch label, text) pair; empty answers are left out. The BSN is shown masked."""
    sections = []
    for category in SHAREABLE:
        part = content.get(category.value)
        if part is None:
            continue
        rows = _SECTION_ROWS.get(category, _domain_rows)(part)
        care_workers = _care_workers(part) if category is Category.support else []
        sections.append({"code": category.value, "title": CATEGORY_LABELS[category], "rows": rows,
                         "care_workers": [w for w in care_workers if w]})
    return sections


Rows = list[tuple[Any, str]]


def _contact_rows(part: dict[str, Any]) -> Rows:
    return [(label, _date(part.get(k)) if k == "date_of_birth" else str(part.get(k)))
            for k, label in CONTACT_LABELS.items() if part.get(k)]


def _education_rows(part: dict[str, Any]) -> Rows:
    """The programme (the level in words, dates as dd-mm-jjjj), the school situation and the
    background questions about education."""
    rows: Rows = []
    for key, label in EDUCATION_LABELS.items():
        value = _education_value(key, part.get(key))
        if value:
            rows.append((label, str(value)))
    rows += [(label, str(part["school_situation"][k])) for k, label in SCHOOL_SITUATION.items()
             if (part.get("school_situation") or {}).get(k)]
    rows += [(label, str(part[k])) for k, (label, cat) in BACKGROUND.items()
             if cat is Category.education and part.get(k)]
    return rows


def _education_value(key: str, value: Any) -> Any:
    if key == "level" and value:
        return next((str(v) for lvl, v in LEVEL_LABELS.items() if lvl.value == value), value)
    if key == "expected_exit_date" and value:
        return _date(value)
    return value


def _bsn_rows(part: Any) -> Rows:
    return [(_l("BSN"), mask_bsn(str(part)))] if part else []


def _domain_rows(part: dict[str, Any]) -> Rows:
    """The leefgebieden answers in the category's part (all that justice shares)."""
    return _domains(part.get("life_domains") or {})


def _support_rows(part: dict[str, Any]) -> Rows:
    return _domain_rows(part) + [(label, str(part["background"][k])) for k, (label, cat) in BACKGROUND.items()
                                 if cat is Category.support and (part.get("background") or {}).get(k)]


def _life_domains_rows(part: dict[str, Any]) -> Rows:
    rows = _domain_rows(part)
    if part.get("remarks"):
        rows.append((_l("Opmerkingen"), str(part["remarks"])))
    return rows


def _care_workers(part: dict[str, Any]) -> list[Rows]:
    return [[(CARE_WORKER_LABELS[k], str(worker.get(k))) for k in CARE_WORKER_LABELS if worker.get(k)]
            for worker in part.get("care_workers") or []]


#: how each category's part of the packet becomes rows; any other category is leefgebieden only
_SECTION_ROWS = {
    Category.contact: _contact_rows,
    Category.education: _education_rows,
    Category.bsn: _bsn_rows,
    Category.support: _support_rows,
    Category.life_domains: _life_domains_rows,
}
