"""What makes a signed agreement trustworthy, at the service layer (DESIGN.md rule 4):

- the canonical document and its hash are the same after a round-trip through the database
  (SQLite and PostgreSQL alike: dates, unicode, numbers, long text, empty parts), and the
  signing time comes back to the same second;
- a change made directly in the database to any signed field (the content, the hash, a party,
  the title, any column of a signature, or a deleted signature) makes verification fail;
- after the hub's signing key is rotated as an operator does it, old signatures still verify
  with the old public key in the JWK Set, and new ones carry the new key id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from zoneinfo import ZoneInfo

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Uuid, bindparam, select, text
from sqlalchemy.orm import Session

from consent.agreements.access import find_agreement
from consent.agreements.documents import document_hash, format_time, verify_bundle, version_document
from consent.agreements.integrity import build_bundle, verify_agreement
from consent.agreements.models import Agreement, AgreementKind, AgreementSignature, SigningOrder, VersionStatus
from consent.agreements.service import content_of, create_agreement, document_of, save_parties, save_section
from network.config import write_secrets_file
from network.db import UTCDateTime, db
from network.keys import published_jwks
from tests.conftest import extra_app, test_config
from tests.consent.agreements._signed import offer, party_keys, reload, sign, signed_plan
from tests.consent.agreements.conftest import CHECKS, party_rows

LONG = ("Dit is een lange tekst over de stappen naar werk, met regels\nen tabs\t en aanhalingstekens \"zo\" "
        "en 'zo', backslash \\ en slash /. " * 60)
UNICODE = "Zoë en Chloé uit Ørsted 🚀👩🏽‍🔧 ‘quotes’ — خطة الانتقال من المدرسة إلى العمل"
CONTENT = {
    "future": {"goal": UNICODE, "occupation": "Kok (m/v/x) ñ ß ı", "steps": LONG},
    "internship": {"start": "2027-02-01", "end": "2027-06-30", "company": "Bakkerij Ørsted"},
    "skills": {"skills": [{"skill": "Rekenen", "kind": "beroep", "score": "G", "hours": 32, "ratio": 0.75,
                           "big": 1e21, "small": 1e-7, "whole": 100.0, "negative": -12, "zero": -0.0}]},
    "jobs": {"jobs": []},
    "people": {"people": [{"name": "", "relation": "ouder"}]},
    "checks": {**CHECKS, "moments": [{"date": "2027-03-01", "what": "Eindstage gestart ✓"}]},
}


def _plan_with_content(session, keyring, world, actors):
    mentor = actors["mentor"]
    agreement = create_agreement(session, mentor, keyring, world["student"], AgreementKind.plan,
                                 title="Plan van Zoë — 🚀 خطة")
    session.commit()
    agreement, access = find_agreement(session, mentor, agreement.id)
    for code, part in CONTENT.items():
        save_section(session, mentor, keyring, agreement, access, code, json.loads(json.dumps(part)))
    rows = party_rows(agreement, world["gemeente"], commitment="Ik zorg dat het lukt — ë ø 👍 ما يلزم")
    rows[-1]["contact"] = "Søren Ünal, jobcoach (06-12345678)"
    rows[-1]["commitment"] = "De jobcoach komt elke week — ma, wo; 10% van de tijd; ما يلزم"
    save_parties(session, mentor, keyring, agreement, access, rows)
    session.commit()
    return agreement.id


def test_document_and_hash_survive_the_database_round_trip(session, keyring, world, actors):
    agreement_id = _plan_with_content(session, keyring, world, actors)
    number = offer(session, keyring, actors["mentor"], agreement_id)
    agreement, _access = reload(session, actors["mentor"], agreement_id)
    version = agreement.latest
    before = document_of(agreement, version, content_of(keyring, version))
    stored_hash = version.content_hash
    assert document_hash(before) == stored_hash

    with Session(db.engine) as fresh:  # a new session and connection: everything comes from the database
        agreement, _access = find_agreement(fresh, actors["mentor"], agreement_id)
        version = agreement.latest
        after = document_of(agreement, version, content_of(keyring, version))
        reports = verify_agreement(fresh, keyring, agreement)
    assert version.number == number and version.content_hash == stored_hash
    assert rfc8785.dumps(after) == rfc8785.dumps(before)
    assert document_hash(after) == stored_hash
    assert after["agreement"]["title"] == "Plan van Zoë — 🚀 خطة"
    assert after["content"]["future"]["goal"] == UNICODE and after["content"]["future"]["steps"] == LONG
    assert after["content"]["skills"]["skills"][0]["hours"] == 32
    gemeente = next(p for p in after["parties"] if p["organisation_id"] == world["gemeente"].id)
    assert gemeente["contact"] == "Søren Ünal, jobcoach (06-12345678)"
    assert "ما يلزم" in gemeente["commitment"]
    assert reports[0].ok


def test_the_canonical_form_is_pinned():
    """The same document gives the same bytes and hash on any engine and any machine: RFC 8785
    sorts keys by UTF-16 code units, writes numbers the ECMAScript way and escapes nothing
    but what JSON must."""
    document = version_document(
        agreement_id=uuid.UUID("12345678-1234-4234-8234-123456789abc"), kind="plan", title="Plan van Zoë 🚀",
        number=2, signing_order="sequential",
        content={"b": {"x": 1e21, "y": 0.1, "z": -0.0, "w": 100.0}, "a": {"€": "ø", "é": "\u2028", "😀": ""},
                 "dates": {"start": "2027-02-01"}},
        parties=[{"key": "student", "kind": "student", "organisation_id": None, "name": "Zoë", "role": "leerling",
                  "purpose": None, "contact": None, "commitment": "Ik doe mee", "signs": True, "position": 1}])
    expected = ('{"agreement":{"id":"12345678-1234-4234-8234-123456789abc","kind":"plan","title":"Plan van Zoë 🚀"},'
                '"content":{"a":{"é":"\u2028","€":"ø","😀":""},"b":{"w":100,"x":1e+21,"y":0.1,"z":0},'
                '"dates":{"start":"2027-02-01"}},"format":"schakel-agreement/1","parties":[{"commitment":"Ik doe mee",'
                '"contact":null,"key":"student","kind":"student","name":"Zoë","organisation_id":null,"position":1,'
                '"purpose":null,"role":"leerling","signs":true}],"signing_order":"sequential","version":2}')
    assert rfc8785.dumps(document) == expected.encode()
    assert document_hash(document) == hashlib.sha256(expected.encode()).hexdigest() == (
        "e5269fce4b743fde7ea5c13e15847dc85a04bea4998024f5146f2fdf8ff2e6fe")


def test_signing_time_round_trips_to_the_same_second(session, keyring, world, actors):
    agreement_id = _plan_with_content(session, keyring, world, actors)
    offer(session, keyring, actors["mentor"], agreement_id)
    # a wall clock in Amsterdam with microseconds: stored as UTC, whole seconds
    moment = dt.datetime(2026, 11, 30, 16, 45, 7, 999_999, tzinfo=ZoneInfo("Europe/Amsterdam"))
    sign(session, keyring, actors["student_account"], agreement_id, 1, "student",
         at=moment - dt.timedelta(minutes=2), now=moment)
    with Session(db.engine) as fresh:
        row = fresh.scalar(select(AgreementSignature).where(AgreementSignature.party_key == "student"))
        agreement, _access = find_agreement(fresh, actors["mentor"], agreement_id)
        [report] = verify_agreement(fresh, keyring, agreement)
    assert row.signed_at == dt.datetime(2026, 11, 30, 15, 45, 7, tzinfo=dt.UTC)
    assert row.signed_at.utcoffset() == dt.timedelta(0)
    assert format_time(row.signed_at) == "2026-11-30T15:45:07Z"
    assert report.ok and [s.time for s in report.signatures] == ["2026-11-30T15:45:07Z"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2 ** 53) + 1, max_value=2 ** 53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(st.characters(exclude_categories=("Cs",))),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.text(st.characters(exclude_categories=("Cs",)), max_size=8), children, max_size=4),
    max_leaves=12)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(part=st.dictionaries(st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=8), json_values,
                            min_size=1, max_size=4))
def test_any_json_content_hashes_the_same_after_the_database(session, keyring, world, actors, part):
    """Whatever JSON a section holds, the document read back from the database (new session)
    has the same canonical bytes and hash as the one written."""
    mentor = actors["mentor"]
    agreement = session.scalar(select(Agreement))  # one draft plan, shared by the examples
    if agreement is None:
        agreement = create_agreement(session, mentor, keyring, world["student"], AgreementKind.plan)
        session.commit()
    agreement, access = find_agreement(session, mentor, agreement.id)
    save_section(session, mentor, keyring, agreement, access, "future", part)
    version = agreement.latest
    written = document_of(agreement, version, content_of(keyring, version))
    session.commit()
    with Session(db.engine) as fresh:
        agreement, _access = find_agreement(fresh, mentor, agreement.id)
        read = document_of(agreement, agreement.latest, content_of(keyring, agreement.latest))
    assert rfc8785.dumps(read) == rfc8785.dumps(written)
    assert document_hash(read) == document_hash(written)


# -- tampering in the database -------------------------------------------------------------------

def _ids(session, agreement_id, actors, world):
    agreement, _access = reload(session, actors["mentor"], agreement_id)
    version = agreement.latest
    gemeente = party_keys(world)["gemeente"]
    return {"agreement": agreement.id, "version": version.id,
            "party": next(p.id for p in version.parties if p.key == gemeente),
            "signature": next(s.id for s in version.signatures if s.party_key == gemeente)}


def _alter(value: str) -> str:
    """One character changed, in the middle (not a base64 padding position)."""
    index = len(value) // 2
    return value[:index] + ("B" if value[index] != "B" else "C") + value[index + 1:]


def _change_one_character(table, column, key):
    def tamper(session, ids):
        row_id = ids[key]
        id_param = bindparam("id", type_=Uuid()) if key == "agreement" else bindparam("id")
        current = session.execute(text(f"SELECT {column} FROM {table} WHERE id = :id").bindparams(id_param),
                                  {"id": row_id}).scalar_one()
        session.execute(text(f"UPDATE {table} SET {column} = :v WHERE id = :id").bindparams(id_param),
                        {"v": _alter(current), "id": row_id})
    return tamper


def _set(table, column, value, key, type_=None):
    def tamper(session, ids):
        params = [bindparam("v", type_=type_)] if type_ is not None else []
        session.execute(text(f"UPDATE {table} SET {column} = :v WHERE id = :id").bindparams(*params),
                        {"v": value(session, ids) if callable(value) else value, "id": ids[key]})
    return tamper


def _one_second_later(session, ids):
    signed_at = session.scalar(select(AgreementSignature.signed_at).where(AgreementSignature.id == ids["signature"]))
    return signed_at + dt.timedelta(seconds=1)


def _kind_to_privacy(session, ids):
    session.execute(text("UPDATE agreement SET kind = 'privacy' WHERE id = :id").bindparams(
        bindparam("id", type_=Uuid())), {"id": ids["agreement"]})


def _delete_signature(session, ids):
    session.execute(text("DELETE FROM agreement_signature WHERE id = :id"), {"id": ids["signature"]})


TAMPERS = {
    "version.content_encrypted": _change_one_character("agreement_version", "content_encrypted", "version"),
    "version.content_hash": _change_one_character("agreement_version", "content_hash", "version"),
    "version.signing_order": _set("agreement_version", "signing_order", "sequential", "version"),
    "party.commitment": _change_one_character("agreement_party", "commitment", "party"),
    "party.role": _change_one_character("agreement_party", "role", "party"),
    "party.name": _change_one_character("agreement_party", "name", "party"),
    "party.contact": _set("agreement_party", "contact", "Iemand anders", "party"),
    "party.purpose": _set("agreement_party", "purpose", "begeleiding-naar-werk", "party"),
    "party.signs": _set("agreement_party", "signs", False, "party"),
    "party.position": _set("agreement_party", "position", 7, "party"),
    "agreement.title": _change_one_character("agreement", "title", "agreement"),
    "agreement.kind": _kind_to_privacy,
    "signature.signer_name": _change_one_character("agreement_signature", "signer_name", "signature"),
    "signature.signer_organisation": _change_one_character("agreement_signature", "signer_organisation",
                                                           "signature"),
    "signature.on_behalf_of": _set("agreement_signature", "on_behalf_of", "Ouder Jansen", "signature"),
    "signature.role": _change_one_character("agreement_signature", "role", "signature"),
    "signature.party_key": _set("agreement_signature", "party_key", "org-999999", "signature"),
    "signature.signed_at": _set("agreement_signature", "signed_at", _one_second_later, "signature", UTCDateTime()),
    "signature.method": _set("agreement_signature", "method", "totp", "signature"),
    "signature.version_hash": _change_one_character("agreement_signature", "version_hash", "signature"),
    "signature.kid": _change_one_character("agreement_signature", "kid", "signature"),
    "signature.signature": _change_one_character("agreement_signature", "signature", "signature"),
    "signature.declined": _set("agreement_signature", "declined", True, "signature"),
    "signature deleted": _delete_signature,
}


def test_untouched_plan_verifies(session, keyring, world, actors):
    agreement_id = signed_plan(session, keyring, world, actors)
    agreement, _access = reload(session, actors["mentor"], agreement_id)
    [report] = verify_agreement(session, keyring, agreement)
    assert report.ok and report.complete and not report.problems and not report.missing
    assert len(report.signatures) == 3 and all(s.ok for s in report.signatures)


@pytest.mark.parametrize("field", sorted(TAMPERS))
def test_a_change_in_the_database_fails_verification(session, keyring, world, actors, field):
    agreement_id = signed_plan(session, keyring, world, actors)
    ids = _ids(session, agreement_id, actors, world)
    TAMPERS[field](session, ids)
    session.commit()
    agreement, _access = reload(session, actors["mentor"], agreement_id)
    assert agreement.latest.status is VersionStatus.active  # the status still claims it holds
    [report] = verify_agreement(session, keyring, agreement)
    named = report.problems + [s.problem for s in report.signatures if s.problem]
    assert not report.ok and not report.complete, (field, report)
    assert named, (field, report)


# -- key rotation ----------------------------------------------------------------------------------

def test_old_signatures_verify_after_the_signing_key_is_rotated(tmp_path, app, session, keyring, world, actors,
                                                                client):
    """The operator's rotation (README, "Key rotation"): `schakel keys rotate-signing-key`, then
    a restart that reads the secrets file. The student signed before, the school and the
    gemeente after."""
    secrets_file = tmp_path / "secrets.json"
    write_secrets_file(secrets_file, app.config["SECRETS"])
    config = test_config(tmp_path, SECRETS=None, SECRETS_FILE=str(secrets_file),
                         SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    keys = party_keys(world)
    from tests.consent.agreements.conftest import give_plan_consent, ready_plan

    agreement_id = ready_plan(session, keyring, world, actors, world["gemeente"]).id
    give_plan_consent(session, keyring, world, actors)
    session.commit()
    offer(session, keyring, actors["mentor"], agreement_id, [keys["student"], keys["school"], keys["gemeente"]])
    sign(session, keyring, actors["student_account"], agreement_id, 1, keys["student"])
    old_kid = keyring.signing_key_current

    with extra_app(config) as before, before.app_context():  # the CLI runs in its own app, not the test's
        result = before.test_cli_runner().invoke(args=["keys", "rotate-signing-key"])
        assert result.exit_code == 0, result.output
    with extra_app(config) as after:
        new_keyring = after.extensions["schakel.keyring"]
        new_kid = new_keyring.signing_key_current
        assert new_kid != old_kid and old_kid in new_keyring.signing_keys
        with after.app_context():
            sign(db.session, new_keyring, actors["mentor"], agreement_id, 1, keys["school"])
            sign(db.session, new_keyring, actors["partner"], agreement_id, 1, keys["gemeente"])
            db.session.remove()
        published = after.test_client().get("/.well-known/jwks.json").get_json()

    assert [k["kid"] for k in published["keys"]][:2] == [new_kid, old_kid]
    agreement, _access = reload(session, actors["mentor"], agreement_id)
    kids = {s.party_key: s.kid for s in agreement.latest.signatures}
    assert kids == {keys["student"]: old_kid, keys["school"]: new_kid, keys["gemeente"]: new_kid}
    assert agreement.latest.status is VersionStatus.active
    [report] = verify_agreement(session, new_keyring, agreement)
    assert report.complete, report
    bundle = json.loads(json.dumps(build_bundle(new_keyring, agreement, agreement.latest)))
    assert verify_bundle(bundle, published).complete
    # the old signature really rests on the old public key, the new ones on the new key
    without_old = {"keys": [k for k in published["keys"] if k["kid"] != old_kid]}
    checked = verify_bundle(bundle, without_old)
    assert [s.party for s in checked.signatures if not s.ok] == [keys["student"]]
    assert checked.missing == [keys["student"]]
    assert not verify_bundle(bundle, published_jwks(session, keyring)).ok  # the old hub never knew the new key


def test_a_new_version_after_rotation_is_signed_with_the_new_key_only(tmp_path, app, session, keyring, world,
                                                                      actors):
    """Version 1 signed under the old key stays valid next to version 2 signed under the new."""
    agreement_id = signed_plan(session, keyring, world, actors)
    old_kid = keyring.signing_key_current
    secrets_file = tmp_path / "secrets.json"
    from network.keys import add_signing_key

    rotated, new_kid = add_signing_key(app.config["SECRETS"])
    write_secrets_file(secrets_file, rotated)
    config = test_config(tmp_path, SECRETS=None, SECRETS_FILE=str(secrets_file),
                         SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    keys = party_keys(world)
    with extra_app(config) as after:
        new_keyring = after.extensions["schakel.keyring"]
        with after.app_context():
            agreement, access = reload(db.session, actors["mentor"], agreement_id)
            save_section(db.session, actors["mentor"], new_keyring, agreement, access, "future",
                         {"goal": "Werken in de zorg"})
            db.session.commit()
            offer(db.session, new_keyring, actors["mentor"], agreement_id,
                  [keys["student"], keys["school"], keys["gemeente"]], SigningOrder.sequential)
            for actor, key in ((actors["student_account"], keys["student"]), (actors["mentor"], keys["school"]),
                               (actors["partner"], keys["gemeente"])):
                sign(db.session, new_keyring, actor, agreement_id, 2, key)
            db.session.remove()
    agreement, _access = reload(session, actors["mentor"], agreement_id)
    assert [v.status for v in agreement.versions] == [VersionStatus.superseded, VersionStatus.active]
    assert {s.kid for s in agreement.versions[0].signatures} == {old_kid}
    assert {s.kid for s in agreement.versions[1].signatures} == {new_kid}
    reports = verify_agreement(session, new_keyring, agreement)
    assert [(r.number, r.complete) for r in reports] == [(2, True), (1, True)]
