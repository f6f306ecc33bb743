"""The agreements API and organisation keys: a hub admin registers a partner's Ed25519 public
key (and revokes it); the partner system signs a version with it through the API, and every
refusal is problem+json with the right status and field; reading an agreement and its bundle
are decided and audited; the public verification endpoints need no login and name no student.
The new operations conform to the published OpenAPI document (schemathesis)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from consent.agreements.access import find_agreement
from consent.agreements.documents import statement, verify_bundle
from consent.agreements.models import Agreement, SignatureMethod, VersionStatus
from consent.agreements.service import save_section
from network.audit import AuditEvent, AuditOutcome
from network.db import db
from network.models import OrganisationKey, OrganisationType, Role
from tests.conftest import post_form
from tests.consent.agreements._pages import OrgKey, offered_plan, tamper_content, version_row
from tests.consent.agreements._signed import party_keys, sign, signed_plan
from tests.consent.agreements.conftest import ready_plan
from tests.factories import OrganisationFactory, login, make_member

API = "/api/v1/agreements"
PROBLEM = "application/problem+json"


def _admin(world):
    return make_member(Role.hub_admin, OrganisationFactory(region=world["region"], type=OrganisationType.hub))


def _register(client, world, organisation, public_key, label="Jobcoachsysteem"):
    """A hub admin registers ``public_key`` on the organisation page (the real form)."""
    login(client, _admin(world))
    page = f"/beheer/organisaties/{organisation.id}"
    return post_form(client, page, {"public_key": public_key, "label": label}, post_url=f"{page}/sleutels")


def _key_row(public_b64) -> OrganisationKey:
    db.session.expire_all()
    return db.session.scalar(select(OrganisationKey).where(OrganisationKey.public_key == public_b64))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _signature_body(world, agreement_id, key: OrgKey, kid, *, party=None, number=1, signed_at=None,
                    signer_name="Lotte Verhoeven", organisation=None):
    """The body a partner system sends: its signature over the statement of the version."""
    signed_at = signed_at or _now()
    party = party or party_keys(world)["gemeente"]
    db.session.expire_all()
    agreement = db.session.get(Agreement, agreement_id)
    version = next(v for v in agreement.versions if v.number == number)
    role = next((p.role for p in version.parties if p.key == party), "jobcoach")
    stmt = statement(agreement_id=agreement_id, number=number, version_hash=version.content_hash, party=party,
                     role=role, signer_name=signer_name,
                     signer_organisation=organisation or world["gemeente"].name, on_behalf_of=None,
                     signed_at=signed_at, method=SignatureMethod.organisation_key)
    return {"party": party, "signer_name": signer_name, "signed_at": signed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "kid": kid, "signature": key.sign(stmt)}


def _post(client, agreement_id, body, number=1, content_type="application/json"):
    data = json.dumps(body) if content_type == "application/json" else body
    return client.post(f"{API}/{agreement_id}/versions/{number}/signatures", data=data, content_type=content_type)


def _fields(response) -> set[str]:
    return {e["field"] for e in response.get_json().get("errors", [])}


@pytest.fixture
def partner_key(client, session, world):
    """The gemeente's own key, registered by a hub admin through the organisation page."""
    key = OrgKey()
    response = _register(client, world, world["gemeente"], key.pem)
    assert response.status_code == 302, response.get_data(as_text=True)
    key.kid = _key_row(key.b64).kid
    login(client, world["partner"])
    return key


# -- organisation keys on the admin page ------------------------------------------------------

