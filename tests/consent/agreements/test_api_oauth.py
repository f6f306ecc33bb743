"""The agreements API with OAuth2 tokens: a partner's client (no account: it acts as its
organisation) reads the agreements its organisation is a party of and signs its part with the
organisation's registered key, end to end to a complete, verifiable bundle; signing needs the
scope ``agreements:sign`` (``agreements:read`` is 403 insufficient_scope); the list holds the
caller organisation's agreements only, paginated; other organisations' agreements are 404."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
import rfc8785
from sqlalchemy import select

from consent.agreements.documents import verify_bundle
from consent.agreements.models import Agreement, AgreementEvent, AgreementKind, AgreementSignature, VersionStatus
from consent.agreements.service import create_agreement
from network.audit import AuditEvent
from tests.consent.agreements._pages import offered_plan, version_row
from tests.consent.agreements._signed import partner_statement, party_keys, register_key, sign
from tests.factories import bearer, get_token, make_api_client

API = "/api/v1/agreements"
PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _tokens_unlimited(app, monkeypatch):
    """These tests get many tokens: the token endpoint's per-IP limit (30 a minute) is not what they test."""
    monkeypatch.setitem(app.config, "TOKEN_RATE_LIMIT", "10000 per minute")


def _token(client, session, organisation, scopes, name="Jobcoachsysteem"):
    api_client, secret = make_api_client(organisation, list(scopes), name=name)
    session.commit()
    return bearer(get_token(client, api_client, secret))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _signature_body(session, agreement_id, private, kid, party_key, organisation, signer_name="Lotte Verhoeven"):
    """What a partner system sends: its own signature over the documented statement."""
    session.expire_all()
    agreement = session.get(Agreement, agreement_id)
    version = agreement.versions[0]
    party = next(p for p in version.parties if p.key == party_key)
    signed_at = _now()
    statement = partner_statement(agreement, version, party, signer_name=signer_name,
                                  organisation=organisation.name, signed_at=signed_at)
    signature = base64.urlsafe_b64encode(private.sign(rfc8785.dumps(statement))).rstrip(b"=").decode()
    return {"party": party_key, "signer_name": signer_name, "signed_at": signed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "kid": kid, "signature": signature}


def _post(client, agreement_id, body, headers):
    return client.post(f"{API}/{agreement_id}/versions/1/signatures", data=json.dumps(body),
                       content_type="application/json", headers=headers)


def test_a_partner_client_signs_with_its_organisation_key_end_to_end(client, session, keyring, world, actors):
    agreement_id = offered_plan(session, keyring, world, actors)
    keys = party_keys(world)
    sign(session, keyring, actors["student_account"], agreement_id, 1, keys["student"])
    sign(session, keyring, actors["mentor"], agreement_id, 1, keys["school"])
    private, kid, _admin = register_key(session, world, world["gemeente"])
    headers = _token(client, session, world["gemeente"], ("agreements:sign",))

    response = client.get(f"{API}/{agreement_id}", headers=headers)  # signing includes reading
    assert response.status_code == 200 and response.get_json()["content"]
    response = _post(client, agreement_id, _signature_body(session, agreement_id, private, kid, keys["gemeente"],
                                                           world["gemeente"]), headers)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["method"] == "organisation-key" and body["kid"] == kid
    assert body["signer_name"] == "Lotte Verhoeven" and body["signer_organisation"] == world["gemeente"].name
    assert version_row(session, agreement_id).status is VersionStatus.active
    row = session.scalar(select(AgreementSignature).where(AgreementSignature.party_key == keys["gemeente"]))
    assert row.signer_account_id is None
    signed = session.scalar(select(AgreementEvent).where(AgreementEvent.kind == "signed",
                                                         AgreementEvent.actor_name == "API-client Jobcoachsysteem"))
    assert signed is not None and signed.account_id is None
    audit = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "agreement:sign",
                                                     AuditEvent.account_name == "API-client Jobcoachsysteem")).all()
    assert audit and {(e.channel, e.organisation_id) for e in audit} == {("api", world["gemeente"].id)}
    # the bundle, fetched with the token, verifies with the published keys alone
    bundle = client.get(f"{API}/{agreement_id}/versions/1/bundle", headers=headers)
    assert bundle.status_code == 200
    report = verify_bundle(bundle.get_json(), client.get("/.well-known/jwks.json").get_json())
    assert report.ok and report.complete


