"""Hub admin: editing the catalogues (``/beheer/grondslagen``): purposes with the categories
they need and the organisation types that may receive them, data categories, and legal-task
bases. Every change is validated first (Dutch field messages, nothing written on error) and
audited in the same transaction; services flush, never commit.
"""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consent.catalogue import NOT_RECIPIENTS, RECIPIENT_TYPES, TYPE_WORDS, type_words
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
    TaskScope,
)
from consent.tags import ConsentTag
from network.access import Category
from network.audit import AuditAction, record
from network.errors import ValidationFailed
from network.models import Organisation, OrganisationType


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


#: the form's choice "every student within the region rule": no scope
NO_SCOPE = "alle"


def _task_scope(data: dict) -> TaskScope | None:
    """Whom the law of a legal task covers (none chosen, or :data:`NO_SCOPE`: every student)."""
    return TaskScope(data["scope"]) if data.get("scope") and data["scope"] != NO_SCOPE else None


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
                     scope=_task_scope(data), items=[LegalTaskCategory(category=c) for c in sorted(wanted)])
    session.add(task)
    session.flush()  # the id for the audit event
    record(session, actor, action=AuditAction.create, event_type=ConsentTag.legal_task_create, object_type="legal_task",
           object_id=task.id, detail={"code": code, "organisation_type": org_type.value, "purpose": purpose.code,
                                      "categories": sorted(wanted), "active": task.is_active,
                                      "own_region_only": task.own_region_only,
                                      "scope": task.scope.value if task.scope else None})
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
    if data.get("scope") is not None:  # not sent: the scope stays as it is
        task.scope = _task_scope(data)
    task.items = [item for item in task.items if item.category in wanted] + [
        LegalTaskCategory(category=c) for c in sorted(wanted - {i.category for i in task.items})]
    session.flush()
    record(session, actor, action=AuditAction.update, event_type=ConsentTag.legal_task_update, object_type="legal_task",
           object_id=task.id, detail={"code": task.code, "categories": sorted(wanted), "active": task.is_active,
                                      "own_region_only": task.own_region_only,
                                      "scope": task.scope.value if task.scope else None})
