"""The consent jobs: registered with the scheduler, idempotent, one commit each."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from consent.models import Consent, ConsentStatus
from consent.service import grant_consent
from network import clock
from network.db import db
from network.models import OutboxMessage
from network.scheduler import JOBS, job_by_id, run_job_once
from tests.consent.conftest import grant_data


def test_jobs_are_registered():
    ids = {job.id for job in JOBS}
    assert {"consent.expire", "consent.remind"} <= ids


def test_expire_job_expires_once(app, session, world, actors, keyring):
    consent = grant_consent(session, actors["student_account"], keyring, world["student"], grant_data(world))
    consent.valid_from = clock.today() - dt.timedelta(days=10)
    consent.valid_until = clock.today() - dt.timedelta(days=1)
    session.commit()
    consent_id = consent.id
    job = job_by_id("consent.expire")
    now = dt.datetime.now(dt.UTC)
    assert run_job_once(app, job, now)
    assert not run_job_once(app, job, now)  # the same slot: skipped
    assert job.run(app) == "expired 0"  # and running the work again changes nothing
    db.session.expire_all()
    assert session.get(Consent, consent_id).status is ConsentStatus.expired


def test_remind_job_sends_once(app, session, world, actors, keyring):
    grant_consent(session, actors["student_account"], keyring, world["student"],
                  grant_data(world, valid_until=clock.today() + dt.timedelta(days=29)))
    session.commit()
    job = job_by_id("consent.remind")
    assert job.run(app) == "reminded 1"
    assert job.run(app) == "reminded 0"
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1  # the student recorded it themself
