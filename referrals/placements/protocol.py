"""The stageprotocol (issue 19, item 2; seed 001, Bijlage 5.2): the contacts the hub plans when
a placement starts, moving one ("actie op maat"), and recording a contact, planned or not.

When a placement starts (:func:`plan_contacts`, called by :func:`.lifecycle.change_status`):
a first-day call with the student and one with the praktijkopleider (due on the start date), a
visit at the company within :data:`VISIT_WITHIN_DAYS` days, and an evaluation every N weeks
(the school's :class:`ProtocolSetting`, default 6) up to the end date: at least three contacts,
one of them at the company. Each has a unique key (placement, kind, sequence): planning again
adds only what is missing. Pausing or ending a placement cancels its open contacts
(:func:`cancel_open`; kept in the history); resuming reopens those not yet due.

Services flush and never commit; every change is audited in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from network import clock
from network.audit import AuditAction, record
from network.clock import utcnow
from network.crypto import Keyring
from network.errors import NotFound, ValidationFailed
from network.permissions import Principal
from network.signals import placement_contact_recorded
from referrals.placements.access import require_manager
from referrals.placements.models import Placement
from referrals.placements.protocol_models import (
    DEFAULT_ESCALATE_WORKING_DAYS,
    DEFAULT_EVALUATION_WEEKS,
    VISIT_WITHIN_DAYS,
    ContactHow,
    ContactKind,
    ContactStatus,
    ContactWith,
    PlacementContact,
    ProtocolSetting,
)
from referrals.placements.states import PlacementStatus
from referrals.route_service import PURPOSE_SCHOOL, SCHOOL_BASIS
from referrals.tags import PlacementTag

MAX_TEXT = 4000
MAX_REASON = 500
#: the evaluation's topics (seed 001, 5.2), stored beside what was agreed and the follow-up
EVALUATION_TOPICS = ("criteria", "future_profile", "vacancy", "workplace")
TEXT_FIELDS = ("agreed", "follow_up", *EVALUATION_TOPICS)


def settings_for(session: Session, school_id: int) -> tuple[int, int]:
    """(evaluation weeks, escalation working days) of the school, the defaults where it has none."""
    row = session.get(ProtocolSetting, school_id)
    if row is None:
        return DEFAULT_EVALUATION_WEEKS, DEFAULT_ESCALATE_WORKING_DAYS
    return row.evaluation_weeks, row.escalate_after_working_days


def schedule(start: dt.date, end: dt.date, evaluation_weeks: int) -> list[tuple[ContactKind, int, dt.date]]:
    """The planned contacts of a placement running ``start``–``end``: (kind, sequence, due)."""
    planned = [(ContactKind.first_call_student, 1, start), (ContactKind.first_call_trainer, 1, start),
               (ContactKind.visit, 1, min(start + dt.timedelta(days=VISIT_WITHIN_DAYS), max(end, start)))]
    step = dt.timedelta(weeks=max(1, evaluation_weeks))
    due, sequence = start + step, 1
    while due <= end:
        planned.append((ContactKind.evaluation, sequence, due))
        due, sequence = due + step, sequence + 1
    return planned


def set_settings(session: Session, actor: Principal, school_id: int, *, evaluation_weeks: int | None = None,
                 escalate_after_working_days: int | None = None) -> ProtocolSetting:
    """Set a school's stageprotocol settings (evaluations every 1–26 weeks; escalation after
    1–20 working days); audited. Planned contacts keep their dates: new placements follow."""
    errors: dict[str, list[str]] = {}
    if evaluation_weeks is not None and not 1 <= evaluation_weeks <= 26:
        errors["evaluation_weeks"] = [_l("Kies een evaluatie om de 1 tot 26 weken.")]
    if escalate_after_working_days is not None and not 1 <= escalate_after_working_days <= 20:
        errors["escalate_after_working_days"] = [_l("Kies 1 tot 20 werkdagen voor de melding aan de zorgcoördinator.")]
    if errors:
        raise ValidationFailed(errors=errors)
    row = session.get(ProtocolSetting, school_id)
    if row is None:
        row = ProtocolSetting(school_id=school_id, evaluation_weeks=DEFAULT_EVALUATION_WEEKS,
                              escalate_after_working_days=DEFAULT_ESCALATE_WORKING_DAYS)
        session.add(row)
    if evaluation_weeks is not None:
        row.evaluation_weeks = evaluation_weeks
    if escalate_after_working_days is not None:
        row.escalate_after_working_days = escalate_after_working_days
    session.flush()
    record(session, actor, action=AuditAction.update, event_type=PlacementTag.protocol_settings,
           object_type="organisation", object_id=school_id,
           detail={"evaluation_weeks": row.evaluation_weeks,
                   "escalate_after_working_days": row.escalate_after_working_days})
    return row


def plan_contacts(session: Session, placement: Placement, *, today: dt.date | None = None) -> int:
    """Plan the placement's protocol contacts from its actual start; adds only missing ones and
    reopens cancelled ones not yet due (a resumed placement). Returns the number added or reopened."""
    today = today or clock.today()
    start = placement.started_on or placement.start_date
    weeks, _days = settings_for(session, placement.school_id)
    existing = {(c.kind, c.sequence): c for c in session.scalars(
        select(PlacementContact).where(PlacementContact.placement_id == placement.id))}
    changed = 0
    for kind, sequence, due in schedule(start, placement.end_date, weeks):
        found = existing.get((kind, sequence))
        if found is None:
            session.add(PlacementContact(uuid=uuid.uuid4(), placement_id=placement.id, school_id=placement.school_id,
                                         supervisor_account_id=placement.supervisor_account_id, kind=kind,
                                         sequence=sequence, due_date=due, planned_date=due))
            changed += 1
        elif found.status is ContactStatus.cancelled and found.due_date and found.due_date >= today:
            found.status = ContactStatus.planned
            changed += 1
    session.flush()
    return changed


def cancel_open(session: Session, placement: Placement) -> int:
    """Cancel the placement's open contacts (a paused or ended placement); they stay in the history."""
    result = session.execute(
        update(PlacementContact).where(PlacementContact.placement_id == placement.id,
                                       PlacementContact.status == ContactStatus.planned)
        .values(status=ContactStatus.cancelled).execution_options(synchronize_session="fetch"))
    return result.rowcount or 0


