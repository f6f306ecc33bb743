"""Scheduled jobs of the referrals package. Each run is one unit of work
(:meth:`network.scheduler.Job.run`) and is idempotent. :data:`JOBS` is the package's list;
:func:`register_jobs` registers it, with the referral SLA jobs of ``referrals.deadlines``
(:data:`~referrals.deadlines.DEADLINE_JOBS`), with :mod:`network.scheduler` when the package is imported."""

from __future__ import annotations

from flask import Flask

from network.db import db
from network.scheduler import Job, register_job
from referrals.deadlines import DEADLINE_JOBS
from referrals.followup import run_followup
from referrals.placements.protocol_job import PROTOCOL_JOBS

DAY = 24 * 3600


def followup_job(app: Flask) -> str:
    """``referrals.followup``: remind contacts of due check-ins (once), close finished routes."""
    result = run_followup(db.session, app.extensions["schakel.keyring"],
                          base_url=app.config.get("BASE_URL", ""))
    return str(result)


JOBS: list[Job] = [
    Job("referrals.followup", followup_job, DAY, "Nazorg: herinneren aan contacten en afgelopen trajecten sluiten"),
]


def register_jobs() -> None:
    for job in (*JOBS, *DEADLINE_JOBS, *PROTOCOL_JOBS):
        register_job(job)
