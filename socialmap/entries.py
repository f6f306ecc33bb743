"""Entries of the sociale kaart: who may see and edit them, create, update, capacity, verify.
How ``data`` changes an entry, and the per-field history it leaves, is in
:mod:`socialmap.entry_changes`.

Plain functions: they take the session and the acting :class:`~network.permissions.Principal`,
flush but never commit, and audit every change in the same transaction. Who may edit what
(:func:`can_edit_service`): an organisation's own staff its own entries, the
uitstroomcoördinator the entries of the region's organisations, the hub admin every entry,
and the system (CLI, jobs, a signed confirm link) acting as itself.

``data`` dicts are what :class:`socialmap.schemas.ServiceArgs` loads (and what the HSDS and
spreadsheet imports build); a key that is absent is left alone.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from network.audit import AuditAction, record
from network.clock import day_of, utcnow
from network.errors import Conflict, Forbidden, NotFound, ValidationFailed
from network.models import Organisation, Role
from network.permissions import Permission, Principal
from network.signals import socialmap_service_changed
from socialmap.entry_changes import EntryHistory, apply_changes
from socialmap.models import (
    CapacityStatus,
    Category,
    OrganisationProfile,
    Service,
    ServiceStatus,
    TagVocabulary,
)
from socialmap.tags import SocialmapTag
from socialmap.vocab import (
    DEFAULT_CATEGORIES,
    OFFERS,
    ORGANISATION_TYPE_LABELS,
    TARGET_GROUPS,
    term_id,
)


def is_system(actor: Principal) -> bool:
    return actor.account_id is None and actor.channel in ("cli", "job")


def is_member(actor: Principal) -> bool:
    """A logged-in network member: sees contact persons and entries that are not active."""
    return is_system(actor) or actor.has(Permission.socialmap_contact_view)


def can_edit_service(actor: Principal, organisation: Organisation) -> bool:
    """May ``actor`` edit the entries of ``organisation``?"""
    if is_system(actor):
        return True
    if not actor.has(Permission.socialmap_service_edit):
        return False
    if actor.role is Role.hub_admin:
        return True
    if actor.role is Role.coordinator:
        return organisation.region_id == actor.region_id
    return organisation.id == actor.organisation_id


def editable_organisations(session: Session, actor: Principal) -> list[Organisation]:
    """The organisations ``actor`` may add entries for (the form's choice)."""
    query = select(Organisation).where(Organisation.is_active.is_(True)).order_by(Organisation.name)
    if not (is_system(actor) or actor.role is Role.hub_admin):
        if actor.role is Role.coordinator:
            query = query.where(Organisation.region_id == actor.region_id)
        else:
            query = query.where(Organisation.id == actor.organisation_id)
    return list(session.scalars(query)) if actor.has(Permission.socialmap_service_edit) or is_system(actor) else []


def ensure_default_categories(session: Session) -> list[Category]:
    """Add the default "waarvoor te benaderen" categories that are missing (idempotent)."""
    existing = {c.code: c for c in session.scalars(select(Category))}
    for position, (code, name, description) in enumerate(DEFAULT_CATEGORIES, 1):
        if code not in existing:
            existing[code] = Category(uuid=term_id("waarvoor-te-benaderen", code), code=code, name=name,
                                      description=description, position=position, is_active=True)
            session.add(existing[code])
    session.flush()
    return sorted(existing.values(), key=lambda c: (c.position, c.name))


def list_categories(session: Session, *, active_only: bool = True) -> list[Category]:
    query = select(Category).order_by(Category.position, Category.name)
    if active_only:
        query = query.where(Category.is_active.is_(True))
    return list(session.scalars(query))


def ensure_profile(session: Session, organisation: Organisation, *,
                   hsds_id: uuid.UUID | None = None) -> OrganisationProfile:
    """The organisation's sociale-kaart profile (its HSDS id), made on first use."""
    profile = session.get(OrganisationProfile, organisation.id)
    if profile is None:
        profile = OrganisationProfile(organisation_id=organisation.id, uuid=hsds_id or uuid.uuid4())
        session.add(profile)
    return profile


def get_service(session: Session, actor: Principal, service_uuid: uuid.UUID | str, *,
                for_edit: bool = False) -> Service:
    """One entry as ``actor`` may see it, else :class:`NotFound` (404 before 403).

    The public sees active entries; members all of them; ``for_edit`` also needs
    :func:`can_edit_service`.
    """
    try:
        key = service_uuid if isinstance(service_uuid, uuid.UUID) else uuid.UUID(str(service_uuid))
    except ValueError:
        raise NotFound(_l("Deze dienst bestaat niet.")) from None
    service = session.execute(
        select(Service).where(Service.uuid == key).options(
            selectinload(Service.categories), selectinload(Service.tags), selectinload(Service.contacts),
            selectinload(Service.locations))).scalar_one_or_none()
    if service is None or (service.status is not ServiceStatus.active and not is_member(actor)):
        raise NotFound(_l("Deze dienst bestaat niet."))
    if for_edit and not can_edit_service(actor, service.organisation):
        raise NotFound(_l("Deze dienst bestaat niet, of u mag hem niet bewerken."))
    return service


# -- writing ---------------------------------------------------------------------------------

def name_taken(session: Session, organisation: Organisation, name: str, service: Service | None) -> bool:
    """Has ``organisation`` another entry than ``service`` called ``name`` (case-insensitive)?"""
    return session.scalar(select(Service.id).where(
        Service.organisation_id == organisation.id, func.lower(Service.name) == name.strip().lower(),
        Service.id != (service.id if service is not None and service.id else -1))) is not None


def _check_name(session: Session, organisation: Organisation, name: str, service: Service | None) -> None:
    if name_taken(session, organisation, name, service):
        raise ValidationFailed(errors={"name": [_l("Deze organisatie heeft al een dienst met deze naam.")]})


def refresh_keywords(service: Service, organisation: Organisation | None = None) -> None:
    """Rebuild the search helper text (no personal data): categories, department, sector,
    target groups, offers, gemeenten, organisation name and type."""
    organisation = organisation or service.organisation
    parts = [c.name for c in service.categories]
    parts += [service.department or "", service.sector or ""]
    parts += [TARGET_GROUPS.get(code, code) for code in service.tag_codes(TagVocabulary.target_group)]
    parts += [OFFERS.get(code, code) for code in service.tag_codes(TagVocabulary.offer)]
    parts += service.tag_codes(TagVocabulary.gemeente)
    if organisation is not None:
        parts += [organisation.name, ORGANISATION_TYPE_LABELS.get(organisation.type, "")]
    service.keywords = " ".join(p for p in parts if p) or None


def create_service(session: Session, actor: Principal, organisation: Organisation, data: dict[str, Any], *,
                   assurer_email: str | None = None, service_uuid: uuid.UUID | None = None,
                   now: dt.datetime | None = None) -> Service:
    """Add an entry for ``organisation``; every filled-in field is recorded in its history.

    :param assurer_email: who vouches for the entry now (the editor's e-mail address).
    :param service_uuid: keep this HSDS id (imports); a new one otherwise.
    """
    if not can_edit_service(actor, organisation):
        raise Forbidden(_l("U mag geen diensten van deze organisatie toevoegen."))
    now = now or utcnow()
    _check_name(session, organisation, data["name"], None)
    service = Service(uuid=service_uuid or uuid.uuid4(), organisation=organisation, name=data["name"],
                      status=ServiceStatus.active, is_internal=False, sbb_recognised=False, verified_at=now,
                      assured_date=day_of(now), assurer_email=assurer_email, created_at=now, updated_at=now,
                      categories=[], tags=[], contacts=[], locations=[])
    ensure_profile(session, organisation)
    session.add(service)
    session.flush()  # for the id the history rows point at
    history = EntryHistory(session, actor, service, now)
    history.add("service", service.uuid, "create", "name", None, service.name)
    apply_changes(session, service, data, history, "create")
    refresh_keywords(service, organisation)
    session.flush()
    record(session, actor, action=AuditAction.create, event_type=SocialmapTag.service_create,
           object_type="socialmap_service", object_id=service.uuid,
           detail={"organisation_id": organisation.id, "fields": sorted(set(history.fields))})
    socialmap_service_changed.send(service, session=session)
    return service


def update_service(session: Session, actor: Principal, service: Service, data: dict[str, Any], *,
                   expected_version: int | None = None, assurer_email: str | None = None,
                   counts_as_verification: bool = True, audit_unchanged: bool = True,
                   now: dt.datetime | None = None) -> list[str]:
    """Change an entry; returns the changed fields (each one also in the history).

    Saving the form counts as a verification (the editor looked at the whole entry).
    :param expected_version: the version the editor saw; another one is a :class:`Conflict`.
    :param audit_unchanged: audit the update even when nothing changed and it is no
        verification (an editor's save is an act worth logging; an import that finds the entry
        as it was changed nothing, and logs nothing).
    """
    if not can_edit_service(actor, service.organisation):
        raise Forbidden(_l("U mag deze dienst niet bewerken."))
    if expected_version is not None and expected_version != service.version:
        raise Conflict(_l("Iemand anders heeft deze dienst intussen gewijzigd. Laad de pagina opnieuw."))
    now = now or utcnow()
    if "name" in data and data["name"] != service.name:
        _check_name(session, service.organisation, data["name"], service)
    history = EntryHistory(session, actor, service, now)
    apply_changes(session, service, data, history, "update")
    changed = history.fields
    if counts_as_verification:
        _mark_verified(service, now, assurer_email)
    if changed:
        refresh_keywords(service)
        service.updated_at = now
    session.flush()
    if changed or counts_as_verification or audit_unchanged:
        record(session, actor, action=AuditAction.update, event_type=SocialmapTag.service_update,
               object_type="socialmap_service", object_id=service.uuid, detail={"fields": sorted(set(changed))})
    if changed:
        socialmap_service_changed.send(service, session=session)
    return changed


def _mark_verified(service: Service, now: dt.datetime, assurer_email: str | None) -> None:
    service.verified_at = now
    service.assured_date = day_of(now)
    service.verify_requested_at = None
    if assurer_email:
        service.assurer_email = assurer_email


def set_capacity(session: Session, actor: Principal, service: Service, capacity: CapacityStatus | str, *,
                 now: dt.datetime | None = None) -> Service:
    """The one-click capacity update (plek / wachtlijst / eerst overleg / vol), dated."""
    if not can_edit_service(actor, service.organisation):
        raise Forbidden(_l("U mag deze dienst niet bewerken."))
    try:
        capacity = CapacityStatus(capacity)
    except ValueError:
        raise ValidationFailed(errors={"capacity": [_l("Kies plek, wachtlijst, eerst overleg of vol.")]}) from None
    now = now or utcnow()
    history = EntryHistory(session, actor, service, now)
    history.add("service", service.uuid, "update", "capacity", service.capacity, capacity)
    service.capacity, service.capacity_updated_at, service.updated_at = capacity, now, now
    session.flush()
    record(session, actor, action=AuditAction.update, event_type=SocialmapTag.service_capacity,
           object_type="socialmap_service", object_id=service.uuid, detail={"capacity": capacity.value})
    socialmap_service_changed.send(service, session=session)
    return service


def verify_service(session: Session, actor: Principal, service: Service, *, assurer_email: str | None = None,
                   now: dt.datetime | None = None) -> Service:
    """Record that the entry was checked and is still right ("klopt dit nog?": ja)."""
    if not can_edit_service(actor, service.organisation):
        raise Forbidden(_l("U mag deze dienst niet bevestigen."))
    now = now or utcnow()
    history = EntryHistory(session, actor, service, now)
    history.add("service", service.uuid, "verify", "assured_date", service.assured_date, day_of(now))
    _mark_verified(service, now, assurer_email)
    session.flush()
    record(session, actor, action=AuditAction.update, event_type=SocialmapTag.service_verify,
           object_type="socialmap_service", object_id=service.uuid)
    return service


