"""One unit of work per request, job and command (network.transaction): committed once after a
response below 400, rolled back otherwise; the audit events of reads and refusals survive a
rollback, the events of a change do not; a write behind the commit point's back is caught."""

from __future__ import annotations

import click
import pytest
from flask import abort, stream_with_context
from sqlalchemy import select

from network.access import Category, decide
from network.audit import AuditAction, AuditEvent, AuditOutcome, record
from network.db import db, keep_on_rollback
from network.errors import Conflict, Forbidden
from network.models import OrganisationType, Role, Student
from network.scheduler import Job
from network.tags import StudentTag
from network.transaction import UncommittedWork, command, unit_of_work
from network.web import current_principal
from tests.conftest import extra_app, test_config
from tests.factories import OrganisationFactory, StudentFactory, login, make_member, principal_for


@pytest.fixture
def school_world(session):
    school = OrganisationFactory(school=True)
    gemeente = OrganisationFactory(type=OrganisationType.gemeente, region=school.region)
    mentor = make_member(Role.mentor, school)
    jobcoach = make_member(Role.partner_staff, gemeente)
    student = StudentFactory(school=school, first_name="Sam")
    session.commit()
    return {"mentor": mentor, "jobcoach": jobcoach, "student_id": student.id}


def _events(session, student_id, **where):
    query = select(AuditEvent).where(AuditEvent.student_id == str(student_id))
    for name, value in where.items():
        query = query.where(getattr(AuditEvent, name) == value)
    session.expire_all()
    return session.scalars(query.order_by(AuditEvent.id)).all()


def _first_name(session, student_id):
    session.expire_all()
    return session.get(Student, student_id).first_name


def test_a_request_that_fails_after_a_read_keeps_the_read_event_and_nothing_else(session, app_tmp, school_world):
    with extra_app(test_config(app_tmp)) as other:
        @other.get("/probe/read-then-fail/<uuid:student_id>")
        def read_then_fail(student_id):
            student = db.session.get(Student, student_id)
            decide(db.session, current_principal(), student, "leerlingbegeleiding", [Category.contact])
            student.first_name = "Veranderd"
            db.session.flush()
            raise RuntimeError("a bug after the read")

        client = other.test_client()
        login(client, school_world["mentor"])
        response = client.get(f"/probe/read-then-fail/{school_world['student_id']}")
    assert response.status_code == 500
    [read] = _events(session, school_world["student_id"])
    assert read.action is AuditAction.read and read.outcome is AuditOutcome.success
    assert _first_name(session, school_world["student_id"]) == "Sam"  # the write is gone


def test_a_refused_write_leaves_its_denial_and_no_change_event(session, app_tmp, school_world):
    with extra_app(test_config(app_tmp, WTF_CSRF_ENABLED=False)) as other:
        @other.post("/probe/refused/<uuid:student_id>")
        def refused(student_id):
            student = db.session.get(Student, student_id)
            decision = decide(db.session, current_principal(), student, "leerlingbegeleiding", [Category.contact])
            if not decision.allowed:
                raise Forbidden("Geen grondslag.")
            student.first_name = "Veranderd"
            record(db.session, current_principal(), action=AuditAction.update, event_type=StudentTag.update,
                   object_type="student", object_id=student.id, student_id=student.id)
            return "", 204

        client = other.test_client()
        login(client, school_world["jobcoach"])  # no consent, no legal task: refused
        response = client.post(f"/probe/refused/{school_world['student_id']}")
    assert response.status_code == 403
    [denied] = _events(session, school_world["student_id"])
    assert denied.outcome is AuditOutcome.denied and denied.action is AuditAction.read
    assert _first_name(session, school_world["student_id"]) == "Sam"


def test_a_rolled_back_change_leaves_no_change_event(session, app_tmp, school_world):
    with extra_app(test_config(app_tmp, WTF_CSRF_ENABLED=False)) as other:
        @other.post("/probe/change-then-conflict/<uuid:student_id>")
        def change_then_conflict(student_id):
            student = db.session.get(Student, student_id)
            student.first_name = "Veranderd"
            record(db.session, current_principal(), action=AuditAction.update, event_type=StudentTag.update,
                   object_type="student", object_id=student.id, student_id=student.id)
            db.session.flush()
            raise Conflict("Iemand anders was eerder.")

        @other.post("/probe/change/<uuid:student_id>")
        def change(student_id):
            db.session.get(Student, student_id).first_name = "Anders"
            return "", 204

        client = other.test_client()
        login(client, school_world["mentor"])
        assert client.post(f"/probe/change-then-conflict/{school_world['student_id']}").status_code == 409
        assert _events(session, school_world["student_id"]) == []
        assert _first_name(session, school_world["student_id"]) == "Sam"
        # and a change answered below 400 is committed, without the view committing anything
        assert client.post(f"/probe/change/{school_world['student_id']}").status_code == 204
    assert _first_name(session, school_world["student_id"]) == "Anders"


