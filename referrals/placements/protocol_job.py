"""The protocol job (``placements.protocol``): a contact of the stageprotocol not recorded by its
date reminds the stagebegeleider; still not recorded the school's number of working days later
(:class:`ProtocolSetting`, default 3) it is escalated to the school's zorgcoördinator(s).

Like :mod:`referrals.deadlines`: one SELECT per step finds the contacts that need it (by the
``ix_placement_contact_status_due`` index; the per-school working days become one condition per
distinct setting, so the scan stays one statement), then batches of :data:`BATCH` are stamped
with a guarded UPDATE (a second run, or a second scheduler, finds nothing left), notified (a
notification and an e-mail through :func:`notify_many`) and audited, a handful of statements
per batch. Titles name the kind of contact, the company and the date, never the student: e-mail
leaves the hub.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from network import clock
from network.audit import AuditAction, event_values, record_many
from network.clock import utcnow
from network.crypto import Keyring
from network.db import db
from network.models import Account, Membership, Organisation, Role
from network.notifications import notify_many
from network.permissions import system_principal
from network.scheduler import Job
from referrals.deadlines import last_day_with_elapsed, start_of_day
from referrals.placements.models import EmployerProposal, Placement
from referrals.placements.protocol_models import (
    DEFAULT_ESCALATE_WORKING_DAYS,
    KIND_LABELS,
    ContactStatus,
    PlacementContact,
    ProtocolSetting,
)
from referrals.placements.states import PlacementStatus
from referrals.tags import PlacementNotice, PlacementTag

JOB_ID = "placements.protocol"
BATCH = 500
C = PlacementContact


@dataclass
class ProtocolResult:
    reminded: int = 0
    escalated: int = 0

    def __str__(self) -> str:
        return f"reminded {self.reminded}, escalated {self.escalated}"


def placement_link(placement_id: int) -> str:
    return f"/trajecten/stages/{placement_id}"


def _candidates(session: Session, *where: Any) -> list[Any]:
    """The open contacts of running placements that need a step, with what the notice needs."""
    company = func.coalesce(Organisation.name, EmployerProposal.name, "")
    return session.execute(
        select(C.id, C.placement_id, C.kind, C.due_date, C.school_id, Placement.student_id,
               Placement.supervisor_account_id, company.label("company"))
        .join(Placement, Placement.id == C.placement_id)
        .outerjoin(Organisation, Organisation.id == Placement.organisation_id)
        .outerjoin(EmployerProposal, EmployerProposal.id == Placement.proposal_id)
        .outerjoin(ProtocolSetting, ProtocolSetting.school_id == C.school_id)
        .where(C.status == ContactStatus.planned, Placement.status == PlacementStatus.running, *where)
        .order_by(C.id)).all()


def _claim(session: Session, ids: list[int], stamp: Any, now: dt.datetime, *guard: Any) -> set[int]:
    result = session.execute(
        update(C).where(C.id.in_(ids), C.status == ContactStatus.planned, *guard)
        .values({stamp.key: now}).returning(C.id).execution_options(synchronize_session=False))
    return set(result.scalars())


def zorgcoordinators(session: Session, school_ids: set[int]) -> dict[int, list[int]]:
    """The active zorgcoördinators per school (one statement)."""
    found: dict[int, list[int]] = defaultdict(list)
    if not school_ids:
        return found
    rows = session.execute(
        select(Membership.organisation_id, Membership.account_id).join(Account, Account.id == Membership.account_id)
        .where(Membership.organisation_id.in_(sorted(school_ids)), Membership.role == Role.zorgcoordinator,
               Account.is_active.is_(True)))
    for school_id, account_id in rows:
        found[school_id].append(account_id)
    return found


def _day(day: dt.date | None) -> str:
    return day.strftime("%d-%m-%Y") if day else "?"


def _audit(session: Session, rows: list[Any], event_type: PlacementTag) -> None:
    actor = system_principal("job", JOB_ID)
    record_many(session, [
        event_values(actor, action=AuditAction.update, event_type=event_type, object_type="placement_contact",
                     object_id=r.id, student_id=r.student_id,
                     detail={"placement_id": r.placement_id, "kind": r.kind.value, "due_date": r.due_date.isoformat()})
        for r in rows])


def _remind(session: Session, keyring: Keyring, rows: list[Any], *, now: dt.datetime, base_url: str) -> int:
    claimed = _claim(session, [r.id for r in rows], C.reminded_at, now, C.reminded_at.is_(None))
    rows = [r for r in rows if r.id in claimed]
    if not rows:
        return 0
    # no stagebegeleider: the school's zorgcoördinator(s) are reminded instead
    zorg = zorgcoordinators(session, {r.school_id for r in rows if r.supervisor_account_id is None})
    notify_many(session, keyring, [
        ([r.supervisor_account_id] if r.supervisor_account_id else zorg.get(r.school_id, []),
         PlacementNotice.contact_overdue,
         f"Stageprotocol: {KIND_LABELS[r.kind]} bij {r.company} (gepland op {_day(r.due_date)}) is nog niet "
         "vastgelegd", placement_link(r.placement_id)) for r in rows], base_url=base_url, now=now)
    _audit(session, rows, PlacementTag.contact_remind)
    return len(rows)


def _escalate(session: Session, keyring: Keyring, rows: list[Any], *, now: dt.datetime, base_url: str) -> int:
    claimed = _claim(session, [r.id for r in rows], C.escalated_at, now, C.escalated_at.is_(None))
    rows = [r for r in rows if r.id in claimed]
    if not rows:
        return 0
    zorg = zorgcoordinators(session, {r.school_id for r in rows})
    notify_many(session, keyring, [
        (zorg.get(r.school_id, []), PlacementNotice.contact_escalation,
         f"Stageprotocol: {KIND_LABELS[r.kind]} bij {r.company} (gepland op {_day(r.due_date)}) is na een "
         "herinnering aan de stagebegeleider nog niet vastgelegd", placement_link(r.placement_id)) for r in rows],
        base_url=base_url, now=now)
    _audit(session, rows, PlacementTag.contact_escalate)
    return len(rows)


def _escalation_condition(session: Session, today: dt.date) -> Any:
    """Waited long enough, per school: one condition per distinct setting (a handful)."""
    days = set(session.scalars(select(ProtocolSetting.escalate_after_working_days).distinct()))
    days.add(DEFAULT_ESCALATE_WORKING_DAYS)
    setting = func.coalesce(ProtocolSetting.escalate_after_working_days, DEFAULT_ESCALATE_WORKING_DAYS)
    parts = []
    for n in sorted(days):
        waited = last_day_with_elapsed(today, max(0, n))
        parts.append(and_(setting == n, C.due_date < waited,
                          C.reminded_at < start_of_day(waited + dt.timedelta(days=1))))
    return or_(*parts)


def _in_batches(rows: list[Any], step, **kwargs) -> int:
    return sum(step(rows=rows[start:start + BATCH], **kwargs) for start in range(0, len(rows), BATCH))


def run_protocol(session: Session, keyring: Keyring, *, today: dt.date, now: dt.datetime,
                 base_url: str = "") -> ProtocolResult:
    """One pass (see the module docstring); flushes, the caller commits."""
    escalate = _candidates(session, C.reminded_at.is_not(None), C.escalated_at.is_(None),
                           _escalation_condition(session, today))
    remind = _candidates(session, C.due_date < today, C.reminded_at.is_(None))
    args = dict(session=session, keyring=keyring, now=now, base_url=base_url)
    result = ProtocolResult(escalated=_in_batches(escalate, _escalate, **args),
                            reminded=_in_batches(remind, _remind, **args))
    session.flush()
    return result


def protocol_job(app: Flask) -> str:
    """``placements.protocol``: one pass of :func:`run_protocol`."""
    result = run_protocol(db.session, app.extensions["schakel.keyring"], today=clock.today(), now=utcnow(),
                          base_url=app.config.get("BASE_URL", ""))
    return str(result)


PROTOCOL_JOBS = (Job(JOB_ID, protocol_job, 3600, "Stageprotocol bewaken: herinneren en escaleren"),)
