"""The placement API for partner systems (issue 19, item 6): the school's system registers a
placement on a route, reads it (decided and audited, the client as the actor), changes parts
of it (If-Match), moves its status (409 for a step the lifecycle does not allow), and hears of
each change through the thin ``placement.*`` webhooks. The same services and walls as the
pages: another school's system gets 404, a partner without the scope 403."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from network import clock
from network.audit import AuditEvent
from network.models import OutboxMessage
from network.oauth import client_principal
from network.webhook_delivery import UrlPolicy
from network.webhook_subscriptions import create_subscription
from referrals.placements.models import Placement
from referrals.placements.states import PlacementStatus
from tests.factories import bearer, get_token, make_api_client
from tests.referrals._placement_world import pactors, pworld  # noqa: F401  (fixtures)
from tests.referrals._world import route_actors, route_world  # noqa: F401  (fixtures)
from tests.referrals.test_inbox_queries import count_statements

PROBLEM = "application/problem+json"
RW = ["referrals:read", "referrals:write"]


@pytest.fixture
def systems(app, client, session, pworld, monkeypatch):
    monkeypatch.setitem(app.config, "TOKEN_RATE_LIMIT", "10000 per minute")
    made = {"school": make_api_client(pworld["school"], RW, name="Leerlingvolgsysteem"),
            "reader": make_api_client(pworld["school"], ["referrals:read"], name="Rapportage"),
            "other_school": make_api_client(pworld["other_school"], RW, name="Ander LVS"),
            "gemeente": make_api_client(pworld["gemeente"], RW, name="Zaaksysteem")}
    session.commit()
    return {name: bearer(get_token(client, api_client, secret)) for name, (api_client, secret) in made.items()}


def body(world, **overrides) -> dict:
    start = clock.today() + dt.timedelta(days=30)
    data = {"kind": "bpv", "service_id": world["bakery_entry"].id, "function": "Medewerker bakkerij",
            "trainer": {"name": "Henk van Dalen", "function": "Praktijkopleider", "email": "henk@bakkerij.example",
                        "phone": "0487 512 345"},
            "supervisor_account_id": world["mentor"].id, "start_date": start.isoformat(),
            "end_date": (start + dt.timedelta(days=90)).isoformat(), "schedule": {"ma": 6, "di": 6, "do": 7.5},
            "learning_goals": ["Zelfstandig deeg maken"], "werkprocessen": ["Maakt deeg", "Bakt brood"]}
    data.update(overrides)
    return data


def fields_of(response) -> set[str]:
    return {error["field"] for error in response.get_json()["errors"]}


def send(client, method, url, payload, headers, **extra):
    return client.open(url, method=method, data=json.dumps(payload), content_type="application/json",
                       headers={**headers, **extra})


def create(client, world, systems, **overrides):
    return send(client, "POST", f"/api/v1/routes/{world['route'].id}/placements", body(world, **overrides),
                systems["school"])


def test_the_school_system_registers_reads_and_lists_a_placement_decided_and_audited(client, session, pworld,
                                                                                     systems):
    response = create(client, pworld, systems)
    assert response.status_code == 201, response.get_json()
    made = response.get_json()
    assert response.headers["Location"] == f"/api/v1/placements/{made['id']}"
    assert response.headers["ETag"] == f'W/"{made["version"]}"'
    assert made["status"] == "planned" and made["company"]["name"] == "Bakkerij Van Dalen"
    assert made["schedule"] == {"ma": 6.0, "di": 6.0, "do": 7.5} and made["student"]["name"] == "Sanne Visser"
    assert made["learning_goals"] == ["Zelfstandig deeg maken"]

    detail = client.get(f"/api/v1/placements/{made['id']}", headers=systems["reader"])
    assert detail.status_code == 200 and detail.get_json()["trainer"]["name"] == "Henk van Dalen"
    read = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "placement:view")).all()
    assert read and read[-1].channel == "api" and "Rapportage" in read[-1].account_name

    listed = client.get("/api/v1/placements", headers=systems["reader"]).get_json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == made["id"]
    assert listed["items"][0]["learning_goals"] is None  # the list carries no encrypted free text


def test_another_organisation_sees_nothing(client, session, pworld, systems):
    made = create(client, pworld, systems).get_json()
    for name, want in (("other_school", 404), ("gemeente", 403)):  # partner staff keep no placements
        assert client.get(f"/api/v1/placements/{made['id']}", headers=systems[name]).status_code == want
        refused = create(client, pworld, {"school": systems[name]})
        assert refused.status_code == want and refused.content_type == PROBLEM
    assert client.get("/api/v1/placements", headers=systems["gemeente"]).status_code == 403
    # a reader may not write
    assert send(client, "POST", f"/api/v1/routes/{pworld['route'].id}/placements", body(pworld),
                systems["reader"]).status_code == 403
    assert session.scalar(select(func.count(Placement.id))) == 1


@pytest.mark.parametrize(("overrides", "field"), [
    ({"end_date": (clock.today() + dt.timedelta(days=10)).isoformat()}, "end_date"),
    ({"schedule": {"maandag": 6}}, "schedule.maandag"),
    ({"schedule": {"ma": 13}}, "schedule.ma"),
    ({"kind": "vakantiebaan"}, "kind"),
    ({"trainer": {"name": "Henk", "email": None, "phone": None}}, "trainer.phone"),
    ({"supervisor_account_id": 999999}, "supervisor_account_id"),
    ({"salary": 10}, "salary"),
])
def test_bad_input_is_400_per_field_and_writes_nothing(client, session, pworld, systems, overrides, field):
    response = create(client, pworld, systems, **overrides)
    assert response.status_code == 400 and response.content_type == PROBLEM
    assert field in fields_of(response), response.get_json()
    assert session.scalar(select(func.count(Placement.id))) == 0


def test_an_organisation_that_is_no_employer_and_an_overlap_are_refused_until_confirmed(client, session, pworld,
                                                                                      systems):
    refused = create(client, pworld, systems, service_id=pworld["gemeente_entry"].id)
    assert refused.status_code == 400 and "service_id" in fields_of(refused)
    assert create(client, pworld, systems).status_code == 201
    overlap = create(client, pworld, systems, service_id=pworld["lunchroom"].id)
    assert overlap.status_code == 400 and "confirm_overlap" in fields_of(overlap)
    assert create(client, pworld, systems, service_id=pworld["lunchroom"].id, confirm_overlap=True).status_code == 201


def test_patch_changes_only_what_is_sent_and_needs_the_current_version(client, session, pworld, systems):
    made = create(client, pworld, systems).get_json()
    url = f"/api/v1/placements/{made['id']}"
    assert send(client, "PATCH", url, {"function": "Hulp bakker"}, systems["school"]).status_code == 428
    stale = send(client, "PATCH", url, {"function": "Hulp bakker"}, systems["school"], **{"If-Match": 'W/"99"'})
    assert stale.status_code == 412
    changed = send(client, "PATCH", url, {"function": "Hulp bakker", "schedule": {"wo": 4}}, systems["school"],
                   **{"If-Match": f'W/"{made["version"]}"'})
    assert changed.status_code == 200, changed.get_json()
    after = changed.get_json()
    assert after["function"] == "Hulp bakker" and after["schedule"] == {"wo": 4.0}
    assert after["trainer"] == made["trainer"] and after["learning_goals"] == made["learning_goals"]
    assert after["version"] == made["version"] + 1
    bad = send(client, "PATCH", url, {"start_date": "2020-01-01", "end_date": "2019-01-01"}, systems["school"],
               **{"If-Match": f'W/"{after["version"]}"'})
    assert bad.status_code == 400 and "end_date" in fields_of(bad)


def test_status_steps_follow_the_lifecycle(client, session, pworld, systems):
    made = create(client, pworld, systems).get_json()
    url = f"/api/v1/placements/{made['id']}/status"

    def step(payload, version):
        return send(client, "POST", url, payload, systems["school"], **{"If-Match": f'W/"{version}"'})

    illegal = step({"status": "completed"}, made["version"])
    assert illegal.status_code == 409 and illegal.content_type == PROBLEM
    assert step({"status": "ended_early"}, made["version"]).status_code == 400  # no reason
    started = step({"status": "running", "on_date": clock.today().isoformat()}, made["version"])
    assert started.status_code == 200 and started.get_json()["status"] == "running"
    ended = step({"status": "ended_early", "reason": "Bedrijf gaat verhuizen"}, started.get_json()["version"])
    assert ended.get_json()["status"] == "ended_early" and ended.get_json()["end_reason"] == "Bedrijf gaat verhuizen"
    final = step({"status": "running"}, ended.get_json()["version"])
    assert final.status_code == 409
    assert session.get(Placement, made["id"]).status is PlacementStatus.ended_early


def test_completion_carries_whether_the_company_hired_the_student(client, session, pworld, systems):
    """Issue 19, item 5: "hired afterwards" is a fact of the completion (kept only there)."""
    made = create(client, pworld, systems).get_json()
    url = f"/api/v1/placements/{made['id']}/status"

    def step(payload, version):
        return send(client, "POST", url, payload, systems["school"], **{"If-Match": f'W/"{version}"'})

    started = step({"status": "running", "hired": True}, made["version"]).get_json()
    assert started["hired"] is None  # not a completion: not kept
    assert step({"status": "completed", "hired": "misschien"}, started["version"]).status_code == 400
    done = step({"status": "completed", "hired": True}, started["version"])
    assert done.status_code == 200 and done.get_json()["hired"] is True
    assert session.get(Placement, made["id"]).hired is True


def test_a_post_with_an_idempotency_key_registers_one_placement(client, session, pworld, systems):
    url = f"/api/v1/routes/{pworld['route'].id}/placements"
    first = send(client, "POST", url, body(pworld), systems["school"], **{"Idempotency-Key": "stage-1"})
    again = send(client, "POST", url, body(pworld), systems["school"], **{"Idempotency-Key": "stage-1"})
    assert first.status_code == again.status_code == 201 and first.get_json()["id"] == again.get_json()["id"]
    assert session.scalar(select(func.count(Placement.id))) == 1


def test_the_list_costs_the_same_statements_for_5_and_25_rows(app, client, session, pworld, systems):
    for n in range(25):
        start = (clock.today() + dt.timedelta(days=400 + 120 * n)).isoformat()
        end = (clock.today() + dt.timedelta(days=400 + 120 * n + 60)).isoformat()
        assert create(client, pworld, systems, start_date=start, end_date=end).status_code == 201
    def page(size):
        return lambda: client.get("/api/v1/placements", headers=systems["reader"], query_string={"per_page": size})

    assert len(page(25)().get_json()["items"]) == 25
    assert count_statements(page(5)) == count_statements(page(25))


def test_each_change_is_announced_to_the_school_thin(client, session, keyring, pworld, systems):
    subscribers = {}
    for name, organisation in (("school", pworld["school"]), ("other", pworld["other_school"])):
        api_client, _ = make_api_client(organisation, ["webhooks:manage", "referrals:read"], name=f"Hooks {name}")
        subscription, _ = create_subscription(
            session, client_principal(api_client, api_client.scope), keyring, UrlPolicy(True, True),
            url=f"https://hooks.example/{name}",
            event_types=["placement.created", "placement.updated", "placement.status_changed"])
        subscribers[name] = subscription.id
    session.commit()
    made = create(client, pworld, systems).get_json()
    version = made["version"]
    version = send(client, "PATCH", f"/api/v1/placements/{made['id']}", {"function": "Hulp bakker"},
                   systems["school"], **{"If-Match": f'W/"{version}"'}).get_json()["version"]
    send(client, "POST", f"/api/v1/placements/{made['id']}/status", {"status": "running"}, systems["school"],
         **{"If-Match": f'W/"{version}"'})
    messages = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "webhook")
                               .order_by(OutboxMessage.created_at)).all()
    assert {m.subscription_id for m in messages} == {subscribers["school"]}
    assert [m.subject for m in messages] == ["placement.created", "placement.updated", "placement.status_changed"]
    data = json.loads(keyring.decrypt(messages[0].body_encrypted, messages[0].body_ref()))["data"]
    assert data == {"id": made["id"], "uuid": made["uuid"], "route_id": pworld["route"].id}  # ids only
