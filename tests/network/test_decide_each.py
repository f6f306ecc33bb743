"""The batch form of the access decision (``decide_each`` / ``decide_many``, used by the
referral inbox and the student list) against the one-at-a-time ``decide``:

- the same decision (allowed categories and bases) for every (student, purpose) pair, over
  random consents (students × purposes × categories, withdrawn, expired, not yet valid) and the
  legal tasks (RMC for students of its own region only, UWV everywhere), for partner staff, a
  mentor and the student themself;
- one audit row per distinct pair, written in ONE statement;
- a fixed number of statements whatever the number of students;
- fail closed: a basis provider that raises denies the whole page, audited as a failure.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select

from consent.catalogue import PURPOSES, seed_catalogues
from consent.models import Consent, ConsentItem, ConsentStatus, Purpose
from network import access, clock
from network.access import Basis, Category, decide, decide_each, decide_many
from network.audit import AuditEvent, AuditOutcome
from network.db import db
from network.models import Organisation, OrganisationType, Region, Role, SchoolLevel, Student
from network.permissions import Acting, Principal, permissions_for
from tests.factories import doelgroepregister_step, left_school, make_member

STUDENTS = 6  # the first three at the school in the RMC's region, the others far away
PURPOSE_CODES = sorted(PURPOSES) + ["leerlingbegeleiding", "verwijzing"]
RECIPIENTS = ("rmc", "gemeente", "uwv")
#: how a generated consent stands today
STATES = ("active", "withdrawn", "expired", "lapsed", "future")


def _principal(org: Organisation, role: Role, account_id: int = 1) -> Principal:
    acting = Acting(membership_id=account_id, organisation_id=org.id, organisation_name=org.name,
                    organisation_type=org.type, region_id=org.region_id, role=role)
    return Principal(account_id=account_id, name="Test Persoon", acting=acting, memberships=(acting,),
                     permissions=permissions_for(role))


@pytest.fixture
def bworld(session):
    """Two regions; a school in each; an RMC and gemeente in the first, UWV in the second."""
    seed_catalogues(session)
    near, far = Region(name="Waalrand", code="waalrand"), Region(name="Verweg", code="verweg")
    school = Organisation(region=near, name="ROC", type=OrganisationType.school, brin="25LX")
    far_school = Organisation(region=far, name="ROC Verweg", type=OrganisationType.school, brin="26AB")
    orgs = {"rmc": Organisation(region=near, name="RMC Waalrand", type=OrganisationType.rmc),
            "gemeente": Organisation(region=near, name="Gemeente", type=OrganisationType.gemeente),
            "uwv": Organisation(region=far, name="UWV", type=OrganisationType.uwv)}
    students = [Student(school=school if n < STUDENTS // 2 else far_school, first_name=f"Leerling {n}",
                        last_name="Test", date_of_birth=dt.date(2007, 1, 2), level=SchoolLevel.mbo2)
                for n in range(STUDENTS)]
    session.add_all([near, far, school, far_school, *orgs.values(), *students])
    session.commit()
    student_account = make_member(Role.student, school, name="Leerling 0")
    students[0].account_id = student_account.id
    session.commit()
    principals = {name: _principal(org, Role.partner_staff, n + 10) for n, (name, org) in enumerate(orgs.items())}
    principals["mentor"] = _principal(school, Role.mentor, 20)
    principals["student"] = Principal(account_id=student_account.id, name="Leerling 0", acting=_principal(
        school, Role.student, student_account.id).acting, permissions=permissions_for(Role.student))
    purposes = {p.code: p.id for p in session.scalars(select(Purpose))}
    return {"orgs": orgs, "students": students, "principals": principals, "purposes": purposes}


def _add_consent(session, bworld, student, recipient: str, purpose: str, categories, state: str) -> None:
    today = clock.today()
    valid_from, valid_until = today - dt.timedelta(days=30), today + dt.timedelta(days=300)
    status = ConsentStatus.active
    if state == "withdrawn":
        status = ConsentStatus.withdrawn
    elif state == "expired":
        status, valid_until = ConsentStatus.expired, today - dt.timedelta(days=1)
    elif state == "lapsed":  # still active in the table, but its end date passed (the job has not run)
        valid_until = today - dt.timedelta(days=1)
    elif state == "future":
        valid_from = today + dt.timedelta(days=3)
    consent = Consent(student_id=student.id, recipient_id=bworld["orgs"][recipient].id,
                      purpose_id=bworld["purposes"][purpose], status=status, valid_from=valid_from,
                      valid_until=valid_until, given_by="student", channel="portal", text_version="test",
                      text_hash="0" * 64, recorded_by_name="Leerling")
    session.add(consent)
    session.flush()
    session.add_all(ConsentItem(consent_id=consent.id, category=c.value, explicit=c in access.SPECIAL_CATEGORIES)
                    for c in categories)
    session.flush()


class StatementCounter:
    """Every SQL statement on the engine while active (a ``before_cursor_execute`` listener)."""

    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, *args):
        self.statements.append(statement)

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self)

    @property
    def audit_inserts(self) -> int:
        return sum(1 for s in self.statements if s.lstrip().upper().startswith("INSERT INTO AUDIT_EVENT"))


def _same(one: access.Decision, batch: access.Decision) -> None:
    assert batch.purpose == one.purpose and batch.requested == one.requested
    assert batch.allowed == one.allowed
    assert sorted(map(str, batch.bases)) == sorted(map(str, one.bases))


def _max_audit_id(session) -> int:
    return session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))


consents = st.lists(st.tuples(st.integers(0, STUDENTS - 1), st.sampled_from(RECIPIENTS),
                              st.sampled_from(sorted(PURPOSES)), st.sets(st.sampled_from(list(Category)), min_size=1),
                              st.sampled_from(STATES)), max_size=14)
pairs = st.lists(st.tuples(st.integers(0, STUDENTS - 1), st.sampled_from(PURPOSE_CODES)), min_size=1, max_size=14)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(given_consents=consents, asked=pairs, who=st.sampled_from(["rmc", "gemeente", "uwv", "mentor", "student"]),
       requested=st.sets(st.sampled_from(list(Category)), min_size=1))
def test_decide_each_decides_as_decide_does(session, bworld, given_consents, asked, who, requested):
    students, principal = bworld["students"], bworld["principals"][who]
    try:
        active = set()  # the hub keeps one active consent per student, recipient and purpose
        for s_index, recipient, purpose, categories, state in given_consents:
            if state in ("active", "lapsed", "future"):  # all three are 'active' in the table
                if (s_index, recipient, purpose) in active:
                    state = "withdrawn"
                active.add((s_index, recipient, purpose))
            _add_consent(session, bworld, students[s_index], recipient, purpose, categories, state)
        wanted = [(students[s], purpose) for s, purpose in asked]
        one_by_one = {(s.id, p): decide(session, principal, s, p, requested) for s, p in wanted}
        session.flush()
        start = _max_audit_id(session)
        with StatementCounter() as counter:
            batch = decide_each(session, principal, wanted, requested)
            session.flush()
        assert set(batch) == set(one_by_one)
        for key, decision in one_by_one.items():
            _same(decision, batch[key])
        assert counter.audit_inserts == 1, counter.statements  # one statement for the whole page
        rows = session.scalars(select(AuditEvent).where(AuditEvent.id > start)).all()
        assert len(rows) == len(one_by_one)  # one row per distinct pair
        for row in rows:
            decision = batch[(next(s.id for s in students if str(s.id) == row.student_id), row.purpose)]
            assert row.outcome is (AuditOutcome.success if decision.allowed else AuditOutcome.denied)
            assert row.basis == decision.basis_label and row.event_type == "student:list"
            assert row.object_type == "student" and row.object_id == row.student_id
            assert json.loads(row.detail)["allowed"] == sorted(decision.allowed)
        # decide_many is decide_each for one purpose
        purpose = asked[0][1]
        many = decide_many(session, principal, [students[s] for s, _p in asked], purpose, requested)
        for student_id, decision in many.items():
            _same(decide(session, principal, next(s for s in students if s.id == student_id), purpose, requested),
                  decision)
    finally:
        session.rollback()


def test_rmc_legal_task_only_for_students_of_its_own_region(session, bworld):
    students, rmc = bworld["students"], bworld["principals"]["rmc"]
    near, far = students[0], students[-1]
    for student in (near, far):  # both left school without a startkwalificatie: the task's scope
        left_school(student)
        doelgroepregister_step(student)
    decisions = decide_each(session, rmc, [(near, "rmc-nazorg"), (far, "rmc-nazorg"), (near, "jobcoaching")],
                            [Category.contact, Category.education, Category.support])
    assert decisions[(near.id, "rmc-nazorg")].allowed == {Category.contact, Category.education}
    assert decisions[(near.id, "rmc-nazorg")].basis_label == "legal_task:rmc-nazorg"
    assert decisions[(far.id, "rmc-nazorg")].allowed == frozenset()
    assert decisions[(near.id, "jobcoaching")].allowed == frozenset()
    # UWV's task has no region rule
    uwv = decide_each(session, bworld["principals"]["uwv"], [(near, "doelgroepregister-aanvraag")],
                      [Category.bsn])
    assert uwv[(near.id, "doelgroepregister-aanvraag")].allowed == {Category.bsn}


def _many_students(session, bworld, count: int) -> list[Student]:
    school_id = bworld["students"][0].school_id
    made = [Student(school_id=school_id, first_name=f"Extra {n}", last_name="Test", date_of_birth=dt.date(2007, 3, 4),
                    level=SchoolLevel.mbo2) for n in range(count)]
    session.add_all(made)
    session.flush()
    for n, student in enumerate(made):
        if n % 3 == 0:
            _add_consent(session, bworld, student, "gemeente", "jobcoaching", [Category.contact], "active")
        if n % 4 == 0:
            _add_consent(session, bworld, student, "gemeente", "begeleiding-naar-werk", [Category.plan], "withdrawn")
    session.commit()
    return made


@pytest.mark.parametrize("who", ["gemeente", "rmc", "mentor"])
def test_statement_count_does_not_grow_with_the_page(session, bworld, who):
    students = _many_students(session, bworld, 50)
    principal = bworld["principals"][who]
    purposes = ["jobcoaching", "rmc-nazorg", "begeleiding-naar-werk", "verwijzing"]
    ids = [s.id for s in students]
    counts = []
    for size in (5, 50):
        # loaded as a list page loads them (one query, before the decision)
        loaded = {s.id: s for s in session.scalars(select(Student).where(Student.id.in_(ids[:size])))}
        page = [(loaded[sid], purposes[n % len(purposes)]) for n, sid in enumerate(ids[:size])]
        with StatementCounter() as counter:
            decisions = decide_each(session, principal, page, [Category.contact, Category.plan])
            session.flush()
        assert len(decisions) == size and counter.audit_inserts == 1
        counts.append(len(counter.statements))
        session.commit()
    assert counts[0] == counts[1], counts
    # consents, legal tasks, schools' regions, the scope of the RMC's legal task, the audit insert
    assert counts[1] <= 5, counts


def test_decide_many_statement_count_is_fixed(session, bworld):
    students = _many_students(session, bworld, 50)
    ids = [s.id for s in students]
    counts = []
    for size in (5, 50):
        page = session.scalars(select(Student).where(Student.id.in_(ids[:size]))).all()
        with StatementCounter() as counter:
            decide_many(session, bworld["principals"]["gemeente"], page, "jobcoaching", [Category.contact])
            session.flush()
        counts.append(len(counter.statements))
        session.commit()
    assert counts[0] == counts[1]


def _raising(*args, **kwargs):
    raise RuntimeError("basis source down")


@pytest.mark.parametrize("with_batch", [True, False])
def test_a_failing_provider_denies_the_whole_page(session, bworld, monkeypatch, with_batch):
    students = bworld["students"]
    _add_consent(session, bworld, students[0], "gemeente", "jobcoaching", [Category.contact], "active")
    session.commit()
    monkeypatch.setattr(access, "_providers", [*access._providers, _raising])
    if with_batch:
        monkeypatch.setitem(access._batch_providers, _raising, _raising)
    start = _max_audit_id(session)
    page = [(s, "jobcoaching") for s in students]
    decisions = decide_each(session, bworld["principals"]["gemeente"], page, [Category.contact])
    session.commit()
    assert all(d.allowed == frozenset() and d.bases == () for d in decisions.values())  # the consent too
    rows = session.scalars(select(AuditEvent).where(AuditEvent.id > start)).all()
    assert len(rows) == len(page) and {r.outcome for r in rows} == {AuditOutcome.failure}
    # the school's own legal task needs no provider: its pages keep working
    mentor = decide_each(session, bworld["principals"]["mentor"], [(students[0], "verwijzing")], [Category.contact])
    assert mentor[(students[0].id, "verwijzing")].allowed == {Category.contact}


def test_self_access_and_a_provider_basis_together(session, bworld, monkeypatch):
    """Bases of several sources add up the same way in both forms."""
    student = bworld["students"][0]
    extra = Basis("legal_task", "test-taak", frozenset({Category.plan}))
    provider = lambda session, principal, student, purpose, requested: [extra]  # noqa: E731
    monkeypatch.setattr(access, "_providers", [*access._providers, provider])
    principal = bworld["principals"]["gemeente"]
    one = decide(session, principal, student, "jobcoaching", [Category.plan, Category.contact])
    batch = decide_each(session, principal, [(student, "jobcoaching")], [Category.plan, Category.contact])
    _same(one, batch[(student.id, "jobcoaching")])
    assert one.allowed == {Category.plan}
    me = bworld["principals"]["student"]
    _same(decide(session, me, student, "jobcoaching", list(Category)),
          decide_each(session, me, [(student, "jobcoaching")], list(Category))[(student.id, "jobcoaching")])
    session.rollback()
