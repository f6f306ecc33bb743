"""The referral API: session-authenticated JSON with problem+json errors (401, 404, 409 with
``allowed``, 412, 415, 428, 400), ETag/If-Match, cursor pagination, and no student data beyond
what the access decision allows."""

from __future__ import annotations

import json

from consent.service import withdraw_consent
from network.db import db
from referrals import wizard_service as ws
from referrals.models import Referral
from referrals.states import ReferralStatus as S
from tests.factories import login
from tests.referrals.conftest import draft_data

API = "/api/v1/referrals"
PROBLEM = "application/problem+json"


def sent(session, keyring, rworld, ractors, student=None) -> Referral:
    referral = ws.save_draft(session, ractors["mentor"], keyring, student or rworld["student"], draft_data(rworld))
    ws.send_referral(session, ractors["mentor"], keyring, referral)
    session.commit()
    return referral


def post_transition(client, referral_id, body, *, if_match=None, content_type="application/json"):
    headers = {"If-Match": if_match} if if_match is not None else {}
    data = json.dumps(body) if content_type == "application/json" else body
    return client.post(f"{API}/{referral_id}/transitions", data=data, headers=headers, content_type=content_type)


def test_anonymous_is_401_problem_json(client, session, keyring, rworld, ractors):
    referral = sent(session, keyring, rworld, ractors)
    for response in (client.get(API), client.get(f"{API}/{referral.id}"),
                     post_transition(client, referral.id, {"status": "accepted"}, if_match='W/"1"')):
        assert response.status_code == 401 and response.mimetype == PROBLEM
        assert response.get_json()["status"] == 401


def test_roles_without_referrals_get_403(client, session, rworld):
    login(client, rworld["coordinator"])
    response = client.get(API)
    assert response.status_code == 403 and response.mimetype == PROBLEM


def test_detail_has_etag_and_packet_and_other_tenants_get_404(client, session, keyring, rworld, ractors):
    referral = sent(session, keyring, rworld, ractors)
    login(client, rworld["jobcoach"])
    response = client.get(f"{API}/{referral.id}")
    assert response.status_code == 200
    body = response.get_json()
    assert response.headers["ETag"] == f'W/"{body["version"]}"'
    assert body["student_name"] == "Sanne Jobzoeker" and body["packet"]["state"] == "open"
    assert body["packet"]["content"]["contactgegevens"]["name"] == "Sanne Jobzoeker"
    assert body["allowed_transitions"] == ["accepted", "rejected", "cancelled", "entered-in-error"]
    assert response.headers["API-Version"]
    for other in ("far_coach", "rmc_staff"):
        login(client, rworld[other])
        response = client.get(f"{API}/{referral.id}")
        assert response.status_code == 404 and response.mimetype == PROBLEM
        assert post_transition(client, referral.id, {"status": "accepted"},
                               if_match=f'W/"{body["version"]}"').status_code == 404
    login(client, rworld["jobcoach"])
    assert client.get(f"{API}/999999").status_code == 404


def test_transition_with_if_match(client, session, keyring, rworld, ractors):
    referral = sent(session, keyring, rworld, ractors)
    login(client, rworld["jobcoach"])
    etag = client.get(f"{API}/{referral.id}").headers["ETag"]
    response = post_transition(client, referral.id, {"status": "accepted"}, if_match=etag)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "accepted" and response.headers["ETag"] != etag
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).status is S.accepted
    # the old ETag no longer matches: 412, nothing changed
    response = post_transition(client, referral.id, {"status": "on-hold", "reason": "Ziek"}, if_match=etag)
    assert response.status_code == 412 and response.mimetype == PROBLEM
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).status is S.accepted


def test_detail_takes_the_same_few_statements_however_long_the_timeline(client, session, keyring, rworld, ractors):
    """The referral, its packet, service and both organisations come in one query
    (get_referral's eager load); the timeline in one more, whatever its length. The student is
    loaded on its own, after the access decision."""
    from sqlalchemy import event

    def statements(referral_id) -> list[str]:
        seen: list[str] = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get(f"{API}/{referral_id}").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return seen

    short, long = sent(session, keyring, rworld, ractors), sent(session, keyring, rworld, ractors)
    login(client, rworld["jobcoach"])
    etag = client.get(f"{API}/{long.id}").headers["ETag"]
    for body in ({"status": "accepted"}, {"status": "on-hold", "reason": "Ziek"}, {"status": "in-progress"}):
        response = post_transition(client, long.id, body, if_match=etag)
        assert response.status_code == 200, response.get_json()
        etag = response.headers["ETag"]
    assert len(client.get(f"{API}/{long.id}").get_json()["events"]) > len(
        client.get(f"{API}/{short.id}").get_json()["events"])
    counted = statements(short.id)
    assert len(statements(long.id)) == len(counted) <= 10, counted
    flat = [" ".join(s.split()) for s in counted]
    first_tables = [s.split(" FROM ", 1)[1].split()[0] for s in flat if s.startswith("SELECT") and " FROM " in s]
    assert not {"referral_packet", "socialmap_service"} & set(first_tables), f"a lazy load: {first_tables}"


def test_missing_if_match_is_428(client, session, keyring, rworld, ractors):
    referral = sent(session, keyring, rworld, ractors)
    login(client, rworld["jobcoach"])
    response = post_transition(client, referral.id, {"status": "accepted"})
    assert response.status_code == 428 and response.mimetype == PROBLEM


