"""A third party verifies a signed bundle with only the published JWK Set, by the procedure in
README.md ("Verifying a signed agreement"), and never with the hub's own code:

- ``independent_verify`` below is written from the README's numbered steps alone (it imports
  nothing of ``consent.agreements``);
- the README's Python script is cut out of README.md and run, as a reader would run it;
- both, and the hub's :func:`verify_bundle`, must agree on a real bundle of a plan signed by
  three parties (two with the hub's key after a fresh login, the gemeente's system with its own
  registered key) and on tampered ones.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from consent.agreements.documents import MalformedBundle, verify_bundle
from consent.agreements.integrity import build_bundle
from consent.agreements.signatures import sign_with_organisation_key
from tests.consent.agreements._signed import (
    offer,
    partner_statement,
    party_keys,
    register_key,
    reload,
    sign,
    sign_statement,
    utcnow,
)
from tests.consent.agreements.conftest import give_plan_consent, ready_plan

README = Path(__file__).resolve().parents[3] / "README.md"
SECTION = "## Verifying a signed agreement (plan or privacy agreement)"


# -- the verifier, from the README's procedure only -----------------------------------------------

def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _ed25519_ok(jwk: dict, signature: str, statement: dict) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(_unb64url(jwk["x"])).verify(_unb64url(signature), rfc8785.dumps(statement))
    except (InvalidSignature, ValueError):
        return False
    return True


def _seal_problems(bundle: dict, by_kid: dict, document: dict, present: set) -> list[str]:
    """README step 5: the hub's seal (a hub key, about this document) lists what the bundle held."""
    seal = bundle.get("seal")
    if seal is None:
        return []
    about = seal["statement"]
    if (re.fullmatch(r"org(\d+)-.*", seal["kid"]) or seal["kid"] not in by_kid
            or about["format"] != "schakel-bundle-seal/1" or about["agreement"] != document["agreement"]["id"]
            or about["version"] != document["version"] or about["version_hash"] != bundle["hash"]
            or not _ed25519_ok(by_kid[seal["kid"]], seal["signature"], about)):
        return ["seal broken"]
    return [f"{item['party']}: taken out (seal)" for item in about["signatures"] if item["party"] not in present]


