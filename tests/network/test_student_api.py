"""The students API with OAuth2 tokens: a school's client lists and reads its own students, a
partner's client only the students who gave its organisation a basis; every student shown is
decided and audited with the client as the actor; a withdrawal counts from the next request; a
body holds only the allowed categories and never a full BSN; other organisations' ids are 404;
a token without ``students:read`` is 403 insufficient_scope; a page costs the same number of
statements whatever its size."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import event, select

from consent.service import grant_consent, withdraw_consent
from network.audit import AuditEvent, AuditOutcome
from network.db import db
from network.models import OrganisationType
from tests.consent.conftest import actors, born_years_ago, grant_data, world  # noqa: F401
from tests.factories import (
    OrganisationFactory,
    StudentFactory,
    bearer,
    doelgroepregister_step,
    get_token,
    left_school,
    make_api_client,
)

API = "/api/v1/students"
PROBLEM = "application/problem+json"
BSN = "111222333"  # the consent world's 17-year-old


@pytest.fixture(autouse=True)
def _tokens_unlimited(app, monkeypatch):
    """These tests get many tokens: the token endpoint's per-IP limit (30 a minute) is not what they test."""
    monkeypatch.setitem(app.config, "TOKEN_RATE_LIMIT", "10000 per minute")


def _token(client, session, organisation, scopes=("students:read",), name="Zaaksysteem"):
    api_client, secret = make_api_client(organisation, list(scopes), name=name)
    session.commit()
    return bearer(get_token(client, api_client, secret))


def _grant(session, keyring, world, actors, student=None, **overrides):
    consent = grant_consent(session, actors["student_account"] if student is None else actors["mentor"], keyring,
                            student or world["student"],
                            grant_data(world, **({"channel": "in_person"} if student is not None else {}), **overrides))
    session.commit()
    return consent


def _events(session, event_type, student_id=None):
    session.expire_all()
    query = select(AuditEvent).where(AuditEvent.event_type == event_type).order_by(AuditEvent.id)
    if student_id is not None:
        query = query.where(AuditEvent.student_id == str(student_id))
    return session.scalars(query).all()


# -- a school's client ---------------------------------------------------------------------------

