"""Scheduled jobs of the agreements (registered with the scheduler when the package loads).
Each run is one unit of work (:meth:`network.scheduler.Job.run`); both are idempotent
(stamps on the party and the moment)."""

from __future__ import annotations

from flask import Flask

from consent.agreements.reminders import remind_pending_signatures, remind_review_moments
from network import clock
from network.db import db
from network.scheduler import Job, register_job

DAY = 24 * 3600


def _run(app: Flask, work) -> int:
    return work(db.session, app.extensions["schakel.keyring"], app.config.get("BASE_URL", ""))


def signature_reminder_job(app: Flask) -> str:
    """``agreements.remind``: parties whose signature is missing for 3 days get a reminder."""
    count = _run(app, lambda session, keyring, base: remind_pending_signatures(session, keyring, base_url=base))
    return f"reminded {count} parties"


def review_moment_job(app: Flask) -> str:
    """``agreements.review``: the contact person hears of a plan's review moment on its day."""
    count = _run(app, lambda session, keyring, base: remind_review_moments(session, keyring, today=clock.today(),
                                                                          base_url=base))
    return f"reminded {count} review moments"


JOBS = (
    Job("agreements.remind", signature_reminder_job, DAY, "Herinneren aan plannen die op een handtekening wachten"),
    Job("agreements.review", review_moment_job, DAY, "Evaluatiemomenten uit plannen melden"),
)


def register_jobs() -> None:
    for job in JOBS:
        register_job(job)
