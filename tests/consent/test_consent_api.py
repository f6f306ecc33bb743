"""The consents API with OAuth2 tokens: the school's client records a consent given in person
(the staff form's service: the current text version, the channel, the client as recorder, a
signed receipt) and a withdrawal told to the school; the school reads all of its students'
consents, a partner the consents given to it (withdrawn ones too); every read is audited with
the client as the actor; bad input, other organisations' ids and missing scopes get the right
problem+json."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from consent.models import Channel, Consent, ConsentReceipt, ConsentStatus, GivenBy
from consent.service import CONSENT_TEXT_VERSION, grant_consent
from network.audit import AuditEvent
from network.models import Role
from tests.consent.conftest import grant_data
from tests.factories import OrganisationFactory, StudentFactory, bearer, get_token, make_api_client

PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _tokens_unlimited(app, monkeypatch):
    """These tests get many tokens: the token endpoint's per-IP limit (30 a minute) is not what they test."""
    monkeypatch.setitem(app.config, "TOKEN_RATE_LIMIT", "10000 per minute")


def _headers(client, session, organisation, scopes, name="Leerlingvolgsysteem"):
    api_client, secret = make_api_client(organisation, list(scopes), name=name)
    session.commit()
    return bearer(get_token(client, api_client, secret))


def _school(client, session, world, scopes=("consents:read", "consents:write")):
    return _headers(client, session, world["school"], scopes)


def _post(client, url, body, headers, content_type="application/json"):
    data = json.dumps(body) if content_type == "application/json" and not isinstance(body, str) else body
    return client.post(url, data=data, content_type=content_type, headers=headers)


def _record_body(world, **overrides):
    body = {"recipient_id": world["gemeente"].id, "purpose_code": "jobcoaching",
            "categories": ["contactgegevens", "opleiding"]}
    body.update(overrides)
    return body


def _fields(response) -> set[str]:
    return {error["field"] for error in response.get_json().get("errors", [])}


def _count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def _events(session, event_type):
    session.expire_all()
    return session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)
                           .order_by(AuditEvent.id)).all()


def test_the_school_records_a_consent_given_in_person_and_the_partner_reads_it(client, session, world):
    school = _school(client, session, world)
    url = f"/api/v1/students/{world['student'].id}/consents"
    response = _post(client, url, _record_body(world, text_version=CONSENT_TEXT_VERSION), school)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"] == f"/api/v1/consents/{body['id']}"
    assert body["channel"] == "in_person" and body["status"] == "active" and body["given_by"] == "student"
    assert body["text_version"] == CONSENT_TEXT_VERSION and len(body["text_hash"]) == 64
    assert body["recorded_by"] == "API-client Leerlingvolgsysteem"
    assert [c["category"] for c in body["categories"]] == ["contactgegevens", "opleiding"]
    session.expire_all()
    consent = session.get(Consent, body["id"])
    assert consent.channel is Channel.in_person and consent.recorded_by_account_id is None
    assert consent.recorded_by_organisation_id == world["school"].id
    assert session.scalar(select(func.count()).select_from(ConsentReceipt)
                          .where(ConsentReceipt.consent_id == consent.id)) == 1
    (granted,) = _events(session, "consent:grant")
    assert granted.account_name == "API-client Leerlingvolgsysteem" and granted.channel == "api"
    (opened,) = _events(session, "consent:record-form")  # the student read before recording
    assert opened.account_name == "API-client Leerlingvolgsysteem" and opened.student_id == str(world["student"].id)

    # the school reads all of the student's consents (a decided and audited read of the student)
    listed = client.get(url, headers=school).get_json()["items"]
    assert [c["id"] for c in listed] == [body["id"]] and "representative_name" in listed[0]
    overview = _events(session, "consent:overview")
    assert overview and overview[-1].channel == "api" and overview[-1].basis == "legal_task:onderwijstaak"

    # the gemeente's system sees the consent given to it, audited per consent shown
    partner = _headers(client, session, world["gemeente"], ("consents:read",), name="Gemeentesysteem")
    items = client.get(url, headers=partner).get_json()["items"]
    assert [c["id"] for c in items] == [body["id"]] and "representative_name" not in items[0]
    assert client.get(f"/api/v1/consents/{body['id']}", headers=partner).get_json()["purpose"]["code"] == "jobcoaching"
    shown = _events(session, "consent:shared-list") + _events(session, "consent:shared-view")
    assert len(shown) == 2 and {e.account_name for e in shown} == {"API-client Gemeentesysteem"}
    assert {e.basis for e in shown} == {f"consent:{body['id']}"}


