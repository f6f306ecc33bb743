"""The stageprotocol's contacts and the employer's assessments in the placement API (issue 19,
item 6): the school's system lists a placement's contacts (decided and audited, what was
recorded only with a basis, a fixed number of statements for 5 or 25 contacts), records a
planned contact (If-Match on the placement, Idempotency-Key; 428, 412, 400 per field, 409 for
a contact already recorded or lapsed), reads the assessments (the result in the form's
structure, decided as the HTML result page, never a link token), and hears of both through
the thin ``placement.contact_recorded`` and ``placement.assessment_submitted`` webhooks. The
walls are the placement's: another school's system 404, a partner 403."""

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
from referrals.placements.assessment import send_link, submit_assessment
from referrals.placements.assessment_form import GROUPS, ITEMS
from referrals.placements.lifecycle import change_status
from referrals.placements.protocol import placement_contacts, record_contact, set_settings
from referrals.placements.protocol_models import ContactKind, ContactStatus, PlacementContact
from referrals.placements.service import create_placement
from tests.factories import bearer, get_token, make_api_client
from tests.referrals._placement_world import pactors, placement_data, pworld  # noqa: F401  (fixtures)
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


def _running(session, keyring, world, actors, *, days_ago=20, weeks=17, confirm_overlap=False):
    start = clock.today() - dt.timedelta(days=days_ago)
    made = create_placement(session, actors["mentor"], keyring, world["route"],
                            placement_data(world, start_date=start, end_date=start + dt.timedelta(weeks=weeks),
                                           confirm_overlap=confirm_overlap))
    change_status(session, actors["mentor"], made, "running", on_date=start)
    session.commit()
    return made


@pytest.fixture
def running(session, keyring, pworld, pactors):
    return _running(session, keyring, pworld, pactors)


def _contact(session, placement, kind):
    return next(c for c in placement_contacts(session, placement) if c.kind is kind)


def record_body(**overrides) -> dict:
    data = {"done_on": clock.today().isoformat(), "with_whom": "student", "how": "phone",
            "agreed": "Sanne is goed begonnen; belt bij ziekte vóór 8 uur.", "follow_up": "Volgende week bezoek"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def send(client, url, payload, headers, **extra):
    return client.post(url, data=json.dumps(payload), content_type="application/json", headers={**headers, **extra})


def record_url(placement, contact) -> str:
    return f"/api/v1/placements/{placement.id}/contacts/{contact.id}/record"


def match(placement) -> dict:
    return {"If-Match": f'W/"{placement.version}"'}


def fields_of(response) -> set[str]:
    return {error["field"] for error in response.get_json()["errors"]}


def subscribe(session, keyring, world, event_types) -> dict[str, int]:
    subscribers = {}
    for name, organisation in (("school", world["school"]), ("other", world["other_school"])):
        api_client, _ = make_api_client(organisation, ["webhooks:manage", "referrals:read"], name=f"Hooks {name}")
        subscription, _ = create_subscription(
            session, client_principal(api_client, api_client.scope), keyring, UrlPolicy(True, True),
            url=f"https://hooks.example/{name}", event_types=event_types)
        subscribers[name] = subscription.id
    session.commit()
    return subscribers


def webhooks(session, keyring, subject):
    messages = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "webhook",
                                                           OutboxMessage.subject == subject)).all()
    return [(m.subscription_id, json.loads(keyring.decrypt(m.body_encrypted, m.body_ref()))["data"])
            for m in messages]


# -- the contacts ---------------------------------------------------------------------------------

