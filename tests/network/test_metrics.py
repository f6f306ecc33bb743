"""``/metrics`` as the monitoring of a region's IT department reads it: only with the bearer
token, in the Prometheus text format, with the requests counted by endpoint name and status,
the background work read from the database at scrape time (outbox backlog, dead letters,
unsealed audit events, the scheduler and its jobs), and no person in any label.

The counters live in this process's registry and other tests count into them too, so every
assertion on a counter is on the difference between two scrapes."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from network import metrics
from network.config import ConfigError, generate_secrets, load_config
from network.db import db
from network.models import JobRun, Role, SchedulerHeartbeat, WebSession
from network.outbox import deliver_due, enqueue, enqueue_email
from network.scheduler import JOBS, slot_for
from tests.conftest import extra_app, test_config
from tests.factories import OrganisationFactory, login, make_member
from tests.network.test_auth_views import web_login

T0 = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


def token_of(app) -> str:
    return app.config["SECRETS"]["metrics_token"]


def scrape(client, app) -> dict[tuple[str, tuple], float]:
    """Every sample of one scrape, by name and labels."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token_of(app)}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain" and response.headers["Cache-Control"] == "no-store"
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def in_context(app, fn):
    with app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()


# -- who may read it -----------------------------------------------------------------------

def test_without_the_token_the_answer_is_401_and_no_data(app, client):
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic " + token_of(app)},
                    {"Authorization": token_of(app)}):
        response = client.get("/metrics", headers=headers)
        body = response.get_data(as_text=True)
        assert response.status_code == 401 and response.mimetype == "application/problem+json", headers
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="schakel-metrics"'
        assert "schakel_" not in body and "Authorization: Bearer" in response.get_json()["detail"]


def test_a_wrong_token_gets_401_and_no_data(app, client):
    for wrong in ("x" * 43, token_of(app)[:-1], token_of(app) + "x", token_of(app).upper()):
        response = client.get("/metrics", headers={"Authorization": f"Bearer {wrong}"})
        assert response.status_code == 401 and "schakel_" not in response.get_data(as_text=True)
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_logged_in_hub_admin_needs_the_token_too(app, client):
    admin = in_context(app, lambda: make_member(Role.hub_admin, OrganisationFactory()))
    login(client, admin)
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {token_of(app)}"}).status_code == 200


def test_without_a_token_in_the_secrets_file_metrics_are_off(app, tmp_path):
    secrets_ = {key: value for key, value in generate_secrets().items() if key != "metrics_token"}
    config = test_config(tmp_path, SECRETS=secrets_, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    with extra_app(config) as off:
        response = off.test_client().get("/metrics", headers={"Authorization": "Bearer " + "x" * 43})
    assert response.status_code == 404 and "schakel keys metrics-token" in response.get_json()["detail"]


@pytest.mark.parametrize("token", ["kort", "", 12345])
def test_a_short_or_odd_token_in_the_secrets_file_is_refused_at_start(tmp_path, token):
    with pytest.raises(ConfigError, match="metrics_token"):
        load_config(str(tmp_path), {"TESTING": True, "SECRETS": {**generate_secrets(), "metrics_token": token}})


def test_several_workers_without_the_multiprocess_directory_get_503_not_a_partial_count(app, client):
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token_of(app)}"},
                          environ_overrides={"wsgi.multiprocess": True})
    assert response.status_code == 503 and "network.gunicorn_conf" in response.get_json()["detail"]
    assert "schakel_" not in response.get_data(as_text=True)


def test_reading_the_metrics_makes_no_session(app, client):
    def count() -> int:
        return in_context(app, lambda: db.session.scalar(select(func.count()).select_from(WebSession)))

    before = count()
    for headers in ({}, {"Authorization": f"Bearer {token_of(app)}"}):
        response = client.get("/metrics", headers=headers)
        assert "Set-Cookie" not in response.headers
    assert count() == before == 0


# -- what it says ------------------------------------------------------------------------------

def test_requests_are_counted_by_endpoint_and_status(app, client):
    before = scrape(client, app)
    assert client.get("/healthz").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/wachtwoord-herstellen/bestaat-niet-123").status_code == 404  # a route, answered 404
    assert client.get("/bestaat/niet/4711").status_code == 404  # no route at all
    after = scrape(client, app)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "schakel_http_requests_total"
    assert delta(requests, endpoint="main.healthz", method="GET", status="200") == 2
    assert delta(requests, endpoint="auth.reset_link", method="GET", status="404") == 1
    assert delta(requests, endpoint="unmatched", method="GET", status="404") == 1
    assert delta(requests, endpoint="main.metrics", method="GET", status="200") == 1  # the first scrape
    assert delta("schakel_http_request_duration_seconds_count", endpoint="main.healthz", method="GET") == 2
    assert delta("schakel_http_request_duration_seconds_bucket", endpoint="main.healthz", method="GET", le="+Inf") == 2
    assert not any("4711" in str(labels) or "bestaat" in str(labels) for _, labels in after)


def test_an_odd_method_is_counted_as_other(app, client):
    before = scrape(client, app)
    client.open("/healthz", method="BREW")
    after = scrape(client, app)
    labels = {"endpoint": "unmatched", "method": "other", "status": "405"}  # no rule matched the method
    assert value(after, "schakel_http_requests_total", **labels) - value(before, "schakel_http_requests_total",
                                                                          **labels) == 1


