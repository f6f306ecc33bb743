"""Scheduled work of the sociale kaart: the daily freshness run ("klopt dit nog?" e-mails for
entries not verified within ``SOCIALMAP_VERIFY_DAYS``). Registered with the hub's scheduler by
:func:`register_jobs` (called when the package is imported)."""

from __future__ import annotations

import datetime as dt

from flask import Flask

from network.clock import utcnow
from network.db import db
from network.scheduler import Job, register_job
from socialmap import freshness


def run_freshness(app: Flask, now: dt.datetime | None = None) -> str:
    """Queue the e-mails and stamp the entries (the outbox sends them once the run commits)."""
    sent = freshness.request_verifications(
        db.session, app.extensions["schakel.keyring"], secret_key=app.config["SECRET_KEY"],
        base_url=app.config["BASE_URL"], now=now or utcnow(),
        verify_days=int(app.config.get("SOCIALMAP_VERIFY_DAYS", freshness.DEFAULT_VERIFY_DAYS)),
        link_days=int(app.config.get("SOCIALMAP_LINK_DAYS", freshness.DEFAULT_LINK_DAYS)))
    return f"asked {sent}"


FRESHNESS_JOB = Job("socialmap.freshness", run_freshness, 86400, "Sociale kaart: ‘klopt dit nog?’ versturen")


def register_jobs() -> None:
    register_job(FRESHNESS_JOB)
