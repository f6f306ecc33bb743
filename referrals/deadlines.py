"""Deadlines are data (DESIGN.md rule 3, issue 5 item 6): reminders, escalation and nudges.

One pass of :func:`run_deadlines` does three things, each at most once per referral:

- a ``requested`` referral past its ``response_due`` (the last working day to answer) gets a
  **reminder** to the receiving organisation (its owner, when one is assigned);
- still unanswered :data:`ESCALATE_AFTER_WORKING_DAYS` working days after the reminder, it is
  **escalated** to the uitstroomcoördinator(s) of the receiving organisation's region;
- an ``in-progress`` referral without news for :data:`STALE_WORKING_DAYS` working days gets a
  **nudge**, once per silence (a new event starts the clock again).

Each step stamps the referral (``reminder_sent_at``, ``escalated_at``, ``nudged_at``) with a
guarded UPDATE, so a second run, or a second scheduler, finds nothing left to do. The scan is
set-based: one SELECT per step finds the referrals that need action (the reminder and
escalation steps by the ``ix_referral_status_due`` index), then batches of :data:`BATCH` are
stamped, notified, given an event and audited with a handful of statements each; the 1,000,000
referrals that need nothing are never loaded. Titles carry the referral number, organisation
and service, never a student's name: e-mail leaves the hub.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, insert, or_, select, update
from sqlalchemy.orm import Session, aliased

from network import clock
from network.audit import AuditAction, event_values, record_many
from network.clock import AMSTERDAM, utcnow
from network.crypto import Keyring
from network.db import Page, db
from network.errors import Forbidden, NotFound
from network.events import EventTag
from network.models import SCHOOL_STAFF_ROLES, Account, Membership, Organisation, Region, Role
from network.notifications import notify_many
from network.permissions import Permission, Principal, system_principal
from network.scheduler import Job
from referrals.models import EventKind, Referral, ReferralEvent
from referrals.states import ReferralStatus
from referrals.tags import ReferralNotice, ReferralTag
from referrals.workdays import is_working_day, working_days_between
from socialmap.models import Service

#: working days without any event before an in-progress referral gets a nudge
STALE_WORKING_DAYS = 20
#: working days after the reminder before the region's coordinator is told
ESCALATE_AFTER_WORKING_DAYS = 2
#: referrals handled per round of statements
BATCH = 500
JOB_ID = "referrals.deadlines"
ACTOR_NAME = "Schakel (termijnbewaking)"
#: who at the receiving organisation works its referrals (not its students)
HANDLER_ROLES = frozenset({Role.partner_staff, *SCHOOL_STAFF_ROLES})
OVERDUE_LINK = "/regio/achterstallig"


def referral_link(referral_id: int) -> str:
    """Where a notification about a referral leads (inside the hub, behind the access checks)."""
    return f"/verwijzingen/{referral_id}"


@dataclass
class DeadlineResult:
    reminded: int = 0
    escalated: int = 0
    nudged: int = 0

    def __str__(self) -> str:
        return f"reminded {self.reminded}, escalated {self.escalated}, nudged {self.nudged}"


def last_day_with_elapsed(today: dt.date, days: int) -> dt.date:
    """The latest day ``d`` with at least ``days`` working days after it up to and including
    ``today``: something that happened on ``d`` or before has waited ``days`` working days."""
    day, counted = today, 0
    while counted < days:
        counted += is_working_day(day)
        day -= dt.timedelta(days=1)
    return day


def start_of_day(day: dt.date) -> dt.datetime:
    """Midnight in the Netherlands at the start of ``day``, in UTC (the stamps are UTC)."""
    return dt.datetime.combine(day, dt.time(), AMSTERDAM).astimezone(dt.UTC)


# -- the pass ----------------------------------------------------------------------------

_CANDIDATE_COLUMNS = (Referral.id, Referral.student_id, Referral.to_organisation_id, Referral.owner_account_id,
                      Referral.response_due, Organisation.name, Organisation.region_id)


def _candidates(session: Session, *where: Any) -> list[Any]:
    """The referrals that need a step, with what the notification needs (one SELECT)."""

    owner = aliased(Account)
    return session.execute(
        select(*_CANDIDATE_COLUMNS, Service.name.label("service_name"), owner.is_active.label("owner_active"))
        .join(Organisation, Organisation.id == Referral.to_organisation_id)
        .join(Service, Service.id == Referral.service_id)
        .outerjoin(owner, owner.id == Referral.owner_account_id)
        .where(*where).order_by(Referral.id)
    ).all()


def _claim(session: Session, ids: list[int], stamp: Any, now: dt.datetime, *guard: Any) -> set[int]:
    """Stamp the referrals that still qualify (the guard repeats the condition) and return
    their ids: a referral answered meanwhile, or stamped by another run, drops out. A plain
    UPDATE, so the row version stays: a stamp must not make a colleague's open form stale."""
    result = session.execute(
        update(Referral).where(Referral.id.in_(ids), *guard)
        .values({stamp.key: now}).returning(Referral.id).execution_options(synchronize_session=False))
    return set(result.scalars())


