"""Who may consent (issue 20, item 8): the student from 16, a parent or guardian under 16, and
for an adult under curatele or mentorschap the curator or mentor; recording a measure with its
court decision (bad input refused in Dutch, nothing written); the basis provider; no age cap."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from consent.lifecycle import add_representation, end_representation
from consent.measures import record_measure, who_decides
from consent.models import Consent, GivenBy, Relation, Representation
from consent.service import grant_consent, students_for_account, withdraw_consent
from network import clock
from network.access import Category, decide
from network.audit import AuditEvent
from network.errors import Forbidden, NotFound, ValidationFailed
from network.models import Role
from network.student_schemas import StudentArgs
from tests.consent.conftest import born_years_ago, grant_data
from tests.factories import AccountFactory, StudentFactory, make_member, principal_for

C = Category
SPECIAL = {"categories": ["contactgegevens", "ondersteuningsbehoefte"], "explicit": ["ondersteuningsbehoefte"]}


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def _adult(world, years):
    account = make_member(Role.student, world["school"])
    student = StudentFactory(school=world["school"], account_id=account.id, date_of_birth=born_years_ago(years),
                             parent_email="ouder@example.org")
    return student, principal_for(account)


def _measure_data(relation="curator", email="curator@example.org", **overrides):
    data = {"email": email, "relation": relation, "court": "Rechtbank Gelderland",
            "decision_date": clock.today() - dt.timedelta(days=400), "decision_reference": "C/05/123456 / FA RK 24-1"}
    data.update(overrides)
    return data


@pytest.fixture
def court_appointed(session, world):
    curator = AccountFactory(name="Curator De Wit", email="curator@example.org")
    mentor = AccountFactory(name="Mentor Bakker", email="mentor@example.org")
    return {"curator": curator, "mentor": mentor}


def _under(session, world, actors, relation, years=25, **overrides):
    student, me = _adult(world, years)
    email = "curator@example.org" if relation == "curator" else "mentor@example.org"
    record_measure(session, actors["mentor"], student, _measure_data(relation, email, **overrides),
                   today=clock.today())
    session.commit()
    return student, me


# -- who may grant and withdraw ----------------------------------------------------------------

def test_fifteen_parent_decides_seventeen_self(session, world, actors, keyring):
    add_representation(session, actors["mentor"], world["young"], email="ouder@example.org", relation="ouder")
    add_representation(session, actors["mentor"], world["student"], email="ouder@example.org", relation="ouder")
    session.commit()
    consent = grant_consent(session, actors["guardian"], keyring, world["young"], grant_data(world))
    assert consent.given_by is GivenBy.representative and consent.representative_relation is Relation.parent
    withdraw_consent(session, actors["guardian"], keyring, consent)
    with pytest.raises(NotFound):
        grant_consent(session, actors["guardian"], keyring, world["student"], grant_data(world))
    own = grant_consent(session, actors["student_account"], keyring, world["student"], grant_data(world))
    assert own.given_by is GivenBy.student
    assert who_decides(session, world["young"], clock.today()).kind == "guardian"
    assert who_decides(session, world["student"], clock.today()).kind == "self"


def test_under_curatele_only_the_curator_grants_and_withdraws(session, world, actors, keyring, court_appointed):
    student, me = _under(session, world, actors, "curator")
    curator = principal_for(court_appointed["curator"])
    with pytest.raises(ValidationFailed) as exc:
        grant_consent(session, me, keyring, student, grant_data(world))
    assert "curatele" in str(exc.value.errors["__all__"][0])
    session.rollback()
    assert _count(session, Consent) == 0
    consent = grant_consent(session, curator, keyring, student, grant_data(world, **SPECIAL))
    assert consent.given_by is GivenBy.representative and consent.representative_relation is Relation.curator
    assert consent.representative_account_id == court_appointed["curator"].id
    session.commit()
    with pytest.raises(Forbidden):
        withdraw_consent(session, me, keyring, consent)
    session.rollback()
    withdraw_consent(session, curator, keyring, consent)
    assert consent.status.value == "withdrawn"
    assert (student, "representative") in students_for_account(session, court_appointed["curator"].id,
                                                                clock.today())


def test_curator_text_says_namens(session, world, actors, keyring, court_appointed):
    from consent.service import category_labels, consent_text, text_hash

    student, _me = _under(session, world, actors, "curator")
    consent = grant_consent(session, principal_for(court_appointed["curator"]), keyring, student, grant_data(world))
    expected = consent_text(student_name=student.full_name, recipient_name=world["gemeente"].name,
                            purpose_label="Jobcoaching",
                            category_labels_=[category_labels(session)[c] for c in ("contactgegevens", "opleiding")],
                            valid_from=consent.valid_from, valid_until=consent.valid_until,
                            on_behalf=("Curator De Wit", Relation.curator))
    assert f"Ik, Curator De Wit, curator van {student.full_name}, geef namens {student.full_name}" in expected
    assert consent.text_hash == text_hash(expected)


def test_a_parent_of_an_adult_under_curatele_does_not_decide(session, world, actors, keyring, court_appointed):
    student, _me = _under(session, world, actors, "curator")
    paper = grant_data(world, channel="paper", representative_name="P. Jansen", representative_relation="ouder")
    with pytest.raises(ValidationFailed) as exc:
        grant_consent(session, actors["mentor"], keyring, student, paper)
    assert "curator" in str(exc.value.errors["representative_name"][0])
    session.rollback()
    by_curator = grant_data(world, channel="paper", representative_name="Curator De Wit",
                            representative_relation="curator")
    assert grant_consent(session, actors["mentor"], keyring, student, by_curator).given_by is GivenBy.representative


def test_under_mentorschap_the_mentor_decides_special_the_student_the_rest(session, world, actors, keyring,
                                                                          court_appointed):
    student, me = _under(session, world, actors, "mentor")
    mentor = principal_for(court_appointed["mentor"])
    with pytest.raises(ValidationFailed) as exc:  # the student alone: not on support need
        grant_consent(session, me, keyring, student, grant_data(world, **SPECIAL))
    assert "mentorschap" in str(exc.value.errors["__all__"][0])
    session.rollback()
    with pytest.raises(ValidationFailed) as exc:  # the mentor: not on the rest
        grant_consent(session, mentor, keyring, student, grant_data(world))
    assert "beslist de leerling zelf" in str(exc.value.errors["__all__"][0])
    session.rollback()
    special = grant_consent(session, mentor, keyring, student, grant_data(world, **SPECIAL))
    rest = grant_consent(session, me, keyring, student, grant_data(world, purpose_code="stagebegeleiding"))
    assert special.representative_relation is Relation.mentor and rest.given_by is GivenBy.student
    session.commit()
    with pytest.raises(Forbidden):
        withdraw_consent(session, me, keyring, special)
    session.rollback()
    with pytest.raises(Forbidden):
        withdraw_consent(session, mentor, keyring, rest)
    session.rollback()
    withdraw_consent(session, me, keyring, rest)
    withdraw_consent(session, mentor, keyring, special)


def test_thirty_five_without_measure_decides_alone(session, world, keyring):
    student, me = _adult(world, 35)
    assert grant_consent(session, me, keyring, student, grant_data(world)).given_by is GivenBy.student
    assert who_decides(session, student, clock.today()).kind == "self"


@pytest.mark.parametrize("how", ["end_date_passed", "ended_by_school"])
def test_a_measure_that_ended_gives_the_decision_back(session, world, actors, keyring, court_appointed, how):
    ends = clock.today() - dt.timedelta(days=1) if how == "end_date_passed" else None
    student, me = _under(session, world, actors, "curator", ends_on=ends)
    if how == "ended_by_school":
        end_representation(session, actors["mentor"], session.scalar(select(Representation)))
        session.commit()
    curator = principal_for(court_appointed["curator"])
    with pytest.raises(NotFound):
        grant_consent(session, curator, keyring, student, grant_data(world))
    assert grant_consent(session, me, keyring, student, grant_data(world)).given_by is GivenBy.student
    assert not decide(session, curator, student, "inzage", [C.contact]).allowed
    assert who_decides(session, student, clock.today()).kind == "self"


def test_a_request_for_consent_goes_to_the_one_who_decides(session, world, actors, keyring, court_appointed):
    from consent.lifecycle import request_consent
    from network.models import OutboxMessage

    student, _me = _under(session, world, actors, "mentor")
    student.email = "sanne@example.org"
    request_consent(session, actors["mentor"], keyring, student, grant_data(world, **SPECIAL))
    request_consent(session, actors["mentor"], keyring, student, grant_data(world, purpose_code="stagebegeleiding"))
    session.commit()
    sent = session.scalars(select(OutboxMessage.recipient).order_by(OutboxMessage.created_at)).all()
    assert sorted(sent) == ["mentor@example.org", "sanne@example.org"]


def test_the_reminder_before_a_consent_ends_goes_to_the_curator(session, world, actors, keyring, court_appointed):
    from consent.lifecycle import remind_expiring
    from network.models import OutboxMessage

    student, _me = _under(session, world, actors, "curator")
    student.email = "sanne@example.org"
    grant_consent(session, principal_for(court_appointed["curator"]), keyring, student,
                  grant_data(world, valid_until=clock.today() + dt.timedelta(days=10)))
    assert remind_expiring(session, keyring) == 1
    session.commit()
    assert session.scalars(select(OutboxMessage.recipient)).all() == ["curator@example.org"]


# -- the basis provider ------------------------------------------------------------------------

def test_the_curator_reads_in_the_portal_like_a_guardian(session, world, actors, court_appointed):
    student, _me = _under(session, world, actors, "curator")
    curator = principal_for(court_appointed["curator"])
    decision = decide(session, curator, student, "inzage", [C.contact, C.support])
    assert decision.allowed == {C.contact, C.support} and decision.basis_label == "representative:curator"
    assert not decide(session, principal_for(court_appointed["mentor"]), student, "inzage", [C.contact]).allowed
    assert not decide(session, curator, world["student"], "inzage", [C.contact]).allowed


# -- recording a measure -----------------------------------------------------------------------

@pytest.mark.parametrize("overrides, field, words", [
    ({"decision_reference": None}, "decision_reference", "zaaknummer"),
    ({"court": "  "}, "court", "rechtbank"),
    ({"decision_date": None}, "decision_date", "datum van de uitspraak"),
    ({"decision_date": clock.today() + dt.timedelta(days=3)}, "decision_date", "toekomst"),
    ({"ends_on": clock.today() - dt.timedelta(days=500)}, "ends_on", "vóór de datum"),
    ({"email": "niemand@example.org"}, "email", "geen account"),
])
def test_bad_measure_is_refused_in_dutch_and_nothing_written(session, world, actors, court_appointed, overrides,
                                                             field, words):
    student, _me = _adult(world, 25)
    session.commit()
    events = _count(session, AuditEvent)
    with pytest.raises(ValidationFailed) as exc:
        record_measure(session, actors["mentor"], student, _measure_data(**overrides), today=clock.today())
    assert any(words in str(m).lower() for m in exc.value.errors[field]), exc.value.errors
    session.rollback()
    assert _count(session, Representation) == 0 and _count(session, AuditEvent) == events


def test_no_curator_for_a_minor_and_one_measure_at_a_time(session, world, actors, court_appointed):
    with pytest.raises(ValidationFailed) as exc:
        record_measure(session, actors["mentor"], world["student"], _measure_data(), today=clock.today())
    assert "17 jaar" in str(exc.value.errors["relation"][0]) and "volwassenen" in str(exc.value.errors["relation"][0])
    session.rollback()
    student, _me = _under(session, world, actors, "curator")
    with pytest.raises(ValidationFailed) as exc:
        record_measure(session, actors["mentor"], student, _measure_data("mentor", "mentor@example.org"),
                       today=clock.today())
    assert "Curator De Wit" in str(exc.value.errors["relation"][0])
    session.rollback()
    assert _count(session, Representation) == 1


def test_only_the_school_records_a_measure_and_it_is_audited(session, world, actors, court_appointed):
    student, me = _adult(world, 25)
    with pytest.raises(Forbidden):
        record_measure(session, actors["partner"], student, _measure_data(), today=clock.today())
    with pytest.raises(Forbidden):
        record_measure(session, me, student, _measure_data(), today=clock.today())
    record_measure(session, actors["mentor"], student, _measure_data(), today=clock.today())
    session.commit()
    event = session.scalar(select(AuditEvent).where(AuditEvent.event_type == "consent:representative"))
    detail = json.loads(event.detail) if isinstance(event.detail, str) else event.detail
    assert detail["relation"] == "curator" and detail["reference"] == "C/05/123456 / FA RK 24-1"
    assert event.student_id == str(student.id)


# -- no age cap at registration ----------------------------------------------------------------

def _student_form(born: dt.date) -> dict:
    return {"first_name": "Ans", "last_name": "Visser", "date_of_birth": born.isoformat(), "level": "entree",
            "email": "ans@example.org"}


def test_students_over_thirty_may_be_registered(app_ctx):
    from marshmallow import ValidationError

    born = born_years_ago(58)
    assert StudentArgs().load(_student_form(born))["date_of_birth"] == born
    for impossible, words in ((clock.today() + dt.timedelta(days=30), "verleden"), (dt.date(1890, 1, 1), "120 jaar")):
        with pytest.raises(ValidationError) as exc:
            StudentArgs().load(_student_form(impossible))
        assert words in str(exc.value.messages["date_of_birth"])
