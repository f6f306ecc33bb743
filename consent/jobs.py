"""Scheduled jobs of the consent package (registered in :data:`network.scheduler.JOBS` when
the package is imported). Each run is one unit of work (:meth:`network.scheduler.Job.run`); both are
idempotent (expired consents are not active any more; a sent reminder leaves a marker)."""

from __future__ import annotations

from flask import Flask

from consent.lifecycle import expire_consents, remind_expiring
from network.db import db
from network.scheduler import Job, register_job

DAY = 24 * 3600


def expire_job(app: Flask) -> str:
    """``consent.expire``: consents past their end date become expired."""
    count = expire_consents(db.session)
    return f"expired {count}"


def remind_job(app: Flask) -> str:
    """``consent.remind``: 30 days before the end, tell the student and the recorder, once."""
    base = app.config.get("BASE_URL", "").rstrip("/")
    count = remind_expiring(db.session, app.extensions["schakel.keyring"],
                            portal_url=f"{base}/mijn-gegevens/toestemmingen")
    return f"reminded {count}"


JOBS = (
    Job("consent.expire", expire_job, 3600, "Verlopen toestemmingen beëindigen"),
    Job("consent.remind", remind_job, DAY, "Herinneren aan toestemmingen die over 30 dagen aflopen"),
)


def register_jobs() -> None:
    for job in JOBS:
        register_job(job)
