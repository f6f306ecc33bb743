"""The one access decision: legal task for the school's own staff, self-access, fail closed,
and an audit event for every decision."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from network import access
from network.access import Basis, Category, decide
from network.audit import AuditEvent, AuditOutcome
from network.errors import Forbidden
from network.models import Account, Organisation, OrganisationType, Region, Role, SchoolLevel, Student
from network.permissions import Acting, Principal, permissions_for


def _acting(org, role):
    return Acting(membership_id=1, organisation_id=org.id, organisation_name=org.name,
                  organisation_type=org.type, region_id=org.region_id, role=role)


def _principal(org, role, account_id=1):
    acting = _acting(org, role)
    return Principal(account_id=account_id, name="Test Persoon", acting=acting, memberships=(acting,),
                     permissions=permissions_for(role), source_ip="127.0.0.1", request_id="req-123456")


@pytest.fixture
def world(session):
    region = Region(name="Waalrand", code="waalrand")
    school = Organisation(region=region, name="ROC", type=OrganisationType.school, brin="25LX")
    other = Organisation(region=region, name="VSO", type=OrganisationType.school, brin="26AB")
    gemeente = Organisation(region=region, name="Gemeente", type=OrganisationType.gemeente)
    student = Student(school=school, first_name="Sam", last_name="Jansen", date_of_birth=dt.date(2008, 1, 2),
                      level=SchoolLevel.entree)
    session.add_all([region, school, other, gemeente, student])
    session.commit()
    return {"school": school, "other": other, "gemeente": gemeente, "student": student}


def _events(session):
    return session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()


def test_school_staff_read_own_students_on_legal_task(session, world):
    principal = _principal(world["school"], Role.mentor)
    decision = decide(session, principal, world["student"], "leerlingbegeleiding",
                      [Category.contact, Category.education, Category.bsn])
    assert decision.allowed == {Category.contact, Category.education, Category.bsn}
    assert decision.basis_label == "legal_task:onderwijstaak"
    session.commit()
    [event] = _events(session)
    assert event.outcome == AuditOutcome.success and event.action.value == "R"
    assert event.student_id == str(world["student"].id) and event.basis == "legal_task:onderwijstaak"
    assert event.role == "mentor" and event.organisation_id == world["school"].id
    assert event.purpose == "leerlingbegeleiding" and event.request_id == "req-123456"


def test_special_categories_need_consent_even_for_the_school(session, world):
    decision = decide(session, _principal(world["school"], Role.zorgcoordinator), world["student"],
                      "leerlingbegeleiding", [Category.support, Category.justice, Category.contact])
    assert decision.allowed == {Category.contact}
    assert decision.denied == {Category.support, Category.justice}
    with pytest.raises(Forbidden):
        decision.require(Category.support)


@pytest.mark.parametrize("org_key,role", [("other", Role.mentor), ("gemeente", Role.partner_staff),
                                          ("school", Role.student)])
def test_others_are_denied_and_the_denial_is_audited(session, world, org_key, role):
    decision = decide(session, _principal(world[org_key], role, account_id=99), world["student"],
                      "leerlingbegeleiding", [Category.contact])
    assert decision.allowed == frozenset() and decision.basis_label is None
    session.commit()
    [event] = _events(session)
    assert event.outcome == AuditOutcome.denied


def test_purpose_outside_the_task_is_denied(session, world):
    decision = decide(session, _principal(world["school"], Role.mentor), world["student"], "marketing",
                      [Category.contact])
    assert not decision.allowed


def test_student_sees_own_data(session, world):
    account = Account(email="sam@example.nl", name="Sam")
    session.add(account)
    session.flush()  # need the account id to link the student
    world["student"].account_id = account.id
    session.commit()
    principal = _principal(world["school"], Role.student, account_id=account.id)
    decision = decide(session, principal, world["student"], "inzage", list(Category))
    assert decision.allowed == frozenset(Category) and decision.basis_label == "self:betrokkene"


def test_a_failing_basis_source_denies_everything(session, world, monkeypatch):
    def broken(*args):
        raise RuntimeError("consent store down")

    monkeypatch.setattr(access, "_providers", [broken])
    # support is not covered by the legal task, so the (broken) consent source is asked;
    # its error denies even what the legal task would have allowed
    decision = decide(session, _principal(world["school"], Role.mentor), world["student"],
                      "leerlingbegeleiding", [Category.contact, Category.support])
    assert decision.allowed == frozenset()
    session.commit()
    assert _events(session)[0].outcome == AuditOutcome.failure


def test_registered_provider_adds_a_basis(session, world, monkeypatch):
    def consents(session_, principal, student, purpose, categories):
        if principal.organisation_id == world["gemeente"].id and purpose == "jobcoaching":
            yield Basis("consent", "42", frozenset({Category.contact, Category.support}))

    monkeypatch.setattr(access, "_providers", [])
    access.register_basis_provider(consents)
    access.register_basis_provider(consents)
    assert access._providers == [consents]
    decision = decide(session, _principal(world["gemeente"], Role.partner_staff), world["student"], "jobcoaching",
                      [Category.contact, Category.support, Category.justice])
    assert decision.allowed == {Category.contact, Category.support}
    assert decision.basis_label == "consent:42"


def test_providers_are_not_asked_when_legal_bases_cover_the_request(session, world, monkeypatch):
    asked = []
    monkeypatch.setattr(access, "_providers", [lambda *args: asked.append(1) or []])
    decide(session, _principal(world["school"], Role.mentor), world["student"], "leerlingbegeleiding",
           [Category.contact, Category.education])
    assert asked == []
    decide(session, _principal(world["school"], Role.mentor), world["student"], "leerlingbegeleiding",
           [Category.contact, Category.support])
    assert asked == [1]


def test_decide_many_audits_every_student_in_one_statement(app, session, world):
    from sqlalchemy import event

    from network.access import decide_many
    from network.db import db

    others = [Student(school=world["school"], first_name=f"Leerling {n}", last_name="Test",
                      date_of_birth=dt.date(2008, 1, 2), level=SchoolLevel.mbo2) for n in range(5)]
    session.add_all(others)
    session.commit()
    statements = []
    listener = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        decisions = decide_many(session, _principal(world["school"], Role.mentor), [world["student"], *others],
                                "leerlingbegeleiding", [Category.contact])
        session.flush()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert all(d.allowed == {Category.contact} for d in decisions.values()) and len(decisions) == 6
    assert len([s for s in statements if s.lstrip().upper().startswith("INSERT")]) == 1
    session.commit()
    assert {e.student_id for e in _events(session)} == {str(s.id) for s in [world["student"], *others]}
