"""Verification by anyone: ``/controle/<code>`` shows, without a login and without any student
data, each version's status, hash and signatures with the result of checking them now (a
change made directly in the database shows as "niet geldig"); ``/controle`` checks a pasted or
uploaded bundle against the published keys; both are rate-limited; signatures still verify
after the hub's signing key was rotated."""

from __future__ import annotations

import io
import json

from sqlalchemy import event, update
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from consent.agreements.access import find_agreement
from consent.agreements.integrity import build_bundle
from consent.agreements.lifecycle import offer_for_signature
from consent.agreements.models import Agreement, AgreementSignature, SignatureMethod
from consent.agreements.service import save_section
from consent.agreements.signatures import sign_version
from network.config import write_secrets_file
from network.db import db
from network.models import Student
from tests.conftest import csrf_from, extra_app, test_config
from tests.consent.agreements._pages import offered_plan, tamper_content, version_row
from tests.consent.agreements._signed import party_keys, sign, signed_plan, utcnow


def _agreement(agreement_id) -> Agreement:
    db.session.expire_all()
    return db.session.get(Agreement, agreement_id)


def _public(client, agreement_id):
    return client.get(f"/controle/{_agreement(agreement_id).verify_code}")


def _bundle(keyring, agreement_id, number=1) -> dict:
    agreement = _agreement(agreement_id)
    return build_bundle(keyring, agreement, next(v for v in agreement.versions if v.number == number))


