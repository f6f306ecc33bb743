"""The stageprotocol without HTTP (issue 19, item 2): the planned contacts when a placement starts
(first-day calls on the start date, the visit within 14 days, evaluations every N weeks up to
the end), idempotent planning, pausing cancels and resuming reopens, moving a contact, recording
one (bad input in Dutch, encrypted, audited), and the protocol job: a reminder after the due
date, the escalation to the zorgcoördinator after the school's working days, twice → once."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from network.audit import AuditEvent
from network.db import db
from network.errors import Forbidden, NotFound, ValidationFailed
from network.models import OutboxMessage, Role
from network.notifications import Notification
from network.scheduler import job_by_id, run_job_once
from referrals.placements.lifecycle import change_status
from referrals.placements.protocol import (
    contact_notes,
    move_contact,
    placement_contacts,
    plan_contacts,
    record_contact,
    schedule,
)
from referrals.placements.protocol_job import run_protocol
from referrals.placements.protocol_models import ContactKind, ContactStatus, PlacementContact, ProtocolSetting
from referrals.placements.service import create_placement, update_placement
from tests.factories import make_member, principal_for
from tests.referrals._placement_world import pactors, placement_data, pworld  # noqa: F401  (fixtures)
from tests.referrals._world import route_actors, route_world  # noqa: F401  (fixtures)

AMS = ZoneInfo("Europe/Amsterdam")
START = dt.date(2027, 2, 1)  # a Monday
END = dt.date(2027, 5, 28)
K = ContactKind


def at(day: dt.date, hour: int = 10):
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, hour, tzinfo=AMS), tick=False)


@pytest.fixture
def placement(session, keyring, pworld, pactors):
    with at(dt.date(2027, 1, 15)):
        made = create_placement(session, pactors["mentor"], keyring, pworld["route"],
                                placement_data(pworld, start_date=START, end_date=END))
        session.commit()
    return made


@pytest.fixture
def running(session, placement, pactors):
    with at(START, 8):
        change_status(session, pactors["mentor"], placement, "running", on_date=START)
        session.commit()
    return placement


def _open(session, placement):
    return [c for c in placement_contacts(session, placement) if c.status is ContactStatus.planned]


def _notes(session, kind):
    return list(session.scalars(select(Notification).where(Notification.kind == kind)))


def _mails(session):
    return session.scalar(select(func.count(OutboxMessage.id))) or 0


# -- planning -----------------------------------------------------------------------------------

def test_the_schedule_first_day_calls_visit_and_evaluations_up_to_the_end():
    planned = schedule(START, END, 6)
    assert planned[:3] == [(K.first_call_student, 1, START), (K.first_call_trainer, 1, START),
                           (K.visit, 1, START + dt.timedelta(days=14))]
    evaluations = [due for kind, _seq, due in planned if kind is K.evaluation]
    assert evaluations == [START + dt.timedelta(weeks=6), START + dt.timedelta(weeks=12)]
    assert all(due <= END for _k, _s, due in planned)
    # a short placement: still three contacts, one at the company, none after the end
    short = schedule(START, START + dt.timedelta(days=4), 6)
    assert len(short) == 3 and short[2] == (K.visit, 1, START + dt.timedelta(days=4))


def test_starting_plans_the_contacts_once(session, running):
    contacts = placement_contacts(session, running)
    keys = [(c.kind, c.sequence, c.due_date) for c in contacts]
    assert (K.first_call_student, 1, START) in keys and (K.first_call_trainer, 1, START) in keys
    visit = next(c for c in contacts if c.kind is K.visit)
    assert visit.due_date - START <= dt.timedelta(days=14)
    assert len(contacts) == 5 and all(c.supervisor_account_id == running.supervisor_account_id for c in contacts)
    assert plan_contacts(session, running, today=START) == 0  # twice: nothing new
    session.commit()
    assert len(placement_contacts(session, running)) == 5


def test_the_schools_evaluation_interval(session, keyring, pworld, pactors):
    session.add(ProtocolSetting(school_id=pworld["school"].id, evaluation_weeks=4, escalate_after_working_days=3))
    session.commit()
    with at(dt.date(2027, 1, 15)):
        made = create_placement(session, pactors["mentor"], keyring, pworld["route"],
                                placement_data(pworld, start_date=START, end_date=END))
    with at(START):
        change_status(session, pactors["mentor"], made, "running", on_date=START)
    evaluations = [c.due_date for c in placement_contacts(session, made) if c.kind is K.evaluation]
    assert evaluations == [START + dt.timedelta(weeks=4 * n) for n in (1, 2, 3, 4)]


def test_pausing_cancels_open_contacts_and_resuming_reopens_those_still_to_come(session, running, pactors):
    day = START + dt.timedelta(days=3)
    with at(day):
        change_status(session, pactors["mentor"], running, "paused", on_date=day)
        session.commit()
    contacts = placement_contacts(session, running)
    assert len(contacts) == 5 and {c.status for c in contacts} == {ContactStatus.cancelled}
    with at(day + dt.timedelta(days=2)):
        change_status(session, pactors["mentor"], running, "running")
        session.commit()
    reopened = {c.kind for c in _open(session, running)}
    assert reopened == {K.visit, K.evaluation}  # the first-day calls have passed and stay cancelled


def test_ending_cancels_open_contacts(session, running, pactors):
    with at(START + dt.timedelta(days=1)):
        change_status(session, pactors["mentor"], running, "ended_early", reason="Past niet", on_date=START)
        session.commit()
    assert not _open(session, running)
    assert len(placement_contacts(session, running)) == 5


def test_a_lapsed_contact_is_not_recorded_as_planned(session, keyring, running, pactors):
    day = START + dt.timedelta(days=3)
    with at(day):
        change_status(session, pactors["mentor"], running, "paused", on_date=day)
        session.commit()
    lapsed = next(c for c in placement_contacts(session, running) if c.kind is K.visit)
    with at(day), pytest.raises(ValidationFailed) as refused:
        record_contact(session, pactors["mentor"], keyring, running, _record_data(done_on=day), contact=lapsed)
    assert "vervallen" in str(refused.value.errors["done_on"][0])
    session.rollback()
    assert session.get(PlacementContact, lapsed.id).status is ContactStatus.cancelled


# -- moving and recording -------------------------------------------------------------------------

def test_moving_the_visit_after_the_first_call(session, running, pactors):
    visit = next(c for c in _open(session, running) if c.kind is K.visit)
    with at(START):
        with pytest.raises(ValidationFailed) as refused:
            move_contact(session, pactors["mentor"], running, visit, START + dt.timedelta(days=5), "")
        assert "move_reason" in refused.value.errors
        with pytest.raises(ValidationFailed):
            move_contact(session, pactors["mentor"], running, visit, END + dt.timedelta(days=1), "Later")
        move_contact(session, pactors["mentor"], running, visit, START + dt.timedelta(days=5),
                     "Eerste belletje: het gaat moeizaam, eerder langs")
        session.commit()
    assert visit.due_date == START + dt.timedelta(days=5) and visit.planned_date == START + dt.timedelta(days=14)


def _record_data(**overrides):
    data = {"done_on": START.isoformat(), "with_whom": "student", "how": "phone",
            "agreed": "Sanne is goed begonnen; belt bij ziekte vóór 8 uur.", "follow_up": "Volgende week bezoek"}
    data.update(overrides)
    return data


def test_recording_the_first_day_call(session, keyring, running, pactors):
    call = next(c for c in _open(session, running) if c.kind is K.first_call_student)
    with at(START, 16):
        record_contact(session, pactors["mentor"], keyring, running, _record_data(), contact=call)
        session.commit()
    assert call.status is ContactStatus.done and call.done_on == START
    assert "Sanne" not in call.notes_encrypted
    assert contact_notes(keyring, call)["agreed"].startswith("Sanne is goed begonnen")
    audit = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "placement:contact-record")).one()
    assert audit.object_id == str(call.id) or audit.object_id == call.id


def test_recording_bad_input_is_refused_in_dutch(session, keyring, running, pactors):
    evaluation = next(c for c in _open(session, running) if c.kind is K.evaluation)
    with at(START + dt.timedelta(days=1)):
        with pytest.raises(ValidationFailed) as refused:
            record_contact(session, pactors["mentor"], keyring, running,
                           _record_data(done_on=(START + dt.timedelta(days=2)).isoformat(), how="postduif",
                                        agreed="  "), contact=evaluation)
    errors = {field: [str(m) for m in messages] for field, messages in refused.value.errors.items()}
    assert errors["done_on"] == ["Een contact kan niet in de toekomst hebben plaatsgevonden."]
    assert errors["how"] == ["Kies hoe het contact plaatsvond."]
    assert errors["agreed"] == ["Schrijf op wat er is besproken en afgesproken."]
    assert errors["criteria"] == ["Vul bij een evaluatie minstens één van de onderwerpen in."]
    assert evaluation.status is ContactStatus.planned


def test_an_evaluation_keeps_the_seeds_topics(session, keyring, running, pactors):
    evaluation = next(c for c in _open(session, running) if c.kind is K.evaluation)
    with at(evaluation.due_date):
        record_contact(session, pactors["mentor"], keyring, running, _record_data(
            done_on=evaluation.due_date.isoformat(), with_whom="both", how="workplace",
            criteria="Zelfstandig deeg maken: onder begeleiding", future_profile="Bakkerij, 24 uur",
            vacancy="Mogelijk een leerbaan na de zomer", workplace="Klein team, vroege diensten"), contact=evaluation)
    notes = contact_notes(keyring, evaluation)
    assert notes["vacancy"] == "Mogelijk een leerbaan na de zomer" and notes["workplace"].startswith("Klein team")


def test_an_unplanned_contact(session, keyring, running, pactors):
    with at(START + dt.timedelta(days=3)):
        first = record_contact(session, pactors["mentor"], keyring, running, _record_data(how="email"))
        second = record_contact(session, pactors["mentor"], keyring, running, _record_data(how="video"))
    assert (first.kind, first.sequence, second.sequence) == (K.other, 1, 2)


def test_denials_another_school_a_partner_a_student(session, keyring, running, pworld, pactors):
    call = _open(session, running)[0]
    student = principal_for(make_member(Role.student, pworld["school"]))
    for actor in (pactors["other_mentor"], pactors["partner"], student):
        with at(START), pytest.raises((NotFound, Forbidden)):
            record_contact(session, actor, keyring, running, _record_data(), contact=call)
        with at(START), pytest.raises((NotFound, Forbidden)):
            move_contact(session, actor, running, call, START, "Eerder")
    assert call.status is ContactStatus.planned


# -- the protocol job -------------------------------------------------------------------------------

def _run(session, keyring, day: dt.date, hour: int = 10):
    with at(day, hour):
        now = dt.datetime(day.year, day.month, day.day, hour, tzinfo=AMS).astimezone(dt.UTC)
        result = run_protocol(session, keyring, today=day, now=now)
        session.commit()
    return result


def test_reminder_after_the_due_date_then_escalation_and_twice_is_once(session, keyring, running, pworld):
    assert _run(session, keyring, START).reminded == 0  # due today: not late yet
    mails = _mails(session)
    first = _run(session, keyring, START + dt.timedelta(days=1))  # Tuesday
    assert (first.reminded, first.escalated) == (2, 0)
    reminders = _notes(session, "placement:contact-overdue")
    assert {n.account_id for n in reminders} == {pworld["mentor"].id}
    assert "Sanne" not in reminders[0].title and "Bakkerij Van Dalen" in reminders[0].title
    assert _mails(session) == mails + 2
    assert _run(session, keyring, START + dt.timedelta(days=1), 11).reminded == 0  # again: nothing
    # three working days after the due date (Wed, Thu, Fri): the zorgcoördinator is told on Friday
    assert _run(session, keyring, START + dt.timedelta(days=3)).escalated == 0
    escalated = _run(session, keyring, START + dt.timedelta(days=4))
    assert escalated.escalated == 2
    assert {n.account_id for n in _notes(session, "placement:contact-escalation")} == {pworld["zorg"].id}
    again = _run(session, keyring, START + dt.timedelta(days=7))
    assert (again.reminded, again.escalated) == (0, 0)
    assert len(_notes(session, "placement:contact-overdue")) == 2
    assert len(_notes(session, "placement:contact-escalation")) == 2


def test_the_schools_escalation_days(session, keyring, running, pworld):
    session.add(ProtocolSetting(school_id=pworld["school"].id, evaluation_weeks=6, escalate_after_working_days=1))
    session.commit()
    _run(session, keyring, START + dt.timedelta(days=1))
    assert _run(session, keyring, START + dt.timedelta(days=2)).escalated == 2


def test_recording_clears_the_overdue_state(session, keyring, running, pactors):
    _run(session, keyring, START + dt.timedelta(days=1))
    for contact in [c for c in _open(session, running) if c.due_date == START]:
        with at(START + dt.timedelta(days=1)):
            record_contact(session, pactors["mentor"], keyring, running, _record_data(), contact=contact)
    session.commit()
    assert _run(session, keyring, START + dt.timedelta(days=10)).escalated == 0
    assert not _notes(session, "placement:contact-escalation")


def test_a_paused_placement_is_not_chased(session, keyring, running, pactors):
    with at(START):
        change_status(session, pactors["mentor"], running, "paused", on_date=START)
        session.commit()
    assert _run(session, keyring, START + dt.timedelta(days=20)).reminded == 0


def test_the_job_is_registered_and_runs_once_per_slot(app, session, keyring, running):
    job = job_by_id("placements.protocol")
    with at(START + dt.timedelta(days=1)):
        assert run_job_once(app, job) is True
        assert run_job_once(app, job) is False
    db.session.expire_all()
    assert len(_notes(db.session, "placement:contact-overdue")) == 2
    assert db.session.scalar(select(func.count(PlacementContact.id)).where(
        PlacementContact.reminded_at.is_not(None))) == 2


def test_the_contacts_follow_the_edit_form(session, keyring, running, pworld, pactors):
    other = make_member(Role.bpv_begeleider, pworld["school"])
    session.commit()
    shorter = START + dt.timedelta(weeks=7)
    with at(START + dt.timedelta(days=2)):
        update_placement(session, pactors["mentor"], keyring, running,
                         placement_data(pworld, start_date=START, end_date=shorter, supervisor_account_id=other.id))
        session.commit()
    contacts = placement_contacts(session, running)
    assert {c.supervisor_account_id for c in contacts} == {other.id}
    evaluations = {c.sequence: c.status for c in contacts if c.kind is K.evaluation}
    assert evaluations == {1: ContactStatus.planned, 2: ContactStatus.cancelled}


def test_a_contact_is_dated_against_the_real_start(session, keyring, placement, pactors):
    early = START - dt.timedelta(days=40)  # it started long before the planned start
    with at(early):
        change_status(session, pactors["mentor"], placement, "running", on_date=early)
        call = next(c for c in _open(session, placement) if c.kind is K.first_call_student)
        assert call.due_date == early
        record_contact(session, pactors["mentor"], keyring, placement, _record_data(done_on=early.isoformat()),
                       contact=call)


def test_the_schools_settings_from_the_command_line(app, session, pworld):
    runner = app.test_cli_runner()
    school = pworld["school"].id
    shown = runner.invoke(args=["stages", "protocol", str(school)])
    assert shown.exit_code == 0 and "evaluatie om de 6 weken" in shown.output and "3 werkdagen" in shown.output
    changed = runner.invoke(args=["stages", "protocol", str(school), "--evaluatie-weken", "4"])
    assert changed.exit_code == 0 and "evaluatie om de 4 weken" in changed.output
    refused = runner.invoke(args=["stages", "protocol", str(school), "--escalatie-werkdagen", "0"])
    assert refused.exit_code != 0 and "Kies 1 tot 20 werkdagen" in refused.output
    assert runner.invoke(args=["stages", "protocol", str(pworld["gemeente"].id)]).exit_code != 0
    db.session.expire_all()
    row = db.session.get(ProtocolSetting, school)
    assert (row.evaluation_weeks, row.escalate_after_working_days) == (4, 3)
    assert db.session.scalars(select(AuditEvent).where(
        AuditEvent.event_type == "placement:protocol-settings")).one()