def test_an_under_16_needs_the_legal_representative(client, session, world):
    school = _school(client, session, world)
    url = f"/api/v1/students/{world['young'].id}/consents"
    response = _post(client, url, _record_body(world), school)
    assert response.status_code == 400 and "representative_name" in _fields(response)
    response = _post(client, url, _record_body(world, channel="paper", representative_name="Ouder Jansen",
                                               representative_relation="ouder"), school)
    assert response.status_code == 201, response.get_json()
    consent = session.get(Consent, response.get_json()["id"])
    assert consent.given_by is GivenBy.representative and consent.channel is Channel.paper
    assert response.get_json()["representative_name"] == "Ouder Jansen"


def test_bad_input_is_400_or_415_and_saves_nothing(client, session, world):
    school = _school(client, session, world)
    url = f"/api/v1/students/{world['student'].id}/consents"
    cases = [
        (_record_body(world, onbekend=1), "onbekend"),
        (_record_body(world, channel="portal"), "channel"),
        (_record_body(world, categories=["contactgegevens", "bsn"]), "categories"),  # not needed for jobcoaching
        (_record_body(world, categories=["geheim"]), "categories"),
        (_record_body(world, text_version="toestemming-2020-1"), "text_version"),
        ({k: v for k, v in _record_body(world).items() if k != "recipient_id"}, "recipient_id"),
        (_record_body(world, recipient_id=world["far_gemeente"].id), "recipient_id"),  # another region
        (_record_body(world, valid_from="gisteren"), "valid_from"),
        ([_record_body(world)], "body"),
    ]
    for body, field in cases:
        response = _post(client, url, body, school)
        assert response.status_code == 400 and response.mimetype == PROBLEM, (field, response.get_json())
        assert field in _fields(response), (field, response.get_json())
    response = _post(client, url, '{"recipient_id": 1,', school)  # malformed JSON
    assert response.status_code == 400 and _fields(response) == {"body"}
    response = _post(client, url, "recipient_id=1", school, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and response.mimetype == PROBLEM
    assert _count(session, Consent) == 0 and _events(session, "consent:grant") == []


def test_other_organisations_ids_are_404(client, session, world, actors, keyring):
    consent = grant_consent(session, actors["student_account"], keyring, world["student"], grant_data(world))
    session.commit()
    other_school = OrganisationFactory(region=world["region"], school=True)
    stranger = StudentFactory(school=other_school)
    school = _school(client, session, world)
    other = _headers(client, session, other_school, ("consents:read", "consents:write"), name="Andere school")
    rmc = _headers(client, session, world["rmc"], ("consents:read",), name="RMC-systeem")
    for headers in (other, rmc):
        for url in (f"/api/v1/students/{world['student'].id}/consents", f"/api/v1/consents/{consent.id}"):
            response = client.get(url, headers=headers)
            assert response.status_code == 404 and response.mimetype == PROBLEM, url
    response = _post(client, f"/api/v1/students/{world['student'].id}/consents", _record_body(world), other)
    assert response.status_code == 404
    response = _post(client, f"/api/v1/consents/{consent.id}/withdrawal", {}, other)
    assert response.status_code == 404
    for url in (f"/api/v1/students/{stranger.id}/consents", "/api/v1/consents/999999"):
        assert client.get(url, headers=school).status_code == 404
    assert _count(session, Consent) == 1 and session.get(Consent, consent.id).status is ConsentStatus.active


def test_missing_scopes_and_roles(client, session, world, actors, keyring):
    read_only = _headers(client, session, world["school"], ("consents:read",), name="Alleen lezen")
    response = _post(client, f"/api/v1/students/{world['student'].id}/consents", _record_body(world), read_only)
    assert response.status_code == 403 and response.get_json()["error"] == "insufficient_scope"
    assert 'scope="consents:write"' in response.headers["WWW-Authenticate"]
    students_only = _headers(client, session, world["gemeente"], ("students:read",), name="Alleen leerlingen")
    response = client.get(f"/api/v1/students/{world['student'].id}/consents", headers=students_only)
    assert response.status_code == 403 and response.get_json()["error"] == "insufficient_scope"
    # a partner records no consent, even with the scope: that is the student's school's
    partner = _headers(client, session, world["gemeente"], ("consents:read", "consents:write"), name="Gemeente")
    response = _post(client, f"/api/v1/students/{world['student'].id}/consents", _record_body(world), partner)
    assert response.status_code == 403 and "error" not in response.get_json()
    assert _count(session, Consent) == 0


def test_the_school_records_a_withdrawal_and_it_counts_from_the_next_request(client, session, world, actors,
                                                                               keyring):
    consent = grant_consent(session, actors["student_account"], keyring, world["student"], grant_data(world))
    session.commit()
    partner = _headers(client, session, world["gemeente"], ("consents:read", "students:read"), name="Gemeente")
    student_url = f"/api/v1/students/{world['student'].id}"
    assert client.get(student_url, headers=partner).status_code == 200
    assert [s["id"] for s in client.get("/api/v1/students", headers=partner).get_json()["items"]] == [
        str(world["student"].id)]
    school = _school(client, session, world)
    url = f"/api/v1/consents/{consent.id}/withdrawal"
    assert _post(client, url, "", school, content_type="text/plain").status_code == 415
    response = _post(client, url, {"reden": "wil niet meer"}, school)
    assert response.status_code == 400 and _fields(response) == {"reden"}
    response = _post(client, url, {}, school)
    assert response.status_code == 200 and response.get_json()["status"] == "withdrawn"
    assert response.get_json()["withdrawn_at"]
    response = _post(client, url, {}, school)
    assert response.status_code == 409 and response.mimetype == PROBLEM
    (withdrawn,) = _events(session, "consent:withdraw")
    assert withdrawn.account_name == "API-client Leerlingvolgsysteem" and withdrawn.channel == "api"
    # the partner: the consent says withdrawn; the student is gone from its list and its reads
    assert client.get(f"/api/v1/consents/{consent.id}", headers=partner).get_json()["status"] == "withdrawn"
    assert client.get("/api/v1/students", headers=partner).get_json()["items"] == []
    assert client.get(student_url, headers=partner).status_code == 404


def test_a_person_with_the_browser_session_uses_the_same_routes(client, session, world):
    from tests.factories import login, make_member

    login(client, make_member(Role.zorgcoordinator, world["school"]))
    url = f"/api/v1/students/{world['student'].id}/consents"
    response = client.post(url, data=json.dumps(_record_body(world)), content_type="application/json")
    assert response.status_code == 201
    assert session.get(Consent, response.get_json()["id"]).recorded_by_account_id is not None
    assert client.post(url, data={"recipient_id": "1"}).status_code == 415  # a form cannot post here


def test_an_unknown_field_is_named_in_dutch(client, session, world):
    school = _school(client, session, world)
    url = f"/api/v1/students/{world['student'].id}/consents"
    response = _post(client, url, {**_record_body(world, text_version=CONSENT_TEXT_VERSION), "bsn_nummer": "1"},
                     school)
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert {"field": "bsn_nummer", "message": "Onbekend veld."} in response.get_json()["errors"]
