"""A database that cannot write (read-only, or full) or is gone: the request gets a clear 503
(problem+json on the API, a Dutch page in the browser) with ``Retry-After``, nothing is
half-written, and the hub works again as soon as the database does.

Read-only is made per connection (SQLite ``PRAGMA query_only``, PostgreSQL
``default_transaction_read_only``), "disk full" with SQLite's ``max_page_count`` (the error
SQLite gives a full disk: SQLITE_FULL); a vanished database by invalidating the connections.
"""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event, func, select, text

from network.db import db
from network.oauth import ApiToken
from referrals.models import Referral, ReferralEvent
from referrals.states import ReferralStatus
from tests.factories import bearer, get_token, make_api_client
from tests.referrals.test_api import sent

PROBLEM = "application/problem+json"


@contextlib.contextmanager
def on_every_connection(app, statement: str, undo: str):
    """Run ``statement`` on every pooled connection as it is handed out, until the block ends."""
    with app.app_context():
        engine = db.engine

    def checkout(dbapi_connection, record, proxy):
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        dbapi_connection.commit()  # PostgreSQL: the setting holds from the next transaction on

    engine.dispose()
    event.listen(engine, "checkout", checkout)
    try:
        yield
    finally:
        event.remove(engine, "checkout", checkout)
        engine.dispose()  # the next connections are fresh, without the setting
        with engine.connect() as conn:
            conn.exec_driver_sql(undo)
            conn.commit()


def _read_only(app):
    with app.app_context():
        sqlite = db.engine.dialect.name == "sqlite"
    if sqlite:
        return on_every_connection(app, "PRAGMA query_only = ON", "PRAGMA query_only = OFF")
    return on_every_connection(app, "SET default_transaction_read_only = on", "SET default_transaction_read_only = off")


def _accept(client, token, referral: tuple[int, int]):
    referral_id, version = referral
    return client.post(f"/api/v1/referrals/{referral_id}/transitions", json={"status": "accepted"},
                       headers={**bearer(token), "If-Match": f'W/"{version}"'})


def test_read_only_database_is_503_and_nothing_is_half_written(app, client, session, keyring, rworld, ractors):
    referral = sent(session, keyring, rworld, ractors)
    api_client, secret = make_api_client(rworld["gemeente"], ["referrals:read", "referrals:write"])
    session.commit()
    token = get_token(client, api_client, secret)
    target = (referral.id, referral.version)  # read now: the test's own session must not need the database below
    events_before = session.scalar(select(func.count()).select_from(ReferralEvent))
    session.rollback()  # hand the connection back: the pool is replaced below
    with _read_only(app):
        response = _accept(client, token, target)
        assert response.status_code == 503 and response.mimetype == PROBLEM
        assert response.headers["Retry-After"] and "niets half opgeslagen" in response.get_json()["detail"]
        assert "Traceback" not in response.get_data(as_text=True)
        assert client.get("/hsds/services").status_code == 200  # what only reads still works
    session.expire_all()
    assert session.get(Referral, referral.id).status is ReferralStatus.requested
    assert session.scalar(select(func.count()).select_from(ReferralEvent)) == events_before
    assert _accept(client, token, target).status_code == 200  # writable again: works at once


