"""The webhook API (/api/v1/webhook-subscriptions) with real tokens: the happy path from
subscribing to ending, and the refusals (another client's subscription 404, a token without the
scope 403, a person 403, If-Match 428/412, unknown fields and bad URLs 400, not JSON 415)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from network.audit import AuditEvent
from network.models import OrganisationType, Role
from network.webhooks import WebhookSubscription
from tests.factories import OrganisationFactory, RegionFactory, bearer, get_token, login, make_api_client, make_member
from tests.referrals.conftest import ractors, rworld  # noqa: F401 - fixtures

BASE = "/api/v1/webhook-subscriptions"
PROBLEM = "application/problem+json"


@pytest.fixture
def clients(app, client, session, monkeypatch):
    monkeypatch.setitem(app.config, "TOKEN_RATE_LIMIT", "10000 per minute")  # three tokens a test
    region = RegionFactory()
    gemeente = OrganisationFactory(region=region, type=OrganisationType.gemeente, name="Gemeente Teststad")
    uwv = OrganisationFactory(region=region, type=OrganisationType.uwv, name="UWV Testrand")
    own, own_secret = make_api_client(gemeente, ["webhooks:manage", "referrals:read"])
    other, other_secret = make_api_client(uwv, ["webhooks:manage", "referrals:read"], name="Ander systeem")
    narrow, narrow_secret = make_api_client(gemeente, ["referrals:read"], name="Alleen lezen")
    session.commit()
    return {"gemeente": gemeente,
            "own": bearer(get_token(client, own, own_secret)),
            "other": bearer(get_token(client, other, other_secret)),
            "narrow": bearer(get_token(client, narrow, narrow_secret))}


def _create(client, headers, **body):
    body = {"url": "https://hooks.teststad.example/schakel", "event_types": ["referral.created"], **body}
    return client.post(BASE, json=body, headers=headers)


def test_subscribe_read_change_rotate_and_end(client, session, clients):
    h = clients["own"]
    created = _create(client, h, event_types=["referral.updated", "referral.created"], description="Zaaksysteem")
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json()
    assert body["secret"].startswith("whsec_") and body["event_types"] == ["referral.created", "referral.updated"]
    assert created.headers["Location"].endswith(f"{BASE}/{body['id']}")
    assert created.headers["ETag"] == f'W/"{body["version"]}"'
    assert created.headers["Cache-Control"] == "no-store"
    row = session.get(WebhookSubscription, body["id"])
    assert body["secret"] not in row.secret_encrypted

    listed = client.get(BASE, headers=h)
    assert listed.status_code == 200
    assert [item["id"] for item in listed.get_json()["items"]] == [body["id"]]
    assert "secret" not in listed.get_json()["items"][0]
    one = client.get(f"{BASE}/{body['id']}", headers=h)
    assert one.status_code == 200 and "secret" not in one.get_json()
    etag = one.headers["ETag"]

    changed = client.patch(f"{BASE}/{body['id']}", json={"event_types": ["socialmap.changed"]},
                           headers={**h, "If-Match": etag})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert changed.get_json()["event_types"] == ["socialmap.changed"]
    assert changed.get_json()["url"] == "https://hooks.teststad.example/schakel"  # left alone
    assert changed.headers["ETag"] != etag

    rotated = client.post(f"{BASE}/{body['id']}/secret-rotations", headers=h)
    assert rotated.status_code == 201
    assert rotated.get_json()["secret"].startswith("whsec_") and rotated.get_json()["secret"] != body["secret"]
    assert rotated.get_json()["previous_secret_valid_until"]
    assert client.get(f"{BASE}/{body['id']}", headers=h).get_json()["previous_secret_valid_until"]

    ended = client.delete(f"{BASE}/{body['id']}", headers=h)
    assert ended.status_code == 204
    assert client.get(f"{BASE}/{body['id']}", headers=h).status_code == 404
    assert client.get(BASE, headers=h).get_json()["items"] == []
    session.expire_all()
    kinds = session.scalars(select(AuditEvent.event_type).where(AuditEvent.event_type.like("webhook:%"))
                            .order_by(AuditEvent.id)).all()
    assert kinds == ["webhook:subscribe", "webhook:update", "webhook:rotate", "webhook:unsubscribe"]


def test_another_clients_subscription_does_not_exist(client, clients):
    theirs = _create(client, clients["other"]).get_json()["id"]
    url = f"{BASE}/{theirs}"
    h = clients["own"]
    assert client.get(url, headers=h).status_code == 404
    assert client.patch(url, json={"description": "van mij"}, headers={**h, "If-Match": 'W/"2"'}).status_code == 404
    assert client.delete(url, headers=h).status_code == 404
    response = client.post(f"{url}/secret-rotations", headers=h)
    assert response.status_code == 404 and response.mimetype == PROBLEM
    assert client.get(BASE, headers=h).get_json()["items"] == []
    assert client.get(url, headers=clients["other"]).status_code == 200  # untouched
    assert client.get(f"{BASE}/999999", headers=h).status_code == 404


def test_a_token_without_the_scope_and_a_person_are_refused(client, session, clients):
    response = client.get(BASE, headers=clients["narrow"])
    assert response.status_code == 403 and response.mimetype == PROBLEM
    assert "insufficient_scope" in response.headers["WWW-Authenticate"]
    assert _create(client, clients["narrow"]).status_code == 403
    assert client.get(BASE).status_code == 401
    login(client, make_member(Role.partner_staff, clients["gemeente"]))  # holds the permission, is no client
    response = _create(client, {})
    assert response.status_code == 403 and "API-client" in response.get_json()["detail"]
    assert session.scalar(select(func.count()).select_from(WebhookSubscription)) == 0


def test_if_match_is_required_and_must_be_current(client, clients):
    h = clients["own"]
    created = _create(client, h)
    url = f"{BASE}/{created.get_json()['id']}"
    missing = client.patch(url, json={"description": "x"}, headers=h)
    assert missing.status_code == 428 and missing.mimetype == PROBLEM
    stale = client.patch(url, json={"description": "x"}, headers={**h, "If-Match": 'W/"1"'})
    assert stale.status_code == 412 and stale.mimetype == PROBLEM
    assert client.delete(url, headers={**h, "If-Match": 'W/"1"'}).status_code == 412
    ok = client.patch(url, json={"description": "x"}, headers={**h, "If-Match": created.headers["ETag"]})
    assert ok.status_code == 200


def test_bad_input_is_400_with_field_errors_and_not_json_is_415(client, app, clients, monkeypatch):
    h = clients["own"]
    unknown = _create(client, h, secret="whsec_zelfgekozen")
    assert unknown.status_code == 400 and unknown.mimetype == PROBLEM
    assert {"field": "secret", "message": "Onbekend veld."} in unknown.get_json()["errors"]
    types = _create(client, h, event_types=["referral.deleted"])
    assert types.status_code == 400
    assert types.get_json()["errors"][0]["field"] == "event_types"
    missing = client.post(BASE, json={"url": "https://hooks.example/x"}, headers=h)
    assert missing.status_code == 400 and missing.get_json()["errors"][0]["field"] == "event_types"
    broken = client.post(BASE, data="{kapot", headers={**h, "Content-Type": "application/json"})
    assert broken.status_code == 400
    assert client.post(BASE, data="url=x", headers=h).status_code == 415
    created = _create(client, h)
    patch = client.patch(f"{BASE}/{created.get_json()['id']}", json={"client_id": 5},
                         headers={**h, "If-Match": created.headers["ETag"]})
    assert patch.status_code == 400

    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_HTTP", False)
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", False)
    for url, words in (("http://hooks.example/x", "Alleen https://"), ("https://127.0.0.1/x", "intern"),
                       ("https://169.254.169.254/latest/meta-data", "intern"), ("https://10.0.0.1/x", "intern")):
        response = _create(client, h, url=url)
        assert response.status_code == 400, url
        [error] = response.get_json()["errors"]
        assert error["field"] == "url" and words in error["message"]


def test_the_endpoints_are_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/webhook-subscriptions"])
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/webhook-subscriptions/{subscription_id}"])
    assert "post" in paths["/api/v1/webhook-subscriptions/{subscription_id}/secret-rotations"]
    assert "428" in paths["/api/v1/webhook-subscriptions/{subscription_id}"]["patch"]["responses"]


OPERATIONS = {(BASE, "get"), (BASE, "post"), (f"{BASE}/{{subscription_id}}", "get"),
              (f"{BASE}/{{subscription_id}}", "patch"), (f"{BASE}/{{subscription_id}}", "delete"),
              (f"{BASE}/{{subscription_id}}/secret-rotations", "post")}


def test_the_operations_conform_to_the_openapi_document(app, client, clients):
    """Schemathesis over the six operations (in-process) with the client's token: no server
    errors, only documented statuses and content types, bodies valid against the schemas."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    known = _create(client, clients["own"]).get_json()["id"]
    raw = client.get("/api/v1/openapi.json").get_json()
    raw["paths"] = {path: {m: op for m, op in ops.items() if (path, m) in OPERATIONS or m == "parameters"}
                    for path, ops in raw["paths"].items() if any((path, m) in OPERATIONS for m in ops)}
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = app
    checked, statuses, calls = [], set(), [0]
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=8, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case):
            calls[0] += 1
            if case.path_parameters and calls[0] % 2:  # every other case: the real subscription
                case.path_parameters["subscription_id"] = known
            response = case.call(headers=clients["own"])
            statuses.add(response.status_code)
            case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                                     content_type_conformance, response_schema_conformance])

        run()
        checked.append(operation.label)
    assert len(checked) == len(OPERATIONS), checked
    assert {200, 400, 404} <= statuses, statuses


