"""Deadlines (issue 5 item 6, DESIGN.md rule 3): reminder after the response date, escalation to
the region's uitstroomcoördinator two working days later, nudges for stale work; Dutch working
days; idempotent (run twice: same outcome), also through the scheduler's job-run slot."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import time_machine
from sqlalchemy import select

from network.audit import AuditEvent
from network.db import db
from network.models import OutboxMessage
from network.notifications import Notification
from network.scheduler import run_job_once
from referrals.deadlines import DEADLINE_JOBS, last_day_with_elapsed, run_deadlines, start_of_day
from referrals.models import EventKind, ReferralEvent
from referrals.states import ReferralStatus
from referrals.workdays import add_working_days
from tests.referrals._sla_world import STUDENT_NAMES, UTC, make_referral, sla  # noqa: F401  (fixture)

AMS = ZoneInfo("Europe/Amsterdam")
CHRISTMAS_EVE = dt.date(2026, 12, 24)  # a Thursday; Christmas (Fri), 2e Kerstdag (Sat), New Year (Fri)
DUE = dt.date(2027, 1, 4)


def run(session, keyring, day: dt.date, hour: int = 9):
    result = run_deadlines(session, keyring, today=day, now=dt.datetime.combine(day, dt.time(hour), AMS)
                           .astimezone(UTC), base_url="https://schakel.example")
    session.commit()
    return result


def notified(session, kind: str) -> list[tuple[int, str]]:
    return [(n.account_id, n.title) for n in session.scalars(select(Notification).where(Notification.kind == kind)
                                                             .order_by(Notification.account_id))]


def events(session, referral, kind: EventKind) -> list[ReferralEvent]:
    return list(session.scalars(select(ReferralEvent).where(ReferralEvent.referral_id == referral.id,
                                                            ReferralEvent.kind == kind)))


def audited(session, event_type: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)))


def test_the_response_date_skips_christmas_the_weekend_and_new_year():
    assert add_working_days(CHRISTMAS_EVE, 5) == DUE
    assert add_working_days(dt.date(2027, 12, 24), 5) == dt.date(2027, 12, 31)  # a Friday; Christmas on the weekend


def test_last_day_with_elapsed_working_days():
    assert last_day_with_elapsed(dt.date(2027, 1, 7), 2) == dt.date(2027, 1, 5)  # Thu: Wed and Thu have passed
    assert last_day_with_elapsed(dt.date(2027, 1, 9), 2) == dt.date(2027, 1, 6)  # Saturday: Thu and Fri
    assert add_working_days(last_day_with_elapsed(dt.date(2027, 1, 5), 2), 2) <= dt.date(2027, 1, 5)
    assert start_of_day(dt.date(2027, 1, 5)) == dt.datetime(2027, 1, 4, 23, 0, tzinfo=UTC)


def test_reminder_after_the_due_date_then_escalation_to_the_own_regions_coordinator(session, keyring, sla):
    referral = make_referral(sla, sent_at=dt.datetime(2026, 12, 24, 9, tzinfo=UTC), response_due=DUE)
    answered = make_referral(sla, status=ReferralStatus.accepted, response_due=DUE, student="student2",
                             answered_at=dt.datetime(2026, 12, 28, 9, tzinfo=UTC))

    assert str(run(session, keyring, DUE)) == "reminded 0, escalated 0, nudged 0"  # the last day to answer
    result = run(session, keyring, dt.date(2027, 1, 5))
    assert (result.reminded, result.escalated) == (1, 0)
    session.refresh(referral)
    assert referral.reminder_sent_at is not None and referral.escalated_at is None
    reminders = notified(session, "referral:reminder")
    assert sorted(a for a, _t in reminders) == sorted([sla["jobcoach"].id, sla["jobcoach2"].id])
    assert all(f"verwijzing {referral.id}" in t and "04-01-2027" in t for _a, t in reminders)
    assert len(events(session, referral, EventKind.reminder)) == 1
    assert events(session, answered, EventKind.reminder) == []
    (audit,) = audited(session, "referral:remind")
    assert (audit.object_id, audit.student_id, audit.channel, audit.account_id) == (
        str(referral.id), str(sla["student"].id), "job", None)

    # the same day again, and the next working day: no second reminder, no escalation yet
    assert run(session, keyring, dt.date(2027, 1, 5), hour=15).reminded == 0
    assert str(run(session, keyring, dt.date(2027, 1, 6))) == "reminded 0, escalated 0, nudged 0"

    # two working days after the reminder: the coordinator of the receiving organisation's region
    result = run(session, keyring, dt.date(2027, 1, 7))
    assert (result.reminded, result.escalated) == (0, 1)
    escalations = notified(session, "referral:escalation")
    assert [a for a, _t in escalations] == [sla["coordinator"].id]  # not the other region's coordinator
    assert "Gemeente Teststad" in escalations[0][1]
    assert len(events(session, referral, EventKind.escalation)) == 1
    assert len(audited(session, "referral:escalate")) == 1

    # run twice: the same outcome
    assert str(run(session, keyring, dt.date(2027, 1, 7))) == "reminded 0, escalated 0, nudged 0"
    assert str(run(session, keyring, dt.date(2027, 1, 12))) == "reminded 0, escalated 0, nudged 0"
    assert len(notified(session, "referral:reminder")) == 2 and len(notified(session, "referral:escalation")) == 1
    assert len(events(session, referral, EventKind.reminder)) == 1


def test_the_owner_alone_gets_the_reminder_and_no_title_or_mail_names_the_student(session, keyring, sla):
    referral = make_referral(sla, response_due=DUE, owner_account_id=sla["jobcoach2"].id)
    run(session, keyring, dt.date(2027, 1, 6))
    assert [a for a, _t in notified(session, "referral:reminder")] == [sla["jobcoach2"].id]
    run(session, keyring, dt.date(2027, 1, 12))
    texts = [n.title for n in session.scalars(select(Notification))]
    for message in session.scalars(select(OutboxMessage)):
        texts += [message.subject, keyring.decrypt(message.body_encrypted, message.body_ref())]
    assert len(texts) == 2 + 2 * 2  # a reminder and an escalation, each in the list and by e-mail
    assert f"/verwijzingen/{referral.id}" in " ".join(texts)
    assert not [t for t in texts for name in STUDENT_NAMES if name in t]


def test_a_referral_answered_after_the_reminder_is_not_escalated(session, keyring, sla):
    referral = make_referral(sla, response_due=DUE)
    run(session, keyring, dt.date(2027, 1, 5))
    referral.status, referral.answered_at = ReferralStatus.accepted, dt.datetime(2027, 1, 6, 9, tzinfo=UTC)
    session.commit()
    assert run(session, keyring, dt.date(2027, 1, 8)).escalated == 0


def test_stale_in_progress_work_gets_one_nudge_per_silence(session, keyring, sla):
    referral = make_referral(sla, status=ReferralStatus.in_progress, owner_account_id=sla["jobcoach"].id,
                             status_changed_at=dt.datetime(2026, 11, 2, 10, tzinfo=UTC))
    fresh = make_referral(sla, status=ReferralStatus.in_progress, student="student2",
                          status_changed_at=dt.datetime(2026, 12, 1, 10, tzinfo=UTC))
    session.add(ReferralEvent(referral_id=fresh.id, kind=EventKind.update, at=dt.datetime(2026, 12, 22, 10, tzinfo=UTC),
                              actor_name="Jobcoach Bakker"))
    session.commit()

    assert run(session, keyring, dt.date(2027, 1, 7)).nudged == 1
    assert [a for a, _t in notified(session, "referral:nudge")] == [sla["jobcoach"].id]
    assert run(session, keyring, dt.date(2027, 1, 8)).nudged == 0  # nudged since the last news
    assert len(audited(session, "referral:nudge")) == 1

    # news on 8 January starts the clock again: 20 working days later (5 February), one more nudge
    session.add(ReferralEvent(referral_id=referral.id, kind=EventKind.update,
                              at=dt.datetime(2027, 1, 8, 12, tzinfo=UTC), actor_name="Jobcoach Bakker"))
    session.commit()
    assert run(session, keyring, dt.date(2027, 2, 4)).nudged == 1  # that one is ``fresh`` (news on 22 Dec)
    assert run(session, keyring, dt.date(2027, 2, 5)).nudged == 1
    assert len(events(session, referral, EventKind.nudge)) == 2
    assert run(session, keyring, dt.date(2027, 2, 5)).nudged == 0


def test_the_job_runs_once_per_slot(app, session, sla):
    referral = make_referral(sla, response_due=DUE)
    (job,) = DEADLINE_JOBS
    assert job.id == "referrals.deadlines" and job.interval_seconds(app) == 3600
    with time_machine.travel(dt.datetime(2027, 1, 5, 10, 15, tzinfo=AMS), tick=False):
        assert run_job_once(app, job) is True
        assert run_job_once(app, job) is False  # the same hour: a second scheduler skips it
    with time_machine.travel(dt.datetime(2027, 1, 5, 11, 15, tzinfo=AMS), tick=False):
        assert run_job_once(app, job) is True  # the next slot runs, and finds nothing to do
    db.session.expire_all()
    assert len(events(session, db.session.get(type(referral), referral.id), EventKind.reminder)) == 1
    assert len(notified(session, "referral:reminder")) == 2