def test_the_list_shows_planned_and_recorded_contacts_decided_and_audited(client, session, keyring, pactors,
                                                                          systems, running):
    call = _contact(session, running, ContactKind.first_call_student)
    record_contact(session, pactors["mentor"], keyring, running, record_body(done_on=running.start_date.isoformat()),
                   contact=call)
    session.commit()
    response = client.get(f"/api/v1/placements/{running.id}/contacts", headers=systems["reader"])
    assert response.status_code == 200 and response.headers["ETag"] == f'W/"{running.version}"'
    listed = response.get_json()
    by_kind = {item["kind"]: item for item in listed["items"]}
    assert [item["kind"] for item in listed["items"]][:3] == ["first_call_student", "first_call_trainer", "visit"]
    assert by_kind["first_call_student"]["status"] == "done"
    assert by_kind["first_call_student"]["notes"]["agreed"].startswith("Sanne is goed begonnen")
    assert by_kind["first_call_student"]["with_whom"] == "student" and by_kind["first_call_student"]["how"] == "phone"
    trainer_call = by_kind["first_call_trainer"]
    assert trainer_call["status"] == "planned" and trainer_call["late"] is True and trainer_call["notes"] is None
    assert trainer_call["due_date"] == running.start_date.isoformat()
    assert by_kind["visit"]["due_date"] == (running.start_date + dt.timedelta(days=14)).isoformat()
    assert by_kind["evaluation"]["late"] is False
    read = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "placement:contact-view")).all()
    assert len(read) == 1 and read[0].channel == "api" and "Rapportage" in read[0].account_name
    assert read[0].student_id == str(running.student_id)


def test_the_system_records_a_planned_contact_and_the_school_hears_of_it(client, session, keyring, pworld, systems,
                                                                         running):
    subscribers = subscribe(session, keyring, pworld, ["placement.contact_recorded"])
    visit = _contact(session, running, ContactKind.visit)
    response = send(client, record_url(running, visit), record_body(with_whom="both", how="workplace"),
                    systems["school"], **match(running))
    assert response.status_code == 200, response.get_json()
    made = response.get_json()
    assert made["status"] == "done" and made["how"] == "workplace" and made["done_on"] == clock.today().isoformat()
    assert made["notes"]["follow_up"] == "Volgende week bezoek" and made["recorded_by"]
    assert response.headers["ETag"] == f'W/"{running.version}"'
    session.expire_all()
    assert session.get(PlacementContact, visit.id).status is ContactStatus.done
    audit = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "placement:contact-record")).all()
    assert len(audit) == 2 and {a.channel for a in audit} == {"api"}  # the decision and the change
    assert webhooks(session, keyring, "placement.contact_recorded") == [
        (subscribers["school"], {"id": visit.id, "uuid": str(visit.uuid), "placement_id": running.id,
                                 "route_id": pworld["route"].id})]  # ids only, the school's subscriber only


def test_an_evaluation_takes_its_topics(client, session, systems, running):
    evaluation = _contact(session, running, ContactKind.evaluation)
    url = record_url(running, evaluation)
    refused = send(client, url, record_body(), systems["school"], **match(running))
    assert refused.status_code == 400 and "topics.criteria" in fields_of(refused)
    done = send(client, url, record_body(topics={"vacancy": "Mogelijk een leerbaan", "workplace": "Klein team"}),
                systems["school"], **match(running))
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["notes"]["topics"] == {"criteria": None, "future_profile": None,
                                                  "vacancy": "Mogelijk een leerbaan", "workplace": "Klein team"}


@pytest.mark.parametrize(("overrides", "field"), [
    ({"done_on": (clock.today() + dt.timedelta(days=1)).isoformat()}, "done_on"),
    ({"done_on": "gisteren"}, "done_on"),
    ({"with_whom": "de buurman"}, "with_whom"),
    ({"how": "postduif"}, "how"),
    ({"agreed": None}, "agreed"),
    ({"agreed": "x" * 4001}, "agreed"),
    ({"topics": {"weather": "zonnig"}}, "topics.weather"),
    ({"salary": 10}, "salary"),
])
def test_bad_input_is_400_per_field_and_writes_nothing(client, session, systems, running, overrides, field):
    call = _contact(session, running, ContactKind.first_call_student)
    response = send(client, record_url(running, call), record_body(**overrides), systems["school"], **match(running))
    assert response.status_code == 400 and response.content_type == PROBLEM
    assert field in fields_of(response), response.get_json()
    session.expire_all()
    assert session.get(PlacementContact, call.id).status is ContactStatus.planned


def test_if_match_is_required_and_must_be_current(client, session, pactors, systems, running):
    call = _contact(session, running, ContactKind.first_call_student)
    url = record_url(running, call)
    missing = send(client, url, record_body(), systems["school"])
    assert missing.status_code == 428 and missing.content_type == PROBLEM
    stale = send(client, url, record_body(), systems["school"], **{"If-Match": f'W/"{running.version + 5}"'})
    assert stale.status_code == 412 and stale.content_type == PROBLEM
    session.expire_all()
    assert session.get(PlacementContact, call.id).status is ContactStatus.planned