def test_the_hub_admin_registers_lists_and_revokes_keys(client, session, world):
    page = f"/beheer/organisaties/{world['gemeente'].id}"
    for public_key, message in (("", "Plak de publieke sleutel"), ("geen sleutel", "Dit is geen Ed25519-sleutel")):
        response = _register(client, world, world["gemeente"], public_key, label="Systeem X")
        html = response.get_data(as_text=True)
        assert response.status_code == 400 and message in html and "error-summary" in html
        assert 'value="Systeem X"' in html  # the input is kept
    assert session.scalar(select(OrganisationKey)) is None
    first, second = OrgKey(), OrgKey()
    assert _register(client, world, world["gemeente"], first.pem).status_code == 302
    assert _register(client, world, world["gemeente"], second.b64, label="Reserve").status_code == 302
    response = _register(client, world, world["gemeente"], first.b64)
    assert response.status_code == 400 and "al geregistreerd" in response.get_data(as_text=True)
    row = _key_row(first.b64)
    html = client.get(page).get_data(as_text=True)
    assert "Ondertekeningssleutels" in html and row.kid in html and "Jobcoachsysteem" in html
    assert {row.kid, _key_row(second.b64).kid} <= {k["kid"] for k in client.get("/.well-known/jwks.json").json["keys"]}
    assert post_form(client, page, {}, post_url=f"{page}/sleutels/{row.id}/intrekken").status_code == 302
    assert _key_row(first.b64).revoked_at is not None
    assert row.kid in {k["kid"] for k in client.get("/.well-known/jwks.json").json["keys"]}  # still published
    events = {e.event_type for e in session.scalars(select(AuditEvent))}
    assert {"organisation:key-register", "organisation:key-revoke"} <= events
    # another organisation's page cannot revoke it
    other = f"/beheer/organisaties/{world['school'].id}"
    assert post_form(client, other, {}, post_url=f"{other}/sleutels/{row.id}/intrekken").status_code == 404
    # only the hub admin manages keys
    login(client, world["mentor"])
    assert client.post(f"{page}/sleutels", data={"public_key": second.b64}).status_code in (400, 403)
    assert "Ondertekeningssleutels" not in client.get(f"/beheer/organisaties/{world['school'].id}").get_data(
        as_text=True)


# -- signing with an organisation key -------------------------------------------------------------

def test_a_partner_system_signs_with_its_own_key(client, session, keyring, world, actors, partner_key):
    agreement_id = offered_plan(session, keyring, world, actors)
    keys = party_keys(world)
    sign(session, keyring, actors["student_account"], agreement_id, 1, keys["student"])
    sign(session, keyring, actors["mentor"], agreement_id, 1, keys["school"])
    response = _post(client, agreement_id, _signature_body(world, agreement_id, partner_key, partner_key.kid))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["method"] == "organisation-key" and body["kid"] == partner_key.kid
    assert body["signer_name"] == "Lotte Verhoeven" and body["signer_organisation"] == world["gemeente"].name
    assert version_row(session, agreement_id).status is VersionStatus.active
    report = client.get(f"/api/v1/agreement-verifications/{session.get(Agreement, agreement_id).verify_code}")
    assert report.get_json()["valid"] and report.get_json()["versions"][0]["complete"]
    bundle = client.get(f"{API}/{agreement_id}/versions/1/bundle").get_json()
    assert verify_bundle(bundle, client.get("/.well-known/jwks.json").get_json()).complete
    signs = [e for e in session.scalars(select(AuditEvent).where(AuditEvent.event_type == "agreement:sign"))
             if e.account_id == world["partner"].id]
    assert signs and signs[0].channel == "api"


