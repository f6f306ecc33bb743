"""The follow-up clock (nazorg) as the daily job runs it: remind the assigned contact of
check-ins that are due (once), and close routes whose follow-up has ended.

Idempotent: a reminder stamps ``reminded_at``, a closed route is no longer in follow-up, so a
second run the same day (or a second scheduler) changes nothing. Audited as the system.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from network import clock
from network.audit import AuditAction, record
from network.clock import utcnow
from network.crypto import Keyring
from network.models import Organisation, Role
from network.notifications import notify, organisation_staff
from network.permissions import system_principal
from referrals.models import CheckIn, Route, RouteStatus
from referrals.route_service import CHECK_IN_PATH, PURPOSE_SCHOOL, SCHOOL_BASIS, followup_end
from referrals.tags import CheckinNotice, CheckinTag, RouteTag

#: remind this many days before a check-in's due date, so the contact can plan the call
REMIND_AHEAD_DAYS = 7
#: a route whose last check-in stays open closes this many days after the end of follow-up
GRACE_DAYS = 30


@dataclass
class FollowupResult:
    reminded: int = 0
    closed: int = 0

    def __str__(self) -> str:
        return f"reminded {self.reminded}, closed {self.closed}"


def remind_due_check_ins(session: Session, keyring: Keyring, *, today: dt.date | None = None,
                         now: dt.datetime | None = None, base_url: str = "") -> int:
    """Notify the assigned contact (else the route's responsible, else the school's
    zorgcoördinatoren) of each open check-in due within :data:`REMIND_AHEAD_DAYS`, once."""
    today, now = today or clock.today(), now or utcnow()
    actor = system_principal("job", "referrals.followup")
    due = session.scalars(
        select(CheckIn).join(Route, Route.id == CheckIn.route_id)
        .where(Route.status == RouteStatus.followup, CheckIn.recorded_at.is_(None), CheckIn.reminded_at.is_(None),
               CheckIn.due_date <= today + dt.timedelta(days=REMIND_AHEAD_DAYS))
        .options(selectinload(CheckIn.route)).order_by(CheckIn.due_date, CheckIn.id)).all()
    for check_in in due:
        route = check_in.route
        account_id = check_in.assigned_account_id or route.responsible_account_id
        targets = [account_id] if account_id else organisation_staff(session, route.school_id,
                                                                    [Role.zorgcoordinator])
        school = session.get(Organisation, route.school_id)
        title = (f"Nazorg: het contact van {check_in.months} maanden na uitstroom met een oud-leerling van "
                 f"{school.name} is {'verlopen' if check_in.due_date < today else 'bijna'} aan de beurt "
                 f"(uiterlijk {check_in.due_date.strftime('%d-%m-%Y')})")
        notify(session, keyring, targets, kind=CheckinNotice.due, title=title,
               link=CHECK_IN_PATH.format(check_in_id=check_in.id), base_url=base_url, now=now)
        check_in.reminded_at = now
        record(session, actor, action=AuditAction.execute, event_type=CheckinTag.remind, object_type="check_in",
               object_id=check_in.id, student_id=route.student_id, purpose=PURPOSE_SCHOOL, basis=SCHOOL_BASIS,
               detail={"months": check_in.months, "due_date": check_in.due_date.isoformat(),
                       "recipients": len(targets)})
    session.flush()
    return len(due)


def close_finished_routes(session: Session, *, today: dt.date | None = None, now: dt.datetime | None = None) -> int:
    """Close routes whose follow-up ended (exit + ``followup_months``): at once when every
    check-in is recorded, else :data:`GRACE_DAYS` after the last one was due. Retention then
    runs its course."""
    today, now = today or clock.today(), now or utcnow()
    actor = system_principal("job", "referrals.followup")
    candidates = session.scalars(select(Route).where(Route.status == RouteStatus.followup,
                                                     Route.exit_date.is_not(None))
                                 .options(selectinload(Route.check_ins)).order_by(Route.id)).all()
    closed = 0
    for route in candidates:
        end = followup_end(route)
        if end is None or today < end:
            continue
        open_ones = [c for c in route.check_ins if c.recorded_at is None]
        last_due = max((c.due_date for c in route.check_ins), default=end)
        if open_ones and today < max(last_due, end) + dt.timedelta(days=GRACE_DAYS):
            continue
        route.status, route.closed_at = RouteStatus.closed, now
        record(session, actor, action=AuditAction.update, event_type=RouteTag.close, object_type="route",
               object_id=route.id, student_id=route.student_id, purpose=PURPOSE_SCHOOL, basis=SCHOOL_BASIS,
               detail={"followup_end": end.isoformat(), "open_check_ins": sorted(c.months for c in open_ones)})
        closed += 1
    session.flush()
    return closed


def run_followup(session: Session, keyring: Keyring, *, today: dt.date | None = None,
                 now: dt.datetime | None = None, base_url: str = "") -> FollowupResult:
    """One run of the follow-up clock (flushes; the job commits)."""
    return FollowupResult(reminded=remind_due_check_ins(session, keyring, today=today, now=now, base_url=base_url),
                          closed=close_finished_routes(session, today=today, now=now))