def _post_bundle(client, *, text=None, upload=None, filename="bundel.json"):
    token = csrf_from(client.get("/controle").get_data(as_text=True))
    data = {"csrf_token": token, "bundle": text or ""}
    if upload is not None:
        data["bestand"] = FileStorage(io.BytesIO(upload), filename=filename, content_type="application/json")
    # encoded in memory: the test client would spool a big upload to a temporary file it never closes
    boundary, body = encode_multipart(data)
    return client.post("/controle", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def test_the_public_page_verifies_without_login_and_shows_no_student_data(client, session, keyring, world, actors):
    agreement_id = signed_plan(session, keyring, world, actors)
    loaded = []
    listener = lambda target, *args: loaded.append(target)  # noqa: E731
    event.listen(Student, "load", listener)
    try:
        response = _public(client, agreement_id)
    finally:
        event.remove(Student, "load", listener)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and loaded == []  # the student is not even read
    student = world["student"]
    for secret in (student.full_name, student.last_name, world["student_account"].name, world["mentor"].name,
                   world["partner"].name, "Magazijnmedewerker", "logistiek"):
        assert secret not in html
    version = version_row(session, agreement_id)
    assert version.content_hash in html and "Versie 1" in html and "geldig" in html and "NIET geldig" not in html
    assert "leerling" in html and world["school"].name in html and world["gemeente"].name in html
    for signature in version.signatures:
        assert signature.kid in html and signature.signed_at.strftime("%Y-%m-%dT%H:%M:%SZ") in html
    assert "Geldt" in html  # the status


def test_a_representative_signature_says_so_without_a_name(client, session, keyring, world, actors):
    from tests.consent.agreements._pages import young_plan

    agreement_id = young_plan(session, keyring, world, actors)
    from tests.factories import principal_for

    sign(session, keyring, principal_for(world["guardian"]), agreement_id, 1, "student")
    html = _public(client, agreement_id).get_data(as_text=True)
    assert "wettelijk vertegenwoordiger" in html
    assert world["young"].full_name not in html and "Ouder Jansen" not in html
    assert "Nog niet ondertekend door" in html and world["school"].name in html


def test_content_changed_in_the_database_shows_not_valid(client, session, keyring, world, actors):
    agreement_id = signed_plan(session, keyring, world, actors)
    tamper_content(agreement_id)
    response = _public(client, agreement_id)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "NIET geldig" in html and "buiten Schakel gewijzigd" in html


def test_a_changed_signature_column_shows_not_valid(client, session, keyring, world, actors):
    agreement_id = signed_plan(session, keyring, world, actors)
    version = version_row(session, agreement_id)
    gemeente = party_keys(world)["gemeente"]
    session.execute(update(AgreementSignature).where(AgreementSignature.version_id == version.id,
                                                     AgreementSignature.party_key == gemeente)
                    .values(signer_name="Iemand Anders"))
    session.commit()
    html = _public(client, agreement_id).get_data(as_text=True)
    assert "NIET geldig" in html and "niet geldig" in html and "past niet bij de inhoud" in html
    # only that signature: the other two still verify
    assert html.count("<strong>geldig</strong>") == 2


def test_a_changed_hash_shows_not_valid(client, session, keyring, world, actors):
    from consent.agreements.models import AgreementVersion

    agreement_id = signed_plan(session, keyring, world, actors)
    version = version_row(session, agreement_id)
    session.execute(update(AgreementVersion).where(AgreementVersion.id == version.id)
                    .values(content_hash="0" * 64))
    session.commit()
    html = _public(client, agreement_id).get_data(as_text=True)
    assert "NIET geldig" in html and "hash klopt niet" in html


def test_an_unknown_code_is_404_and_a_typed_code_is_tidied(client, session, keyring, world, actors):
    response = client.get("/controle/ABCDEFGHJK")
    assert response.status_code == 404 and "Deze controlecode kennen we niet" in response.get_data(as_text=True)
    agreement_id = offered_plan(session, keyring, world, actors)
    code = _agreement(agreement_id).verify_code
    typed = client.get(f"/controle/{code[:5].lower()}-{code[5:].lower()}")
    assert typed.status_code == 302 and typed.location.endswith(f"/controle/{code}")
    lookup = client.get("/controle", query_string={"code": f" {code.lower()} "})
    assert lookup.status_code == 302 and lookup.location.endswith(f"/controle/{code}")
    assert client.get("/controle", query_string={"code": ""}).status_code == 400
    html = client.get(f"/controle/{code}").get_data(as_text=True)
    assert "geldig, nog niet door iedereen ondertekend" in html and "Nog geen handtekeningen" in html


def test_an_uploaded_or_pasted_bundle_is_checked(client, session, keyring, world, actors):
    agreement_id = signed_plan(session, keyring, world, actors)
    bundle = _bundle(keyring, agreement_id)
    response = _post_bundle(client, upload=json.dumps(bundle).encode())
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Uitslag" in html and "NIET geldig" not in html and html.count("<strong>geldig</strong>") == 3
    assert bundle["hash"] in html
    pasted = _post_bundle(client, text=json.dumps(bundle, indent=2))
    assert pasted.status_code == 200 and pasted.get_data(as_text=True).count("<strong>geldig</strong>") == 3

    tampered = json.loads(json.dumps(bundle))
    tampered["document"]["parties"][0]["commitment"] = "Ik beloof niets."
    html = _post_bundle(client, upload=json.dumps(tampered).encode()).get_data(as_text=True)
    assert "NIET geldig" in html and "hash klopt niet" in html
    forged = json.loads(json.dumps(bundle))
    forged["signatures"][0]["statement"]["signer"]["name"] = "Iemand Anders"
    html = _post_bundle(client, text=json.dumps(forged)).get_data(as_text=True)
    assert "NIET geldig" in html and "past niet bij de inhoud" in html


def test_a_malformed_or_oversized_bundle_gets_a_dutch_answer(client, session, keyring, world, actors):
    for body, message in ((b"{niet json", "geen geldige JSON"), (b'{"format": "iets"}', "geen geldige bundel"),
                          (b"[1, 2]", "geen geldige bundel"), (b"\xff\xfe", "geen geldige JSON"),
                          (b"[" * 100000, "geen geldige JSON"),
                          (b'{"x": "' + b"a" * (1024 * 1024) + b'"}', "groter dan 1 MB")):
        response = _post_bundle(client, upload=body)
        html = response.get_data(as_text=True)
        assert response.status_code == 400 and message in html, (body[:20], html[-2000:])
        assert "error-summary" in html
    response = _post_bundle(client, text="")
    assert response.status_code == 400 and "Plak de inhoud van de bundel" in response.get_data(as_text=True)
    response = _post_bundle(client, text="{kapot")
    assert response.status_code == 400 and "{kapot</textarea>" in response.get_data(as_text=True)  # input kept


def test_verification_is_rate_limited(app, tmp_path):
    config = test_config(tmp_path, VERIFY_RATE_LIMIT="3 per minute",
                         SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    with extra_app(config) as limited:
        client = limited.test_client()
        statuses = [client.get("/controle/ABCDEFGHJK").status_code for _ in range(4)]
        assert statuses == [404, 404, 404, 429]
        assert "te vaak geprobeerd" in client.get("/controle/ABCDEFGHJK").get_data(as_text=True)
        assert client.get("/api/v1/agreement-verifications/ABCDEFGHJK").status_code == 404  # its own budget


def test_signatures_still_verify_after_the_signing_key_is_rotated(app, session, keyring, world, actors, tmp_path):
    agreement_id = signed_plan(session, keyring, world, actors)
    old_kid = keyring.signing_key_current
    secrets_file = tmp_path / "secrets.json"
    write_secrets_file(secrets_file, app.config["SECRETS"])

    def restart():
        return extra_app(test_config(tmp_path, SECRETS=None, SECRETS_FILE=str(secrets_file),
                                     SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"]))

    with restart() as first, first.app_context():  # the CLI runs in the current app context
        result = first.test_cli_runner().invoke(args=["keys", "rotate-signing-key"])
        assert result.exit_code == 0, result.output
    with restart() as second:
        ring = second.extensions["schakel.keyring"]
        assert ring.signing_key_current != old_kid
        client = second.test_client()
        kids = [k["kid"] for k in client.get("/.well-known/jwks.json").get_json()["keys"]]
        assert old_kid in kids and ring.signing_key_current in kids
        code = _agreement(agreement_id).verify_code
        html = client.get(f"/controle/{code}").get_data(as_text=True)
        assert "NIET geldig" not in html and html.count("<strong>geldig</strong>") == 3 and old_kid in html
        # a new version signed after the rotation (with the restarted hub's keyring) uses the new
        # key; the old version still verifies
        mentor, student = actors["mentor"], actors["student_account"]
        agreement, access = find_agreement(session, mentor, agreement_id)
        save_section(session, mentor, ring, agreement, access, "future", {"goal": "Werken in de zorg"})
        session.commit()
        agreement, access = find_agreement(session, mentor, agreement_id)
        offer_for_signature(session, mentor, ring, agreement, access, order=agreement.latest.signing_order,
                            signers=["student", party_keys(world)["school"]])
        session.commit()
        agreement, access = find_agreement(session, student, agreement_id)
        row = sign_version(session, student, ring, agreement, access, 2, "student", authenticated_at=utcnow(),
                           method=SignatureMethod.password)
        session.commit()
        assert row.kid == ring.signing_key_current
        html = client.get(f"/controle/{code}").get_data(as_text=True)
        assert "NIET geldig" not in html and old_kid in html and ring.signing_key_current in html
        bundle = client.post("/api/v1/agreement-bundles/verify", json=_bundle(ring, agreement_id, 1)).get_json()
        assert bundle["valid"] and bundle["complete"]
