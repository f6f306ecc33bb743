"""OAuth 2 for partner systems (authlib's own test style: one grant, positive and negative
cases): client credentials, hashed secrets and tokens, lifetime, scopes, revocation (RFC 7009),
introspection (RFC 7662), and the bearer check of the API (401 with WWW-Authenticate, 403
insufficient_scope, the organisation's walls)."""

from __future__ import annotations

import base64
import datetime as dt

import time_machine
from sqlalchemy import func, select

from network.audit import AuditEvent
from network.db import db
from network.models import OrganisationType, Role
from network.oauth import ApiClient, ApiToken, digest
from network.oauth_clients import create_client, revoke_client, rotate_secret
from tests.factories import (
    OrganisationFactory,
    RegionFactory,
    bearer,
    get_token,
    make_api_client,
    make_member,
    principal_for,
)

PROBLEM = "application/problem+json"


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def _world(session):
    region = RegionFactory()
    gemeente = OrganisationFactory(region=region, type=OrganisationType.gemeente, name="Gemeente Teststad")
    admin = make_member(Role.hub_admin, OrganisationFactory(region=region, type=OrganisationType.hub))
    api_client, secret = make_api_client(gemeente, ["referrals:read", "referrals:write"])
    session.commit()
    return {"gemeente": gemeente, "admin": admin, "api_client": api_client, "secret": secret}


def test_client_credentials_issues_a_short_lived_token_stored_only_as_digest(client, session):
    w = _world(session)
    response = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                           headers=_basic(w["api_client"].client_id, w["secret"]))
    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"].lower() == "bearer" and 0 < body["expires_in"] <= 3600
    assert set(body["scope"].split()) == {"referrals:read", "referrals:write"}
    assert response.headers["Cache-Control"] == "no-store"
    stored = session.scalars(select(ApiToken)).one()
    assert stored.token_hash == digest(body["access_token"]) and body["access_token"] not in stored.token_hash
    assert session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.event_type == "api_client.token")) == 1


def test_secret_in_the_body_works_too_and_scope_is_narrowed_to_what_the_client_holds(client, session):
    w = _world(session)
    response = client.post("/oauth/token", data={"grant_type": "client_credentials",
                                                 "client_id": w["api_client"].client_id,
                                                 "client_secret": w["secret"], "scope": "referrals:read"})
    assert response.status_code == 200 and response.get_json()["scope"] == "referrals:read"
    response = client.post("/oauth/token", data={"grant_type": "client_credentials", "scope": "socialmap:write"},
                           headers=_basic(w["api_client"].client_id, w["secret"]))
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_scope"


def test_wrong_secret_unknown_client_and_other_grants_are_refused(client, session):
    w = _world(session)
    for headers in (_basic(w["api_client"].client_id, "fout"), _basic("onbekend", w["secret"])):
        response = client.post("/oauth/token", data={"grant_type": "client_credentials"}, headers=headers)
        assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"
    for grant in ("password", "authorization_code", "implicit"):
        response = client.post("/oauth/token", data={"grant_type": grant, "username": "x", "password": "y"},
                               headers=_basic(w["api_client"].client_id, w["secret"]))
        assert response.status_code == 400 and response.get_json()["error"] == "unsupported_grant_type"
    assert session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_api_with_a_token_acts_as_the_organisation(client, session):
    w = _world(session)
    token = get_token(client, w["api_client"], w["secret"])
    response = client.get("/api/v1/referrals", headers=bearer(token))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    session.expire_all()
    assert session.get(ApiClient, w["api_client"].id).last_used_at is not None


def test_missing_invalid_expired_and_revoked_tokens_are_401_with_www_authenticate(client, session):
    w = _world(session)
    response = client.get("/api/v1/referrals")
    assert response.status_code == 401 and response.mimetype == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    response = client.get("/api/v1/referrals", headers=bearer("verzonnen"))
    assert response.status_code == 401 and response.mimetype == PROBLEM
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert response.get_json()["error"] == "invalid_token"
    token = get_token(client, w["api_client"], w["secret"])
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3601)):
        response = client.get("/api/v1/referrals", headers=bearer(token))
    assert response.status_code == 401 and 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    revoke = client.post("/oauth/revoke", data={"token": token}, headers=_basic(w["api_client"].client_id, w["secret"]))
    assert revoke.status_code == 200
    response = client.get("/api/v1/referrals", headers=bearer(token))
    assert response.status_code == 401 and 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_token_without_the_scope_is_403_insufficient_scope(client, session):
    w = _world(session)
    token = get_token(client, w["api_client"], w["secret"], scope="referrals:write")
    response = client.get("/api/v1/referrals", headers=bearer(token))
    assert response.status_code == 403 and response.mimetype == PROBLEM
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert "referrals:read" in response.headers["WWW-Authenticate"]


