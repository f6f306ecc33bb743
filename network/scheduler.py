"""Periodic jobs, run by ONE scheduler process (``schakel scheduler run``), never inside the
web workers (each gunicorn worker would start its own: flask-apscheduler#51).

Jobs are plain functions that take the app, flush and never commit: :meth:`Job.run` makes each
run one unit of work (network.transaction). Each run first claims
its time slot with a unique :class:`~network.models.JobRun` row in its own transaction, so a
second scheduler (a failover, an operator starting one by mistake) skips a slot that already
ran instead of running it twice. APScheduler keeps its jobs in memory: the job-run table is
the shared state, not a shared job store (which APScheduler 3 does not support).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from network.audit_chain import seal_all
from network.audit_publish import publisher
from network.clock import AMSTERDAM, utcnow
from network.db import db
from network.models import JobRun, SchedulerHeartbeat
from network.notifications import send_digests
from network.outbox import run_outbox_job
from network.sessions import purge_expired_sessions
from network.transaction import commit, unit_of_work

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    id: str
    #: the work of one run: takes the app, flushes, never commits; returns a line for the log
    work: Callable[[Flask], str | None]
    #: config key holding the interval in seconds, or a fixed number of seconds
    interval: str | int
    description: str

    def run(self, app: Flask) -> str | None:
        """One run as one unit of work: committed when the work returns, rolled back (keeping
        the audit events of reads and refusals) when it raises. Needs an app context."""
        with unit_of_work():
            return self.work(app)

    def interval_seconds(self, app: Flask) -> int:
        return self.interval_seconds_of(app.config)

    def interval_seconds_of(self, config: Mapping[str, Any]) -> int:
        return int(config[self.interval]) if isinstance(self.interval, str) else self.interval


def _seal_audit(app: Flask) -> str:

    sealed = seal_all(lambda: db.session, app.extensions["schakel.keyring"], batch=app.config["AUDIT_SEAL_BATCH"],
                      publish=publisher(app.config))
    return f"sealed {sealed}"


def _deliver_outbox(app: Flask) -> str:

    return str(run_outbox_job(app))


def _send_digests(app: Flask) -> str:
    """``notifications.digest``: one e-mail per digest account with what is new (idempotent:
    sent notifications are stamped)."""

    sent = send_digests(db.session, app.extensions["schakel.keyring"], base_url=app.config.get("BASE_URL", ""))
    return f"sent {sent} digests"


def _housekeeping(app: Flask) -> str:

    sessions = purge_expired_sessions(db.session)
    old_runs = db.session.execute(delete(JobRun).where(JobRun.started_at < utcnow() - dt.timedelta(days=30))).rowcount
    gone = db.session.execute(delete(SchedulerHeartbeat)
                              .where(SchedulerHeartbeat.beat_at < utcnow() - dt.timedelta(days=1))).rowcount
    return f"purged {sessions} sessions, {old_runs} job runs, {gone} heartbeats of stopped schedulers"


#: every job of the hub, in one table (features add theirs with :func:`register_job`)
JOBS: list[Job] = [
    Job("audit.seal", _seal_audit, "AUDIT_SEAL_INTERVAL_SECONDS", "Auditlog verzegelen en ondertekenen"),
    Job("outbox.deliver", _deliver_outbox, "OUTBOX_INTERVAL_SECONDS", "Uitgaande e-mail versturen"),
    Job("housekeeping", _housekeeping, 3600, "Verlopen sessies en oude taakregels opruimen"),
    Job("notifications.digest", _send_digests, 24 * 3600, "Dagelijks overzicht van meldingen e-mailen"),
]


def register_job(job: Job) -> None:
    if all(existing.id != job.id for existing in JOBS):
        JOBS.append(job)


def job_by_id(job_id: str) -> Job:
    for job in JOBS:
        if job.id == job_id:
            return job
    raise KeyError(job_id)


def slot_for(now: dt.datetime, interval_seconds: int) -> dt.datetime:
    """The start of the time slot ``now`` falls in; every scheduler computes the same one."""
    seconds = int(now.timestamp()) // interval_seconds * interval_seconds
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def run_job_once(app: Flask, job: Job, now: dt.datetime | None = None) -> bool:
    """Run ``job`` for the slot of ``now`` unless some scheduler already claimed that slot.

    Returns True when this call ran the job. A failure is recorded on the job-run row and
    logged; the next slot tries again.
    """
    now = now or utcnow()
    with app.app_context():
        run = JobRun(job_id=job.id, slot=slot_for(now, job.interval_seconds(app)), started_at=utcnow())
        db.session.add(run)
        try:
            commit(db.session)
        except IntegrityError:
            db.session.rollback()
            log.info("job %r slot %s already claimed; skipping", job.id, run.slot.isoformat())
            return False
        run_id = run.id
        try:
            detail = job.run(app)
            outcome = "ok"
        except Exception as exc:  # a job must not take the scheduler down
            log.exception("job %r failed", job.id)
            detail, outcome = type(exc).__name__, "failed"
        with unit_of_work():
            finished = db.session.get(JobRun, run_id)
            finished.finished_at, finished.outcome, finished.detail = utcnow(), outcome, (detail or "")[:500]
        db.session.remove()
    return True


def beat(app: Flask, heartbeat_id: uuid.UUID, now: dt.datetime | None = None) -> None:
    """Renew this scheduler process's heartbeat (:mod:`network.health` reads it). A failure (the
    database away for a moment) is logged; the next beat tries again."""
    now = now or utcnow()
    with app.app_context():
        try:
            with unit_of_work():
                row = db.session.get(SchedulerHeartbeat, heartbeat_id)
                if row is None:
                    db.session.add(SchedulerHeartbeat(id=heartbeat_id, host=socket.gethostname()[:200], pid=os.getpid(),
                                                      started_at=now, beat_at=now))
                else:
                    row.beat_at = now
        except Exception:  # the scheduler must outlive a database hiccup
            log.exception("scheduler heartbeat failed")
        finally:
            db.session.remove()


def build_scheduler(app: Flask, *, blocking: bool = True):
    # only the one scheduler process loads APScheduler; every web worker imports this module for
    # the job table and would otherwise carry its ~30 modules (about 0.8 MB) for nothing
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(timezone=AMSTERDAM,
                    job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300})
    scheduler.add_job(beat, "interval", seconds=app.config["SCHEDULER_HEARTBEAT_SECONDS"], args=(app, uuid.uuid4()),
                      id="scheduler.heartbeat", name="Hartslag van de planner", next_run_time=utcnow())
    for job in JOBS:
        scheduler.add_job(run_job_once, "interval", seconds=job.interval_seconds(app), args=(app, job),
                          id=job.id, name=job.description, next_run_time=utcnow())
    return scheduler


scheduler_cli = click.Group("scheduler", help="De planner: periodieke taken (draai er één).")


@scheduler_cli.command("run")
@with_appcontext
def scheduler_run() -> None:
    """Run the scheduler in the foreground until stopped (a systemd service in production)."""
    app = current_app._get_current_object()
    for job in JOBS:
        click.echo(f"{job.id}: every {job.interval_seconds(app)}s — {job.description}")
    scheduler = build_scheduler(app)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass


@scheduler_cli.command("run-once")
@click.argument("job_id")
@with_appcontext
def scheduler_run_once(job_id: str) -> None:
    """Run one job now (for its current slot), e.g. from cron or by hand."""
    try:
        job = job_by_id(job_id)
    except KeyError:
        raise click.ClickException(f"no job {job_id!r}; jobs: {', '.join(j.id for j in JOBS)}") from None
    ran = run_job_once(current_app._get_current_object(), job)
    click.echo("ran" if ran else "skipped: this slot already ran")


@scheduler_cli.command("list")
@with_appcontext
def scheduler_list() -> None:
    """List the jobs and their intervals."""
    for job in JOBS:
        click.echo(f"{job.id}\t{job.interval_seconds(current_app)}s\t{job.description}")