def test_a_school_client_signs_the_school_part(client, session, keyring, world, actors):
    agreement_id = offered_plan(session, keyring, world, actors)
    keys = party_keys(world)
    private, kid, _admin = register_key(session, world, world["school"])
    headers = _token(client, session, world["school"], ("agreements:sign",), name="Schoolsysteem")
    response = _post(client, agreement_id, _signature_body(session, agreement_id, private, kid, keys["school"],
                                                           world["school"], signer_name="J. de Zorg"), headers)
    assert response.status_code == 201, response.get_json()
    assert {s.party_key for s in version_row(session, agreement_id).signatures} == {keys["school"]}


def test_signing_needs_the_sign_scope_and_the_own_party(client, session, keyring, world, actors):
    agreement_id = offered_plan(session, keyring, world, actors)
    keys = party_keys(world)
    private, kid, _admin = register_key(session, world, world["gemeente"])
    body = _signature_body(session, agreement_id, private, kid, keys["gemeente"], world["gemeente"])
    reader = _token(client, session, world["gemeente"], ("agreements:read",), name="Alleen lezen")
    assert client.get(f"{API}/{agreement_id}", headers=reader).status_code == 200
    response = _post(client, agreement_id, body, reader)
    assert response.status_code == 403 and response.mimetype == PROBLEM
    assert response.get_json()["error"] == "insufficient_scope"
    assert 'scope="agreements:sign"' in response.headers["WWW-Authenticate"]
    other_scope = _token(client, session, world["gemeente"], ("referrals:read",), name="Verwijzingen")
    assert client.get(f"{API}/{agreement_id}", headers=other_scope).get_json()["error"] == "insufficient_scope"
    signer = _token(client, session, world["gemeente"], ("agreements:sign",))
    response = _post(client, agreement_id, {**body, "party": keys["school"]}, signer)  # not its party
    assert response.status_code == 403 and response.mimetype == PROBLEM
    response = _post(client, agreement_id, {**body, "extra": True}, signer)
    assert response.status_code == 400 and "extra" in {e["field"] for e in response.get_json()["errors"]}
    response = client.post(f"{API}/{agreement_id}/versions/1/signatures", data="{kapot",
                           content_type="application/json", headers=signer)
    assert response.status_code == 400 and response.mimetype == PROBLEM
    assert version_row(session, agreement_id).signatures == []


def test_other_organisations_agreements_are_404(client, session, keyring, world, actors):
    agreement_id = offered_plan(session, keyring, world, actors)
    private, kid, _admin = register_key(session, world, world["rmc"])
    rmc = _token(client, session, world["rmc"], ("agreements:read", "agreements:sign"), name="RMC-systeem")
    for url in (f"{API}/{agreement_id}", f"{API}/{agreement_id}/versions/1/bundle"):
        response = client.get(url, headers=rmc)
        assert response.status_code == 404 and response.mimetype == PROBLEM
    body = _signature_body(session, agreement_id, private, kid, party_keys(world)["gemeente"], world["rmc"])
    assert _post(client, agreement_id, body, rmc).status_code == 404
    assert client.get(API, headers=rmc).get_json()["items"] == []


def test_the_list_holds_the_callers_agreements_paginated(client, session, keyring, world, actors):
    agreement_id = offered_plan(session, keyring, world, actors)
    privacy = create_agreement(session, actors["mentor"], keyring, world["student"], AgreementKind.privacy)
    session.commit()
    partner = _token(client, session, world["gemeente"], ("agreements:read",), name="Gemeentesysteem")
    response = client.get(API, headers=partner)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    (item,) = body["items"]  # a party of the plan only, not of the school's privacy agreement
    assert item["id"] == str(agreement_id) and item["kind"] == "plan" and body["next_page"] is None
    assert item["latest_version"]["status"] == "awaiting" and item["awaiting_your_signature"] is True
    assert item["student_name"] == world["student"].full_name  # the consent covers contact data
    listed = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "agreement:list")).all()
    assert listed and {(e.account_name, e.channel) for e in listed} == {("API-client Gemeentesysteem", "api")}

    school = _token(client, session, world["school"], ("agreements:read",), name="Schoolsysteem")
    first = client.get(f"{API}?per_page=1", headers=school).get_json()
    second = client.get(f"{API}?per_page=1&page=2", headers=school).get_json()
    assert first["next_page"] == 2 and second["next_page"] is None
    assert {first["items"][0]["id"], second["items"][0]["id"]} == {str(agreement_id), str(privacy.id)}
    assert client.get(f"{API}?per_page=0", headers=school).status_code == 400
