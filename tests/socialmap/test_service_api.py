"""The sociale kaart's write API with OAuth2 tokens: an organisation's system lists, adds, reads,
changes and closes its own entries (contact persons and locations in the body); every change is
in the entry's history with the client as who; PATCH and DELETE need If-Match (428 without, 412
stale); other organisations' entries are 404; bad input and missing scopes get problem+json."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from network.audit import AuditEvent
from socialmap.models import Service, ServiceChange, ServiceStatus
from tests.factories import bearer, get_token, make_api_client

API = "/api/v1/services"
PROBLEM = "application/problem+json"
CLIENT_NAME = "API-client Gemeentesysteem"


@pytest.fixture(autouse=True)
def _tokens_unlimited(app, monkeypatch):
    """These tests get many tokens: the token endpoint's per-IP limit (30 a minute) is not what they test."""
    monkeypatch.setitem(app.config, "TOKEN_RATE_LIMIT", "10000 per minute")


@pytest.fixture
def gemeente(client, session, region_map):
    """The gemeente's client (socialmap:write) and its headers; the gemeente has the jobcoach entry."""
    api_client, secret = make_api_client(region_map["organisations"]["gemeente"], ["socialmap:write"],
                                         name="Gemeentesysteem")
    session.commit()
    return bearer(get_token(client, api_client, secret))


def _send(client, method, url, headers, body=None, *, if_match=None, content_type="application/json"):
    extra = dict(headers)
    if if_match is not None:
        extra["If-Match"] = if_match
    data = json.dumps(body) if content_type == "application/json" and not isinstance(body, str) else body
    return client.open(url, method=method, data=data, content_type=content_type, headers=extra)


def _fields(response) -> set[str]:
    return {error["field"] for error in response.get_json().get("errors", [])}


def _history(session, service_uuid):
    session.expire_all()
    service = session.scalar(select(Service).where(Service.uuid == uuid.UUID(str(service_uuid))))
    return service, session.scalars(select(ServiceChange).where(ServiceChange.service_id == service.id)).all()


NEW = {"name": "Werkfit traject", "description": "Een half jaar werken aan werkritme.",
       "categories": ["begeleiding"], "target_groups": ["entree", "pro"], "gemeenten": ["Waalstede"],
       "area_postcodes": "6511-6519, 6600", "capacity": "wachtlijst", "response_days": 10,
       "contacts": [{"name": "Sem de Wit", "title": "Trajectbegeleider", "email": "s.dewit@waalstede.example"}],
       "locations": [{"name": "Werkplaats", "address": "Havenweg 4", "postal_code": "6511ab", "city": "Waalstede"}]}


def test_a_client_adds_reads_and_lists_its_own_entries_with_history(client, session, region_map, gemeente):
    response = _send(client, "POST", API, gemeente, NEW)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    etag = f'W/"{body["version"]}"'
    assert response.headers["ETag"] == etag and response.headers["Location"] == f"{API}/{body['id']}"
    assert body["organisation"]["id"] == region_map["organisations"]["gemeente"].id
    assert body["capacity"] == "wachtlijst" and body["categories"] == ["begeleiding"]
    assert body["gemeenten"] == ["Waalstede"] and body["target_groups"] == ["entree", "pro"]
    assert body["contacts"][0]["name"] == "Sem de Wit" and body["locations"][0]["postal_code"] == "6511 AB"
    service, history = _history(session, body["id"])
    assert history and {(c.actor_name, c.account_id, c.action) for c in history} == {(CLIENT_NAME, None, "create")}
    assert {"name", "capacity", "categories", "gemeenten"} <= {c.field for c in history if c.resource_type == "service"}
    assert any(c.resource_type == "contact" and c.new_value == "Sem de Wit" for c in history)
    (created,) = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "socialmap:service:create",
                                                          AuditEvent.object_id == body["id"])).all()
    assert created.account_name == CLIENT_NAME and created.channel == "api"

    response = client.get(f"{API}/{body['id']}", headers=gemeente)
    assert response.status_code == 200 and response.headers["ETag"] == etag
    assert response.get_json()["contacts"][0]["email"] == "s.dewit@waalstede.example"

    listed = client.get(API, headers=gemeente).get_json()
    assert {s["name"] for s in listed["items"]} == {"Werkfit traject", "Jobcoach team jongeren"}
    assert listed["total"] == 2  # the other organisations' entries are not its own
    assert client.get(f"{API}?q=%00", headers=gemeente).status_code == 400
    assert [s["name"] for s in client.get(f"{API}?q=werkfit", headers=gemeente).get_json()["items"]] == [
        "Werkfit traject"]
    assert client.get(f"{API}?status=defunct", headers=gemeente).get_json()["items"] == []


def test_patch_changes_fields_with_if_match_and_records_who_changed_what(client, session, region_map, gemeente):
    jobcoach = region_map["services"]["jobcoach"]
    url = f"{API}/{jobcoach.uuid}"
    etag = client.get(url, headers=gemeente).headers["ETag"]
    contact_id = client.get(url, headers=gemeente).get_json()["contacts"][0]["id"]
    change = {"capacity": "vol", "description": "Nieuwe omschrijving.",
              "contacts": [{"id": contact_id, "name": "Lotte Verhoeven", "title": "Senior jobcoach"}]}
    assert _send(client, "PATCH", url, gemeente, change).status_code == 428  # no If-Match
    assert _send(client, "PATCH", url, gemeente, change, if_match='W/"99"').status_code == 412
    response = _send(client, "PATCH", url, gemeente, change, if_match=etag)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["capacity"] == "vol" and body["name"] == "Jobcoach team jongeren"  # untouched fields stay
    assert body["contacts"] == [{"id": contact_id, "name": "Lotte Verhoeven", "title": "Senior jobcoach",
                                 "email": None, "phone": None}]
    assert response.headers["ETag"] != etag and response.headers["ETag"] == f'W/"{body["version"]}"'
    _service, history = _history(session, jobcoach.uuid)
    mine = {(c.resource_type, c.field): (c.old_value, c.new_value) for c in history if c.actor_name == CLIENT_NAME}
    assert mine[("service", "capacity")] == (None, "vol")
    assert mine[("contact", "title")] == ("Jobcoach", "Senior jobcoach")
    # the old ETag is stale now
    assert _send(client, "PATCH", url, gemeente, {"capacity": "plek"}, if_match=etag).status_code == 412


