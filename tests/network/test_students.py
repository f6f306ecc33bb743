"""The student services: register, update (row version), list (one audit event, fixed queries)
and get (walls, then the access decision)."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from sqlalchemy import event, select, update

from network import clock
from network.access import Category
from network.audit import AuditEvent, AuditOutcome
from network.db import db
from network.errors import Conflict, Forbidden, NotFound, ValidationFailed
from network.models import OrganisationType, Role, SchoolLevel, Student
from network.student_schemas import StudentArgs
from network.students import (
    PURPOSE_GUIDANCE,
    get_student,
    list_students,
    register_student,
    student_in_walls,
    update_student,
)
from tests.factories import OrganisationFactory, RegionFactory, StudentFactory, make_member, principal_for

BSN = "111222333"
OTHER_BSN = "123456782"


@pytest.fixture
def world(session):
    region = RegionFactory()
    school = OrganisationFactory(region=region, school=True)
    other_school = OrganisationFactory(region=region, school=True)
    mentor = principal_for(make_member(Role.mentor, school))
    return school, other_school, mentor


def data(**overrides):
    raw = {"first_name": "Sanne", "last_name": "Jansen", "date_of_birth": "14-05-2007", "level": "mbo2",
           "postcode": "6511ab", "bsn": BSN, "email": "Sanne@Example.org"}
    raw.update(overrides)
    return StudentArgs().load(raw)


def events(session, event_type=None):
    query = select(AuditEvent).order_by(AuditEvent.id)
    if event_type:
        query = query.where(AuditEvent.event_type == event_type)
    return session.scalars(query).all()


def test_register_student(session, world, keyring):
    school, _, mentor = world
    student = register_student(session, mentor, keyring, data())
    session.commit()
    assert student.school_id == school.id
    assert student.postcode == "6511 AB" and student.email == "sanne@example.org"
    assert student.get_bsn(keyring) == BSN and BSN not in student.bsn_encrypted
    assert student.masked_bsn(keyring) != BSN
    (created,) = events(session, "student:create")
    assert created.student_id == str(student.id) and created.purpose == "registratie"
    assert BSN not in created.detail and "Sanne" not in created.detail
    assert "bsn" in json.loads(created.detail)["fields"]


def test_duplicate_bsn_within_school_is_a_field_error(session, world, keyring):
    school, other_school, mentor = world
    register_student(session, mentor, keyring, data())
    with pytest.raises(ValidationFailed) as exc:
        register_student(session, mentor, keyring, data(first_name="Ander"))
    assert list(exc.value.errors) == ["bsn"]
    # another school may register the same person (and is not told about the first)
    other = principal_for(make_member(Role.decaan, other_school))
    assert register_student(session, other, keyring, data()).school_id == other_school.id


def test_register_without_bsn(session, world, keyring):
    _, _, mentor = world
    one = register_student(session, mentor, keyring, data(bsn=""))
    two = register_student(session, mentor, keyring, data(bsn=None, first_name="Twee"))
    assert one.bsn_index is None and two.bsn_encrypted is None


def test_only_school_staff_register(session, world, keyring):
    school, _, _ = world
    partner = principal_for(make_member(Role.partner_staff, OrganisationFactory(region=school.region)))
    with pytest.raises(Forbidden):
        register_student(session, partner, keyring, data())


def test_update_student_with_row_version(session, world, keyring):
    school, _, mentor = world
    student = StudentFactory(school=school, bsn=BSN)
    changed = update_student(session, mentor, keyring, student,
                             {**data(phone="06 11112222", bsn=None), "remove_bsn": False}, expected_version=1)
    session.commit()
    assert "phone" in changed and "bsn" not in changed
    assert student.version == 2 and student.get_bsn(keyring) == BSN
    with pytest.raises(Conflict) as exc:
        update_student(session, mentor, keyring, student, data(city="Arnhem"), expected_version=1)
    assert "Iemand anders heeft deze leerling intussen gewijzigd" in str(exc.value.detail)
    assert student.city != "Arnhem"
    (updated,) = events(session, "student:update")
    assert "06 1111" not in updated.detail


def test_concurrent_update_is_a_conflict(session, world, keyring):
    school, _, mentor = world
    student = StudentFactory(school=school)
    # someone else saves between our load and our flush
    with db.engine.begin() as conn:
        conn.execute(update(Student.__table__).where(Student.id == student.id).values(city="Elders", version=2))
    with pytest.raises(Conflict):
        update_student(session, mentor, keyring, student, data(city="Arnhem"), expected_version=1)
    session.rollback()


def test_update_bsn_change_remove_and_duplicate(session, world, keyring):
    school, _, mentor = world
    StudentFactory(school=school, bsn=OTHER_BSN)
    student = StudentFactory(school=school, bsn=BSN)
    with pytest.raises(ValidationFailed) as exc:
        update_student(session, mentor, keyring, student, data(bsn=OTHER_BSN, city="Arnhem"), expected_version=1)
    assert list(exc.value.errors) == ["bsn"] and student.city != "Arnhem"
    update_student(session, mentor, keyring, student, {"remove_bsn": True}, expected_version=1)
    session.commit()
    assert student.bsn_encrypted is None and student.bsn_index is None


def test_update_other_school_is_forbidden(session, world, keyring):
    _, other_school, mentor = world
    student = StudentFactory(school=other_school)
    with pytest.raises(Forbidden):
        update_student(session, mentor, keyring, student, data(), expected_version=1)


def test_list_students_only_own_school_and_audited(session, world):
    school, other_school, mentor = world
    StudentFactory(school=school, first_name="Aylin", last_name="Kaya")
    StudentFactory(school=school, first_name="Daan", last_name="de Boer")
    StudentFactory(school=other_school, first_name="Aylin", last_name="Elders")
    page = list_students(session, mentor, page=1, per_page=10)
    assert [s.last_name for s in page.items] == ["de Boer", "Kaya"] and page.total == 2
    found = list_students(session, mentor, q="ayl", page=1, per_page=10)
    assert [s.last_name for s in found.items] == ["Kaya"]
    assert list_students(session, mentor, q="100%_", page=1, per_page=10).total == 0
    session.commit()
    listed = events(session, "student:list")  # one decision per student shown: 2 + 1 + 0
    assert len(listed) == 3 and all(e.action.value == "R" for e in listed)
    kaya = next(s for s in page.items if s.last_name == "Kaya")
    assert [e.student_id for e in listed].count(str(kaya.id)) == 2
    assert all("ayl" not in (e.detail or "") for e in listed)  # search words are not logged


def _recorder(statements: list[str]):
    """A ``before_cursor_execute`` listener that appends each statement to ``statements``."""

    def listener(conn, cursor, statement, *args):
        statements.append(statement)

    return listener


def test_list_students_constant_queries(session, world):
    school, _, mentor = world
    for _ in range(30):
        StudentFactory(school=school)
    counts = []
    for per_page in (2, 25):
        statements: list[str] = []
        listener = _recorder(statements)
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            session.expire_all()
            page = list_students(session, mentor, page=1, per_page=per_page)
            for s in page.items:  # read what the list shows: a lazy load would add statements
                _ = (s.first_name, s.last_name, s.date_of_birth, s.programme, s.level, s.expected_exit_date)
            session.flush()
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert not any("bsn" in statement for statement in statements
                       if statement.lstrip().upper().startswith("SELECT"))
        counts.append(len(statements))
    assert counts[0] == counts[1]


def test_get_student_walls_and_decision(session, world):
    school, other_school, mentor = world
    own = StudentFactory(school=school)
    foreign = StudentFactory(school=other_school)
    student, decision = get_student(session, mentor, own.id, purpose=PURPOSE_GUIDANCE,
                                    categories=[Category.contact, Category.bsn, Category.support])
    assert student is own
    assert decision.allowed == {Category.contact, Category.bsn}
    with pytest.raises(NotFound):
        get_student(session, mentor, foreign.id, purpose=PURPOSE_GUIDANCE, categories=[Category.contact])
    with pytest.raises(NotFound):
        get_student(session, mentor, uuid.uuid4(), purpose=PURPOSE_GUIDANCE, categories=[Category.contact])
    with pytest.raises(NotFound):
        get_student(session, mentor, "geen-uuid", purpose=PURPOSE_GUIDANCE, categories=[Category.contact])
    (viewed,) = events(session, "student:view")
    assert viewed.outcome is AuditOutcome.success and viewed.basis == "legal_task:onderwijstaak"


def test_partner_inside_region_without_basis_is_forbidden_and_audited(session, world):
    school, _, _ = world
    student = StudentFactory(school=school)
    partner = principal_for(make_member(Role.partner_staff, OrganisationFactory(region=school.region)))
    far_partner = principal_for(make_member(Role.partner_staff, OrganisationFactory()))
    assert student_in_walls(partner, student) and not student_in_walls(far_partner, student)
    with pytest.raises(Forbidden):
        get_student(session, partner, student.id, purpose="verwijzing", categories=[Category.contact])
    with pytest.raises(NotFound):
        get_student(session, far_partner, student.id, purpose="verwijzing", categories=[Category.contact])
    (denied,) = events(session, "student:view")
    assert denied.outcome is AuditOutcome.denied


def test_student_sees_themself(session, world):
    school, _, _ = world
    account = make_member(Role.student, school)
    student = StudentFactory(school=school, account_id=account.id)
    _, decision = get_student(session, principal_for(account), student.id, purpose="inzage",
                              categories=[Category.contact])
    assert decision.permits(Category.contact)


@pytest.mark.parametrize(("overrides", "field"), [
    ({"first_name": None}, "first_name"),
    ({"date_of_birth": "31-02-2007"}, "date_of_birth"),
    ({"date_of_birth": (clock.today() + dt.timedelta(days=1)).isoformat()}, "date_of_birth"),
    ({"date_of_birth": "01-01-1890"}, "date_of_birth"),  # no living person; 1950 is a student now (issue 20)
    ({"date_of_birth": "31-02-2000"}, "date_of_birth"),
    ({"date_of_birth": (clock.today().replace(year=clock.today().year - 10)).isoformat()}, "date_of_birth"),
    ({"postcode": "0123 AB"}, "postcode"),
    ({"bsn": "111222334"}, "bsn"),
    ({"email": "geen-mail"}, "email"),
    ({"phone": "bel me"}, "phone"),
    ({"level": "hbo"}, "level"),
    ({"expected_exit_date": "01-01-2000"}, "expected_exit_date"),
])
def test_schema_messages_are_dutch(app, overrides, field):
    from network.schemas import load_form

    raw = {"first_name": "Sanne", "last_name": "Jansen", "date_of_birth": "14-05-2007", "level": "mbo2", **overrides}
    with app.test_request_context():
        loaded, errors = load_form(StudentArgs, {k: v or "" for k, v in raw.items()})
    assert loaded is None and field in errors
    assert not any(word in " ".join(errors[field]) for word in ("Invalid", "Missing", "Not a valid"))


def test_schema_requires_parent_under_sixteen(app):
    from network.schemas import load_form

    born = clock.today().replace(year=clock.today().year - 14, day=1)
    raw = {"first_name": "Sanne", "last_name": "Jansen", "date_of_birth": born.isoformat(), "level": "vso"}
    with app.test_request_context():
        _, errors = load_form(StudentArgs, raw)
        assert {"parent_name", "parent_phone"} <= set(errors)
        loaded, errors = load_form(StudentArgs, {**raw, "parent_name": "Ouder", "parent_phone": "06 12345678"})
    assert not errors and loaded["level"] is SchoolLevel.vso


def test_acting_for_non_school_cannot_list(session, world):
    school, _, _ = world
    hub = OrganisationFactory(region=school.region, type=OrganisationType.hub)
    with pytest.raises(Forbidden):
        list_students(session, principal_for(make_member(Role.coordinator, hub)), page=1, per_page=10)
