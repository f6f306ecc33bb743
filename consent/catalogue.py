"""The catalogues: purposes, data categories and legal-task bases, as data.

:func:`seed_catalogues` puts the standard entries in place (idempotent: existing rows keep
the hub admin's edits). The first migration seeds the same entries for a fresh install.
"""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consent.models import (
    Consent,
    ConsentRequest,
    ConsentStatus,
    DataCategory,
    LegalTask,
    LegalTaskCategory,
    Purpose,
    PurposeCategory,
    PurposeRecipientType,
    RequestStatus,
)
from consent.tags import ConsentTag
from network.access import Category
from network.audit import AuditAction, record
from network.errors import ValidationFailed
from network.models import Organisation, OrganisationType

C = Category
T = OrganisationType

#: code -> (label, description, special, order)
CATEGORIES: dict[Category, tuple[str, str, bool, int]] = {
    C.contact: ("Contactgegevens", "Naam, geboortedatum, adres, telefoon en e-mail; contact van ouders.", False, 1),
    C.education: ("Opleiding en voortgang", "School, opleiding, niveau, verwachte einddatum en voortgang.", False, 2),
    C.life_domains: ("Leefgebieden", "Hoe het gaat met wonen, geld, thuis, vrije tijd en werk.", False, 3),
    C.support: ("Ondersteuningsbehoefte en gezondheid",
                "Welke hulp of aanpassing je nodig hebt, en gezondheid (bijzonder gegeven, AVG art. 9).", True, 4),
    C.justice: ("Justitie", "Contact met politie of justitie (strafrechtelijk gegeven, AVG art. 10).", True, 5),
    C.plan: ("School-naar-werk-plan", "Je plan: doelen, stappen, afspraken en wie wat doet.", False, 6),
    C.bsn: ("Burgerservicenummer (BSN)", "Je BSN; alleen als de wet het gebruik toestaat.", False, 7),
}

#: what only a law can open, never a consent: the BSN may be processed only where a law allows
#: it (UAVG art. 46, Wet algemene bepalingen BSN), and consent is no such basis. A legal task
#: may name it (UWV's doelgroepregister); a consent or a request for one may not.
LAW_ONLY: frozenset[Category] = frozenset({C.bsn})
LAW_ONLY_CODES: tuple[str, ...] = tuple(sorted(c.value for c in LAW_ONLY))

#: code -> (label, description, categories the purpose needs)
PURPOSES: dict[str, tuple[str, str, tuple[Category, ...]]] = {
    "begeleiding-naar-werk": ("Begeleiding naar werk", "Hulp bij het vinden en houden van werk na school.",
                              (C.contact, C.education, C.life_domains, C.support, C.justice, C.plan)),
    "jobcoaching": ("Jobcoaching", "Een jobcoach helpt je op je werkplek.",
                    (C.contact, C.education, C.support, C.plan)),
    "stagebegeleiding": ("Stagebegeleiding", "Begeleiding tijdens je (eind)stage.",
                         (C.contact, C.education, C.support, C.plan)),
    "rmc-nazorg": ("RMC-nazorg", "Het RMC houdt contact met je als je school verlaat, tot twee jaar erna.",
                   (C.contact, C.education, C.life_domains)),
    "uitkering-en-regelzaken": ("Uitkering en regelzaken", "Hulp bij inkomen, uitkering en andere regelzaken.",
                                (C.contact, C.education, C.life_domains, C.bsn)),
    "arbeidsdeskundig-onderzoek": ("Arbeidsdeskundig onderzoek", "Onderzoek naar wat voor werk bij je past.",
                                   (C.contact, C.education, C.support, C.plan, C.bsn)),
    "doelgroepregister-aanvraag": ("Aanvraag doelgroepregister", "Aanvraag voor het doelgroepregister (banenafspraak).",
                                   (C.contact, C.education, C.support, C.bsn)),
}

