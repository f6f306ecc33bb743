"""The referral API for partner systems (OAuth client credentials): a school's system makes and
sends a referral, the gemeente's system finds it in its inbox and works it to the end with the
same services (and rules) as a person, recorded under the client's name; the walls, scopes,
If-Match and bad input as for people; every packet read decided and audited with the client as
the actor."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from consent.service import withdraw_consent
from network import clock
from network.audit import AuditEvent
from network.db import db
from network.notifications import Notification
from referrals.models import Referral, ReferralEvent
from referrals.states import ReferralStatus as S
from tests.factories import bearer, get_token, login, make_api_client
from tests.referrals.conftest import draft_data

API = "/api/v1/referrals"
PROBLEM = "application/problem+json"
RW = ["referrals:read", "referrals:write"]


@pytest.fixture
def systems(app, client, session, rworld, monkeypatch):
    """Tokens of the school's system, the gemeente's (read-write and read-only) and a gemeente
    in another region. (The token endpoint's per-address limit would count every test's tokens.)"""
    monkeypatch.setitem(app.config, "TOKEN_RATE_LIMIT", "10000 per minute")
    made = {"school": make_api_client(rworld["school"], RW, name="Leerlingvolgsysteem"),
            "gemeente": make_api_client(rworld["gemeente"], RW, name="Zaaksysteem"),
            "reader": make_api_client(rworld["gemeente"], ["referrals:read"], name="Dashboard"),
            "school_reader": make_api_client(rworld["school"], ["referrals:read"], name="Rapportage"),
            "far": make_api_client(rworld["far_gemeente"], RW, name="Zaaksysteem Elders")}
    session.commit()
    return {name: bearer(get_token(client, api_client, secret)) for name, (api_client, secret) in made.items()}


def body_of(rworld, **overrides):
    data = draft_data(rworld, student_id=str(rworld["student"].id))
    data.update(overrides)
    return data


def post(client, url, body, headers, *, if_match=None, raw=None, content_type="application/json"):
    headers = {**headers, **({"If-Match": if_match} if if_match is not None else {})}
    return client.post(url, data=raw if raw is not None else json.dumps(body), headers=headers,
                       content_type=content_type)


def create(client, rworld, systems, **overrides):
    response = post(client, API, body_of(rworld, **overrides), systems["school"])
    assert response.status_code == 201, response.get_json()
    return response


def etag(client, referral_id, headers) -> str:
    response = client.get(f"{API}/{referral_id}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.headers["ETag"]


def test_school_system_to_gemeente_system_from_referral_to_outcome(client, session, rworld, systems):
    response = create(client, rworld, systems)
    body = response.get_json()
    referral_id = body["id"]
    assert response.headers["Location"].endswith(f"{API}/{referral_id}")
    assert response.headers["ETag"] == f'W/"{body["version"]}"'
    assert body["status"] == "requested" and body["from_name"] == "API-client Leerlingvolgsysteem"
    assert body["to_organisation"]["id"] == rworld["gemeente"].id and body["response_due"]
    assert body["packet"]["state"] == "open"
    referral = db.session.get(Referral, referral_id)
    assert referral.from_account_id is None and referral.from_organisation_id == rworld["school"].id
    # the gemeente's system sees it in its inbox, with the name (it has consent for contact data)
    inbox = client.get(API, headers=systems["gemeente"]).get_json()
    assert [(i["id"], i["student_name"]) for i in inbox["items"]] == [(referral_id, "Sanne Jobzoeker")]
    detail = client.get(f"{API}/{referral_id}", headers=systems["gemeente"])
    packet = detail.get_json()["packet"]
    assert packet["content"]["contactgegevens"]["name"] == "Sanne Jobzoeker"
    assert packet["content"]["ondersteuningsbehoefte"]["background"]["barriers"] == "Autisme (ASS)"
    # accept
    response = post(client, f"{API}/{referral_id}/transitions", {"status": "accepted"}, systems["gemeente"],
                    if_match=detail.headers["ETag"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "accepted" and response.get_json()["owner"] is None
    # the school's system records the warm hand-over; the gemeente's confirms it: the work starts
    held_on = clock.today().isoformat()
    response = post(client, f"{API}/{referral_id}/handover", {"held_on": held_on, "present": "Sanne, mentor, jobcoach"},
                    systems["school"], if_match=etag(client, referral_id, systems["school"]))
    assert response.status_code == 200, response.get_json()
    handover = response.get_json()["handover"]
    assert handover["recorded_by"] == "API-client Leerlingvolgsysteem" and handover["confirmed_at"] is None
    assert response.get_json()["status"] == "accepted"
    response = post(client, f"{API}/{referral_id}/handover/confirmation", {}, systems["gemeente"],
                    if_match=etag(client, referral_id, systems["gemeente"]))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "in-progress"
    assert response.get_json()["handover"]["confirmed_by"] == "API-client Zaaksysteem"
    # an update for the school and an internal note the school never sees
    for text, internal in (("Eerste gesprek gehad", False), ("Let op: liever 's ochtends bellen", True)):
        response = post(client, f"{API}/{referral_id}/updates", {"text": text, "internal": internal},
                         systems["gemeente"])
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["internal"] is internal and response.get_json()["body"] == text
    school_view = client.get(f"{API}/{referral_id}", headers=systems["school"]).get_json()
    bodies = [e["body"] for e in school_view["events"] if e["body"]]
    assert bodies == ["Eerste gesprek gehad"]
    # completed with an outcome
    response = post(client, f"{API}/{referral_id}/transitions", {"status": "completed", "outcome": "werk"},
                    systems["gemeente"], if_match=etag(client, referral_id, systems["gemeente"]))
    assert response.status_code == 200, response.get_json()
    final = response.get_json()
    assert final["status"] == "completed" and final["outcome"] == "werk" and final["allowed_transitions"] == [
        "entered-in-error"]
    actors = {(e["kind"], e.get("to_status"), e["actor_name"]) for e in final["events"]}
    assert ("transition", "requested", "API-client Leerlingvolgsysteem") in actors
    assert ("transition", "accepted", "API-client Zaaksysteem") in actors
    assert ("transition", "completed", "API-client Zaaksysteem") in actors
    assert session.scalar(select(func.count()).select_from(ReferralEvent).where(
        ReferralEvent.referral_id == referral_id, ReferralEvent.actor_account_id.is_not(None))) == 0


def test_packet_reads_are_audited_with_the_client_as_actor(client, session, rworld, systems):
    referral_id = create(client, rworld, systems).get_json()["id"]
    client.get(f"{API}/{referral_id}", headers=systems["gemeente"])
    reads = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "referral:packet",
                                                     AuditEvent.organisation_id == rworld["gemeente"].id)).all()
    assert reads and {(e.account_name, e.account_id, e.channel, e.role) for e in reads} == {
        ("API-client Zaaksysteem", None, "api", "partner_staff")}
    assert {str(e.student_id) for e in reads} == {str(rworld["student"].id)}
    assert any("consent:" in (e.basis or "") for e in reads)
    sent = session.scalar(select(AuditEvent).where(AuditEvent.event_type == "referral:send"))
    assert sent.account_name == "API-client Leerlingvolgsysteem" and sent.channel == "api"


def test_a_withdrawn_consent_shows_on_the_next_api_read(client, session, keyring, rworld, ractors, systems):
    referral_id = create(client, rworld, systems).get_json()["id"]
    before = client.get(f"{API}/{referral_id}", headers=systems["gemeente"]).get_json()
    assert "ondersteuningsbehoefte" in before["packet"]["visible_categories"]
    withdraw_consent(session, ractors["student_account"], keyring, rworld["consent"])
    session.commit()
    after = client.get(f"{API}/{referral_id}", headers=systems["gemeente"]).get_json()
    assert after["packet"]["state"] == "withdrawn" and after["packet"]["content"] is None
    assert after["packet"]["visible_categories"] == [] and after["student_name"] is None
    listed = client.get(API, headers=systems["gemeente"]).get_json()
    assert "Jobzoeker" not in json.dumps(after) + json.dumps(listed)


def test_other_organisations_ids_are_404(client, rworld, systems):
    referral_id = create(client, rworld, systems).get_json()["id"]
    tag = etag(client, referral_id, systems["gemeente"])
    for url, body in ((f"{API}/{referral_id}/transitions", {"status": "accepted"}),
                      (f"{API}/{referral_id}/updates", {"text": "Hallo"}),
                      (f"{API}/{referral_id}/handover", {"held_on": clock.today().isoformat(), "present": "x"}),
                      (f"{API}/{referral_id}/handover/confirmation", {}),
                      (f"{API}/{referral_id}/owner", {"owner_account_id": rworld["far_coach"].id})):
        response = post(client, url, body, systems["far"], if_match=tag)
        assert response.status_code == 404 and response.mimetype == PROBLEM, url
    assert client.get(f"{API}/{referral_id}", headers=systems["far"]).status_code == 404
    assert client.get(f"{API}/{2**40}", headers=systems["gemeente"]).status_code == 404  # beyond an integer column
    response = post(client, API, body_of(rworld, service_id=2**40), systems["school"])
    assert response.status_code == 400 and response.get_json()["errors"][0]["field"] == "service_id"
    assert client.get(API, headers=systems["far"]).get_json()["items"] == []
    # a student of another school: 404, nothing made
    response = post(client, API, body_of(rworld, student_id=str(_far_student(rworld))),
                    systems["school"])
    assert response.status_code == 404 and response.mimetype == PROBLEM
    assert db.session.scalar(select(func.count()).select_from(Referral)) == 1


def _far_student(rworld):
    from tests.factories import StudentFactory

    far = StudentFactory(school=rworld["far_school"])
    db.session.commit()
    return far.id


def test_scopes_and_sides(client, rworld, systems):
    referral_id = create(client, rworld, systems).get_json()["id"]
    tag = etag(client, referral_id, systems["gemeente"])
    # a read-only token reads but cannot change anything
    assert client.get(f"{API}/{referral_id}", headers=systems["reader"]).status_code == 200
    for url, body in ((f"{API}/{referral_id}/transitions", {"status": "accepted"}),
                      (f"{API}/{referral_id}/updates", {"text": "Hallo"}),
                      (f"{API}/{referral_id}/owner", {"owner_account_id": rworld["jobcoach"].id})):
        response = post(client, url, body, systems["reader"], if_match=tag)
        assert response.status_code == 403 and response.mimetype == PROBLEM, url
        assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
        assert "referrals:write" in response.headers["WWW-Authenticate"]
    response = post(client, API, body_of(rworld), systems["school_reader"])
    assert response.status_code == 403 and 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    # a partner's system never refers (its role cannot): 403 without a scope to ask for
    response = post(client, API, body_of(rworld), systems["gemeente"])
    assert response.status_code == 403 and "WWW-Authenticate" not in response.headers
    # the school cannot accept its own referral (409 with what it may do), nor confirm a
    # hand-over (403), nor assign the receiver's staff (404: the receiver's inbox is not its own)
    school_tag = etag(client, referral_id, systems["school"])
    response = post(client, f"{API}/{referral_id}/transitions", {"status": "accepted"}, systems["school"],
                    if_match=school_tag)
    assert response.status_code == 409 and response.get_json()["allowed"] == ["cancelled", "entered-in-error"]
    response = post(client, f"{API}/{referral_id}/handover/confirmation", {}, systems["school"], if_match=school_tag)
    assert response.status_code == 403 and response.mimetype == PROBLEM
    response = post(client, f"{API}/{referral_id}/owner", {"owner_account_id": rworld["jobcoach"].id},
                    systems["school"], if_match=school_tag)
    assert response.status_code == 404
    assert db.session.get(Referral, referral_id).status is S.requested


def test_if_match_and_illegal_transitions(client, rworld, systems):
    referral_id = create(client, rworld, systems).get_json()["id"]
    url = f"{API}/{referral_id}/transitions"
    response = post(client, url, {"status": "accepted"}, systems["gemeente"])
    assert response.status_code == 428 and response.mimetype == PROBLEM
    tag = etag(client, referral_id, systems["gemeente"])
    response = post(client, url, {"status": "completed", "outcome": "werk"}, systems["gemeente"], if_match=tag)
    assert response.status_code == 409
    assert response.get_json()["allowed"] == ["accepted", "rejected", "cancelled", "entered-in-error"]
    assert post(client, url, {"status": "accepted"}, systems["gemeente"], if_match=tag).status_code == 200
    # the old ETag is stale for every change of the row
    for path, body in (("transitions", {"status": "on-hold", "reason": "Ziek"}),
                       ("handover", {"held_on": clock.today().isoformat(), "present": "Sanne"}),
                       ("handover/confirmation", {}), ("owner", {"owner_account_id": rworld["jobcoach"].id})):
        response = post(client, f"{API}/{referral_id}/{path}", body, systems["gemeente"], if_match=tag)
        assert response.status_code == 412 and response.mimetype == PROBLEM, path
        response = post(client, f"{API}/{referral_id}/{path}", body, systems["gemeente"])
        assert response.status_code == 428, path
    # starting the work needs the confirmed hand-over
    tag = etag(client, referral_id, systems["gemeente"])
    response = post(client, url, {"status": "in-progress"}, systems["gemeente"], if_match=tag)
    assert response.status_code == 409 and "in-progress" not in response.get_json()["allowed"]
    assert db.session.get(Referral, referral_id).status is S.accepted


def test_the_receiver_records_the_handover_and_assigns_a_colleague(client, session, rworld, systems):
    referral_id = create(client, rworld, systems).get_json()["id"]
    tag = etag(client, referral_id, systems["gemeente"])
    # before acceptance there is no hand-over: 409
    response = post(client, f"{API}/{referral_id}/handover", {"held_on": clock.today().isoformat(), "present": "Sanne"},
                    systems["gemeente"], if_match=tag)
    assert response.status_code == 409
    response = post(client, f"{API}/{referral_id}/owner", {"owner_account_id": rworld["far_coach"].id},
                    systems["gemeente"], if_match=tag)
    assert response.status_code == 400 and response.get_json()["errors"][0]["field"] == "owner_account_id"
    response = post(client, f"{API}/{referral_id}/owner", {"owner_account_id": rworld["jobcoach2"].id},
                    systems["gemeente"], if_match=tag)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["owner"] == {"id": rworld["jobcoach2"].id, "name": "Jobcoach Visser"}
    assigned = [e for e in response.get_json()["events"] if e["kind"] == "assigned"]
    assert assigned[0]["internal"] and assigned[0]["actor_name"] == "API-client Zaaksysteem"
    assert session.scalar(select(func.count()).select_from(Notification).where(
        Notification.account_id == rworld["jobcoach2"].id, Notification.kind == "referral:assigned")) == 1
    school_view = client.get(f"{API}/{referral_id}", headers=systems["school"]).get_json()
    assert not [e for e in school_view["events"] if e["kind"] == "assigned"]
    tag = post(client, f"{API}/{referral_id}/transitions", {"status": "accepted"}, systems["gemeente"],
               if_match=response.headers["ETag"]).headers["ETag"]
    response = post(client, f"{API}/{referral_id}/handover", {"held_on": clock.today().isoformat(), "present": "Sanne"},
                    systems["gemeente"], if_match=tag)
    assert response.status_code == 200 and response.get_json()["status"] == "in-progress"
    assert response.get_json()["owner"]["id"] == rworld["jobcoach2"].id  # the assignment stays


def test_an_update_leaves_the_etag_alone(client, rworld, systems):
    referral_id = create(client, rworld, systems).get_json()["id"]
    tag = etag(client, referral_id, systems["school"])
    response = post(client, f"{API}/{referral_id}/updates", {"text": "Sanne is vanaf maandag ziek."},
                    systems["school"])
    assert response.status_code == 201 and response.get_json()["actor_name"] == "API-client Leerlingvolgsysteem"
    assert etag(client, referral_id, systems["school"]) == tag
    seen = client.get(f"{API}/{referral_id}", headers=systems["gemeente"]).get_json()
    assert "Sanne is vanaf maandag ziek." in [e["body"] for e in seen["events"]]


@pytest.mark.parametrize("change, field", [
    ({"bogus": 1}, "bogus"),
    ({"details": {"reason": "x", "hobby": "voetbal"}}, "details.hobby"),
    ({"details": {"life_domains": {"sterrenkunde": {"problem": True}}}}, "details.life_domains.sterrenkunde"),
    ({"details": {"care_workers": [{"function": "coach"}]}}, "details.care_workers.0.name"),
    ({"student_id": "geen-uuid"}, "student_id"),
    ({"service_id": None}, "service_id"),
    ({"categories": ["schoenmaat"]}, "categories.0"),
    ({"purpose": "vakantie"}, "purpose"),
    ({"details": {"reason": ""}}, "reason"),
    ({"service_id": 999999}, "service_id"),
    ({"send": False, "response_due": "2099-01-01"}, "response_due"),
])
def test_create_refuses_bad_input_and_makes_nothing(client, rworld, systems, change, field):
    response = post(client, API, body_of(rworld, **change), systems["school"])
    assert response.status_code == 400 and response.mimetype == PROBLEM, response.get_json()
    assert field in {e["field"] for e in response.get_json()["errors"]}, response.get_json()
    assert db.session.scalar(select(func.count()).select_from(Referral)) == 0


def test_create_needs_a_basis_for_every_category(client, rworld, systems):
    response = post(client, API, body_of(rworld, student_id=str(rworld["other_student"].id)), systems["school"])
    assert response.status_code == 400
    assert [e["field"] for e in response.get_json()["errors"]] == ["categories"]
    assert db.session.scalar(select(func.count()).select_from(Referral)) == 0


def test_malformed_and_non_json_bodies(client, rworld, systems):
    referral_id = create(client, rworld, systems).get_json()["id"]
    tag = etag(client, referral_id, systems["gemeente"])
    for url in (API, f"{API}/{referral_id}/transitions", f"{API}/{referral_id}/updates"):
        headers = systems["school"] if url == API else systems["gemeente"]
        response = post(client, url, None, headers, if_match=tag, raw='{"status": "accepted",')
        assert response.status_code == 400 and response.mimetype == PROBLEM, url
        response = post(client, url, None, headers, if_match=tag, raw="status=accepted",
                        content_type="application/x-www-form-urlencoded")
        assert response.status_code == 415 and response.mimetype == PROBLEM, url
    response = post(client, f"{API}/{referral_id}/updates", {"text": "x", "visibility": "all"}, systems["gemeente"])
    assert response.status_code == 400 and response.get_json()["errors"][0]["field"] == "visibility"
    response = post(client, f"{API}/{referral_id}/handover/confirmation", {"ok": True}, systems["gemeente"],
                    if_match=tag)
    assert response.status_code == 400
    assert db.session.get(Referral, referral_id).status is S.requested


def test_a_draft_stays_a_draft_and_is_not_in_the_inbox(client, rworld, systems):
    response = post(client, API, body_of(rworld, send=False, categories=[], details={}), systems["school"])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "draft" and body["sent_at"] is None and body["packet"]["state"] == "none"
    assert body["allowed_transitions"] == ["requested", "cancelled", "entered-in-error"]
    assert client.get(API, headers=systems["gemeente"]).get_json()["items"] == []
    assert client.get(f"{API}/{body['id']}", headers=systems["gemeente"]).status_code == 404
    assert [i["id"] for i in client.get(API, headers=systems["school"]).get_json()["items"]] == [body["id"]]
    # sending checks what the wizard checks: the reason and the categories are missing
    url = f"{API}/{body['id']}/transitions"
    response = post(client, url, {"status": "requested"}, systems["school"], if_match=response.headers["ETag"])
    assert response.status_code == 400
    assert {e["field"] for e in response.get_json()["errors"]} == {"reason", "categories"}
    assert db.session.get(Referral, body["id"]).status is S.draft


def test_a_draft_is_sent_with_the_transition_to_requested(client, rworld, systems):
    response = post(client, API, body_of(rworld, send=False), systems["school"])
    assert response.status_code == 201 and response.get_json()["status"] == "draft"
    referral_id = response.get_json()["id"]
    url = f"{API}/{referral_id}/transitions"
    assert post(client, url, {"status": "requested"}, systems["school"]).status_code == 428
    response = post(client, url, {"status": "requested"}, systems["school"], if_match=response.headers["ETag"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "requested" and response.get_json()["packet"]["state"] == "open"
    assert [i["id"] for i in client.get(API, headers=systems["gemeente"]).get_json()["items"]] == [referral_id]


def test_people_use_the_new_operations_with_their_session(client, rworld, systems):
    """The browser session works as before: a mentor makes a referral, the jobcoach records
    the hand-over, both recorded under their own names."""
    login(client, rworld["mentor"])
    response = post(client, API, body_of(rworld), {})
    assert response.status_code == 201 and response.get_json()["from_name"] == "Mentor Jansen"
    referral_id = response.get_json()["id"]
    assert db.session.get(Referral, referral_id).from_account_id == rworld["mentor"].id
    login(client, rworld["jobcoach"])
    tag = post(client, f"{API}/{referral_id}/transitions", {"status": "accepted"}, {},
               if_match=etag(client, referral_id, {})).headers["ETag"]
    response = post(client, f"{API}/{referral_id}/handover", {"held_on": clock.today().isoformat(), "present": "Sanne"},
                    {}, if_match=tag)
    assert response.status_code == 200 and response.get_json()["status"] == "in-progress"
    assert response.get_json()["owner"]["name"] == "Jobcoach Bakker"  # a person who starts the work owns it


def test_openapi_documents_the_new_operations(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    create_op = paths["/api/v1/referrals"]["post"]
    assert {"201", "400", "415"} <= set(create_op["responses"])
    assert "application/json" in create_op["requestBody"]["content"]
    for path in ("handover", "handover/confirmation", "owner", "transitions"):
        operation = paths[f"/api/v1/referrals/{{referral_id}}/{path}"]["post"]
        assert {"409", "412", "428"} <= set(operation["responses"]), path
        assert any(p["name"] == "If-Match" for p in operation["parameters"]), path
    updates = paths["/api/v1/referrals/{referral_id}/updates"]["post"]
    assert "201" in updates["responses"] and "428" not in updates["responses"]
