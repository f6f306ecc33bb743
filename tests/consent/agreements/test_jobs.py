"""The agreements' clocks under a time machine: ``agreements.remind`` (a signature still missing
three days after it was asked for gets a reminder, again every three days; in a sequential
order only the party whose turn it is) and ``agreements.review`` (the contact person hears of
an active plan's critical success moment on its day, once). Both are idempotent, and the
scheduler's slot guard runs each once per slot."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from consent.agreements.jobs import JOBS
from consent.agreements.lifecycle import end_agreement
from consent.agreements.models import ReviewMoment, SigningOrder
from consent.agreements.service import save_section
from network import clock
from network.clock import AMSTERDAM
from network.db import db
from network.notifications import Notification
from network.scheduler import job_by_id, run_job_once
from tests.consent.agreements._signed import offer, party_keys, reload, sign
from tests.consent.agreements.conftest import CHECKS, give_plan_consent, party_rows, ready_plan

START = clock.today()


def _at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), AMSTERDAM)


def _day(n: int) -> dt.datetime:
    return _at(START + dt.timedelta(days=n))


def _notified(kind: str) -> list[int]:
    db.session.expire_all()
    return sorted(db.session.scalars(select(Notification.account_id).where(Notification.kind == kind)))


@pytest.fixture
def remind():
    return job_by_id("agreements.remind")


@pytest.fixture
def review():
    return job_by_id("agreements.review")


def test_both_jobs_are_registered():
    assert {"agreements.remind", "agreements.review"} <= {job.id for job in JOBS}
    assert job_by_id("agreements.remind").interval == job_by_id("agreements.review").interval == 24 * 3600


def _offered(session, keyring, world, actors, order):
    agreement_id = ready_plan(session, keyring, world, actors, world["gemeente"]).id
    give_plan_consent(session, keyring, world, actors)
    session.commit()
    keys = party_keys(world)
    offer(session, keyring, actors["mentor"], agreement_id, [keys["student"], keys["school"], keys["gemeente"]],
          order)
    return agreement_id, keys


def test_a_missing_signature_is_reminded_after_three_days_and_every_three_days(app, session, keyring, world, actors,
                                                                                remind, time_machine):
    time_machine.move_to(_day(0), tick=False)
    agreement_id, keys = _offered(session, keyring, world, actors, SigningOrder.parallel)
    sign(session, keyring, actors["student_account"], agreement_id, 1, keys["student"])
    waiting = sorted([world["mentor"].id, world["partner"].id])

    for day in (1, 2):
        time_machine.move_to(_day(day), tick=False)
        assert remind.run(app) == "reminded 0 parties"
    time_machine.move_to(_day(3), tick=False)
    assert remind.run(app) == "reminded 2 parties"
    assert _notified("agreement_sign_reminder") == waiting  # not the student, who signed
    assert remind.run(app) == "reminded 0 parties"  # the same day: nothing again
    time_machine.move_to(_day(3) + dt.timedelta(hours=8), tick=False)
    assert remind.run(app) == "reminded 0 parties"
    for day in (4, 5):
        time_machine.move_to(_day(day), tick=False)
        assert remind.run(app) == "reminded 0 parties"
    time_machine.move_to(_day(6), tick=False)
    assert remind.run(app) == "reminded 2 parties"
    assert _notified("agreement_sign_reminder") == sorted(waiting * 2)

    reminder = db.session.scalar(select(Notification).where(Notification.kind == "agreement_sign_reminder"))
    assert world["student"].last_name not in reminder.title and reminder.link == f"/plannen/{agreement_id}"

    # the scheduler's slot guard: a second scheduler in the same slot does nothing
    time_machine.move_to(_day(9), tick=False)
    now = dt.datetime.now(dt.UTC)
    assert run_job_once(app, remind, now) and not run_job_once(app, remind, now)
    assert _notified("agreement_sign_reminder") == sorted(waiting * 3)

    # once everyone signed, nobody is reminded
    sign(session, keyring, actors["mentor"], agreement_id, 1, keys["school"])
    sign(session, keyring, actors["partner"], agreement_id, 1, keys["gemeente"])
    time_machine.move_to(_day(30), tick=False)
    assert remind.run(app) == "reminded 0 parties"


def test_in_a_sequential_order_only_the_party_whose_turn_it_is_is_reminded(app, session, keyring, world, actors,
                                                                            remind, time_machine):
    time_machine.move_to(_day(0), tick=False)
    agreement_id, keys = _offered(session, keyring, world, actors, SigningOrder.sequential)
    time_machine.move_to(_day(3), tick=False)
    assert remind.run(app) == "reminded 1 parties"
    assert _notified("agreement_sign_reminder") == [world["student_account"].id]

    time_machine.move_to(_day(4), tick=False)
    sign(session, keyring, actors["student_account"], agreement_id, 1, keys["student"])
    assert world["mentor"].id in _notified("agreement_sign")  # asked at once when the turn came
    # the school was asked on day 4: reminded three days later, not the next morning
    for day in (5, 6):
        time_machine.move_to(_day(day), tick=False)
        assert remind.run(app) == "reminded 0 parties", day
    time_machine.move_to(_day(7), tick=False)
    assert remind.run(app) == "reminded 1 parties"
    assert _notified("agreement_sign_reminder") == sorted([world["student_account"].id, world["mentor"].id])
    assert world["partner"].id not in _notified("agreement_sign_reminder")
    assert remind.run(app) == "reminded 0 parties"


def test_a_withdrawn_offer_is_not_reminded(app, session, keyring, world, actors, remind, time_machine):
    time_machine.move_to(_day(0), tick=False)
    agreement_id, _keys = _offered(session, keyring, world, actors, SigningOrder.parallel)
    agreement, access = reload(session, actors["mentor"], agreement_id)
    save_section(session, actors["mentor"], keyring, agreement, access, "future", {"goal": "Toch iets anders"})
    session.commit()
    time_machine.move_to(_day(5), tick=False)
    assert remind.run(app) == "reminded 0 parties"


def _active_plan_with_moment(session, keyring, world, actors, student_key, student_actor, student, due: dt.date):
    from consent.agreements.access import find_agreement
    from consent.agreements.models import AgreementKind
    from consent.agreements.service import create_agreement, save_parties

    mentor = actors["mentor"]
    agreement = create_agreement(session, mentor, keyring, student, AgreementKind.plan)
    session.commit()
    agreement, access = find_agreement(session, mentor, agreement.id)
    save_section(session, mentor, keyring, agreement, access, "checks",
                 {**CHECKS, "moments": [{"date": due.isoformat(), "what": "Eindstage halverwege"}]})
    save_parties(session, mentor, keyring, agreement, access, party_rows(agreement))
    session.commit()
    school = f"org-{world['school'].id}"
    offer(session, keyring, mentor, agreement.id, [student_key, school])
    sign(session, keyring, student_actor, agreement.id, 1, student_key)
    sign(session, keyring, mentor, agreement.id, 1, school)
    return agreement.id


def test_a_review_moment_is_told_on_its_day_once_and_only_for_active_plans(app, session, keyring, world, actors,
                                                                           review, time_machine):
    from consent.lifecycle import add_representation

    time_machine.move_to(_day(0), tick=False)
    due = START + dt.timedelta(days=10)
    active_id = _active_plan_with_moment(session, keyring, world, actors, "student", actors["student_account"],
                                         world["student"], due)
    add_representation(session, actors["mentor"], world["young"], email="ouder@example.org", relation="ouder")
    session.commit()
    ended_id = _active_plan_with_moment(session, keyring, world, actors, "student", actors["guardian"],
                                        world["young"], due)
    assert session.scalar(select(db.func.count()).select_from(ReviewMoment)) == 2
    end_agreement(session, actors["mentor"], *reload(session, actors["mentor"], ended_id), reason="Leerling verhuisd")
    session.commit()

    time_machine.move_to(_at(due - dt.timedelta(days=1), 23), tick=False)
    assert review.run(app) == "reminded 0 review moments"
    time_machine.move_to(_at(due, 7), tick=False)
    assert review.run(app) == "reminded 1 review moments"
    assert review.run(app) == "reminded 0 review moments"
    assert _notified("agreement_review") == [world["mentor"].id]
    told = db.session.scalar(select(Notification).where(Notification.kind == "agreement_review"))
    assert "Eindstage halverwege" in told.title and due.strftime("%d-%m-%Y") in told.title
    assert world["student"].last_name not in told.title and told.link == f"/plannen/{active_id}"

    time_machine.move_to(_at(due + dt.timedelta(days=1)), tick=False)
    now = dt.datetime.now(dt.UTC)
    assert run_job_once(app, review, now) and not run_job_once(app, review, now)
    assert _notified("agreement_review") == [world["mentor"].id]


def test_a_new_version_being_signed_keeps_the_active_plans_moment(app, session, keyring, world, actors, review,
                                                                  time_machine):
    """The active version still holds while a newer one waits for signatures."""
    time_machine.move_to(_day(0), tick=False)
    due = START + dt.timedelta(days=4)
    agreement_id = _active_plan_with_moment(session, keyring, world, actors, "student", actors["student_account"],
                                            world["student"], due)
    agreement, access = reload(session, actors["mentor"], agreement_id)
    save_section(session, actors["mentor"], keyring, agreement, access, "future", {"goal": "Werken in de zorg"})
    session.commit()
    offer(session, keyring, actors["mentor"], agreement_id, ["student", f"org-{world['school'].id}"])
    time_machine.move_to(_at(due), tick=False)
    assert review.run(app) == "reminded 1 review moments"