#: purpose -> the organisation types that may receive its data (DOMAIN.md, who does what): the
#: gemeente (Participatiewet: jobcoach, income, regelzaken), UWV (Wajong, doelgroepregister,
#: arbeidsdeskundige), the WSP (employers, placement, banenafspraak), the RMC (leavers), the
#: leerwerkloket, SBB (learning companies), MEE and care (begeleiding, regelzaken) and the
#: (learning) company only for the internship. The hub admin edits these; they are data.
PURPOSE_RECIPIENTS: dict[str, tuple[OrganisationType, ...]] = {
    "begeleiding-naar-werk": (T.gemeente, T.uwv, T.wsp, T.rmc, T.leerwerkloket, T.mee, T.zorg),
    "jobcoaching": (T.gemeente, T.uwv, T.mee, T.zorg),
    "stagebegeleiding": (T.gemeente, T.sbb, T.leerwerkloket, T.mee, T.zorg, T.werkgever),
    "rmc-nazorg": (T.rmc, T.gemeente),
    "uitkering-en-regelzaken": (T.gemeente, T.uwv, T.mee),
    "arbeidsdeskundig-onderzoek": (T.uwv, T.gemeente),
    "doelgroepregister-aanvraag": (T.uwv, T.gemeente, T.wsp),
}
#: never a recipient of a consent or legal task: the school works under its own educational
#: task (network.access), the hub holds no student data of its own
NOT_RECIPIENTS = frozenset({T.school, T.hub})
RECIPIENT_TYPES: tuple[OrganisationType, ...] = tuple(t for t in OrganisationType if t not in NOT_RECIPIENTS)


#: an organisation type as a word inside a sentence ("alleen een gemeente, UWV of MEE")
TYPE_WORDS = {T.gemeente: _l("gemeente"), T.uwv: "UWV", T.wsp: _l("werkgeversservicepunt"), T.rmc: "RMC",
              T.sbb: "SBB", T.leerwerkloket: _l("leerwerkloket"), T.mee: "MEE", T.zorg: _l("zorgaanbieder"),
              T.werkgever: _l("werkgever"), T.other: _l("andere organisatie"), T.school: _l("school"),
              T.hub: _l("regionale hub")}


def type_words(types) -> str:
    """Organisation types in words, in the catalogue's order (``gemeente, UWV of MEE``)."""
    wanted = set(types)
    words = [str(TYPE_WORDS[t]) for t in OrganisationType if t in wanted]
    if len(words) < 2:
        return "".join(words)
    return str(_l("%(some)s of %(last)s", some=", ".join(words[:-1]), last=words[-1]))


#: (organisation type, purpose, code) -> (label, legal reference, own region only, categories)
LEGAL_TASKS: dict[tuple[OrganisationType, str, str], tuple[str, str, bool, tuple[Category, ...]]] = {
    (OrganisationType.rmc, "rmc-nazorg", "rmc-nazorg"): (
        "RMC-nazorg van schoolverlaters",
        "Wettelijke taak van het RMC (Wet educatie en beroepsonderwijs, Leerplichtwet 1969)",
        True, (C.contact, C.education)),
    (OrganisationType.uwv, "doelgroepregister-aanvraag", "uwv-doelgroepregister"): (
        "Beoordeling doelgroepregister door UWV",
        "Wettelijke taak van UWV (Wet banenafspraak; gebruik BSN: Wet algemene bepalingen BSN art. 10)",
        False, (C.contact, C.bsn)),
}


def seed_catalogues(session: Session) -> None:
    """Add the standard categories, purposes and legal tasks that are missing. Flushes."""
    existing = set(session.scalars(select(DataCategory.code)))
    for code, (label, description, special, order) in CATEGORIES.items():
        if code not in existing:
            session.add(DataCategory(code=code, label=label, description=description, is_special=special,
                                     sort_order=order))
    session.flush()  # the purposes' category rows refer to these
    purposes = {p.code: p for p in session.scalars(select(Purpose))}
    for order, (code, (label, description, needed)) in enumerate(PURPOSES.items(), start=1):
        if code not in purposes:
            purpose = purposes[code] = Purpose(code=code, label=label, description=description, sort_order=order,
                                               is_active=True)
            purpose.needed = [PurposeCategory(category=c.value) for c in needed]
            purpose.recipients = [PurposeRecipientType(organisation_type=t) for t in PURPOSE_RECIPIENTS[code]]
            session.add(purpose)
    session.flush()  # ids for the legal tasks
    tasks = {(t.organisation_type, t.purpose_id, t.code) for t in session.scalars(select(LegalTask))}
    for (org_type, purpose_code, code), (label, reference, own_region, cats) in LEGAL_TASKS.items():
        purpose = purposes[purpose_code]
        if (org_type, purpose.id, code) not in tasks:
            session.add(LegalTask(organisation_type=org_type, purpose_id=purpose.id, code=code, label=label,
                                  legal_reference=reference, description="", own_region_only=own_region,
                                  is_active=True, items=[LegalTaskCategory(category=c.value) for c in cats]))
    session.flush()