def test_a_404_after_a_decision_keeps_the_decision(session, app_tmp, school_world):
    with extra_app(test_config(app_tmp)) as other:
        @other.get("/probe/not-found-after-read/<uuid:student_id>")
        def not_found_after_read(student_id):
            decide(db.session, current_principal(), db.session.get(Student, student_id), "leerlingbegeleiding",
                   [Category.contact])
            abort(404)

        client = other.test_client()
        login(client, school_world["mentor"])
        assert client.get(f"/probe/not-found-after-read/{school_world['student_id']}").status_code == 404
    assert len(_events(session, school_world["student_id"], action=AuditAction.read)) == 1


def test_a_write_after_the_commit_point_fails_loudly_in_tests(session, app_tmp, school_world):
    with extra_app(test_config(app_tmp)) as other:
        @other.get("/probe/late-write/<uuid:student_id>")
        def late_write(student_id):
            student = db.session.get(Student, student_id)

            def stream():
                student.first_name = "Na de commit"  # in a streamed body: after the commit point
                yield "klaar"

            return other.response_class(stream_with_context(stream()))

        client = other.test_client()
        login(client, school_world["mentor"])
        with pytest.raises(UncommittedWork, match="late-write"):
            client.get(f"/probe/late-write/{school_world['student_id']}").get_data()
    assert _first_name(session, school_world["student_id"]) == "Sam"


def test_keep_on_rollback_writes_again_after_a_rollback_and_once_after_a_commit(session, school_world):
    principal = principal_for(school_world["mentor"])
    student = session.get(Student, school_world["student_id"])
    decide(session, principal, student, "leerlingbegeleiding", [Category.contact])
    record(session, principal, action=AuditAction.update, event_type=StudentTag.update,
           object_type="student", object_id=student.id, student_id=student.id)
    session.flush()
    session.rollback()
    session.rollback()  # twice: still written once
    session.commit()
    events = _events(session, school_world["student_id"])
    assert [(e.action, e.event_type) for e in events] == [(AuditAction.read, "student:view")]
    session.rollback()  # after a commit nothing is left to redo
    session.commit()
    assert len(_events(session, school_world["student_id"])) == 1


def test_a_savepoint_rollback_does_not_redo(session, school_world):
    calls = []
    with session.begin_nested():
        keep_on_rollback(session, calls.append)
    with pytest.raises(RuntimeError), session.begin_nested():
        raise RuntimeError
    session.commit()
    assert calls == []


def test_a_job_run_is_one_unit_of_work(app, session, school_world):
    student_id = school_world["student_id"]

    def broken(app_):
        student = db.session.get(Student, student_id)
        decide(db.session, principal_for(school_world["mentor"]), student, "leerlingbegeleiding",
               [Category.contact])
        student.first_name = "Door de taak"
        raise RuntimeError("halfway")

    def works(app_):
        db.session.get(Student, student_id).first_name = "Door de taak"
        return "done"

    with pytest.raises(RuntimeError):
        Job("test.broken", broken, 60, "test").run(app)
    assert _first_name(session, student_id) == "Sam"
    assert len(_events(session, student_id, action=AuditAction.read)) == 1  # the read stays
    assert Job("test.works", works, 60, "test").run(app) == "done"
    assert _first_name(session, student_id) == "Door de taak"


def test_a_command_is_one_unit_of_work(app, session, school_world):
    student_id = school_world["student_id"]

    @click.command("probe-rename")
    @click.argument("name")
    @command
    def rename(name):
        db.session.get(Student, student_id).first_name = name
        if name == "fout":
            raise click.ClickException("niet deze naam")

    runner = app.test_cli_runner()
    assert runner.invoke(rename, ["fout"]).exit_code == 1
    assert _first_name(session, student_id) == "Sam"
    assert runner.invoke(rename, ["Kim"]).exit_code == 0
    assert _first_name(session, student_id) == "Kim"


def test_unit_of_work_rolls_back_on_a_non_zero_exit(app, session, school_world):
    student_id = school_world["student_id"]
    with pytest.raises(SystemExit), app.app_context(), unit_of_work():
        db.session.get(Student, student_id).first_name = "Weg"
        raise SystemExit(1)
    assert _first_name(session, student_id) == "Sam"
