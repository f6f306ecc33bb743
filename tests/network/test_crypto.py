"""Field encryption, blind index, signatures and JWKS; key rotation with re-encryption."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import text

from network.config import generate_secrets
from network.crypto import DecryptionError, FieldRef, Keyring, b64url_decode, b64url_encode, mask_bsn
from network.keys import add_field_key, add_signing_key, count_by_key, reencrypt, retire_field_key
from network.models import Organisation, OrganisationType, Region, SchoolLevel, Student

REF = FieldRef("student", "bsn", "row-1")


@pytest.fixture
def ring():
    return Keyring(generate_secrets())


def test_round_trip_and_key_id_prefix(ring):
    token = ring.encrypt("111222333", REF)
    assert token.startswith(ring.field_key_current + ":")
    assert "111222333" not in token
    assert ring.decrypt(token, REF) == "111222333"


def test_same_plaintext_encrypts_differently(ring):
    assert ring.encrypt("x", REF) != ring.encrypt("x", REF)


@pytest.mark.parametrize("other", [FieldRef("student", "bsn", "row-2"), FieldRef("student", "notes", "row-1"),
                                   FieldRef("account", "bsn", "row-1")])
def test_ciphertext_is_bound_to_its_row_and_column(ring, other):
    token = ring.encrypt("111222333", REF)
    with pytest.raises(DecryptionError):
        ring.decrypt(token, other)


def test_tampered_or_unknown_key_fails(ring):
    token = ring.encrypt("111222333", REF)
    kid, payload = token.split(":")
    raw = bytearray(base64.b64decode(payload))
    raw[-1] ^= 1
    with pytest.raises(DecryptionError):
        ring.decrypt(f"{kid}:{base64.b64encode(bytes(raw)).decode()}", REF)
    with pytest.raises(DecryptionError):
        ring.decrypt("nope:" + payload, REF)
    with pytest.raises(DecryptionError):
        ring.decrypt("garbage", REF)


def test_blind_index_is_keyed_and_stable(ring):
    assert ring.blind_index("bsn", "111222333") == ring.blind_index("bsn", "111222333")
    assert ring.blind_index("bsn", "111222333") != ring.blind_index("email", "111222333")
    assert ring.blind_index("bsn", "111222333") != Keyring(generate_secrets()).blind_index("bsn", "111222333")


def test_signatures_verify_with_the_published_jwk(ring):
    kid, signature = ring.sign(b"payload")
    jwk = ring.jwks()["keys"][0]
    assert jwk["kid"] == kid and jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and "d" not in jwk
    public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(jwk["x"] + "=="))
    public.verify(base64.urlsafe_b64decode(signature + "=="), b"payload")
    assert ring.verify(kid, b"payload", signature)
    assert not ring.verify(kid, b"other", signature)
    assert not ring.verify("unknown", b"payload", signature)


def test_rotated_signing_key_keeps_old_signatures_verifiable():
    secrets_ = generate_secrets()
    old = Keyring(secrets_)
    old_kid, old_sig = old.sign(b"plan v1")
    updated, new_kid = add_signing_key(secrets_)
    new = Keyring(updated)
    assert new.signing_key_current == new_kid != old_kid
    assert new.verify(old_kid, b"plan v1", old_sig)
    assert [k["kid"] for k in new.jwks()["keys"]] == [new_kid, old_kid]


def test_mask_bsn():
    assert mask_bsn("123456782") == "******782"


def _student(session, keyring, bsn="123456782"):
    region = Region(name="R", code="r")
    school = Organisation(region=region, name="School", type=OrganisationType.school, brin="25LX")
    student = Student(school=school, first_name="Sam", last_name="de Vries", date_of_birth=dt.date(2008, 5, 1),
                      level=SchoolLevel.mbo2)
    student.set_bsn(keyring, bsn)
    session.add(student)
    session.commit()
    return student


def test_bsn_is_stored_encrypted(session, keyring):
    student = _student(session, keyring)
    raw = session.execute(text("SELECT bsn_encrypted, bsn_index FROM student")).one()
    assert "123456782" not in raw[0] and "123456782" not in raw[1]
    assert student.get_bsn(keyring) == "123456782"
    assert student.masked_bsn(keyring) == "******782"
    assert "123456782" not in repr(student)


def test_rotation_reencrypts_everything_then_retires_the_old_key(app, session, keyring):
    student = _student(session, keyring)
    old_kid = keyring.field_key_current
    updated, new_kid = add_field_key(app.config["SECRETS"])
    new_ring = Keyring(updated)
    with pytest.raises(ValueError, match="still use"):
        retire_field_key(updated, session, old_kid)
    assert reencrypt(session, new_ring) == 1
    session.commit()
    assert count_by_key(session) == {new_kid: 1}
    assert reencrypt(session, new_ring) == 0  # idempotent
    session.refresh(student)
    assert student.get_bsn(new_ring) == "123456782"
    retired = retire_field_key(updated, session, old_kid)
    assert list(retired["field_keys"]) == [new_kid]
    assert student.get_bsn(Keyring(retired)) == "123456782"
    with pytest.raises(ValueError, match="current"):
        retire_field_key(retired, session, new_kid)


@pytest.mark.parametrize("raw", [b"", b"\xfb", b"\xfb\xff", b"\xfb\xff\xfe", bytes(range(32))])
def test_base64url_without_padding_round_trips(raw):
    text = b64url_encode(raw)
    assert "=" not in text and "+" not in text and "/" not in text
    assert text == base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert b64url_decode(text) == raw
    assert b64url_decode(base64.urlsafe_b64encode(raw).decode()) == raw  # padded is fine too


def test_base64url_decode_refuses_what_is_not_base64url():
    with pytest.raises(ValueError):
        b64url_decode("abcde")  # a length no base64 text has
