"""The instruments in the route API: a school's system lists and records them (201; bad input 400
problem+json with Dutch messages per field and nothing written; an Idempotency-Key repeat makes
one); a gemeente's system without a basis gets 404, with consent its own law's only; a token
without the write scope is 403."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from consent.service import grant_consent
from network import clock
from referrals.instruments_models import Instrument
from referrals.route_service import open_route
from tests.factories import bearer, get_token, make_api_client, principal_for

API = "/api/v1/routes"
PROBLEM = "application/problem+json"
RW = ["referrals:read", "referrals:write"]


@pytest.fixture
def systems(app, client, session, rworld, monkeypatch):
    monkeypatch.setitem(app.config, "TOKEN_RATE_LIMIT", "10000 per minute")
    made = {"school": make_api_client(rworld["school"], RW, name="Leerlingvolgsysteem"),
            "school_reader": make_api_client(rworld["school"], ["referrals:read"], name="Rapportage"),
            "gemeente": make_api_client(rworld["gemeente"], RW, name="Zaaksysteem"),
            "far_gemeente": make_api_client(rworld["far_gemeente"], RW, name="Zaaksysteem elders")}
    session.commit()
    return {name: bearer(get_token(client, api_client, secret)) for name, (api_client, secret) in made.items()}


@pytest.fixture
def route(session, rworld, ractors):
    made = open_route(session, ractors["mentor"], rworld["student"], {})
    session.commit()
    return made


def _body(rworld, **overrides):
    body = {"kind": "jobcoach", "funder": "gemeente", "hours_per_week": 4, "start_date": clock.today().isoformat(),
            "arranged_by_organisation_id": rworld["gemeente"].id, "arranged_by_name": "Jobcoach Bakker",
            "evidence": "Beschikking JC-3", "note": "Op maandag en dinsdag."}
    body.update(overrides)
    return body


def _errors(response) -> dict[str, str]:
    """The problem's field errors, by field (problem+json lists them as ``{field, detail}``)."""
    return {e["field"]: e.get("detail") or e.get("message") or str(e) for e in response.get_json()["errors"]}


def _post(client, url, body, headers):
    return client.post(url, data=json.dumps(body), headers=headers, content_type="application/json")


def test_the_school_system_records_and_lists(client, session, rworld, route, systems):
    url = f"{API}/{route.id}/instruments"
    made = _post(client, url, _body(rworld), systems["school"])
    assert made.status_code == 201
    body = made.get_json()
    assert body["kind"] == "jobcoach" and body["hours_per_week"] == 4 and body["note"] == "Op maandag en dinsdag."
    assert body["arranged_by_organisation"] == "Gemeente Teststad"
    listed = client.get(url, headers=systems["school_reader"]).get_json()
    assert [i["id"] for i in listed["items"]] == [body["id"]]


def test_bad_input_is_problem_json_per_field_and_nothing_is_written(client, session, rworld, route, systems):
    url = f"{API}/{route.id}/instruments"
    refused = _post(client, url, _body(rworld, hours_per_week=41, end_date="2020-01-01"), systems["school"])
    assert refused.status_code == 400 and refused.mimetype == PROBLEM
    errors = _errors(refused)
    assert "van 1 tot en met 40" in errors["hours_per_week"] and "vóór de startdatum" in errors["end_date"]
    unknown = _post(client, url, _body(rworld, kind="uitkering"), systems["school"])
    assert unknown.status_code == 400 and "kind" in _errors(unknown)
    assert session.scalar(select(func.count(Instrument.id))) == 0


def test_a_repeat_with_the_same_idempotency_key_makes_one(client, session, rworld, route, systems):
    url = f"{API}/{route.id}/instruments"
    headers = {**systems["school"], "Idempotency-Key": "instr-1"}
    first, again = (_post(client, url, _body(rworld), headers) for _ in range(2))
    assert first.status_code == again.status_code == 201 and first.get_json()["id"] == again.get_json()["id"]
    assert session.scalar(select(func.count(Instrument.id))) == 1


def test_a_reader_token_cannot_record(client, rworld, route, systems):
    refused = _post(client, f"{API}/{route.id}/instruments", _body(rworld), systems["school_reader"])
    assert refused.status_code == 403 and refused.mimetype == PROBLEM


def test_a_gemeente_system_needs_a_basis_and_sees_its_own_law_only(client, session, keyring, rworld, route,
                                                                 systems):
    url = f"{API}/{route.id}/instruments"
    assert _post(client, url, _body(rworld, kind="bpv_naar_bbl", evidence=None,
                                    arranged_by_organisation_id=rworld["school"].id),
                 systems["school"]).status_code == 201
    assert client.get(url, headers=systems["gemeente"]).status_code == 404
    grant_consent(session, principal_for(rworld["student_account"]), keyring, rworld["student"], {
        "recipient_id": rworld["gemeente"].id, "purpose_code": "begeleiding-naar-werk",
        "categories": ["contactgegevens", "school-naar-werk-plan"], "explicit": []})
    session.commit()
    assert client.get(url, headers=systems["gemeente"]).get_json()["items"] == []
    assert _post(client, url, _body(rworld), systems["gemeente"]).status_code == 201
    assert [i["kind"] for i in client.get(url, headers=systems["gemeente"]).get_json()["items"]] == ["jobcoach"]
    refused = _post(client, url, _body(rworld, kind="no_riskpolis", evidence=None), systems["gemeente"])
    assert refused.status_code == 400 and "geen grondslag" in _errors(refused)["kind"]
    assert client.get(url, headers=systems["far_gemeente"]).status_code == 404
