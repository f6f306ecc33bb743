"""The follow-up job (``referrals.followup``) under a time machine: check-ins due are reminded
once, a second run changes nothing, and routes close when their follow-up has ended."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from network import clock
from network.audit import AuditEvent
from network.clock import AMSTERDAM
from network.db import db
from network.notifications import Notification
from network.scheduler import job_by_id, run_job_once
from referrals.checkins import record_check_in, record_exit
from referrals.jobs import JOBS, register_jobs
from referrals.models import CheckIn, Route, RouteStatus
from referrals.route_service import add_months, open_route
from tests.referrals._world import route_actors, route_world  # noqa: F401  (fixtures)


def _at(day: dt.date) -> dt.datetime:
    """Nine in the morning in the Netherlands on ``day`` (the job runs daily)."""
    return dt.datetime.combine(day, dt.time(9), AMSTERDAM)


@pytest.fixture
def job():
    register_jobs()
    return job_by_id("referrals.followup")


@pytest.fixture
def exited(session, route_world, route_actors):
    """A route whose student left two months ago: check-ins due at 3, 6 and 12 months."""
    route = open_route(session, route_actors["mentor"], route_world["student"], {})
    exit_date = add_months(clock.today(), -2)
    route.start_date = add_months(exit_date, -12)
    record_exit(session, route_actors["mentor"], route, exit_date)
    session.commit()
    return route.id, exit_date


def _reminders(session) -> list[tuple[int, str]]:
    db.session.expire_all()
    return list(session.execute(select(Notification.account_id, Notification.kind)
                                .where(Notification.kind == "checkin:due")).all())


def test_the_job_is_in_the_list():
    assert "referrals.followup" in {j.id for j in JOBS}


def test_due_check_in_is_reminded_once(app, session, route_world, exited, job, time_machine):
    route_id, exit_date = exited
    due = add_months(exit_date, 3)
    time_machine.move_to(_at(due - dt.timedelta(days=8)), tick=False)
    assert job.run(app) == "reminded 0, closed 0"
    time_machine.move_to(_at(due - dt.timedelta(days=7)), tick=False)
    assert job.run(app) == "reminded 1, closed 0"
    assert job.run(app) == "reminded 0, closed 0"  # twice: the same outcome
    assert _reminders(session) == [(route_world["mentor"].id, "checkin:due")]
    check_in = session.scalar(select(CheckIn).where(CheckIn.route_id == route_id, CheckIn.months == 3))
    assert check_in.reminded_at is not None
    reminder = session.scalar(select(Notification).where(Notification.kind == "checkin:due"))
    assert route_world["student"].last_name not in reminder.title
    assert reminder.link == f"/trajecten/nazorg/{check_in.id}"
    # the scheduler's slot guard too: a second scheduler in the same slot skips
    now = dt.datetime.now(dt.UTC)
    assert run_job_once(app, job, now) and not run_job_once(app, job, now)
    assert len(_reminders(session)) == 1


def test_route_with_open_check_ins_closes_after_the_grace_period(app, session, exited, job, time_machine):
    route_id, exit_date = exited
    end = add_months(exit_date, 12)
    time_machine.move_to(_at(end), tick=False)
    assert job.run(app) == "reminded 3, closed 0"
    time_machine.move_to(_at(end + dt.timedelta(days=29)), tick=False)
    assert job.run(app) == "reminded 0, closed 0"
    time_machine.move_to(_at(end + dt.timedelta(days=30)), tick=False)
    assert job.run(app) == "reminded 0, closed 1"
    assert job.run(app) == "reminded 0, closed 0"
    db.session.expire_all()
    route = session.get(Route, route_id)
    assert route.status is RouteStatus.closed and route.closed_at is not None
    audit = session.scalar(select(AuditEvent).where(AuditEvent.event_type == "route:close"))
    assert audit.account_id is None and audit.channel == "job" and audit.student_id == str(route.student_id)


def test_route_with_every_check_in_recorded_closes_at_the_end(app, session, route_actors, keyring, exited, job,
                                                              time_machine):
    route_id, exit_date = exited
    for check_in in session.scalars(select(CheckIn).where(CheckIn.route_id == route_id)):
        record_check_in(session, route_actors["mentor"], keyring, check_in, {"situation": "werkend"})
    session.commit()
    end = add_months(exit_date, 12)
    time_machine.move_to(_at(end - dt.timedelta(days=1)), tick=False)
    assert job.run(app) == "reminded 0, closed 0"
    time_machine.move_to(_at(end), tick=False)
    assert job.run(app) == "reminded 0, closed 1"
    assert session.scalar(select(func.count(Route.id)).where(Route.status == RouteStatus.closed)) == 1