def independent_verify(bundle: dict, jwks: dict) -> list[str]:
    """README steps 1-6. Returns the problems (empty: valid and complete)."""
    problems = []
    if not isinstance(bundle, dict) or bundle.get("format") != "schakel-agreement-bundle/1":
        return ["not a bundle"]
    document = bundle["document"]
    # step 2: SHA-256 over the RFC 8785 canonical JSON of the document
    digest = hashlib.sha256(rfc8785.dumps(document)).hexdigest()
    if digest != bundle["hash"]:
        problems.append("hash")
    by_kid = {jwk["kid"]: jwk for jwk in jwks["keys"] if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519"}
    parties = {party["key"]: party for party in document["parties"]}
    present = {entry["statement"]["party"] for entry in bundle["signatures"]}
    valid = set()
    for entry in bundle["signatures"]:
        statement = entry["statement"]
        # 3.1: the statement is about this document and version
        if statement["version_hash"] != digest:
            problems.append(f"{statement['party']}: other hash")
            continue
        if statement["agreement"] != document["agreement"]["id"] or statement["version"] != document["version"]:
            problems.append(f"{statement['party']}: other agreement or version")
            continue
        # 3.2: the key by kid
        jwk = by_kid.get(entry["kid"])
        if jwk is None:
            problems.append(f"{statement['party']}: unknown kid")
            continue
        # 3.3: an organisation's key only for its own party, as organisation-key
        match = re.fullmatch(r"org(\d+)-.*", entry["kid"])
        if match:
            party = parties.get(statement["party"]) or {}
            if party.get("organisation_id") != int(match.group(1)) or statement["method"] != "organisation-key":
                problems.append(f"{statement['party']}: key of another organisation")
                continue
        # 3.4: Ed25519 over the canonical statement
        if not _ed25519_ok(jwk, entry["signature"], statement):
            problems.append(f"{statement['party']}: bad signature")
            continue
        valid.add(statement["party"])
        # step 4: the signatures a valid one names in previous are still there
        problems += [f"{item['party']}: removed (chain)" for item in statement.get("previous", [])
                     if item["party"] not in present]
    problems += _seal_problems(bundle, by_kid, document, present)
    # step 6: every signing party has a valid signature
    problems += [f"{key}: missing" for key, party in parties.items() if party["signs"] and key not in valid]
    return problems


def readme_script() -> str:
    text = README.read_text(encoding="utf-8")
    assert SECTION in text, "README.md lost its verification section"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the README's verification section has no Python script"
    return match.group(1)


@pytest.fixture(scope="module")
def script_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("verifier") / "verify_agreement.py"
    path.write_text(readme_script(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def readme_verify(script_path):
    """The script's ``verify`` function (loaded as a module, not as ``__main__``)."""
    return runpy.run_path(str(script_path), run_name="readme_verifier")["verify"]


def run_script(script_path: Path, tmp_path: Path, bundle, jwks) -> subprocess.CompletedProcess:
    bundle_file, jwks_file = tmp_path / "bundle.json", tmp_path / "jwks.json"
    bundle_file.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    jwks_file.write_text(json.dumps(jwks), encoding="utf-8")
    return subprocess.run([sys.executable, str(script_path), str(bundle_file), str(jwks_file)],
                          capture_output=True, text=True, timeout=60)


# -- a real bundle -----------------------------------------------------------------------------------

@pytest.fixture
def signed(session, keyring, world, actors, client):
    """Version 1 of a plan signed by the student and the mentor (the hub's key after a fresh
    login) and by the gemeente's system (its own key, through the service the API uses).
    Returns (bundle as downloaded, the JWK Set as served, the gemeente's private key and kid)."""
    agreement_id = ready_plan(session, keyring, world, actors, world["gemeente"]).id
    give_plan_consent(session, keyring, world, actors)
    session.commit()
    keys = party_keys(world)
    private, kid, _admin = register_key(session, world, world["gemeente"])
    offer(session, keyring, actors["mentor"], agreement_id, [keys["student"], keys["school"], keys["gemeente"]])
    sign(session, keyring, actors["student_account"], agreement_id, 1, keys["student"])
    sign(session, keyring, actors["mentor"], agreement_id, 1, keys["school"])
    partner = actors["partner"]
    agreement, access = reload(session, partner, agreement_id)
    version = agreement.latest
    party = next(p for p in version.parties if p.key == keys["gemeente"])
    signed_at = utcnow().replace(microsecond=0)
    stmt = partner_statement(agreement, version, party, signer_name="Koppeling Jongerenloket",
                             organisation=partner.acting.organisation_name, signed_at=signed_at)
    sign_with_organisation_key(session, partner, keyring, agreement, access, 1, keys["gemeente"],
                               signer_name="Koppeling Jongerenloket", signed_at=signed_at, kid=kid,
                               signature=sign_statement(private, stmt))
    session.commit()
    agreement, _access = reload(session, actors["mentor"], agreement_id)
    assert agreement.latest.status.value == "active"
    bundle = json.loads(json.dumps(build_bundle(keyring, agreement, agreement.latest)))
    jwks = client.get("/.well-known/jwks.json").get_json()
    return bundle, jwks, private, kid


def _entry(bundle, party_key):
    return next(e for e in bundle["signatures"] if e["statement"]["party"] == party_key)


def _change_content(bundle, world, private, kid):
    bundle["document"]["content"]["future"]["goal"] += "!"


def _change_content_and_hash(bundle, world, private, kid):
    bundle["document"]["content"]["future"]["goal"] = "Iets anders"
    bundle["hash"] = hashlib.sha256(rfc8785.dumps(bundle["document"])).hexdigest()


def _change_commitment(bundle, world, private, kid):
    bundle["document"]["parties"][-1]["commitment"] = "Wij doen niets."


def _change_signature(bundle, world, private, kid):
    entry = _entry(bundle, party_keys(world)["school"])
    sig = entry["signature"]
    middle = len(sig) // 2
    entry["signature"] = sig[:middle] + ("A" if sig[middle] != "A" else "B") + sig[middle + 1:]


def _unknown_kid(bundle, world, private, kid):
    _entry(bundle, "student")["kid"] = "s00000000"


def _remove_signature(bundle, world, private, kid):
    bundle["signatures"].remove(_entry(bundle, party_keys(world)["gemeente"]))


def _remove_middle_signature(bundle, world, private, kid):
    bundle["signatures"].remove(_entry(bundle, party_keys(world)["school"]))


def _remove_first_signature(bundle, world, private, kid):
    bundle["signatures"].remove(_entry(bundle, "student"))


def _remove_every_signature(bundle, world, private, kid):
    bundle["signatures"] = []


def _remove_middle_and_relink(bundle, world, private, kid):
    """The school's signature taken out, and the gemeente's statement made to name only the student's."""
    _remove_middle_signature(bundle, world, private, kid)
    later = _entry(bundle, party_keys(world)["gemeente"])["statement"]
    later["previous"] = [p for p in later["previous"] if p["party"] == "student"]


def _shorten_the_seal(bundle, world, private, kid):
    """The last signature taken out, and the seal's list with it."""
    _remove_signature(bundle, world, private, kid)
    about = bundle["seal"]["statement"]
    about["signatures"] = [p for p in about["signatures"] if p["party"] != party_keys(world)["gemeente"]]


def _reseal_with_partner_key(bundle, world, private, kid):
    """The last signature taken out, and the seal made again with the gemeente's own key."""
    _shorten_the_seal(bundle, world, private, kid)
    bundle["seal"]["kid"], bundle["seal"]["signature"] = kid, sign_statement(private, bundle["seal"]["statement"])


def _change_statement(bundle, world, private, kid):
    _entry(bundle, "student")["statement"]["signer"]["name"] = "Iemand anders"


def _forge_with_partner_key(bundle, world, private, kid):
    """The gemeente's system signs, with its own valid key, a statement in the student's name."""
    entry = _entry(bundle, "student")
    entry["statement"]["method"] = "organisation-key"
    entry["kid"], entry["signature"] = kid, sign_statement(private, entry["statement"])


def _forge_for_the_school(bundle, world, private, kid):
    entry = _entry(bundle, party_keys(world)["school"])
    entry["kid"], entry["signature"] = kid, sign_statement(private, entry["statement"])


def _swap_version(bundle, world, private, kid):
    bundle["document"]["version"] = 2
    bundle["hash"] = hashlib.sha256(rfc8785.dumps(bundle["document"])).hexdigest()


TAMPERED = {
    "content changed": _change_content,
    "content changed, hash recomputed": _change_content_and_hash,
    "a commitment changed": _change_commitment,
    "signature changed": _change_signature,
    "kid unknown": _unknown_kid,
    "a signature removed": _remove_signature,
    "the middle signature removed": _remove_middle_signature,
    "the first signature removed": _remove_first_signature,
    "every signature removed": _remove_every_signature,
    "the middle signature removed, the next re-linked": _remove_middle_and_relink,
    "the last signature removed, and from the seal": _shorten_the_seal,
    "the last signature removed, resealed with a partner's key": _reseal_with_partner_key,
    "statement changed": _change_statement,
    "a partner's key signs for the student": _forge_with_partner_key,
    "a partner's key signs for the school": _forge_for_the_school,
    "another version number": _swap_version,
}


def test_a_plan_signed_by_three_parties_verifies_offline(signed, readme_verify, script_path, tmp_path):
    bundle, jwks, _private, _kid = signed
    assert {e["kid"][:3] == "org" for e in bundle["signatures"]} == {True, False}  # both kinds of key
    assert independent_verify(bundle, jwks) == []
    assert readme_verify(bundle, jwks) == []
    assert verify_bundle(bundle, jwks).complete
    done = run_script(script_path, tmp_path, bundle, jwks)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "VALID: School-naar-werk-plan, version 1"


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_a_tampered_bundle_is_refused_by_every_verifier(signed, readme_verify, world, case):
    bundle, jwks, private, kid = signed
    tampered = copy.deepcopy(bundle)
    TAMPERED[case](tampered, world, private, kid)
    assert independent_verify(tampered, jwks), case
    assert readme_verify(tampered, jwks), case
    report = verify_bundle(tampered, jwks)
    assert not report.ok and not report.complete, (case, report)  # not valid: not merely unfinished


def test_the_readme_script_names_what_is_wrong(signed, script_path, tmp_path, world):
    bundle, jwks, private, kid = signed
    tampered = copy.deepcopy(bundle)
    _forge_with_partner_key(tampered, world, private, kid)
    _remove_signature(tampered, world, private, kid)
    done = run_script(script_path, tmp_path, tampered, jwks)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert "- student: signed with the key of another organisation" in lines
    assert any(line.startswith(f"- {party_keys(world)['gemeente']} (") and "no valid signature" in line
               for line in lines)
    assert lines[-1] == "INVALID: School-naar-werk-plan, version 1"
    broken = run_script(script_path, tmp_path, {"format": "x", "signatures": 3}, jwks)
    assert broken.returncode == 1 and "NOT A BUNDLE" in broken.stderr


def test_an_awaiting_version_is_valid_but_not_signed_by_everyone(session, keyring, world, actors, client,
                                                                  readme_verify):
    agreement_id = ready_plan(session, keyring, world, actors, world["gemeente"]).id
    keys = party_keys(world)
    offer(session, keyring, actors["mentor"], agreement_id, [keys["student"], keys["school"], keys["gemeente"]])
    sign(session, keyring, actors["student_account"], agreement_id, 1, keys["student"])
    agreement, _access = reload(session, actors["mentor"], agreement_id)
    bundle = json.loads(json.dumps(build_bundle(keyring, agreement, agreement.latest)))
    jwks = client.get("/.well-known/jwks.json").get_json()
    expected_missing = sorted([keys["school"], keys["gemeente"]])
    assert sorted(p.split(":")[0] for p in independent_verify(bundle, jwks)) == expected_missing
    assert len(readme_verify(bundle, jwks)) == 2
    report = verify_bundle(bundle, jwks)
    assert report.ok and not report.complete and sorted(report.missing) == expected_missing


def test_the_jwks_is_all_a_verifier_needs(signed, readme_verify):
    """Without the published keys nothing verifies; with another hub's keys neither."""
    bundle, jwks, _private, _kid = signed
    # three unknown keys, the seal by an unknown key, three missing parties
    assert len(readme_verify(bundle, {"keys": []})) == 7
    foreign = {"keys": [{**k, "x": base64.urlsafe_b64encode(bytes(32)).rstrip(b"=").decode()} for k in jwks["keys"]]}
    assert independent_verify(bundle, foreign)
    assert not verify_bundle(bundle, foreign).ok


MALFORMED = {
    "not a dict": ["schakel-agreement-bundle/1"],
    "a string": "schakel-agreement-bundle/1",
    "null": None,
    "wrong format": {"format": "iets-anders/1"},
    "missing document": {"format": "schakel-agreement-bundle/1", "hash": "00", "signatures": []},
    "document is a list": {"format": "schakel-agreement-bundle/1", "document": [], "hash": "00", "signatures": []},
    "hash is a number": {"format": "schakel-agreement-bundle/1", "document": {"parties": [], "agreement": {}},
                         "hash": 12, "signatures": []},
    "signatures is a dict": {"format": "schakel-agreement-bundle/1", "document": {"parties": [], "agreement": {}},
                             "hash": "00", "signatures": {}},
    "a statement is missing": {"format": "schakel-agreement-bundle/1",
                               "document": {"parties": [], "agreement": {"id": "x"}, "version": 1},
                               "hash": "00", "signatures": [{"kid": "s1", "signature": "AA"}]},
    "a party without key": {"format": "schakel-agreement-bundle/1",
                            "document": {"parties": [{"name": "x"}], "agreement": {"id": "x"}, "version": 1},
                            "hash": "00", "signatures": []},
    "the parties are a string": {"format": "schakel-agreement-bundle/1",
                                 "document": {"parties": "student", "agreement": {"id": "x"}, "version": 1},
                                 "hash": "00", "signatures": []},
    "a number JSON cannot canonicalise": {"format": "schakel-agreement-bundle/1",
                                          "document": {"parties": [], "agreement": {"id": "x"},
                                                       "version": 2 ** 60}, "hash": "00", "signatures": []},
    "NaN in the content": {"format": "schakel-agreement-bundle/1",
                           "document": {"parties": [], "agreement": {"id": "x"}, "version": 1,
                                        "content": {"x": float("nan")}}, "hash": "00", "signatures": []},
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_bundle_is_refused_as_such(case):
    with pytest.raises(MalformedBundle):
        verify_bundle(copy.deepcopy(MALFORMED[case]), {"keys": []})


def test_a_malformed_signature_entry_is_malformed_not_a_crash(signed):
    bundle, jwks, _private, _kid = signed
    for change in ({"signature": 12345}, {"statement": {"party": "student", "signer": "Sanne"}},
                   {"statement": "tekst"}):
        tampered = copy.deepcopy(bundle)
        tampered["signatures"][0].update(change)
        try:
            report = verify_bundle(tampered, jwks)
        except MalformedBundle:
            continue
        assert not report.complete, change