def test_a_change_made_through_the_api_reaches_the_receiver_after_commit(app, client, session, keyring, rworld,
                                                                         ractors, monkeypatch):
    """End to end: the gemeente's system subscribes, accepts a referral through the API; the
    after-commit delivery posts the signed thin event; the receiver fetches the referral with
    its own token."""
    import datetime as dt
    import json

    from referrals import wizard_service as ws
    from tests.network.test_webhooks import Receiver, reference_verify
    from tests.referrals.conftest import draft_data

    monkeypatch.setitem(app.config, "TOKEN_RATE_LIMIT", "10000 per minute")
    api_client, secret = make_api_client(rworld["gemeente"], ["webhooks:manage", "referrals:read", "referrals:write"])
    referral = ws.save_draft(session, ractors["mentor"], keyring, rworld["student"], draft_data(rworld))
    ws.send_referral(session, ractors["mentor"], keyring, referral, today=dt.date(2026, 11, 23))
    session.commit()
    h = bearer(get_token(client, api_client, secret))
    receiver = Receiver()
    try:
        created = client.post(BASE, json={"url": receiver.url(), "event_types": ["referral.updated"]}, headers=h)
        assert created.status_code == 201
        signing_secret = created.get_json()["secret"]
        detail = client.get(f"/api/v1/referrals/{referral.id}", headers=h)
        answer = client.post(f"/api/v1/referrals/{referral.id}/transitions", json={"status": "accepted"},
                             headers={**h, "If-Match": detail.headers["ETag"]})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert receiver.requests == []  # not before the response is done
        answer.close()
        [got] = receiver.requests
        assert reference_verify(signing_secret, got.headers, got.body, int(got.headers["webhook-timestamp"]))
        event = json.loads(got.body)
        assert event["type"] == "referral.updated" and event["data"] == {"id": referral.id}
        fetched = client.get(f"/api/v1/referrals/{event['data']['id']}", headers=h)
        assert fetched.status_code == 200 and fetched.get_json()["status"] == "accepted"
    finally:
        receiver.stop()
