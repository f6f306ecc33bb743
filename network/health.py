"""How the hub's background work is doing: the one place that reads the scheduler's heartbeat,
each job's last runs, the outbox and the audit log's sealing, for everything that reports on
them (``/readyz/scheduler``, ``schakel doctor``, ``/metrics``, the dashboards' warnings).

Without the scheduler every page keeps working while no e-mail leaves, no reminder goes out,
no consent expires and no audit event is sealed; this module is how anyone notices. It reads
(a handful of aggregate queries, no student data) and never writes.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from network.audit import AuditEvent
from network.audit_chain import AuditCheckpoint
from network.models import JobRun, OutboxMessage, OutboxStatus, SchedulerHeartbeat


class Lag(enum.StrEnum):
    """What can fall behind without any page showing it."""

    scheduler = "scheduler"
    outbox = "outbox"
    audit = "audit"


@dataclass(frozen=True)
class JobHealth:
    job_id: str
    description: str
    interval_seconds: int
    last_started: dt.datetime | None
    last_success: dt.datetime | None
    last_failure: dt.datetime | None

    def overdue(self, now: dt.datetime) -> bool:
        """No run started within twice the job's interval (a run claims its slot when it starts,
        so a second scheduler's skipped slot still counts as run)."""
        return self.last_started is None or self.last_started < now - dt.timedelta(seconds=2 * self.interval_seconds)

    @property
    def last_failed(self) -> bool:
        """The newest finished run failed."""
        return self.last_failure is not None and (self.last_success is None or self.last_failure > self.last_success)


@dataclass(frozen=True)
class HubHealth:
    now: dt.datetime
    heartbeat_at: dt.datetime | None
    heartbeat_seconds: int
    jobs: tuple[JobHealth, ...]
    outbox_pending: int
    outbox_oldest_pending_at: dt.datetime | None
    outbox_dead: int
    audit_unsealed: int
    audit_oldest_unsealed_at: dt.datetime | None
    audit_newest_checkpoint_at: dt.datetime | None
    thresholds: dict[Lag, dt.timedelta] = field(default_factory=dict)

    # -- the scheduler ---------------------------------------------------------------------

    @property
    def heartbeat_stale(self) -> bool:
        limit = self.now - dt.timedelta(seconds=2 * self.heartbeat_seconds)
        return self.heartbeat_at is None or self.heartbeat_at < limit

    @property
    def overdue_jobs(self) -> list[JobHealth]:
        return [job for job in self.jobs if job.overdue(self.now)]

    @property
    def scheduler_ok(self) -> bool:
        return not self.heartbeat_stale and not self.overdue_jobs

    # -- what lags -------------------------------------------------------------------------

    def lags(self) -> dict[Lag, dt.datetime | None]:
        """Each lagging part with the moment it has waited since (None: never ran)."""
        found: dict[Lag, dt.datetime | None] = {}
        if not self.scheduler_ok:
            found[Lag.scheduler] = self.heartbeat_at
        if self.outbox_oldest_pending_at and self.outbox_oldest_pending_at < self.now - self.thresholds[Lag.outbox]:
            found[Lag.outbox] = self.outbox_oldest_pending_at
        if self.audit_oldest_unsealed_at and self.audit_oldest_unsealed_at < self.now - self.thresholds[Lag.audit]:
            found[Lag.audit] = self.audit_newest_checkpoint_at
        return found

    def scheduler_json(self) -> dict[str, Any]:
        """For the public ``/readyz/scheduler``: the scheduler's state, nothing of the outbox or the
        audit log."""
        return {"status": "ok" if self.scheduler_ok else "unavailable", "heartbeat_at": _stamp(self.heartbeat_at),
                "heartbeat_seconds": self.heartbeat_seconds,
                "overdue_jobs": [job.job_id for job in self.overdue_jobs]}

    def as_json(self) -> dict[str, Any]:
        """For ``schakel doctor --json``: counts and UTC moments only."""
        stamp = _stamp
        return {
            "status": "ok" if self.scheduler_ok else "unavailable",
            "heartbeat_at": stamp(self.heartbeat_at),
            "heartbeat_seconds": self.heartbeat_seconds,
            "jobs": {job.job_id: {"interval_seconds": job.interval_seconds, "last_started": stamp(job.last_started),
                                  "last_success": stamp(job.last_success), "last_failure": stamp(job.last_failure),
                                  "overdue": job.overdue(self.now)} for job in self.jobs},
            "outbox": {"pending": self.outbox_pending, "oldest_pending_at": stamp(self.outbox_oldest_pending_at),
                       "dead": self.outbox_dead},
            "audit": {"unsealed": self.audit_unsealed, "oldest_unsealed_at": stamp(self.audit_oldest_unsealed_at),
                      "newest_checkpoint_at": stamp(self.audit_newest_checkpoint_at)},
            "lagging": sorted(self.lags()),
        }


def _stamp(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def thresholds(config: dict[str, Any]) -> dict[Lag, dt.timedelta]:
    return {Lag.outbox: dt.timedelta(minutes=config["OUTBOX_LAG_MINUTES"]),
            Lag.audit: dt.timedelta(minutes=config["AUDIT_SEAL_LAG_MINUTES"])}


def hub_health(session: Session, config: dict[str, Any], now: dt.datetime) -> HubHealth:
    """Everything above in six aggregate queries (independent of the number of jobs and rows)."""
    from network.scheduler import JOBS  # the job table imports the jobs' modules; only needed here

    heartbeat_at = session.scalar(select(func.max(SchedulerHeartbeat.beat_at)))
    runs: dict[tuple[str, str | None], dt.datetime] = {
        (row.job_id, row.outcome): row.started for row in session.execute(
            select(JobRun.job_id, JobRun.outcome, func.max(JobRun.started_at).label("started"))
            .group_by(JobRun.job_id, JobRun.outcome))}
    jobs = tuple(JobHealth(
        job.id, job.description, job.interval_seconds_of(config),
        last_started=max((moment for (job_id, _), moment in runs.items() if job_id == job.id), default=None),
        last_success=runs.get((job.id, "ok")), last_failure=runs.get((job.id, "failed"))) for job in JOBS)
    outbox = {row.status: row for row in session.execute(
        select(OutboxMessage.status, func.count().label("n"), func.min(OutboxMessage.created_at).label("oldest"))
        .where(OutboxMessage.status.in_([OutboxStatus.pending, OutboxStatus.dead])).group_by(OutboxMessage.status))}
    unsealed = session.execute(select(func.count(), func.min(AuditEvent.occurred_at))
                               .where(AuditEvent.seq.is_(None))).one()
    pending = outbox.get(OutboxStatus.pending)
    return HubHealth(
        now=now,
        heartbeat_at=heartbeat_at,
        heartbeat_seconds=config["SCHEDULER_HEARTBEAT_SECONDS"],
        jobs=jobs,
        outbox_pending=pending.n if pending else 0,
        outbox_oldest_pending_at=pending.oldest if pending else None,
        outbox_dead=outbox[OutboxStatus.dead].n if OutboxStatus.dead in outbox else 0,
        audit_unsealed=unsealed[0],
        audit_oldest_unsealed_at=unsealed[1],
        audit_newest_checkpoint_at=session.scalar(select(func.max(AuditCheckpoint.created_at))),
        thresholds=thresholds(config),
    )