def follow_edit(session: Session, placement: Placement, changed: list[str], *, today: dt.date | None = None) -> None:
    """After the placement's edit form: its contacts follow a new stagebegeleider, and a running
    placement's new end date (evaluations after it are cancelled, new ones before it planned)."""
    if "supervisor_account_id" in changed:
        session.execute(update(PlacementContact).where(PlacementContact.placement_id == placement.id)
                        .values(supervisor_account_id=placement.supervisor_account_id)
                        .execution_options(synchronize_session="fetch"))
    if placement.status is PlacementStatus.running and "end_date" in changed:
        session.execute(update(PlacementContact).where(
            PlacementContact.placement_id == placement.id, PlacementContact.status == ContactStatus.planned,
            PlacementContact.due_date > placement.end_date).values(status=ContactStatus.cancelled)
            .execution_options(synchronize_session="fetch"))
        plan_contacts(session, placement, today=today)


def placement_contacts(session: Session, placement: Placement) -> list[PlacementContact]:
    """The placement's contacts: planned ones by date, then unplanned, in one statement."""
    return list(session.scalars(
        select(PlacementContact).where(PlacementContact.placement_id == placement.id)
        .order_by(func.coalesce(PlacementContact.due_date, PlacementContact.done_on), PlacementContact.id)))


def find_contact(session: Session, placement: Placement, contact_id: Any) -> PlacementContact:
    contact = (session.get(PlacementContact, contact_id)
               if isinstance(contact_id, int) and 0 < contact_id < 2**31 else None)
    if contact is None or contact.placement_id != placement.id:
        raise NotFound(_l("Dit contact bestaat niet."))
    return contact


def contact_notes(keyring: Keyring, contact: PlacementContact) -> dict[str, str]:
    if not contact.notes_encrypted:
        return {}
    return json.loads(keyring.decrypt(contact.notes_encrypted, contact.notes_ref()))


def _audit(session, actor, placement, contact, event_type, action, detail):
    record(session, actor, action=action, event_type=event_type, object_type="placement_contact",
           object_id=contact.id, student_id=placement.student_id, purpose=PURPOSE_SCHOOL, basis=SCHOOL_BASIS,
           detail={"placement_id": placement.id, "kind": contact.kind.value, **detail})


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


def move_contact(session: Session, actor: Principal, placement: Placement, contact: PlacementContact,
                 due: Any, reason: str | None) -> PlacementContact:
    """Move a planned contact sooner or later ("actie op maat"), with a reason."""
    require_manager(actor, placement)
    errors: dict[str, list[str]] = {}
    day, reason = _date(due), (reason or "").strip()
    if contact.status is not ContactStatus.planned:
        errors["due_date"] = [_l("Alleen een gepland contact kan worden verplaatst.")]
    elif day is None:
        errors["due_date"] = [_l("Vul een geldige datum in.")]
    elif day < (placement.started_on or placement.start_date) or day > placement.end_date:
        errors["due_date"] = [_l("Kies een datum tijdens de stage.")]
    if not reason:
        errors["move_reason"] = [_l("Schrijf waarom het contact eerder of later plaatsvindt.")]
    elif len(reason) > MAX_REASON:
        errors["move_reason"] = [_l("Houd de reden korter dan 500 tekens.")]
    if errors:
        raise ValidationFailed(errors=errors)
    before = contact.due_date
    contact.due_date, contact.move_reason = day, reason
    contact.reminded_at = contact.escalated_at = None  # a new date: a new reminder when it is missed
    session.flush()
    _audit(session, actor, placement, contact, PlacementTag.contact_move, AuditAction.update,
           {"from": before.isoformat() if before else None, "to": day.isoformat()})
    return contact