def test_a_contact_already_recorded_or_lapsed_is_409(client, session, pactors, systems, running):
    call = _contact(session, running, ContactKind.first_call_student)
    first = send(client, record_url(running, call), record_body(), systems["school"], **match(running))
    assert first.status_code == 200
    again = send(client, record_url(running, call), record_body(), systems["school"], **match(running))
    assert again.status_code == 409 and again.content_type == PROBLEM
    change_status(session, pactors["mentor"], running, "paused", reason="Ziek")
    session.commit()
    visit = _contact(session, running, ContactKind.visit)
    assert visit.status is ContactStatus.cancelled
    lapsed = send(client, record_url(running, visit), record_body(), systems["school"], **match(running))
    assert lapsed.status_code == 409 and "vervallen" in lapsed.get_json()["detail"]


def test_an_idempotency_key_records_once(client, session, systems, running):
    call = _contact(session, running, ContactKind.first_call_trainer)
    first = send(client, record_url(running, call), record_body(), systems["school"],
                 **match(running), **{"Idempotency-Key": "contact-1"})
    again = send(client, record_url(running, call), record_body(), systems["school"],
                 **match(running), **{"Idempotency-Key": "contact-1"})
    assert first.status_code == again.status_code == 200 and first.get_json() == again.get_json()
    assert session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.event_type == "placement:contact-record", AuditEvent.object_type == "placement_contact")) == 1


def test_other_organisations_and_readers_are_refused(client, session, keyring, pworld, pactors, systems, running):
    call = _contact(session, running, ContactKind.first_call_student)
    for name, want in (("other_school", 404), ("gemeente", 403)):
        assert client.get(f"/api/v1/placements/{running.id}/contacts", headers=systems[name]).status_code == want
        refused = send(client, record_url(running, call), record_body(), systems[name], **match(running))
        assert refused.status_code == want and refused.content_type == PROBLEM
    assert send(client, record_url(running, call), record_body(), systems["reader"],
                **match(running)).status_code == 403
    other = _running(session, keyring, pworld, pactors, days_ago=10, confirm_overlap=True)
    foreign = _contact(session, other, ContactKind.visit)
    assert send(client, f"/api/v1/placements/{running.id}/contacts/{foreign.id}/record", record_body(),
                systems["school"], **match(running)).status_code == 404
    session.expire_all()
    assert session.get(PlacementContact, call.id).status is ContactStatus.planned


def test_the_list_costs_the_same_statements_for_5_and_25_contacts(client, session, keyring, pworld, pactors,
                                                                   systems):
    few = _running(session, keyring, pworld, pactors, weeks=13)  # two evaluations, every six weeks
    set_settings(session, pactors["mentor"], pworld["school"].id, evaluation_weeks=1)
    many = _running(session, keyring, pworld, pactors, weeks=22, confirm_overlap=True)  # 22 evaluations
    for placement in (few, many):
        call = _contact(session, placement, ContactKind.first_call_student)
        record_contact(session, pactors["mentor"], keyring, placement,
                       record_body(done_on=placement.start_date.isoformat()), contact=call)
    session.commit()

    def listing(placement):
        return lambda: client.get(f"/api/v1/placements/{placement.id}/contacts", headers=systems["reader"])

    assert len(listing(few)().get_json()["items"]) == 5 and len(listing(many)().get_json()["items"]) == 25
    assert count_statements(listing(few)) == count_statements(listing(many))


# -- the assessments ------------------------------------------------------------------------------

def _answers(placement) -> dict:
    return {"werkprocessen": {"0": "independent", "1": "guided"},
            "competences": {key: "own_initiative" for key in ITEMS} | {"1e": "when_directed", "6d": "na"},
            "hire": "ja", "develop": "ja", "if_not": "", "if_so": "Tempo maken bij drukte",
            "toelichting": "Komt altijd op tijd.", "attention": ["samenwerking"], "confirm": True,
            "signed_name": "Henk van Dalen"}


