"""A stopped scheduler, piled-up mail and unsealed audit events are noticed: /readyz/scheduler,
the hub admin's and the uitstroomcoördinator's dashboards (network.health)."""

from __future__ import annotations

import datetime as dt
import uuid

import time_machine
from sqlalchemy import select

from network.audit import AuditAction, record
from network.clock import utcnow
from network.db import db
from network.health import Lag, hub_health
from network.models import OutboxMessage, OutboxStatus, Role, SchedulerHeartbeat
from network.permissions import system_principal
from network.scheduler import JOBS, beat, job_by_id, run_job_once
from network.tags import StudentTag
from tests.factories import OrganisationFactory, RegionFactory, login, make_member

T0 = dt.datetime(2026, 12, 8, 9, 0, 5, tzinfo=dt.UTC)
WARNING = "Het werk op de achtergrond loopt achter"


_HEARTBEAT = uuid.UUID(int=1)


def _run_everything(app, now):
    """The scheduler at ``now``: a heartbeat, and every job for its slot."""
    beat(app, _HEARTBEAT, now)
    for job in JOBS:
        run_job_once(app, job, now)


def _health(app, now):
    with app.app_context():
        return hub_health(db.session, app.config, now)


def test_a_hub_whose_scheduler_never_ran_lags(app):
    health = _health(app, T0)
    assert health.heartbeat_at is None and health.heartbeat_stale
    assert {job.job_id for job in health.overdue_jobs} == {job.id for job in JOBS}
    assert Lag.scheduler in health.lags() and not health.scheduler_ok


def test_the_scheduler_check_fails_within_two_intervals_and_clears_when_it_runs_again(app, client):
    heartbeat = app.config["SCHEDULER_HEARTBEAT_SECONDS"]
    outbox = job_by_id("outbox.deliver").interval_seconds(app)
    with time_machine.travel(T0, tick=False):
        _run_everything(app, T0)
        assert client.get("/readyz/scheduler").status_code == 200
    # the scheduler stops: still fine within twice the heartbeat...
    with time_machine.travel(T0 + dt.timedelta(seconds=2 * heartbeat - 1), tick=False):
        assert client.get("/readyz/scheduler").status_code == 200
    # ...and reported after it
    stopped = T0 + dt.timedelta(seconds=2 * heartbeat + 1)
    with time_machine.travel(stopped, tick=False):
        response = client.get("/readyz/scheduler")
        assert response.status_code == 503 and response.json["status"] == "unavailable"
        assert response.json["heartbeat_at"] == T0.isoformat()
    # a heartbeat alone does not hide a job that stopped running
    late = T0 + dt.timedelta(seconds=2 * outbox + 1)
    with time_machine.travel(late, tick=False):
        beat(app, _HEARTBEAT, late)
        response = client.get("/readyz/scheduler")
        assert response.status_code == 503 and "outbox.deliver" in response.json["overdue_jobs"]
        _run_everything(app, late)
        assert client.get("/readyz/scheduler").json == {
            "status": "ok", "heartbeat_at": late.isoformat(), "heartbeat_seconds": heartbeat, "overdue_jobs": []}