def _members(session: Session, column: Any, keys: Iterable[int], roles: Iterable[Role]) -> dict[int, list[int]]:
    """Active account ids per organisation (``column`` Organisation.id) or per region."""
    keys = sorted(set(keys))
    found: dict[int, list[int]] = defaultdict(list)
    if not keys:
        return found
    rows = session.execute(
        select(column, Membership.account_id).join(Organisation, Organisation.id == Membership.organisation_id)
        .join(Account, Account.id == Membership.account_id)
        .where(column.in_(keys), Membership.role.in_(list(roles)), Account.is_active.is_(True),
               Organisation.is_active.is_(True)))
    for key, account_id in rows:
        found[key].append(account_id)
    return found


def _handlers(session: Session, rows: Sequence[Any]) -> dict[int, list[int]]:
    """Per referral: its owner if assigned and active, else the receiving organisation's staff."""
    staff = _members(session, Organisation.id, (r.to_organisation_id for r in rows if not r.owner_active),
                     HANDLER_ROLES)
    return {r.id: [r.owner_account_id] if r.owner_active else staff.get(r.to_organisation_id, []) for r in rows}


def _record(session: Session, rows: Sequence[Any], kind: EventKind, event_type: EventTag, now: dt.datetime,
            reason: Any) -> None:
    """One referral event and one audit event per referral (two statements per batch)."""
    actor = system_principal("job", JOB_ID)
    session.execute(insert(ReferralEvent), [
        dict(referral_id=r.id, kind=kind, at=now, reason=reason(r)[:500], actor_account_id=None,
             actor_name=ACTOR_NAME, actor_organisation_name=None) for r in rows])
    record_many(session, [
        event_values(actor, action=AuditAction.update, event_type=event_type, object_type="referral", object_id=r.id,
                     student_id=r.student_id, detail={"to_organisation_id": r.to_organisation_id,
                                                      "response_due": r.response_due.isoformat()
                                                      if r.response_due else None})
        for r in rows])


def _due(day: dt.date | None) -> str:
    return day.strftime("%d-%m-%Y") if day else "?"


def _remind(session, keyring, rows, *, now, base_url) -> int:
    claimed = _claim(session, [r.id for r in rows], Referral.reminder_sent_at, now,
                     Referral.status == ReferralStatus.requested, Referral.reminder_sent_at.is_(None))
    rows = [r for r in rows if r.id in claimed]
    if not rows:
        return 0
    to = _handlers(session, rows)
    notify_many(session, keyring, [
        (to[r.id], ReferralNotice.reminder,
         f"Herinnering: verwijzing {r.id} ({r.service_name}) wacht op uw antwoord; de reactietermijn "
         f"liep af op {_due(r.response_due)}", referral_link(r.id)) for r in rows], base_url=base_url, now=now)
    _record(session, rows, EventKind.reminder, ReferralTag.remind, now,
            lambda r: f"Reactietermijn verstreken op {_due(r.response_due)}; herinnering verstuurd")
    return len(rows)


def _escalate(session, keyring, rows, *, now, base_url) -> int:
    claimed = _claim(session, [r.id for r in rows], Referral.escalated_at, now,
                     Referral.status == ReferralStatus.requested, Referral.escalated_at.is_(None))
    rows = [r for r in rows if r.id in claimed]
    if not rows:
        return 0
    coordinators = _members(session, Organisation.region_id, (r.region_id for r in rows), [Role.coordinator])
    notify_many(session, keyring, [
        (coordinators.get(r.region_id, []), ReferralNotice.escalation,
         f"Escalatie: verwijzing {r.id} aan {r.name} ({r.service_name}) is na een herinnering nog niet "
         f"beantwoord (termijn {_due(r.response_due)})", OVERDUE_LINK) for r in rows], base_url=base_url, now=now)
    _record(session, rows, EventKind.escalation, ReferralTag.escalate, now,
            lambda r: "Niet beantwoord na herinnering; gemeld bij de uitstroomcoördinator van de regio")
    return len(rows)


def _nudge(session, keyring, rows, *, now, base_url) -> int:
    claimed = _claim(session, [r.id for r in rows], Referral.nudged_at, now,
                     Referral.status == ReferralStatus.in_progress)
    rows = [r for r in rows if r.id in claimed]
    if not rows:
        return 0
    to = _handlers(session, rows)
    notify_many(session, keyring, [
        (to[r.id], ReferralNotice.nudge,
         f"Verwijzing {r.id} ({r.service_name}): al {STALE_WORKING_DAYS} werkdagen geen nieuws. "
         "Zet een update of rond af.", referral_link(r.id)) for r in rows], base_url=base_url, now=now)
    _record(session, rows, EventKind.nudge, ReferralTag.nudge, now,
            lambda r: f"{STALE_WORKING_DAYS} werkdagen zonder nieuws")
    return len(rows)


def _in_batches(rows: list[Any], step, **kwargs) -> int:
    return sum(step(rows=rows[start:start + BATCH], **kwargs) for start in range(0, len(rows), BATCH))