def update_purpose(session: Session, actor, purpose, data: dict) -> None:
    """Hub admin: change a purpose's label, description, needed categories, the organisation
    types that may receive it, and its active flag.

    Existing consents keep the categories they were given for; new ones are checked against
    the new list. A purpose needs at least one category and one recipient type; a type that an
    active consent, an open request or an active legal task of this purpose still uses cannot be
    taken away (they are named). Else :class:`ValidationFailed`, and nothing changes.
    """
    errors: dict[str, list[str]] = {}
    wanted = {Category(c).value for c in data.get("categories") or []}
    if not wanted:
        errors.setdefault("categories", []).append(_l("Kies minstens één soort gegevens."))
    types = _recipient_types(data, errors)
    if "organisation_types" not in errors:
        _check_types_in_use(session, purpose, purpose.recipient_types - types, errors)
    if errors:
        raise ValidationFailed(errors=errors)
    purpose.label, purpose.description = data["label"], data.get("description") or ""
    purpose.is_active = bool(data.get("is_active"))
    purpose.needed = [item for item in purpose.needed if item.category in wanted] + [
        PurposeCategory(category=c) for c in sorted(wanted - {i.category for i in purpose.needed})]
    purpose.recipients = [item for item in purpose.recipients if item.organisation_type in types] + [
        PurposeRecipientType(organisation_type=t) for t in RECIPIENT_TYPES if t in types - purpose.recipient_types]
    session.flush()
    record(session, actor, action=AuditAction.update, event_type=ConsentTag.purpose_update, object_type="purpose",
           object_id=purpose.id, detail={"code": purpose.code, "categories": sorted(wanted),
                                         "recipient_types": sorted(t.value for t in types),
                                         "active": purpose.is_active})


def _recipient_types(data: dict, errors: dict[str, list[str]]) -> frozenset[OrganisationType]:
    """The organisation types chosen for a purpose: at least one, never a school or the hub."""
    chosen: set[OrganisationType] = set()
    for value in data.get("organisation_types") or []:
        try:
            chosen.add(OrganisationType(value))
        except ValueError:
            errors.setdefault("organisation_types", []).append(_l("Onbekende soort organisatie."))
    if chosen & NOT_RECIPIENTS:
        errors.setdefault("organisation_types", []).append(_l(
            "Een school of de regionale hub krijgt geen gegevens voor een doel: de school werkt met haar eigen "
            "leerlingen onder haar onderwijstaak."))
    elif not chosen and "organisation_types" not in errors:
        errors.setdefault("organisation_types", []).append(_l(
            "Kies minstens één soort organisatie die gegevens voor dit doel mag krijgen."))
    return frozenset(chosen)


def _check_types_in_use(session: Session, purpose, removed: frozenset[OrganisationType],
                        errors: dict[str, list[str]]) -> None:
    """A recipient type cannot be taken from a purpose while an active consent, an open
    request or an active legal task of that purpose uses it: it would hold a basis the
    catalogue no longer allows. They are named, so the admin knows what to end first."""
    if not removed:
        return
    for kind, ids in uses_of_types(session, purpose.id, removed).items():
        if ids:
            errors.setdefault("organisation_types", []).append(_l(
                "%(kind)s voor dit doel gaan nog naar een %(types)s (nr. %(ids)s). Laat die eerst intrekken, "
                "beantwoorden of uitzetten.", kind=USE_WORDS[kind], types=type_words(removed),
                ids=", ".join(map(str, ids[:20]))))


#: what may use a purpose's recipient type, in words
USE_WORDS = {"consents": _l("Geldige toestemmingen"), "requests": _l("Open vragen om toestemming"),
             "legal_tasks": _l("Actieve wettelijke taken")}


