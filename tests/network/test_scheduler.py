"""The scheduler: a job runs once per slot however many schedulers there are."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import func, select

from network.audit import AuditAction, AuditEvent, record
from network.db import db
from network.models import JobRun
from network.permissions import system_principal
from network.scheduler import JOBS, Job, job_by_id, run_job_once, slot_for
from network.tags import StudentTag

NOW = dt.datetime(2026, 11, 22, 10, 0, 15, tzinfo=dt.UTC)


def test_slots_are_shared_by_every_scheduler():
    assert slot_for(NOW, 60) == dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC)
    assert slot_for(NOW + dt.timedelta(seconds=44), 60) == slot_for(NOW, 60)
    assert slot_for(NOW + dt.timedelta(seconds=45), 60) != slot_for(NOW, 60)


def test_second_run_in_the_same_slot_is_skipped(app):
    calls = []
    job = Job("test.count", lambda a: calls.append(1) or "counted", 60, "test")
    assert run_job_once(app, job, NOW) is True
    assert run_job_once(app, job, NOW + dt.timedelta(seconds=10)) is False
    assert run_job_once(app, job, NOW + dt.timedelta(seconds=60)) is True
    assert len(calls) == 2
    with app.app_context():
        runs = db.session.execute(select(JobRun).order_by(JobRun.id)).scalars().all()
        assert [r.outcome for r in runs] == ["ok", "ok"] and runs[0].detail == "counted"


def test_two_schedulers_at_once_run_each_slot_once(app):
    calls = []
    lock = threading.Lock()

    def work(a):
        with lock:
            calls.append(1)

    job = Job("test.race", work, 60, "test")
    barrier = threading.Barrier(4)
    results = []

    def scheduler():
        barrier.wait()
        results.append(run_job_once(app, job, NOW))

    threads = [threading.Thread(target=scheduler) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [False, False, False, True]
    assert len(calls) == 1


def test_a_failing_job_is_recorded_and_the_next_slot_retries(app):
    attempts = []

    def flaky(a):
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("smtp down")
        return "ok now"

    job = Job("test.flaky", flaky, 60, "test")
    assert run_job_once(app, job, NOW)
    assert run_job_once(app, job, NOW + dt.timedelta(minutes=1))
    with app.app_context():
        outcomes = db.session.execute(select(JobRun.outcome, JobRun.detail).order_by(JobRun.id)).all()
    assert outcomes == [("failed", "RuntimeError"), ("ok", "ok now")]


def test_audit_seal_job_seals(app):
    with app.app_context():
        record(db.session, system_principal(), action=AuditAction.read, event_type=StudentTag.view)
        db.session.commit()
    assert run_job_once(app, job_by_id("audit.seal"), NOW)
    with app.app_context():
        unsealed = select(func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_(None))
        assert db.session.execute(unsealed).scalar() == 0


def test_every_job_is_listed_with_an_interval(app):
    ids = [job.id for job in JOBS]
    assert {"audit.seal", "outbox.deliver", "housekeeping"} <= set(ids)
    assert len(ids) == len(set(ids))
    assert all(job.interval_seconds(app) > 0 for job in JOBS)