def test_full_disk_on_sqlite_is_503_and_the_file_stays_sound(app, client, session, keyring, rworld, ractors):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's max_page_count simulates a full disk; PostgreSQL's disk is the server's")
    referral = sent(session, keyring, rworld, ractors)
    api_client, secret = make_api_client(rworld["gemeente"], ["referrals:read", "referrals:write"])
    session.commit()
    token = get_token(client, api_client, secret)
    target = (referral.id, referral.version)  # read now: the test's own session must not need the database below
    pages = session.execute(text("PRAGMA page_count")).scalar_one()
    session.commit()
    tokens_before = session.scalar(select(func.count()).select_from(ApiToken))
    session.rollback()
    with on_every_connection(app, f"PRAGMA max_page_count = {pages}", "PRAGMA max_page_count = 1073741823"):
        # every token is a row and an audit event: the free space of the last pages runs out
        issued = 0  # the tokens handed out before the disk was full
        for _attempt in range(3000):
            response = client.post("/oauth/token", data={"grant_type": "client_credentials",
                                                         "client_id": api_client.client_id, "client_secret": secret})
            if response.status_code != 200:
                break
            issued += 1
        assert response.status_code == 503 and response.mimetype == PROBLEM, response.get_data(as_text=True)
        # another kind of write either still fits in its tables' pages or is refused whole
        accept = _accept(client, token, target)
        assert accept.status_code in (200, 503) and "Traceback" not in accept.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(ApiToken)) == tokens_before + issued
    accepted = session.get(Referral, referral.id).status is ReferralStatus.accepted
    assert accepted == (accept.status_code == 200)
    events = session.scalar(select(func.count()).select_from(ReferralEvent)
                            .where(ReferralEvent.referral_id == referral.id,
                                   ReferralEvent.to_status == ReferralStatus.accepted))
    assert events == (1 if accepted else 0)
    assert session.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    session.rollback()


def test_a_vanished_database_connection_is_503_then_recovers(app, client, session, keyring, rworld, ractors,
                                                             monkeypatch):
    """The connection dies under a request (the server restarted): that request is 503, the
    pool throws the connection away, the next request gets a fresh one (pre-ping)."""
    from sqlalchemy.exc import OperationalError

    referral = sent(session, keyring, rworld, ractors)
    api_client, secret = make_api_client(rworld["gemeente"], ["referrals:read"])
    session.commit()
    token = get_token(client, api_client, secret)
    import referrals.api as referrals_api

    real = referrals_api.get_referral

    def dying(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"),
                               connection_invalidated=True)

    monkeypatch.setattr(referrals_api, "get_referral", dying)
    response = client.get(f"/api/v1/referrals/{referral.id}", headers=bearer(token))
    assert response.status_code == 503 and response.mimetype == PROBLEM
    monkeypatch.setattr(referrals_api, "get_referral", real)
    assert client.get(f"/api/v1/referrals/{referral.id}", headers=bearer(token)).status_code == 200


def test_a_write_refused_by_a_unique_index_is_a_409_not_a_crash(app, client, session, keyring, rworld, ractors,
                                                                 monkeypatch):
    """Whatever a service did not foresee: when two requests store the same thing at once and
    the database's unique index refuses the second, that request is told 409 (problem+json on
    the API), nothing of it is stored, and the next request works."""
    from sqlalchemy.exc import IntegrityError

    referral = sent(session, keyring, rworld, ractors)
    api_client, secret = make_api_client(rworld["gemeente"], ["referrals:read"])
    session.commit()
    token = get_token(client, api_client, secret)
    import referrals.api as referrals_api

    real = referrals_api.get_referral
    for message in ("UNIQUE constraint failed: route.student_id",  # SQLite's words
                    'duplicate key value violates unique constraint "ux_x"'):  # PostgreSQL's, with its code
        orig = Exception(message)
        orig.sqlstate = "23505" if "duplicate" in message else None

        def refused(*args, orig=orig, **kwargs):
            raise IntegrityError("INSERT INTO route ...", {}, orig)

        monkeypatch.setattr(referrals_api, "get_referral", refused)
        response = client.get(f"/api/v1/referrals/{referral.id}", headers=bearer(token))
        assert response.status_code == 409 and response.mimetype == PROBLEM, response.get_data(as_text=True)
        assert "dubbele klik" in response.get_json()["detail"] and "Traceback" not in response.get_data(as_text=True)
    monkeypatch.setattr(referrals_api, "get_referral", real)
    assert client.get(f"/api/v1/referrals/{referral.id}", headers=bearer(token)).status_code == 200
