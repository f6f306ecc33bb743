"""The route API for partner systems: a school's system reads and keeps its students' routes
(page pagination at a fixed statement count, ETag/If-Match), records the exit, and the school
and the region's RMC read and record the follow-up check-ins, as on the HTML pages: the same
services and walls, every student read decided and audited with the client as the actor."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from network import clock
from network.audit import AuditEvent
from network.db import db
from network.notifications import Notification
from referrals.checkins import record_exit
from referrals.models import CheckIn, Route, RoutePhase, RouteStatus, Situation
from referrals.route_service import add_months, open_route
from tests.factories import StudentFactory, bearer, get_token, login, make_api_client
from tests.referrals._world import route_actors, route_world  # noqa: F401  (fixtures)
from tests.referrals.test_inbox_queries import count_statements

API = "/api/v1/routes"
PROBLEM = "application/problem+json"
RW = ["referrals:read", "referrals:write"]


@pytest.fixture
def systems(app, client, session, route_world, monkeypatch):
    monkeypatch.setitem(app.config, "TOKEN_RATE_LIMIT", "10000 per minute")
    made = {"school": make_api_client(route_world["school"], RW, name="Leerlingvolgsysteem"),
            "school_reader": make_api_client(route_world["school"], ["referrals:read"], name="Rapportage"),
            "other_school": make_api_client(route_world["other_school"], RW, name="Ander LVS"),
            "rmc": make_api_client(route_world["rmc"], RW, name="RMC-systeem"),
            "far_rmc": make_api_client(route_world["far_rmc"], RW, name="RMC Elders"),
            "gemeente": make_api_client(route_world["gemeente"], RW, name="Zaaksysteem")}
    session.commit()
    return {name: bearer(get_token(client, api_client, secret)) for name, (api_client, secret) in made.items()}


@pytest.fixture
def route(session, route_world, route_actors):
    made = open_route(session, route_actors["mentor"], route_world["student"], {})
    session.commit()
    return made


@pytest.fixture
def exited(session, route_actors, route):
    exit_date = add_months(clock.today(), -4)
    route.start_date = add_months(exit_date, -12)
    record_exit(session, route_actors["mentor"], route, exit_date)
    session.commit()
    return route


def send(client, method, url, body, headers, *, if_match=None, raw=None, content_type="application/json"):
    headers = {**headers, **({"If-Match": if_match} if if_match is not None else {})}
    return client.open(url, method=method, data=raw if raw is not None else json.dumps(body), headers=headers,
                       content_type=content_type)


def test_the_school_system_reads_its_routes_decided_and_audited(client, session, route, systems):
    body = client.get(API, headers=systems["school"]).get_json()
    assert body["total"] == 1 and body["pages"] == 1
    item = body["items"][0]
    assert item["id"] == route.id and item["student"]["name"] == "Sanne Visser" and item["phase"] == "aanmelding"
    response = client.get(f"{API}/{route.id}", headers=systems["school"])
    assert response.status_code == 200 and response.headers["ETag"] == f'W/"{route.version}"'
    detail = response.get_json()
    assert [p["phase"] for p in detail["phases"]] == [p.value for p in RoutePhase]
    assert detail["education"]["level"] == "mbo2" and detail["check_ins"] == []
    assert response.headers["Cache-Control"] == "no-store"
    views = session.scalars(select(AuditEvent).where(AuditEvent.event_type.in_(["route:list", "route:view"]))).all()
    assert {(e.event_type, e.account_name, e.account_id, e.channel) for e in views} == {
        ("route:list", "API-client Leerlingvolgsysteem", None, "api"),
        ("route:view", "API-client Leerlingvolgsysteem", None, "api")}


def test_walls_and_permissions(client, route, systems):
    for name in ("other_school", "rmc", "gemeente"):
        response = client.get(f"{API}/{route.id}", headers=systems[name])
        want = 404 if name == "other_school" else 403  # partner staff keep no routes
        assert response.status_code == want and response.mimetype == PROBLEM, name
    assert client.get(API, headers=systems["other_school"]).get_json()["items"] == []
    assert client.get(API, headers=systems["gemeente"]).status_code == 403
    assert client.get(f"{API}/999999", headers=systems["school"]).status_code == 404
    assert client.get(f"{API}/{2**40}/check-ins", headers=systems["school"]).status_code == 404
    response = send(client, "PATCH", f"{API}/{route.id}", {"phase": "gesprek"}, systems["school_reader"],
                    if_match=f'W/"{route.version}"')
    assert response.status_code == 403 and 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    response = send(client, "PATCH", f"{API}/{route.id}", {"phase": "gesprek"}, systems["other_school"],
                    if_match=f'W/"{route.version}"')
    assert response.status_code == 404


def test_a_page_of_routes_costs_the_same_statements_whatever_its_size(client, session, route_world, route_actors,
                                                                      systems):
    for _n in range(12):
        open_route(session, route_actors["mentor"], StudentFactory(school=route_world["school"]), {})
    session.commit()
    headers = systems["school"]
    client.get(API, headers=headers)  # warm up (the client's last use is written once a minute)

    def page(size):
        return lambda: client.get(API, headers=headers, query_string={"per_page": size})

    small, large = count_statements(page(2)), count_statements(page(10))
    assert small == large
    seen = []
    for number in (1, 2, 3):
        body = client.get(API, headers=headers, query_string={"per_page": 5, "page": number}).get_json()
        seen += [item["id"] for item in body["items"]]
        assert body["total"] == 12 and body["pages"] == 3
    assert len(set(seen)) == 12
    for query in ({"per_page": 0}, {"per_page": 101}, {"page": 0}, {"status": "weg"}, {"per_page": "x"}):
        response = client.get(API, headers=headers, query_string=query)
        assert response.status_code == 400 and response.mimetype == PROBLEM, query


def test_patch_changes_only_what_is_sent_with_if_match(client, session, route_world, route, systems):
    url, headers = f"{API}/{route.id}", systems["school"]
    tag = client.get(url, headers=headers).headers["ETag"]
    assert send(client, "PATCH", url, {"phase": "gesprek"}, headers).status_code == 428
    response = send(client, "PATCH", url, {"phase": "gesprek", "responsible_account_id": route_world["zorg"].id,
                                           "phases": {"plan": {"planned_date": "2030-01-15"}}},
                    headers, if_match=tag)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["phase"] == "gesprek" and body["responsible"]["id"] == route_world["zorg"].id
    assert response.headers["ETag"] != tag
    phases = {p["phase"]: p for p in body["phases"]}
    assert phases["plan"]["planned_date"] == "2030-01-15"
    assert phases["gesprek"]["reached_date"] == clock.today().isoformat()
    db.session.expire_all()
    stored = db.session.get(Route, route.id)
    assert stored.phase is RoutePhase.gesprek and stored.expected_exit_date == route_world["student"].expected_exit_date
    # the old ETag is stale; nothing changes
    response = send(client, "PATCH", url, {"phase": "plan"}, headers, if_match=tag)
    assert response.status_code == 412 and response.mimetype == PROBLEM
    update = session.scalar(select(AuditEvent).where(AuditEvent.event_type == "route:update",
                                                     AuditEvent.object_id == str(route.id),
                                                     AuditEvent.action == "U",
                                                     AuditEvent.object_type == "route"))
    assert update is not None and update.account_name == "API-client Leerlingvolgsysteem"


@pytest.mark.parametrize("body, field", [
    ({"phase": "pensioen"}, "phase"),
    ({"phases": {"pensioen": {"planned_date": "2030-01-01"}}}, "phases.pensioen"),
    ({"phases": {"plan": {"planned": "2030-01-01"}}}, "phases.plan.planned"),
    ({"responsible_account_id": 999999}, "responsible_account_id"),
    ({"phases": {"plan": {"reached_date": "2099-01-01"}}}, "reached_plan"),
    ({"kleur": "blauw"}, "kleur"),
    ({"expected_exit_date": "morgen"}, "expected_exit_date"),
])
def test_patch_refuses_bad_input(client, route, systems, body, field):
    response = send(client, "PATCH", f"{API}/{route.id}", body, systems["school"], if_match=f'W/"{route.version}"')
    assert response.status_code == 400 and response.mimetype == PROBLEM, response.get_json()
    assert field in {e["field"] for e in response.get_json()["errors"]}, response.get_json()
    db.session.expire_all()
    assert db.session.get(Route, route.id).version == route.version


def test_malformed_json_and_forms_are_refused(client, route, systems):
    url, tag = f"{API}/{route.id}", f'W/"{route.version}"'
    response = send(client, "PATCH", url, None, systems["school"], if_match=tag, raw='{"phase": ')
    assert response.status_code == 400 and response.mimetype == PROBLEM
    response = send(client, "PATCH", url, None, systems["school"], if_match=tag, raw="phase=plan",
                    content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and response.mimetype == PROBLEM
    response = send(client, "POST", f"{url}/check-ins", None, systems["school"], raw="[1]")
    assert response.status_code == 400


def test_exit_plans_the_check_ins_and_both_school_and_rmc_record_them(client, session, route_world, route, systems):
    url = f"{API}/{route.id}"
    route.start_date = add_months(clock.today(), -16)
    session.commit()
    exit_date = add_months(clock.today(), -4).isoformat()
    tag = client.get(url, headers=systems["school"]).headers["ETag"]
    assert send(client, "POST", f"{url}/exit", {"exit_date": exit_date}, systems["school"]).status_code == 428
    response = send(client, "POST", f"{url}/exit", {"exit_date": exit_date}, systems["school"], if_match=tag)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "followup" and [c["months"] for c in body["check_ins"]] == [3, 6, 12]
    # the school's system reads them; so does the region's RMC; not a gemeente nor another region's RMC
    for name, want in (("school", 200), ("rmc", 200), ("gemeente", 404), ("far_rmc", 404), ("other_school", 404)):
        response = client.get(f"{url}/check-ins", headers=systems[name])
        assert response.status_code == want, name
    # the school records the 3-month check-in
    response = send(client, "POST", f"{url}/check-ins", {"months": 3, "situation": "werkend",
                                                          "note": "Werkt bij de bakker"}, systems["school"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["recorded_by"] == "API-client Leerlingvolgsysteem"
    assert response.get_json()["note"] == "Werkt bij de bakker" and response.get_json()["rmc_alerted_at"] is None
    again = send(client, "POST", f"{url}/check-ins", {"months": 3, "situation": "werkend"}, systems["school"])
    assert again.status_code == 409 and again.mimetype == PROBLEM
    # the RMC's system records the 6-month one: dropped out, so the RMC is alerted
    response = send(client, "POST", f"{url}/check-ins", {"months": 6, "situation": "uitgevallen"}, systems["rmc"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["rmc_alerted_at"] is not None
    assert session.scalar(select(func.count()).select_from(Notification).where(
        Notification.kind == "checkin:rmc-alert", Notification.account_id == route_world["rmc_staff"].id)) == 1
    listed = client.get(f"{url}/check-ins", headers=systems["rmc"]).get_json()["items"]
    assert [(c["months"], c["situation"]) for c in listed] == [(3, "werkend"), (6, "uitgevallen"), (12, None)]
    records = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "checkin:record")).all()
    assert {(e.account_name, e.purpose) for e in records} >= {
        ("API-client Leerlingvolgsysteem", "leerlingbegeleiding"), ("API-client RMC-systeem", "rmc-nazorg")}
    db.session.expire_all()
    stored = {c.months: c for c in db.session.scalars(select(CheckIn).where(CheckIn.route_id == route.id))}
    assert stored[6].situation is Situation.uitgevallen and stored[12].recorded_at is None


def test_check_in_denials(client, route, exited, systems):
    url = f"{API}/{exited.id}/check-ins"
    for name in ("gemeente", "far_rmc", "other_school"):
        response = send(client, "POST", url, {"months": 3, "situation": "werkend"}, systems[name])
        assert response.status_code == 404 and response.mimetype == PROBLEM, name
    response = send(client, "POST", url, {"months": 3, "situation": "werkend"}, systems["school_reader"])
    assert response.status_code == 403 and 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    for body, field in (({"months": 24, "situation": "werkend"}, "months"), ({"months": 5, "situation": "werkend"},
                                                                             "months"),
                        ({"months": 3, "situation": "op vakantie"}, "situation"),
                        ({"months": 3, "situation": "werkend", "cijfer": 8}, "cijfer"), ({"months": 3}, "situation")):
        response = send(client, "POST", url, body, systems["school"])
        assert response.status_code == 400 and field in {e["field"] for e in response.get_json()["errors"]}, body
    response = send(client, "POST", url, {"months": 3, "situation": "werkend"}, systems["school"],
                    content_type="text/plain")
    assert response.status_code == 415
    assert db.session.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.recorded_at.is_not(None))) == 0


def test_a_closed_route_cannot_change(client, session, exited, systems):
    exited.status = RouteStatus.closed
    session.commit()
    url = f"{API}/{exited.id}"
    tag = client.get(url, headers=systems["school"]).headers["ETag"]
    response = send(client, "PATCH", url, {"phase": "plan"}, systems["school"], if_match=tag)
    assert response.status_code == 409 and response.mimetype == PROBLEM
    response = send(client, "POST", f"{url}/check-ins", {"months": 3, "situation": "werkend"}, systems["school"])
    assert response.status_code == 409


def test_people_use_the_route_api_with_their_session(client, route_world, exited):
    login(client, route_world["mentor"])
    assert client.get(f"{API}/{exited.id}").status_code == 200
    response = send(client, "POST", f"{API}/{exited.id}/check-ins", {"months": 3, "situation": "opleiding"}, {})
    assert response.status_code == 200 and response.get_json()["recorded_by"] == route_world["mentor"].name
    login(client, route_world["rmc_staff"])
    assert client.get(f"{API}/{exited.id}/check-ins").status_code == 200
    assert client.get(f"{API}/{exited.id}").status_code == 403


def test_openapi_documents_the_route_operations(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "get" in paths["/api/v1/routes"]
    patch = paths["/api/v1/routes/{route_id}"]["patch"]
    assert {"400", "409", "412", "415", "428"} <= set(patch["responses"])
    assert any(p["name"] == "If-Match" for p in patch["parameters"])
    check_ins = paths["/api/v1/routes/{route_id}/check-ins"]
    assert "get" in check_ins and "409" in check_ins["post"]["responses"]


def test_the_structured_exit_through_the_api_asks_about_a_contradiction(client, session, route, systems):
    """Issue 20: with a way out and a destination the API records the exit as the page does; a
    contradiction is a 400 asking for ``confirm``, missing fields are field errors, nothing is
    written until it is right; the route then shows the exit."""
    url = f"{API}/{route.id}"
    route.start_date = add_months(clock.today(), -12)
    session.commit()
    body = {"exit_date": add_months(clock.today(), -1).isoformat(), "way_out": "tussentijds",
            "destination": "vervolgopleiding", "startkwalificatie": False, "certificates": ["VCA", "Heftruck"]}
    tag = client.get(url, headers=systems["school"]).headers["ETag"]
    missing = send(client, "POST", f"{url}/exit", body, systems["school"], if_match=tag)
    assert missing.status_code == 400 and missing.mimetype == PROBLEM
    assert {"field": "reason", "message": "Vul de reden van de tussentijdse uitstroom in."} in \
        [{"field": e["field"], "message": e["message"]} for e in missing.get_json()["errors"]]
    asked = send(client, "POST", f"{url}/exit", {**body, "reason": "Werk"}, systems["school"], if_match=tag)
    assert asked.status_code == 400 and any(e["field"] == "confirm" and "geen school genoemd" in e["message"]
                                            for e in asked.get_json()["errors"])
    assert client.get(url, headers=systems["school"]).get_json()["exit_date"] is None
    done = send(client, "POST", f"{url}/exit", {**body, "reason": "Werk", "confirm": True}, systems["school"],
                if_match=tag)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["exit"] == {"way_out": "tussentijds", "destination": "vervolgopleiding",
                                       "certificates": ["VCA", "Heftruck"]}
    assert done.get_json()["startkwalificatie"] is False and done.headers["ETag"] != tag
    stale = send(client, "POST", f"{url}/exit", {**body, "reason": "Werk", "confirm": True}, systems["school"],
                 if_match=tag)
    assert stale.status_code == 412