def uses_of_types(session: Session, purpose_id: int, types) -> dict[str, list[int]]:
    """The active consents, open requests and active legal tasks of ``purpose_id`` whose
    recipient is of one of ``types`` (ids, oldest first)."""
    types = sorted(types)
    return {
        "consents": list(session.scalars(
            select(Consent.id).join(Organisation, Organisation.id == Consent.recipient_id)
            .where(Consent.purpose_id == purpose_id, Consent.status == ConsentStatus.active,
                   Organisation.type.in_(types)).order_by(Consent.id))),
        "requests": list(session.scalars(
            select(ConsentRequest.id).join(Organisation, Organisation.id == ConsentRequest.recipient_id)
            .where(ConsentRequest.purpose_id == purpose_id, ConsentRequest.status == RequestStatus.open,
                   Organisation.type.in_(types)).order_by(ConsentRequest.id))),
        "legal_tasks": list(session.scalars(
            select(LegalTask.id).where(LegalTask.purpose_id == purpose_id, LegalTask.is_active.is_(True),
                                       LegalTask.organisation_type.in_(types)).order_by(LegalTask.id))),
    }


def update_category(session: Session, actor, category, data: dict) -> None:
    """Hub admin: change a data category's label, description and special flag (the code is fixed)."""
    category.label, category.description = data["label"], data.get("description") or ""
    category.is_special = bool(data.get("is_special"))
    session.flush()
    record(session, actor, action=AuditAction.update, event_type=ConsentTag.category_update, object_type="category",
           object_id=str(category.code), detail={"special": category.is_special})


#: a purpose or legal-task code: lower-case words joined by hyphens (it is used in the audit log)
CODE_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _check_code(code: str | None, errors: dict[str, list[str]]) -> str:
    code = (code or "").strip()
    if not CODE_PATTERN.fullmatch(code) or len(code) > 60:
        errors.setdefault("code", []).append(_l(
            "Gebruik voor de code kleine letters, cijfers en streepjes, zoals 'begeleiding-naar-werk' "
            "(hoogstens 60 tekens)."))
    return code


def _task_categories(session: Session, purpose, data: dict, errors: dict[str, list[str]]) -> set[str]:
    """The categories of a legal task: at least one, never special, and only what the purpose needs."""
    wanted = {Category(c).value for c in data.get("categories") or []}
    special = {str(c.code) for c in session.scalars(select(DataCategory).where(DataCategory.is_special.is_(True)))}
    if not wanted:
        errors.setdefault("categories", []).append(_l("Kies minstens één soort gegevens."))
    elif wanted & special:
        errors.setdefault("categories", []).append(_l(
            "Een wettelijke taak kan geen bijzondere gegevens (gezondheid, justitie) omvatten; daarvoor is "
            "uitdrukkelijke toestemming van de leerling nodig."))
    elif purpose is not None and wanted - {c.value for c in purpose.categories}:
        errors.setdefault("categories", []).append(_l(
            "Een wettelijke taak kan alleen gegevens omvatten die het doel '%(purpose)s' nodig heeft.",
            purpose=purpose.label))
    return wanted


def _check_task_recipient(purpose, org_type: OrganisationType, errors: dict[str, list[str]], *,
                          field: str = "organisation_type") -> None:
    """A legal task only for an organisation type that may receive the purpose's data."""
    if org_type not in purpose.recipient_types:
        errors.setdefault(field, []).append(_l(
            "Een %(type)s mag geen gegevens krijgen voor het doel '%(purpose)s' (alleen een %(types)s). Kies een "
            "ander doel, of voeg deze soort organisatie eerst aan het doel toe.", type=TYPE_WORDS[org_type],
            purpose=purpose.label, types=type_words(purpose.recipient_types)))


def create_purpose(session: Session, actor, data: dict):
    """Hub admin: add a purpose with the categories it needs and the organisation types that
    may receive it (validated: a free, well-formed code, at least one category, at least one
    type and no school or hub). Raises :class:`ValidationFailed`; adds nothing then."""
    errors: dict[str, list[str]] = {}
    code = _check_code(data.get("code"), errors)
    if "code" not in errors and session.scalar(select(Purpose.id).where(Purpose.code == code)) is not None:
        errors.setdefault("code", []).append(_l("Er is al een doel met deze code."))
    wanted = sorted({Category(c).value for c in data.get("categories") or []})
    if not wanted:
        errors.setdefault("categories", []).append(_l("Kies minstens één soort gegevens."))
    types = _recipient_types(data, errors)
    if errors:
        raise ValidationFailed(errors=errors)
    order = session.scalar(select(func.max(Purpose.sort_order))) or 0
    purpose = Purpose(code=code, label=data["label"], description=data.get("description") or "",
                      is_active=bool(data.get("is_active")), sort_order=order + 1,
                      needed=[PurposeCategory(category=c) for c in wanted],
                      recipients=[PurposeRecipientType(organisation_type=t) for t in RECIPIENT_TYPES if t in types])
    session.add(purpose)
    session.flush()  # the id for the audit event
    record(session, actor, action=AuditAction.create, event_type=ConsentTag.purpose_create, object_type="purpose",
           object_id=purpose.id, detail={"code": code, "categories": wanted, "active": purpose.is_active,
                                         "recipient_types": sorted(t.value for t in types)})
    return purpose