def test_introspection_answers_for_the_clients_own_tokens_only(client, session):
    w = _world(session)
    other, other_secret = make_api_client(w["gemeente"], ["referrals:read"], name="Ander systeem")
    session.commit()
    token = get_token(client, w["api_client"], w["secret"])
    mine = client.post("/oauth/introspect", data={"token": token},
                       headers=_basic(w["api_client"].client_id, w["secret"]))
    assert mine.status_code == 200 and mine.get_json()["active"] is True
    assert mine.get_json()["client_id"] == w["api_client"].client_id
    theirs = client.post("/oauth/introspect", data={"token": token}, headers=_basic(other.client_id, other_secret))
    assert theirs.get_json() == {"active": False}
    client.post("/oauth/revoke", data={"token": token}, headers=_basic(w["api_client"].client_id, w["secret"]))
    again = client.post("/oauth/introspect", data={"token": token},
                        headers=_basic(w["api_client"].client_id, w["secret"]))
    assert again.get_json() == {"active": False}


def test_admin_rotates_and_revokes_a_client(client, session):
    w = _world(session)
    admin = principal_for(w["admin"])
    created, secret = create_client(session, admin, w["gemeente"], name="Suite", scopes=["referrals:read"])
    session.commit()
    assert created.secret_hash == digest(secret) and secret not in created.secret_hash
    token = get_token(client, created, secret)
    session.expire_all()
    new_secret = rotate_secret(session, admin, session.get(ApiClient, created.id))
    session.commit()
    old = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                      headers=_basic(created.client_id, secret))
    assert old.status_code == 401
    get_token(client, created, new_secret)
    revoke_client(session, admin, session.get(ApiClient, created.id))
    session.commit()
    assert client.get("/api/v1/referrals", headers=bearer(token)).status_code == 401
    refused = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                          headers=_basic(created.client_id, new_secret))
    assert refused.status_code == 401


def test_rotating_the_secret_stops_the_tokens_issued_with_the_old_one_at_once(client, session):
    w = _world(session)
    admin = principal_for(w["admin"])
    old_token = get_token(client, w["api_client"], w["secret"])
    assert client.get("/api/v1/referrals", headers=bearer(old_token)).status_code == 200
    session.expire_all()
    new_secret = rotate_secret(session, admin, session.get(ApiClient, w["api_client"].id))
    session.commit()
    refused = client.get("/api/v1/referrals", headers=bearer(old_token))  # the next call, not an hour later
    assert refused.status_code == 401 and "invalid_token" in refused.headers["WWW-Authenticate"]
    new_token = get_token(client, w["api_client"], new_secret)
    assert client.get("/api/v1/referrals", headers=bearer(new_token)).status_code == 200


def test_token_check_costs_one_statement(client, session, app):
    from sqlalchemy import event

    w = _world(session)
    token = get_token(client, w["api_client"], w["secret"])
    client.get("/api/v1/regions", headers=bearer(token))  # the last-use write happens once a minute
    statements = []
    with app.app_context():
        engine = db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        plain = client.get("/api/v1/referrals", headers=bearer(token))
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert plain.status_code == 200
    assert sum("api_token" in s for s in statements) == 1
    assert not any(s.lstrip().upper().startswith("UPDATE API_CLIENT") for s in statements)


def test_token_endpoint_and_api_are_rate_limited_per_client(app, client, session, monkeypatch):
    w = _world(session)
    monkeypatch.setitem(app.config, "TOKEN_RATE_LIMIT", "3 per minute")
    answers = [client.post("/oauth/token", data={"grant_type": "client_credentials"},
                           headers=_basic(w["api_client"].client_id, w["secret"])).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    monkeypatch.setitem(app.config, "TOKEN_RATE_LIMIT", "1000 per minute")
    token = get_token(client, w["api_client"], w["secret"])
    monkeypatch.setitem(app.config, "API_CLIENT_RATE_LIMIT", "2 per minute")
    statuses = [client.get("/api/v1/referrals", headers=bearer(token)) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert statuses[-1].mimetype == PROBLEM and int(statuses[-1].headers["Retry-After"]) >= 1
