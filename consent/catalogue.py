"""The catalogues: purposes, data categories and legal-task bases, as data.

:func:`seed_catalogues` puts the standard entries in place (idempotent: existing rows keep
the hub admin's edits). The first migration seeds the same entries for a fresh install.
"""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consent.models import DataCategory, LegalTask, LegalTaskCategory, Purpose, PurposeCategory
from consent.tags import ConsentTag
from network.access import Category
from network.audit import AuditAction, record
from network.errors import ValidationFailed
from network.models import OrganisationType

C = Category

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
    """Hub admin: change a purpose's label, description, needed categories and active flag.

    Existing consents keep the categories they were given for; new ones are checked against
    the new list. A purpose needs at least one category (else :class:`ValidationFailed`).
    """
    wanted = {Category(c).value for c in data.get("categories") or []}
    if not wanted:
        raise ValidationFailed(errors={"categories": [_l("Kies minstens één soort gegevens.")]})
    purpose.label, purpose.description = data["label"], data.get("description") or ""
    purpose.is_active = bool(data.get("is_active"))
    purpose.needed = [item for item in purpose.needed if item.category in wanted] + [
        PurposeCategory(category=c) for c in sorted(wanted - {i.category for i in purpose.needed})]
    session.flush()
    record(session, actor, action=AuditAction.update, event_type=ConsentTag.purpose_update, object_type="purpose",
           object_id=purpose.id, detail={"code": purpose.code, "categories": sorted(wanted),
                                         "active": purpose.is_active})


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


def create_purpose(session: Session, actor, data: dict):
    """Hub admin: add a purpose with the categories it needs (validated: a free, well-formed
    code and at least one category). Raises :class:`ValidationFailed`; adds nothing then."""
    errors: dict[str, list[str]] = {}
    code = _check_code(data.get("code"), errors)
    if "code" not in errors and session.scalar(select(Purpose.id).where(Purpose.code == code)) is not None:
        errors.setdefault("code", []).append(_l("Er is al een doel met deze code."))
    wanted = sorted({Category(c).value for c in data.get("categories") or []})
    if not wanted:
        errors.setdefault("categories", []).append(_l("Kies minstens één soort gegevens."))
    if errors:
        raise ValidationFailed(errors=errors)
    order = session.scalar(select(func.max(Purpose.sort_order))) or 0
    purpose = Purpose(code=code, label=data["label"], description=data.get("description") or "",
                      is_active=bool(data.get("is_active")), sort_order=order + 1,
                      needed=[PurposeCategory(category=c) for c in wanted])
    session.add(purpose)
    session.flush()  # the id for the audit event
    record(session, actor, action=AuditAction.create, event_type=ConsentTag.purpose_create, object_type="purpose",
           object_id=purpose.id, detail={"code": code, "categories": wanted, "active": purpose.is_active})
    return purpose


def create_legal_task(session: Session, actor, data: dict):
    """Hub admin: add a legal-task basis for an organisation type and purpose.

    Validated like an edit (at least one category, never a special one, only what the purpose
    needs) plus a well-formed code that is free for that type and purpose. Adds nothing on error.
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
    a category its purpose does not need, or none at all.
    """
    errors: dict[str, list[str]] = {}
    wanted = _task_categories(session, task.purpose, data, errors)
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
