"""Faults of the running server (issue 8, reliability), against the hub served by gunicorn as
in production (tests/reliability/served.py), on a database of its own:

- kill -9 of a worker, and then of the whole server, in the middle of a stream of writes (a
  partner system accepting referrals through the API): after a restart every acknowledged
  write is there, no write is half there (a status without its event, or the reverse), and
  ``schakel audit verify`` passes;
- PostgreSQL gone under load (a TCP proxy in front of it is cut, as a restart or a network
  failure does): requests fail cleanly with 503 problem+json while it is gone, none hangs, and
  the hub recovers by itself once the database is back (pool pre-ping).
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from network.db import db
from referrals.models import Referral, ReferralEvent
from referrals.states import ReferralStatus
from tests.conftest import TEST_DATABASE_URL, extra_app, test_config
from tests.factories import make_api_client, principal_for
from tests.referrals.conftest import build_rworld, draft_data
from tests.reliability.served import Hub, environment, own_database, schakel

REFERRALS = 90


def _seed(url: str, tmp, secret_values, count: int) -> dict:
    from referrals import service as rs

    with extra_app(test_config(tmp, SQLALCHEMY_DATABASE_URI=url, SECRETS=secret_values)) as app, app.app_context():
        keyring = app.extensions["schakel.keyring"]
        world = build_rworld(db.session, keyring)
        mentor = principal_for(world["mentor"])
        referrals = []
        for _ in range(count):
            referral = rs.save_draft(db.session, mentor, keyring, world["student"], draft_data(world))
            rs.send_referral(db.session, mentor, keyring, referral)
            referrals.append(referral)
        api_client, secret = make_api_client(world["gemeente"], ["referrals:read", "referrals:write"])
        db.session.commit()
        return {"referrals": [(r.id, r.version) for r in referrals], "client_id": api_client.client_id,
                "secret": secret}


def _state(url: str, tmp, secret_values) -> dict:
    with extra_app(test_config(tmp, SQLALCHEMY_DATABASE_URI=url, SECRETS=secret_values)) as app, app.app_context():
        status = dict(db.session.execute(select(Referral.id, Referral.status)).all())
        accept_events = dict(db.session.execute(
            select(ReferralEvent.referral_id, func.count()).where(ReferralEvent.to_status == ReferralStatus.accepted)
            .group_by(ReferralEvent.referral_id)).all())
        answered = {rid for rid, at in db.session.execute(select(Referral.id, Referral.answered_at)) if at}
        return {"status": status, "accept_events": accept_events, "answered": answered}


@pytest.fixture
def served(tmp_path):
    with own_database(tmp_path) as url:
        env, secret_values = environment(url, tmp_path)
        migrated = schakel(env, "db", "upgrade")
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        seeded = _seed(url, tmp_path, secret_values, REFERRALS)
        hub = Hub(env, tmp_path / "gunicorn.log")
        try:
            yield {"url": url, "env": env, "secrets": secret_values, "tmp": tmp_path, "hub": hub, **seeded}
        finally:
            hub.stop()


def _accept_all(hub: Hub, token: str, referrals, acknowledged: set, failures: list, stop: threading.Event):
    def accept(item):
        rid, version = item
        if stop.is_set():
            return
        try:
            status, _, body = hub.request("POST", f"/api/v1/referrals/{rid}/transitions", body={"status": "accepted"},
                                          headers={"Authorization": f"Bearer {token}", "If-Match": f'W/"{version}"'},
                                          timeout=20)
        except (OSError, http.client.HTTPException) as exc:
            # the server died under this request (before the answer, or between its headers and
            # its body, IncompleteRead): not acknowledged, so the client cannot count on it
            failures.append((rid, type(exc).__name__))
            return
        if status == 200 and json.loads(body)["status"] == "accepted":
            acknowledged.add(rid)
        else:
            failures.append((rid, status))

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(accept, referrals))


def test_kill_9_of_a_worker_and_of_the_server_loses_no_acknowledged_write(served):
    hub: Hub = served["hub"].start()
    token = hub.token(served["client_id"], served["secret"])
    referrals = served["referrals"]
    acknowledged: set[int] = set()
    failures: list = []
    stop = threading.Event()
    thirds = [referrals[:30], referrals[30:60], referrals[60:]]

    # 1. a worker is killed mid-stream; the master starts a new one, the others keep serving
    writer = threading.Thread(target=_accept_all, args=(hub, token, thirds[0], acknowledged, failures, stop))
    writer.start()
    time.sleep(0.3)
    killed = hub.kill_worker()
    writer.join(120)
    assert not writer.is_alive(), "a request hung after the worker was killed"
    deadline = time.time() + 30
    while (killed in hub.workers() or len(hub.workers()) < 2) and time.time() < deadline:
        time.sleep(0.2)
    assert killed not in hub.workers() and len(hub.workers()) == 2, "gunicorn did not replace the killed worker"
    _accept_all(hub, token, thirds[1], acknowledged, failures, stop)  # and it serves on

    # 2. the whole server is killed mid-stream
    writer = threading.Thread(target=_accept_all, args=(hub, token, thirds[2], acknowledged, failures, stop))
    writer.start()
    time.sleep(random.uniform(0.2, 0.5))
    hub.kill_all()
    writer.join(120)
    assert not writer.is_alive(), "a request hung after the server was killed"

    # 3. restart: every acknowledged write is there, nothing is half-written, the log verifies
    hub.start()
    state = _state(served["url"], served["tmp"], served["secrets"])
    assert acknowledged, failures
    lost = [rid for rid in acknowledged if state["status"][rid] is not ReferralStatus.accepted]
    assert not lost, f"acknowledged but not in the database: {lost}"
    for rid, _ in referrals:
        accepted = state["status"][rid] is ReferralStatus.accepted
        assert state["accept_events"].get(rid, 0) == (1 if accepted else 0), f"referral {rid}: half-written"
        assert (rid in state["answered"]) == accepted, f"referral {rid}: answered_at without the status"
    assert any(state["status"][rid] is ReferralStatus.requested for rid, _ in thirds[2]) or len(acknowledged) == 90
    verify = schakel(served["env"], "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # after the restart the stream goes on where it was
    rest = [(rid, version) for rid, version in referrals if state["status"][rid] is ReferralStatus.requested]
    more: set[int] = set()
    _accept_all(hub, hub.token(served["client_id"], served["secret"]), rest, more, failures, stop)
    assert more == {rid for rid, _ in rest}


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="SQLite is a file in the process: there is no server to lose")
def test_postgresql_gone_under_load_fails_cleanly_and_recovers(served):
    from tests.reliability.tcp_proxy import TcpProxy

    base, _, name = served["url"].rpartition("/")
    host_port = base.rsplit("@", 1)[1]
    host, port = host_port.split(":") if ":" in host_port else (host_port, "5432")
    with TcpProxy(host, int(port)) as proxy:
        served["hub"].env = {**served["env"], "DATABASE_URL": f"{base.rsplit('@', 1)[0]}@127.0.0.1:{proxy.port}/{name}",
                             "DATABASE_CONNECT_TIMEOUT": "3"}
        hub: Hub = served["hub"].start()
        token = hub.token(served["client_id"], served["secret"])
        rid = served["referrals"][0][0]
        headers = {"Authorization": f"Bearer {token}"}
        assert hub.request("GET", f"/api/v1/referrals/{rid}", headers=headers)[0] == 200

        proxy.cut()  # every open connection dropped, new ones refused
        answers = []

        def get(_):
            started = time.monotonic()
            status, response_headers, body = hub.request("GET", f"/api/v1/referrals/{rid}", headers=headers,
                                                         timeout=30)
            answers.append((status, response_headers.get("Content-Type"), body, time.monotonic() - started))

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(get, range(24)))
        assert {a[0] for a in answers} == {503}, [a[:2] for a in answers]
        assert all(a[1].startswith("application/problem+json") for a in answers)
        assert all(json.loads(a[2])["status"] == 503 for a in answers)
        assert max(a[3] for a in answers) < 15, "a request waited too long for the missing database"

        proxy.restore()
        deadline, status = time.time() + 20, None
        while time.time() < deadline:
            status = hub.request("GET", f"/api/v1/referrals/{rid}", headers=headers)[0]
            if status == 200:
                break
            time.sleep(0.5)
        assert status == 200, "the hub did not recover after the database came back"
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: hub.request("GET", f"/api/v1/referrals/{rid}", headers=headers)[0],
                                     range(24)))
        assert set(statuses) == {200}


def test_concurrent_answers_to_one_referral_one_wins_the_other_is_told(served):
    """Two colleagues' systems answer the same referral at the same moment (accept and decline,
    each with the ETag it read): exactly one answer is taken, the other gets 412 (or 409 once the
    status moved on), and the referral's history has exactly that one answer."""
    hub: Hub = served["hub"].start()
    token = hub.token(served["client_id"], served["secret"])
    headers = {"Authorization": f"Bearer {token}"}
    outcomes = []
    for rid, version in served["referrals"][:12]:
        barrier = threading.Barrier(2)

        def answer(body, rid=rid, version=version, barrier=barrier):
            barrier.wait()
            return hub.request("POST", f"/api/v1/referrals/{rid}/transitions", body=body,
                               headers={**headers, "If-Match": f'W/"{version}"'})[0]

        with ThreadPoolExecutor(2) as pool:
            statuses = list(pool.map(answer, [{"status": "accepted"},
                                              {"status": "rejected", "reason": "Geen plek meer"}]))
        outcomes.append((rid, statuses))
    for rid, statuses in outcomes:
        assert sorted(statuses)[0] == 200 and sorted(statuses)[1] in (409, 412), (rid, statuses)
    state = _state(served["url"], served["tmp"], served["secrets"])
    for rid, statuses in outcomes:
        winner = ReferralStatus.accepted if statuses[0] == 200 else ReferralStatus.rejected
        assert state["status"][rid] is winner
        assert state["accept_events"].get(rid, 0) == (1 if winner is ReferralStatus.accepted else 0)