def test_illegal_transition_is_409_with_allowed(client, session, keyring, rworld, ractors):
    referral = sent(session, keyring, rworld, ractors)
    login(client, rworld["jobcoach"])
    etag = client.get(f"{API}/{referral.id}").headers["ETag"]
    response = post_transition(client, referral.id, {"status": "completed", "outcome": "werk"}, if_match=etag)
    assert response.status_code == 409 and response.mimetype == PROBLEM
    assert response.get_json()["allowed"] == ["accepted", "rejected", "cancelled", "entered-in-error"]
    response = post_transition(client, referral.id, {"status": "rejected", "reason": "Vol"}, if_match=etag)
    assert response.status_code == 200
    etag = response.headers["ETag"]
    response = post_transition(client, referral.id, {"status": "accepted"}, if_match=etag)
    assert response.status_code == 409 and response.get_json()["allowed"] == ["entered-in-error"]  # closed


def test_invalid_body_is_400_with_errors(client, session, keyring, rworld, ractors):
    referral = sent(session, keyring, rworld, ractors)
    login(client, rworld["jobcoach"])
    etag = client.get(f"{API}/{referral.id}").headers["ETag"]
    for body, field in (({"status": "rejected"}, "reason"), ({"status": "bogus"}, "status"), ({}, "status"),
                        ({"status": "accepted", "extra": 1}, "extra"), ([1, 2], "body")):
        response = post_transition(client, referral.id, body, if_match=etag)
        assert response.status_code == 400 and response.mimetype == PROBLEM, body
        assert field in {e["field"] for e in response.get_json()["errors"]}, response.get_json()
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).status is S.requested


def test_nul_characters_are_400_on_the_field_and_change_nothing(client, session, keyring, rworld, ractors):
    """PostgreSQL cannot hold U+0000 in text: the answer is 400 naming the field, never a 500,
    and the referral is untouched (the version too)."""
    referral = sent(session, keyring, rworld, ractors)
    login(client, rworld["jobcoach"])
    etag = client.get(f"{API}/{referral.id}").headers["ETag"]
    for body, field in (({"status": "rejected", "reason": "Vol\u0000"}, "reason"),
                        ({"status": "accepted", "note": ["a", "b\u0000"]}, "note.1"),
                        ({"status": "accepted", "x\u0000": 1}, "body")):
        response = post_transition(client, referral.id, body, if_match=etag)
        assert response.status_code == 400 and response.mimetype == PROBLEM, (body, response.get_json())
        assert field in {e["field"] for e in response.get_json()["errors"]}, response.get_json()
        assert "NUL" in response.get_json()["errors"][0]["message"]
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).status is S.requested
    assert client.get(f"{API}/{referral.id}").headers["ETag"] == etag


def test_form_posts_are_refused_with_415(client, session, keyring, rworld, ractors):
    referral = sent(session, keyring, rworld, ractors)
    login(client, rworld["jobcoach"])
    etag = client.get(f"{API}/{referral.id}").headers["ETag"]
    response = post_transition(client, referral.id, {"status": "accepted"}, if_match=etag,
                               content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and response.mimetype == PROBLEM
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).status is S.requested


def test_list_pagination_and_names_only_with_a_basis(client, session, keyring, rworld, ractors):
    made = [sent(session, keyring, rworld, ractors).id for _n in range(5)]
    login(client, rworld["jobcoach"])
    seen, cursor, pages = [], None, 0
    while True:
        response = client.get(API, query_string={"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200
        body = response.get_json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        assert all(item["student_name"] == "Sanne Jobzoeker" for item in body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert pages == 3 and seen == sorted(made, reverse=True)
    withdraw_consent(session, ractors["student_account"], keyring, rworld["consent"])
    session.commit()
    body = client.get(API).get_json()
    assert {item["student_name"] for item in body["items"]} == {None}
    assert "Jobzoeker" not in json.dumps(body)
    detail = client.get(f"{API}/{made[0]}").get_json()
    assert detail["packet"]["state"] == "withdrawn" and detail["packet"]["content"] is None
    assert "Jobzoeker" not in json.dumps(detail)


def test_school_sees_its_sent_list(client, session, keyring, rworld, ractors):
    referral = sent(session, keyring, rworld, ractors)
    login(client, rworld["mentor"])
    body = client.get(API).get_json()
    assert [item["id"] for item in body["items"]] == [referral.id]
    assert body["items"][0]["allowed_transitions"] == ["cancelled", "entered-in-error"]


def test_bad_list_arguments_are_400(client, session, rworld):
    login(client, rworld["jobcoach"])
    for query in ({"limit": 0}, {"limit": "x"}, {"limit": 101}, {"cursor": "bm9uc2Vuc2U"}, {"status": "x"}):
        response = client.get(API, query_string=query)
        assert response.status_code == 400 and response.mimetype == PROBLEM, query


def test_openapi_documents_the_operations(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    assert "get" in paths["/api/v1/referrals"] and "get" in paths["/api/v1/referrals/{referral_id}"]
    operation = paths["/api/v1/referrals/{referral_id}/transitions"]["post"]
    assert "409" in operation["responses"] and "428" in operation["responses"]
    assert any(p["name"] == "If-Match" for p in operation["parameters"])
    assert "application/json" in operation["requestBody"]["content"]