def _check_record(placement: Placement, contact: PlacementContact | None, data: dict[str, Any],
                  today: dt.date) -> tuple[dict[str, Any], dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    day = _date(data.get("done_on"))
    if day is None:
        errors["done_on"] = [_l("Vul de datum van het contact in.")]
    elif day > today:
        errors["done_on"] = [_l("Een contact kan niet in de toekomst hebben plaatsgevonden.")]
    elif day < (placement.started_on or placement.start_date) - dt.timedelta(days=30):
        errors["done_on"] = [_l("Deze datum ligt ver vóór de stage. Controleer de datum.")]
    clean["done_on"] = day
    for field, enum_cls, message in (("with_whom", ContactWith, _l("Kies met wie u contact had.")),
                                     ("how", ContactHow, _l("Kies hoe het contact plaatsvond."))):
        try:
            clean[field] = enum_cls(data.get(field))
        except ValueError:
            errors[field] = [message]
    for field in TEXT_FIELDS:
        text = (data.get(field) or "").strip()
        if len(text) > MAX_TEXT:
            errors[field] = [_l("Houd deze tekst korter dan 4000 tekens.")]
        clean[field] = text
    if not clean["agreed"]:
        errors["agreed"] = [_l("Schrijf op wat er is besproken en afgesproken.")]
    if contact is not None and contact.kind is ContactKind.evaluation and not any(
            clean[t] for t in EVALUATION_TOPICS):
        errors["criteria"] = [_l("Vul bij een evaluatie minstens één van de onderwerpen in.")]
    return clean, errors


def record_contact(session: Session, actor: Principal, keyring: Keyring, placement: Placement,
                   data: dict[str, Any], *, contact: PlacementContact | None = None,
                   today: dt.date | None = None) -> PlacementContact:
    """Record a contact: the planned ``contact``, or (None) an unplanned one.

    :param data: ``done_on``, ``with_whom``, ``how``, ``agreed`` (required), ``follow_up`` and,
        for an evaluation, the topics of :data:`EVALUATION_TOPICS`.
    :raises ValidationFailed: every field error at once, in Dutch; nothing is written.
    """
    require_manager(actor, placement)
    today = today or clock.today()
    if contact is not None and contact.status is ContactStatus.done:
        raise ValidationFailed(errors={"done_on": [_l("Dit contact is al vastgelegd.")]})
    if contact is not None and contact.status is ContactStatus.cancelled:
        raise ValidationFailed(errors={"done_on": [_l(
            "Dit geplande contact is vervallen, omdat de stage werd gepauzeerd of beëindigd. Leg het gesprek vast "
            "als nieuw contact.")]})
    clean, errors = _check_record(placement, contact, data, today)
    if errors:
        raise ValidationFailed(errors=errors)
    if contact is None:
        sequence = (session.scalar(select(func.max(PlacementContact.sequence)).where(
            PlacementContact.placement_id == placement.id, PlacementContact.kind == ContactKind.other)) or 0) + 1
        contact = PlacementContact(uuid=uuid.uuid4(), placement_id=placement.id, school_id=placement.school_id,
                                   supervisor_account_id=placement.supervisor_account_id, kind=ContactKind.other,
                                   sequence=sequence)
        session.add(contact)
    contact.status, contact.done_on = ContactStatus.done, clean["done_on"]
    contact.with_whom, contact.how = clean["with_whom"], clean["how"]
    notes = {field: clean[field] for field in TEXT_FIELDS if clean[field]}
    contact.notes_encrypted = keyring.encrypt(json.dumps(notes, ensure_ascii=False), contact.notes_ref())
    contact.recorded_by_name, contact.recorded_at = actor.name, utcnow()
    session.flush()
    _audit(session, actor, placement, contact, PlacementTag.contact_record, AuditAction.create,
           {"how": contact.how.value, "with": contact.with_whom.value, "done_on": contact.done_on.isoformat()})
    placement_contact_recorded.send(contact, placement=placement, session=session, keyring=keyring)
    return contact