def test_the_dashboards_warn_the_hub_admin_and_the_coordinator_and_nobody_else(app, client, session):
    region = RegionFactory()
    hub = OrganisationFactory(region=region, type="hub", name="Hub")
    rmc = OrganisationFactory(region=region, type="rmc", name="RMC Waalrand")
    school = OrganisationFactory(region=region, school=True, name="ROC Waalrand")
    admin, coordinator, mentor = (make_member(Role.hub_admin, hub), make_member(Role.coordinator, rmc),
                                  make_member(Role.mentor, school))
    session.commit()

    def dashboard(account, path="/dashboard"):
        login(client, account)
        return client.get(path).get_data(as_text=True)

    with time_machine.travel(T0, tick=False):
        assert WARNING in dashboard(admin) and "De planner heeft nog nooit gedraaid." in dashboard(admin)
        assert "schakel doctor" in dashboard(admin)
        coordinator_page = dashboard(coordinator)
        assert WARNING in coordinator_page and "meld dit bij de beheerder van de hub" in coordinator_page
        assert "schakel doctor" not in coordinator_page
        assert WARNING in dashboard(coordinator, f"/regio/?regio={region.id}")
        assert WARNING not in dashboard(mentor)
        _run_everything(app, T0)
        assert WARNING not in dashboard(admin) and WARNING not in dashboard(coordinator)
    stopped = T0 + dt.timedelta(minutes=5)
    with time_machine.travel(stopped, tick=False):
        page = dashboard(admin)
        assert WARNING in page and "het laatste teken van leven was op 08-12-2026 10:00" in page
        _run_everything(app, stopped)
        assert WARNING not in dashboard(admin)


def test_mail_waiting_longer_than_the_lag_is_a_warning(app, client, session):
    region = RegionFactory()
    admin = make_member(Role.hub_admin, OrganisationFactory(region=region, type="hub", name="Hub"))
    session.add(OutboxMessage(kind="email", recipient="x@example.org", subject="s", body_encrypted="-",
                              created_at=T0, next_attempt_at=T0 + dt.timedelta(hours=1)))
    session.add(OutboxMessage(kind="email", recipient="y@example.org", subject="s", body_encrypted="-",
                              created_at=T0, status=OutboxStatus.dead))
    session.commit()
    within = T0 + dt.timedelta(minutes=app.config["OUTBOX_LAG_MINUTES"] - 1)
    health = _health(app, within)
    assert (health.outbox_pending, health.outbox_dead, health.outbox_oldest_pending_at) == (1, 1, T0)
    assert Lag.outbox not in health.lags()
    beyond = T0 + dt.timedelta(minutes=app.config["OUTBOX_LAG_MINUTES"] + 1)
    assert health.lags() != _health(app, beyond).lags() and Lag.outbox in _health(app, beyond).lags()
    with time_machine.travel(beyond, tick=False):
        _run_everything(app, beyond)  # the scheduler is fine; the mail still waits (its retry is not due)
        login(client, admin)
        html = client.get("/dashboard").get_data(as_text=True)
    assert "Uitgaande e-mail loopt achter: het oudste bericht wacht sinds 08-12-2026 10:00 (1 in de wachtrij)." in html


def test_audit_events_waiting_for_a_checkpoint_are_a_warning_until_sealed(app, session):
    with app.app_context():
        record(db.session, system_principal(), action=AuditAction.read, event_type=StudentTag.view)
        db.session.commit()
    now = utcnow()
    lag = dt.timedelta(minutes=app.config["AUDIT_SEAL_LAG_MINUTES"])
    assert Lag.audit not in _health(app, now).lags()
    later = _health(app, now + lag + dt.timedelta(seconds=5))
    assert later.audit_unsealed == 1 and Lag.audit in later.lags()
    run_job_once(app, job_by_id("audit.seal"))
    sealed = _health(app, now + lag + dt.timedelta(seconds=5))
    assert sealed.audit_unsealed == 0 and sealed.audit_newest_checkpoint_at is not None
    assert Lag.audit not in sealed.lags()


def test_a_heartbeat_survives_a_database_error_and_housekeeping_forgets_old_ones(app, monkeypatch):
    with app.app_context():
        monkeypatch.setattr(db.session, "get", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("database away")))
        beat(app, _HEARTBEAT, T0)  # logged, not raised: the scheduler keeps running
        monkeypatch.undo()
    beat(app, _HEARTBEAT, utcnow() - dt.timedelta(days=2))
    run_job_once(app, job_by_id("housekeeping"))
    with app.app_context():
        assert db.session.scalars(select(SchedulerHeartbeat)).all() == []