def test_the_outbox_dead_letters_and_unsealed_audit_events_are_read_at_scrape_time(app, client, time_machine):
    time_machine.move_to(T0, tick=False)
    before = scrape(client, app)
    assert value(before, "schakel_outbox_pending_messages") == 0
    assert value(before, "schakel_outbox_oldest_pending_age_seconds") == 0
    keyring = app.extensions["schakel.keyring"]

    def queue() -> uuid.UUID:
        enqueue_email(db.session, keyring, to="sanne@voorbeeld.nl", subject="Herinnering", body="Hallo")
        # a webhook whose subscription is gone: dead at its first attempt
        orphan = enqueue(db.session, keyring, kind="webhook", recipient="https://partner.example/hook",
                         subject="socialmap.changed", body="{}")
        db.session.commit()
        return orphan.id

    orphan = in_context(app, queue)
    in_context(app, lambda: deliver_due(lambda: Session(db.engine), keyring, None, app.config, T0, ids=[orphan]))
    assert web_login(client, "niemand@voorbeeld.nl", "fout-fout-fout-fout").status_code == 400  # audited
    time_machine.move_to(T0 + dt.timedelta(seconds=90), tick=False)
    after = scrape(client, app)
    assert value(after, "schakel_outbox_pending_messages") == 1
    assert value(after, "schakel_outbox_oldest_pending_age_seconds") == 90
    assert value(after, "schakel_outbox_dead_messages") == 1
    assert (value(after, "schakel_outbox_deliveries_total", kind="webhook", outcome="dead")
            - value(before, "schakel_outbox_deliveries_total", kind="webhook", outcome="dead")) == 1
    assert value(after, "schakel_audit_unsealed_events") >= 1  # the refused login's audit event
    assert value(after, "schakel_audit_oldest_unsealed_age_seconds") == 90
    assert ("schakel_audit_newest_checkpoint_age_seconds", ()) not in after  # nothing sealed yet
    assert value(after, "schakel_lagging", part="outbox") == 0  # 90 s is within OUTBOX_LAG_MINUTES
    time_machine.move_to(T0 + dt.timedelta(minutes=16), tick=False)
    later = scrape(client, app)
    assert value(later, "schakel_lagging", part="outbox") == 1 and value(later, "schakel_lagging", part="audit") == 1


def test_the_scheduler_and_each_jobs_last_runs(app, client, time_machine):
    time_machine.move_to(T0, tick=False)
    stopped = scrape(client, app)
    assert value(stopped, "schakel_scheduler_healthy") == 0
    assert value(stopped, "schakel_scheduler_heartbeat_age_seconds") == float("inf")
    assert value(stopped, "schakel_lagging", part="scheduler") == 1
    assert value(stopped, "schakel_job_last_success_timestamp_seconds", job_id="audit.seal") == 0

    def runs():
        db.session.add(SchedulerHeartbeat(host="planner", pid=1, started_at=T0, beat_at=T0 - dt.timedelta(seconds=5)))
        for job in JOBS:
            started = T0 - dt.timedelta(seconds=10)
            db.session.add(JobRun(job_id=job.id, slot=slot_for(started, job.interval_seconds_of(app.config)),
                                  started_at=started, finished_at=started, outcome="ok"))
        earlier = T0 - dt.timedelta(minutes=2)
        db.session.add(JobRun(job_id="audit.seal", slot=slot_for(earlier, 60), started_at=earlier, outcome="failed"))
        db.session.commit()

    in_context(app, runs)
    running = scrape(client, app)
    assert value(running, "schakel_scheduler_healthy") == 1 and value(running, "schakel_lagging", part="scheduler") == 0
    assert value(running, "schakel_scheduler_heartbeat_age_seconds") == 5
    assert value(running, "schakel_scheduler_heartbeat_interval_seconds") == app.config["SCHEDULER_HEARTBEAT_SECONDS"]
    success = (T0 - dt.timedelta(seconds=10)).timestamp()
    for job in JOBS:
        assert value(running, "schakel_job_last_success_timestamp_seconds", job_id=job.id) == success
        assert value(running, "schakel_job_overdue", job_id=job.id) == 0
    assert value(running, "schakel_job_last_failure_timestamp_seconds", job_id="audit.seal") == success - 110
    assert value(running, "schakel_job_last_failure_timestamp_seconds", job_id="housekeeping") == 0
    assert {labels for name, labels in running if name.startswith("schakel_job_")} == {
        (("job_id", job.id),) for job in JOBS}  # the job id, and nothing else


def test_the_database_pool_is_reported(app, client):
    samples = scrape(client, app)
    with app.app_context():
        pool = db.engine.pool
    assert value(samples, "schakel_db_pool_size") == pool.size()
    assert value(samples, "schakel_db_pool_max_overflow") == pool._max_overflow
    assert 0 <= value(samples, "schakel_db_pool_checked_out") <= pool.size() + pool._max_overflow


def test_the_health_is_read_once_per_scrape(app, client, monkeypatch):
    """The database is asked about the background work by the scrape, never by other requests."""
    import network.web.main

    calls = []
    real = network.web.main.hub_health
    monkeypatch.setattr(network.web.main, "hub_health", lambda *args: calls.append(1) or real(*args))
    client.get("/healthz")
    client.get("/inloggen")
    assert calls == []
    scrape(client, app)
    assert calls == [1]


def test_a_metric_the_code_names_is_in_every_scrape(app, client):
    """Each family is in the output even before anything was counted, so an alert rule never
    waits on a series that does not exist yet (the rules' test checks the names against this)."""
    names = {name for name, _ in scrape(client, app)}
    for family in ("schakel_login_lockouts_total", "schakel_db_pool_size", "schakel_outbox_dead_messages",
                   "schakel_scheduler_healthy", "schakel_audit_unsealed_events"):
        assert family in names
    assert names == {name for name in names if re.fullmatch(r"schakel_[a-z_]+", name)}
    assert metrics.CONTENT_TYPE.startswith("text/plain; version=0.0.4")