def create_legal_task(session: Session, actor, data: dict):
    """Hub admin: add a legal-task basis for an organisation type and purpose.

    Validated like an edit (at least one category, never a special one, only what the purpose
    needs) plus a well-formed code that is free for that type and purpose, and a type that may
    receive the purpose's data. Adds nothing on error.
    """
    errors: dict[str, list[str]] = {}
    try:
        org_type = OrganisationType(data.get("organisation_type"))
    except ValueError:
        org_type = None
    if org_type is None or org_type in (OrganisationType.school, OrganisationType.hub):
        errors.setdefault("organisation_type", []).append(_l("Kies een type organisatie (geen school of hub)."))
    purpose = session.get(Purpose, data["purpose_id"]) if data.get("purpose_id") else None
    if purpose is None:
        errors.setdefault("purpose_id", []).append(_l("Kies een doel."))
    code = _check_code(data.get("code"), errors)
    if "code" not in errors and org_type is not None and purpose is not None and session.scalar(
            select(LegalTask.id).where(LegalTask.organisation_type == org_type, LegalTask.purpose_id == purpose.id,
                                       LegalTask.code == code)) is not None:
        errors.setdefault("code", []).append(_l("Deze wettelijke taak bestaat al voor dit type organisatie en doel."))
    wanted = _task_categories(session, purpose, data, errors)
    if org_type is not None and "organisation_type" not in errors and purpose is not None:
        _check_task_recipient(purpose, org_type, errors)
    if errors:
        raise ValidationFailed(errors=errors)
    task = LegalTask(organisation_type=org_type, purpose_id=purpose.id, code=code, label=data["label"],
                     legal_reference=data.get("legal_reference") or "", description="",
                     own_region_only=bool(data.get("own_region_only")), is_active=bool(data.get("is_active")),
                     items=[LegalTaskCategory(category=c) for c in sorted(wanted)])
    session.add(task)
    session.flush()  # the id for the audit event
    record(session, actor, action=AuditAction.create, event_type=ConsentTag.legal_task_create, object_type="legal_task",
           object_id=task.id, detail={"code": code, "organisation_type": org_type.value, "purpose": purpose.code,
                                      "categories": sorted(wanted), "active": task.is_active,
                                      "own_region_only": task.own_region_only})
    return task


def update_legal_task(session: Session, actor, task, data: dict) -> None:
    """Hub admin: change a legal-task basis (label, law, categories, region rule, active).

    A legal task never covers a special category: those need the student's explicit consent
    (AVG art. 9/10), so asking for one is a field error and nothing changes; nor may it cover
    a category its purpose does not need, or none at all; nor be active for an organisation
    type the purpose no longer names as a recipient.
    """
    errors: dict[str, list[str]] = {}
    wanted = _task_categories(session, task.purpose, data, errors)
    if data.get("is_active"):
        _check_task_recipient(task.purpose, task.organisation_type, errors, field="is_active")
    if errors:
        raise ValidationFailed(errors=errors)
    task.label, task.legal_reference = data["label"], data.get("legal_reference") or ""
    task.own_region_only, task.is_active = bool(data.get("own_region_only")), bool(data.get("is_active"))
    task.items = [item for item in task.items if item.category in wanted] + [
        LegalTaskCategory(category=c) for c in sorted(wanted - {i.category for i in task.items})]
    session.flush()
    record(session, actor, action=AuditAction.update, event_type=ConsentTag.legal_task_update, object_type="legal_task",
           object_id=task.id, detail={"code": task.code, "categories": sorted(wanted), "active": task.is_active,
                                      "own_region_only": task.own_region_only})