def test_bad_writes_are_400_or_415_and_change_nothing(client, session, region_map, gemeente):
    jobcoach = region_map["services"]["jobcoach"]
    url = f"{API}/{jobcoach.uuid}"
    etag = client.get(url, headers=gemeente).headers["ETag"]
    for body, field in [({"capacity": "vol", "onbekend": 1}, "onbekend"),
                        ({"capacity": "heel vol"}, "capacity"),
                        ({"email": "geen-adres"}, "email"),
                        ({"minimum_age": 30, "maximum_age": 18}, "maximum_age"),
                        ({"area_postcodes": "Waalstede"}, "area_postcodes"),
                        ({"name": "Schuldhulpverlening jongeren", "contacts": [{"title": "zonder naam"}]}, "contacts"),
                        ({"contacts": [{"id": "00000000-0000-4000-8000-000000000009", "name": "X"}]}, "contacts"),
                        ({"categories": ["bestaat-niet"]}, "categories"),
                        ({"contacts": [{"name": "Nul\u0000teken"}]}, "contacts.0.name"),  # PostgreSQL: no NUL
                        (["capacity"], "body")]:
        response = _send(client, "PATCH", url, gemeente, body, if_match=etag)
        assert response.status_code == 400 and response.mimetype == PROBLEM, (field, response.get_json())
        assert field in _fields(response), (field, response.get_json())
    response = _send(client, "PATCH", url, gemeente, '{"capacity": ', if_match=etag)  # malformed JSON
    assert response.status_code == 400 and _fields(response) == {"body"}
    response = _send(client, "PATCH", url, gemeente, "capacity=vol", if_match=etag,
                     content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and response.mimetype == PROBLEM
    for body, field in [({"description": "zonder naam"}, "name"), ({**NEW, "version": 3}, "version"),
                        ({**NEW, "name": "Jobcoach team jongeren"}, "name")]:  # a name the organisation has
        response = _send(client, "POST", API, gemeente, body)
        assert response.status_code == 400 and field in _fields(response), (field, response.get_json())
    session.expire_all()
    assert client.get(url, headers=gemeente).headers["ETag"] == etag
    assert session.scalar(select(Service).where(Service.name == "Werkfit traject")) is None


def test_delete_closes_the_entry_with_if_match(client, session, region_map, gemeente):
    jobcoach = region_map["services"]["jobcoach"]
    url = f"{API}/{jobcoach.uuid}"
    assert client.get(f"/hsds/services/{jobcoach.uuid}").status_code == 200
    etag = client.get(url, headers=gemeente).headers["ETag"]
    response = client.delete(url, headers=gemeente)
    assert response.status_code == 428 and response.mimetype == PROBLEM
    assert client.delete(url, headers={**gemeente, "If-Match": 'W/"0"'}).status_code == 412
    response = client.delete(url, headers={**gemeente, "If-Match": etag})
    assert response.status_code == 204 and response.get_data() == b""
    service, history = _history(session, jobcoach.uuid)
    assert service.status is ServiceStatus.defunct
    assert any(c.field == "status" and (c.old_value, c.new_value) == ("active", "defunct")
               and c.actor_name == CLIENT_NAME for c in history)
    assert client.get(f"/hsds/services/{jobcoach.uuid}").status_code == 404  # gone from the public map
    body = client.get(url, headers=gemeente).get_json()  # still the organisation's, to reopen
    assert body["status"] == "defunct"


def test_other_organisations_entries_are_404(client, session, region_map, gemeente):
    mee = region_map["services"]["schuld"]
    url = f"{API}/{mee.uuid}"
    assert client.get(url, headers=gemeente).status_code == 404
    response = _send(client, "PATCH", url, gemeente, {"capacity": "vol"}, if_match='W/"1"')
    assert response.status_code == 404 and response.mimetype == PROBLEM
    assert client.delete(url, headers={**gemeente, "If-Match": 'W/"1"'}).status_code == 404
    assert client.get(f"{API}/00000000-0000-4000-8000-000000000000", headers=gemeente).status_code == 404
    session.expire_all()
    assert session.get(Service, mee.id).capacity is None and session.get(Service, mee.id).status is ServiceStatus.active


def test_without_socialmap_write_the_token_is_insufficient_scope(client, session, region_map):
    api_client, secret = make_api_client(region_map["organisations"]["gemeente"], ["students:read"], name="Ander")
    session.commit()
    headers = bearer(get_token(client, api_client, secret))
    for method, url in (("GET", API), ("POST", API), ("GET", f"{API}/{region_map['services']['jobcoach'].uuid}")):
        response = _send(client, method, url, headers, NEW if method == "POST" else None)
        assert response.status_code == 403 and response.get_json()["error"] == "insufficient_scope"
        assert 'scope="socialmap:write"' in response.headers["WWW-Authenticate"]
    assert client.get(API).status_code == 401