def test_the_assessments_are_read_in_the_forms_structure_without_a_token(client, session, keyring, pworld, pactors,
                                                                         systems, running):
    subscribers = subscribe(session, keyring, pworld, ["placement.assessment_submitted"])
    submitted, link = send_link(session, pactors["mentor"], keyring, running, base_url="http://schakel.test")
    submit_assessment(session, pactors["mentor"], keyring, submitted, _answers(running))
    requested, second_link = send_link(session, pactors["mentor"], keyring, running, base_url="http://schakel.test")
    session.commit()
    listed = client.get(f"/api/v1/placements/{running.id}/assessments", headers=systems["reader"])
    assert listed.status_code == 200
    items = {item["id"]: item for item in listed.get_json()["items"]}
    assert items[submitted.id]["status"] == "submitted" and items[submitted.id]["link"] == "used"
    assert items[requested.id]["status"] == "requested" and items[requested.id]["link"] == "open"

    response = client.get(f"/api/v1/placements/{running.id}/assessments/{submitted.id}", headers=systems["reader"])
    assert response.status_code == 200
    result = response.get_json()
    text = response.get_data(as_text=True)
    for secret in (link.rsplit("/", 1)[1], second_link.rsplit("/", 1)[1], submitted.token_hash or "x" * 64):
        assert secret not in text and secret not in listed.get_data(as_text=True)
    assert result["header"]["bedrijf"] == "Bakkerij Van Dalen" and result["header"]["deelnemer"] == "Sanne Visser"
    assert result["eindoordeel"] == {"would_hire": True, "can_develop": True, "if_not": None,
                                     "if_so": "Tempo maken bij drukte"}
    assert [(w["text"], w["score"], w["label"]) for w in result["werkprocessen"]] == [
        ("Maakt deeg", "independent", "Kan de taak zelfstandig uitvoeren"),
        ("Bakt brood", "guided", "Kan de taak uitvoeren onder begeleiding")]
    assert [g["title"] for g in result["competences"]] == [g.title for g in GROUPS]
    items_1 = {i["key"]: i for i in result["competences"][0]["items"]}
    assert items_1["1e"]["label"] == "Laat competentie zien na aansturing" and items_1["1e"]["number"] == "e"
    assert {i["key"]: i["score"] for g in result["competences"] for i in g["items"]}["6d"] == "na"
    assert [c["code"] for c in result["scales"]["competences"]] == ["not_shown", "when_directed", "own_initiative",
                                                                    "na"]
    assert result["attention"][0]["code"] == "samenwerking" and result["toelichting"] == "Komt altijd op tijd."
    assert result["signed_name"] == "Henk van Dalen"
    pending = client.get(f"/api/v1/placements/{running.id}/assessments/{requested.id}",
                         headers=systems["reader"]).get_json()
    assert pending["status"] == "requested" and pending["werkprocessen"] is None and pending["eindoordeel"] is None
    reads = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "placement:assessment-view")).all()
    assert len(reads) == 3 and {r.channel for r in reads} == {"api"}
    assert webhooks(session, keyring, "placement.assessment_submitted") == [
        (subscribers["school"], {"id": submitted.id, "uuid": str(submitted.uuid), "placement_id": running.id,
                                 "route_id": pworld["route"].id})]


def test_assessments_are_walled(client, session, keyring, pworld, pactors, systems, running):
    assessment, _link = send_link(session, pactors["mentor"], keyring, running, base_url="http://schakel.test")
    other = _running(session, keyring, pworld, pactors, days_ago=10, confirm_overlap=True)
    session.commit()
    for name, want in (("other_school", 404), ("gemeente", 403)):
        assert client.get(f"/api/v1/placements/{running.id}/assessments", headers=systems[name]).status_code == want
        refused = client.get(f"/api/v1/placements/{running.id}/assessments/{assessment.id}", headers=systems[name])
        assert refused.status_code == want and refused.content_type == PROBLEM
    assert client.get(f"/api/v1/placements/{other.id}/assessments/{assessment.id}",
                      headers=systems["school"]).status_code == 404


def test_the_openapi_document_has_the_new_operations(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"get"} <= set(paths["/api/v1/placements/{placement_id}/contacts"])
    record = paths["/api/v1/placements/{placement_id}/contacts/{contact_id}/record"]["post"]
    assert {"400", "404", "409", "412", "428"} <= set(record["responses"])
    assert any(p.get("name") == "If-Match" for p in record["parameters"])
    assert any(p.get("name") == "Idempotency-Key" or "Idempotency" in json.dumps(p) for p in record["parameters"])
    assert "get" in paths["/api/v1/placements/{placement_id}/assessments/{assessment_id}"]