def test_organisation_key_refusals(client, session, keyring, world, actors, partner_key):
    agreement_id = offered_plan(session, keyring, world, actors)
    before = version_row(session, agreement_id)
    body = _signature_body(world, agreement_id, partner_key, partner_key.kid)
    cases = [
        ({**body, "kid": "org999-onbekend"}, 400, "kid"),
        ({**body, "signature": _signature_body(world, agreement_id, partner_key, partner_key.kid,
                                               signer_name="Iemand Anders")["signature"]}, 400, "signature"),
        (_signature_body(world, agreement_id, partner_key, partner_key.kid,
                         signed_at=_now() - dt.timedelta(minutes=10)), 400, "signed_at"),
        ({**body, "signed_at": "2026-12-04T10:00:00"}, 400, "signed_at"),  # no time zone
        ({**body, "signed_at": "gisteren"}, 400, "signed_at"),
        ({k: v for k, v in body.items() if k != "signer_name"}, 400, "signer_name"),
        ({**body, "extra": 1}, 400, "extra"),
    ]
    for sent, status, field in cases:
        response = _post(client, agreement_id, sent)
        assert response.status_code == status and response.mimetype == PROBLEM, (field, response.get_json())
        assert field in _fields(response), response.get_json()
    response = _post(client, agreement_id, [body])
    assert response.status_code == 400 and "body" in _fields(response)
    # another organisation's key: registered for the school, used by the gemeente
    school_key = OrgKey()
    _register(client, world, world["school"], school_key.b64)
    school_key.kid = _key_row(school_key.b64).kid
    login(client, world["partner"])
    response = _post(client, agreement_id, _signature_body(world, agreement_id, school_key, school_key.kid))
    assert response.status_code == 400 and "kid" in _fields(response)
    # a party that is not in the version, and another organisation's party
    response = _post(client, agreement_id, {**body, "party": "org-999999"})
    assert response.status_code == 404 and response.mimetype == PROBLEM
    response = _post(client, agreement_id, _signature_body(world, agreement_id, partner_key, partner_key.kid,
                                                           party=party_keys(world)["school"]))
    assert response.status_code == 403 and response.mimetype == PROBLEM
    # not JSON
    response = _post(client, agreement_id, "party=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and response.mimetype == PROBLEM
    after = version_row(session, agreement_id)
    assert after.signatures == [] and after.status is before.status is VersionStatus.awaiting
    # an organisation that is not a party does not see the agreement at all
    login(client, world["rmc_staff"])
    assert _post(client, agreement_id, body).status_code == 404


def test_signing_twice_or_a_superseded_version_is_409(client, session, keyring, world, actors, partner_key):
    agreement_id = offered_plan(session, keyring, world, actors)
    assert _post(client, agreement_id, _signature_body(world, agreement_id, partner_key,
                                                       partner_key.kid)).status_code == 201
    response = _post(client, agreement_id, _signature_body(world, agreement_id, partner_key, partner_key.kid))
    assert response.status_code == 409 and response.mimetype == PROBLEM
    mentor = actors["mentor"]
    agreement, access = find_agreement(session, mentor, agreement_id)
    save_section(session, mentor, keyring, agreement, access, "future", {"goal": "Werken in de zorg"})
    session.commit()
    response = _post(client, agreement_id, _signature_body(world, agreement_id, partner_key, partner_key.kid))
    assert response.status_code == 409 and "vervangen" in response.get_json()["detail"]
    assert len(version_row(session, agreement_id).signatures) == 1


def test_a_revoked_key_signs_nothing_new_but_old_signatures_stay_valid(client, session, keyring, world, actors,
                                                                       partner_key):
    first = offered_plan(session, keyring, world, actors)
    assert _post(client, first, _signature_body(world, first, partner_key, partner_key.kid)).status_code == 201
    row = _key_row(partner_key.b64)
    admin_page = f"/beheer/organisaties/{world['gemeente'].id}"
    login(client, _admin(world))
    assert post_form(client, admin_page, {}, post_url=f"{admin_page}/sleutels/{row.id}/intrekken").status_code == 302
    # a new version to sign: the revoked key is refused
    mentor = actors["mentor"]
    agreement, access = find_agreement(session, mentor, first)
    save_section(session, mentor, keyring, agreement, access, "future", {"goal": "Werken in de zorg"})
    session.commit()
    from tests.consent.agreements._signed import offer

    offer(session, keyring, mentor, first)
    login(client, world["partner"])
    response = _post(client, first, _signature_body(world, first, partner_key, partner_key.kid, number=2), number=2)
    assert response.status_code == 400 and "kid" in _fields(response)
    # what it signed before the revocation still verifies
    code = session.get(Agreement, first).verify_code
    versions = {v["number"]: v for v in client.get(f"/api/v1/agreement-verifications/{code}").get_json()["versions"]}
    assert versions[1]["valid"] and any(s["kid"] == partner_key.kid and s["valid"] for s in versions[1]["signatures"])


# -- reading ------------------------------------------------------------------------------------

def test_reading_an_agreement(client, session, keyring, world, actors):
    agreement_id = signed_plan(session, keyring, world, actors)
    assert client.get(f"{API}/{agreement_id}").status_code == 401
    login(client, world["partner"])
    response = client.get(f"{API}/{agreement_id}")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    version = version_row(session, agreement_id)
    assert body["status"] == "active" and body["content_version"] == 1
    assert body["content"]["future"]["occupation"] == "Magazijnmedewerker"
    [v1] = body["versions"]
    assert v1["hash"] == version.content_hash and len(v1["signatures"]) == 3
    assert {p["key"] for p in v1["parties"]} == set(party_keys(world).values())
    assert body["verify_url"].endswith(f"/controle/{body['verify_code']}")
    [event] = [e for e in session.scalars(select(AuditEvent).where(AuditEvent.event_type == "agreement:view"))
               if e.account_id == world["partner"].id]
    assert event.channel == "api" and event.outcome is AuditOutcome.success
    bundle = client.get(f"{API}/{agreement_id}/versions/1/bundle")
    assert bundle.status_code == 200 and verify_bundle(bundle.get_json(),
                                                       client.get("/.well-known/jwks.json").get_json()).complete
    assert client.get(f"{API}/{agreement_id}/versions/9/bundle").status_code == 404
    login(client, world["rmc_staff"])
    assert client.get(f"{API}/{agreement_id}").status_code == 404
    login(client, world["guardian"])  # no role: the API is for organisations' staff and students
    assert client.get(f"{API}/{agreement_id}").status_code == 403


def test_reading_without_a_basis_is_403_and_audited(client, session, keyring, world, actors):
    agreement = ready_plan(session, keyring, world, actors, world["gemeente"])
    from tests.consent.agreements._signed import offer

    offer(session, keyring, actors["mentor"], agreement.id)
    login(client, world["partner"])
    for url in (f"{API}/{agreement.id}", f"{API}/{agreement.id}/versions/1/bundle"):
        response = client.get(url)
        assert response.status_code == 403 and response.mimetype == PROBLEM
    denied = session.scalars(select(AuditEvent).where(AuditEvent.outcome == AuditOutcome.denied,
                                                      AuditEvent.account_id == world["partner"].id)).all()
    assert {e.event_type for e in denied} == {"agreement:view", "agreement:bundle"}
    login(client, world["mentor"])  # the school; a draft has no bundle yet
    mentor = actors["mentor"]
    found, access = find_agreement(session, mentor, agreement.id)
    save_section(session, mentor, keyring, found, access, "future", {"goal": "Werken in de zorg"})
    session.commit()
    assert client.get(f"{API}/{agreement.id}/versions/2/bundle").status_code == 409


# -- public verification -------------------------------------------------------------------------

def test_verification_by_code_is_public_and_names_nobody(client, session, keyring, world, actors):
    agreement_id = signed_plan(session, keyring, world, actors)
    code = session.get(Agreement, agreement_id).verify_code
    response = client.get(f"/api/v1/agreement-verifications/{code}")
    assert response.status_code == 200
    body = response.get_json()
    text = json.dumps(body, ensure_ascii=False)
    for secret in (world["student"].full_name, world["student_account"].name, world["mentor"].name,
                   world["partner"].name, "Magazijnmedewerker"):
        assert secret not in text
    [v1] = body["versions"]
    assert body["valid"] and v1["valid"] and v1["complete"] and v1["status"] == "active"
    assert {s["signed_by"] for s in v1["signatures"]} == {"leerling", world["school"].name, world["gemeente"].name}
    tamper_content(agreement_id)
    body = client.get(f"/api/v1/agreement-verifications/{code}").get_json()
    assert not body["valid"] and body["versions"][0]["problems"]
    response = client.get("/api/v1/agreement-verifications/ABCDEFGHJK")
    assert response.status_code == 404 and response.mimetype == PROBLEM


def test_bundle_verification_endpoint(client, session, keyring, world, actors):
    from consent.agreements.integrity import build_bundle

    agreement_id = signed_plan(session, keyring, world, actors)
    session.expire_all()
    agreement = session.get(Agreement, agreement_id)
    bundle = build_bundle(keyring, agreement, agreement.latest)
    url = "/api/v1/agreement-bundles/verify"
    body = client.post(url, json=bundle).get_json()
    assert body["valid"] and body["complete"] and body["missing"] == [] and len(body["signatures"]) == 3
    assert body["hash"] == agreement.latest.content_hash
    bundle["signatures"] = bundle["signatures"][:2]
    bundle["signatures"][0]["signature"] = bundle["signatures"][1]["signature"]
    body = client.post(url, json=bundle).get_json()
    assert not body["valid"] and not body["complete"] and len(body["missing"]) == 2
    assert [s["valid"] for s in body["signatures"]] == [False, True] and body["signatures"][0]["problem"]
    for sent, message in (({"format": "iets"}, "onbekend formaat"), ([1], "geen geldige bundel"),
                          ({"format": "schakel-agreement-bundle/1"}, "geen geldige bundel")):
        response = client.post(url, json=sent)
        assert response.status_code == 400 and response.mimetype == PROBLEM, sent
        [error] = response.get_json()["errors"]
        assert error["field"] == "bundle" and message in error["message"]
    response = client.post(url, data="{kapot", content_type="application/json")
    assert response.status_code == 400 and "geen geldige JSON" in response.get_json()["errors"][0]["message"]
    response = client.post(url, json={"x": "a" * (1024 * 1024)})
    assert response.status_code == 400 and "1 MB" in response.get_json()["errors"][0]["message"]
    response = client.post(url, data=json.dumps(bundle), content_type="text/plain")
    assert response.status_code == 415 and response.mimetype == PROBLEM


# -- the OpenAPI document -------------------------------------------------------------------------

OPERATIONS = {("/api/v1/agreements/{agreement_id}", "get"),
              ("/api/v1/agreements/{agreement_id}/versions/{number}/bundle", "get"),
              ("/api/v1/agreements/{agreement_id}/versions/{number}/signatures", "post"),
              ("/api/v1/agreement-verifications/{code}", "get"),
              ("/api/v1/agreement-bundles/verify", "post")}


def test_openapi_documents_the_operations(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path, method in OPERATIONS:
        responses = paths[path][method]["responses"]
        assert "200" in responses or "201" in responses, path
    sign_op = paths["/api/v1/agreements/{agreement_id}/versions/{number}/signatures"]["post"]
    assert {"400", "401", "403", "404", "409", "415"} <= set(sign_op["responses"])
    assert "application/json" in sign_op["requestBody"]["content"]
    assert "400" in paths["/api/v1/agreement-bundles/verify"]["post"]["responses"]


def test_the_operations_conform_to_the_openapi_document(app, client, session, keyring, world, actors):
    """Schemathesis over the five operations (in-process), logged in as the gemeente's staff:
    no server errors, only documented statuses and content types, bodies valid against the
    documented schemas."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    agreement_id = signed_plan(session, keyring, world, actors)
    code = session.get(Agreement, agreement_id).verify_code
    login(client, world["partner"])
    cookies = {app.config["SESSION_COOKIE_NAME"]: client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value}
    raw = client.get("/api/v1/openapi.json").get_json()
    raw["paths"] = {path: {m: op for m, op in ops.items() if (path, m) in OPERATIONS or m == "parameters"}
                    for path, ops in raw["paths"].items() if any((path, m) in OPERATIONS for m in ops)}
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = app
    known = {"agreement_id": str(agreement_id), "number": 1, "code": code}
    checked, statuses, calls = [], set(), [0]
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=6, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case):
            calls[0] += 1
            if case.path_parameters and calls[0] % 2:  # every other case: the real agreement
                case.path_parameters.update({k: v for k, v in known.items() if k in case.path_parameters})
            response = case.call(cookies=cookies)
            statuses.add(response.status_code)
            case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                                     content_type_conformance, response_schema_conformance])

        run()
        checked.append(operation.label)
    assert len(checked) == len(OPERATIONS), checked
    # the real agreement was reached too, not only made-up ids
    response = client.get(f"{API}/{agreement_id}")
    assert response.status_code == 200
    assert 200 in statuses and 404 in statuses, statuses