def run_deadlines(session: Session, keyring: Keyring, *, today: dt.date, now: dt.datetime,
                  base_url: str = "") -> DeadlineResult:
    """One pass over the deadlines (see the module docstring); flushes, the caller commits.

    :param today: the calendar day in the Netherlands (working days are Dutch ones).
    :param now: the moment stamped on the referrals, events and notifications.
    """
    requested = Referral.status == ReferralStatus.requested
    # escalate first: a referral reminded in this very pass is not due for escalation anyway
    waited = last_day_with_elapsed(today, ESCALATE_AFTER_WORKING_DAYS)
    escalate = _candidates(session, requested, Referral.response_due < waited,
                           Referral.reminder_sent_at < start_of_day(waited + dt.timedelta(days=1)),
                           Referral.escalated_at.is_(None))
    remind = _candidates(session, requested, Referral.response_due < today, Referral.reminder_sent_at.is_(None))
    stale_since = start_of_day(last_day_with_elapsed(today, STALE_WORKING_DAYS) + dt.timedelta(days=1))
    news = ReferralEvent.referral_id == Referral.id, ReferralEvent.kind != EventKind.nudge
    nudge = _candidates(
        session, Referral.status == ReferralStatus.in_progress, Referral.status_changed_at < stale_since,
        ~exists().where(*news, ReferralEvent.at >= stale_since),
        or_(Referral.nudged_at.is_(None), Referral.nudged_at < Referral.status_changed_at,
            exists().where(*news, ReferralEvent.at > Referral.nudged_at)))
    args = dict(session=session, keyring=keyring, now=now, base_url=base_url)
    result = DeadlineResult(escalated=_in_batches(escalate, _escalate, **args),
                            reminded=_in_batches(remind, _remind, **args),
                            nudged=_in_batches(nudge, _nudge, **args))
    session.flush()
    return result


def deadlines_job(app: Flask) -> str:
    """``referrals.deadlines``: one pass of :func:`run_deadlines`."""

    result = run_deadlines(db.session, app.extensions["schakel.keyring"], today=clock.today(), now=utcnow(),
                           base_url=app.config.get("BASE_URL", ""))
    return str(result)


DEADLINE_JOBS = (
    Job(JOB_ID, deadlines_job, 3600, "Termijnen van verwijzingen bewaken: herinneren, escaleren, aansporen"),
)


# -- the coordinator's list ------------------------------------------------------------------

def region_in_reach(session: Session, actor: Principal, region_id: int | None, permission: Permission) -> Region:
    """The region ``actor`` may see aggregates of: the coordinator's own (another is 404), any
    for the hub admin (default: the one they act in)."""
    if not actor.has(permission):
        raise Forbidden(_l("U heeft geen toegang tot de gegevens van de regio."))
    if region_id is None:
        region_id = actor.region_id
    if actor.role is not Role.hub_admin and region_id != actor.region_id:
        raise NotFound()
    region = session.get(Region, region_id) if region_id is not None else None
    if region is None:
        raise NotFound()
    return region


@dataclass(frozen=True)
class OverdueRow:
    id: int
    to_organisation: str
    from_organisation: str
    service: str
    sent_at: dt.datetime | None
    response_due: dt.date | None
    working_days_overdue: int
    reminder_sent_at: dt.datetime | None
    escalated_at: dt.datetime | None


def overdue_referrals(session: Session, actor: Principal, *, region_id: int | None, page: int = 1,
                      per_page: int = 50, today: dt.date | None = None) -> Page:
    """Requested referrals past their response date, or escalated, received in the region:
    organisations, service, dates and stamps; no student data. Most overdue first; two
    statements (plus the region)."""

    region = region_in_reach(session, actor, region_id, Permission.referral_overdue)
    today = today or clock.today()
    receiver, sender = aliased(Organisation), aliased(Organisation)
    where = (receiver.region_id == region.id, Referral.status == ReferralStatus.requested,
             or_(Referral.response_due < today, Referral.escalated_at.is_not(None)))
    total = session.scalar(select(func.count(Referral.id)).join(receiver, receiver.id == Referral.to_organisation_id)
                           .where(*where)) or 0
    page = max(1, page)
    rows = session.execute(
        select(Referral.id, receiver.name, sender.name, Service.name, Referral.sent_at, Referral.response_due,
               Referral.reminder_sent_at, Referral.escalated_at)
        .join(receiver, receiver.id == Referral.to_organisation_id)
        .join(sender, sender.id == Referral.from_organisation_id)
        .join(Service, Service.id == Referral.service_id)
        .where(*where).order_by(Referral.response_due, Referral.id).offset((page - 1) * per_page).limit(per_page))
    items = [OverdueRow(id=r[0], to_organisation=r[1], from_organisation=r[2], service=r[3], sent_at=r[4],
                        response_due=r[5], working_days_overdue=working_days_between(r[5], today) if r[5] else 0,
                        reminder_sent_at=r[6], escalated_at=r[7]) for r in rows]
    return Page(items, total, page, per_page)