def test_a_school_client_lists_and_reads_its_own_students_audited_as_the_client(client, session, world, keyring):
    other_school = OrganisationFactory(region=world["region"], school=True)
    stranger = StudentFactory(school=other_school)
    headers = _token(client, session, world["school"])
    response = client.get(API, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    ids = {item["id"] for item in body["items"]}
    assert ids == {str(world["student"].id), str(world["young"].id)} and body["total"] == 2
    item = next(i for i in body["items"] if i["id"] == str(world["student"].id))
    assert item["last_name"] == world["student"].last_name and item["programme"] and item["level"] == "mbo2"
    assert "email" not in item and "bsn_masked" not in item  # the list shows list data only
    listed = _events(session, "student:list")
    assert len(listed) == 2 and str(stranger.id) not in {e.student_id for e in listed}
    assert {(e.account_name, e.channel, e.account_id, e.organisation_id) for e in listed} == {
        ("API-client Zaaksysteem", "api", None, world["school"].id)}

    response = client.get(f"{API}/{world['student'].id}", headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["email"] == world["student"].email and body["school"]["id"] == world["school"].id
    assert body["bsn_masked"] == "******333" and BSN not in response.get_data(as_text=True)
    assert body["access"] == [{"purpose": "leerlingbegeleiding", "allowed": ["bsn", "contactgegevens", "opleiding"],
                               "basis": "legal_task:onderwijstaak"}]
    (viewed,) = _events(session, "student:view", world["student"].id)
    assert viewed.account_name == "API-client Zaaksysteem" and viewed.channel == "api"
    assert viewed.outcome is AuditOutcome.success

    # another school's student, an unknown id: 404 as problem+json
    for student_id in (stranger.id, uuid.uuid4()):
        response = client.get(f"{API}/{student_id}", headers=headers)
        assert response.status_code == 404 and response.mimetype == PROBLEM
    assert client.get(f"{API}?q=xyz-niemand", headers=headers).get_json()["items"] == []


def test_without_students_read_the_token_is_insufficient_scope(client, session, world):
    for organisation in (world["school"], world["gemeente"]):
        headers = _token(client, session, organisation, scopes=("consents:read",), name=f"Zonder {organisation.id}")
        for url in (API, f"{API}/{world['student'].id}"):
            response = client.get(url, headers=headers)
            assert response.status_code == 403 and response.mimetype == PROBLEM
            assert response.get_json()["error"] == "insufficient_scope"
            assert 'scope="students:read"' in response.headers["WWW-Authenticate"]
    assert client.get(API).status_code == 401
    assert "WWW-Authenticate" in client.get(API, headers=bearer("geen-geldig-token")).headers
    assert _events(session, "student:list") == []


def test_bad_query_arguments_are_400(client, session, world):
    headers = _token(client, session, world["school"])
    for query in ("per_page=0", "per_page=101", "page=nul", "q=" + "x" * 101, "q=%00"):
        response = client.get(f"{API}?{query}", headers=headers)
        assert response.status_code == 400 and response.mimetype == PROBLEM, query


# -- a partner's client --------------------------------------------------------------------------

def test_a_partner_lists_only_students_who_gave_it_a_basis_until_withdrawn(client, session, world, actors, keyring):
    headers = _token(client, session, world["gemeente"], name="Gemeentesysteem")
    assert client.get(API, headers=headers).get_json()["items"] == []
    assert client.get(f"{API}/{world['student'].id}", headers=headers).status_code == 404  # no basis: not there
    consent = _grant(session, keyring, world, actors)  # contact and education, for jobcoaching
    _grant(session, keyring, world, actors, recipient_id=world["rmc"].id,  # to another organisation
           purpose_code="begeleiding-naar-werk")

    body = client.get(API, headers=headers).get_json()
    assert [item["id"] for item in body["items"]] == [str(world["student"].id)] and body["total"] == 1
    (item,) = body["items"]
    assert item["first_name"] == world["student"].first_name and item["purposes"] == ["jobcoaching"]
    assert item["school_id"] == world["school"].id
    (listed,) = _events(session, "student:list")
    assert listed.account_name == "API-client Gemeentesysteem" and listed.channel == "api"
    assert listed.basis == f"consent:{consent.id}" and listed.purpose == "jobcoaching"

    response = client.get(f"{API}/{world['student'].id}", headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["email"] == world["student"].email and body["programme"] == world["student"].programme
    assert "bsn_masked" not in body and BSN not in response.get_data(as_text=True)  # no basis for the BSN
    assert body["access"] == [{"purpose": "jobcoaching", "allowed": ["contactgegevens", "opleiding"],
                               "basis": f"consent:{consent.id}"}]

    withdraw_consent(session, actors["student_account"], keyring, consent)
    session.commit()
    assert client.get(API, headers=headers).get_json() == {"items": [], "page": 1, "per_page": 25, "total": 0,
                                                           "pages": 1}
    response = client.get(f"{API}/{world['student'].id}", headers=headers)
    assert response.status_code == 404 and response.mimetype == PROBLEM
    assert client.get(f"{API}/{world['student'].id}?purpose=jobcoaching", headers=headers).status_code == 404
    denied = _events(session, "student:view", world["student"].id)[-1]  # the attempt is in the log
    assert denied.outcome is AuditOutcome.denied and denied.account_name == "API-client Gemeentesysteem"


def test_a_partner_sees_only_the_allowed_categories_and_a_masked_bsn_with_a_basis(client, session, world, actors,
                                                                                 keyring):
    uwv = OrganisationFactory(region=world["region"], type=OrganisationType.uwv)
    _grant(session, keyring, world, actors, recipient_id=world["gemeente"].id, categories=["contactgegevens"])
    gemeente = _token(client, session, world["gemeente"], name="Gemeentesysteem")
    body = client.get(f"{API}/{world['student'].id}", headers=gemeente).get_json()
    assert body["last_name"] == world["student"].last_name
    assert not {"programme", "level", "school", "bsn_masked"} & set(body)
    (item,) = client.get(API, headers=gemeente).get_json()["items"]
    assert "programme" not in item and "school_id" not in item and item["last_name"]

    # the BSN only by law (UAVG art. 46): UWV's legal task for the doelgroepregister names it, for a
    # student with a doelgroepregister application running
    doelgroepregister_step(world["student"])
    session.commit()
    response = client.get(f"{API}/{world['student'].id}?purpose=doelgroepregister-aanvraag",
                          headers=_token(client, session, uwv, name="UWV"))
    assert response.get_json()["bsn_masked"] == "******333" and BSN not in response.get_data(as_text=True)
    events = [e for e in _events(session, "student:view", world["student"].id) if e.account_name == "API-client UWV"]
    assert events and BSN not in (events[0].detail or "")


def test_a_partner_names_the_purpose_of_a_legal_task(client, session, world):
    """The RMC's legal task (RMC-nazorg, own region) is a basis without a consent for a student who
    left school without a startkwalificatie: the student is not on the list (a task covers a
    group, not a list), but reading with the purpose works."""
    left_school(world["student"])
    session.commit()
    headers = _token(client, session, world["rmc"], name="RMC-systeem")
    assert client.get(API, headers=headers).get_json()["items"] == []
    assert client.get(f"{API}/{world['student'].id}", headers=headers).status_code == 404
    response = client.get(f"{API}/{world['student'].id}?purpose=rmc-nazorg", headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["access"][0]["basis"] == "legal_task:rmc-nazorg" and "bsn_masked" not in body
    far = _token(client, session, world["far_rmc"], name="RMC elders")  # another region: outside the walls
    assert client.get(f"{API}/{world['student'].id}?purpose=rmc-nazorg", headers=far).status_code == 404


def test_a_partner_may_not_search_by_name(client, session, world):
    headers = _token(client, session, world["gemeente"])
    response = client.get(f"{API}?q=Sanne", headers=headers)
    assert response.status_code == 400 and {e["field"] for e in response.get_json()["errors"]} == {"q"}


def test_a_partner_page_costs_the_same_statements_whatever_its_size(client, session, world, actors, keyring):
    headers = _token(client, session, world["gemeente"])
    client.get(API, headers=headers)  # the token's first use writes its "last used" moment

    def statements_of_one_page():
        seen = []

        def listener(conn, cursor, statement, *args):
            seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            response = client.get(f"{API}?per_page=50", headers=headers)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert response.status_code == 200
        return len(seen), len(response.get_json()["items"])

    def students(count):
        for _ in range(count):
            student = StudentFactory(school=world["school"], date_of_birth=born_years_ago(17))
            _grant(session, keyring, world, actors, student=student)
            _grant(session, keyring, world, actors, student=student, purpose_code="stagebegeleiding")

    students(2)
    few, shown_few = statements_of_one_page()
    students(6)
    many, shown_many = statements_of_one_page()
    assert (shown_few, shown_many) == (2, 8)
    assert few == many
    assert len(_events(session, "student:list")) == 2 * (2 + 8)  # a decision per student and purpose
