"""Keys and crypto in one place: AES-GCM field encryption, HMAC blind indexes and Ed25519
signatures, all from the configured secrets (never from the database or the repository).

Ciphertexts carry the id of the key that made them (``kid:base64(nonce|ciphertext)``) and are
bound to their row by the associated data ``table|column|row_id|kid``, so a ciphertext copied
into another row or column does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class DecryptionError(Exception):
    """A ciphertext could not be decrypted: wrong key, wrong row, or tampered."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def b64url_encode(data: bytes) -> str:
    """``data`` in base64url without padding (RFC 4648 section 5, as JOSE writes keys and
    signatures; also the referral list's cursors)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    """The bytes of base64url ``text``, padded or not; ``ValueError`` (``binascii.Error``)
    when it is not base64url."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class FieldRef:
    """Where an encrypted value lives; part of the associated data."""

    table: str
    column: str
    row_id: str

    def aad(self, kid: str) -> bytes:
        return f"{self.table}|{self.column}|{self.row_id}|{kid}".encode()


class Keyring:
    """All keys of one deployment. Built from the ``SECRETS`` config dict."""

    def __init__(self, secrets_: dict[str, Any]):
        self.field_keys = {kid: base64.b64decode(key) for kid, key in secrets_["field_keys"].items()}
        self.field_key_current: str = secrets_["field_key_current"]
        self.blind_index_key = base64.b64decode(secrets_["blind_index_key"])
        self.signing_keys = {
            kid: Ed25519PrivateKey.from_private_bytes(base64.b64decode(raw))
            for kid, raw in secrets_["signing_keys"].items()
        }
        self.signing_key_current: str = secrets_["signing_key_current"]
        for key in self.field_keys.values():
            if len(key) != 32:
                raise ValueError("field keys must be 256 bits")

    # -- field encryption -------------------------------------------------------------
    def encrypt(self, plaintext: str, ref: FieldRef) -> str:
        kid = self.field_key_current
        nonce = secrets.token_bytes(12)
        ciphertext = AESGCM(self.field_keys[kid]).encrypt(nonce, plaintext.encode(), ref.aad(kid))
        return f"{kid}:{_b64(nonce + ciphertext)}"

    def decrypt(self, token: str, ref: FieldRef) -> str:
        try:
            kid, payload = token.split(":", 1)
            raw = base64.b64decode(payload)
            key = self.field_keys[kid]
        except (ValueError, KeyError) as exc:
            raise DecryptionError("unknown key or malformed ciphertext") from exc
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], ref.aad(kid)).decode()
        except InvalidTag as exc:
            raise DecryptionError("ciphertext does not belong here or was altered") from exc

    # -- blind index ------------------------------------------------------------------
    def blind_index(self, purpose: str, value: str) -> str:
        """Keyed hash for equality look-ups of an encrypted value (e.g. BSN)."""
        return hmac.new(self.blind_index_key, f"{purpose}|{value}".encode(), hashlib.sha256).hexdigest()

    # -- signatures -------------------------------------------------------------------
    def sign(self, payload: bytes) -> tuple[str, str]:
        """Sign with the current key; returns (kid, base64url signature)."""
        kid = self.signing_key_current
        return kid, b64url_encode(self.signing_keys[kid].sign(payload))

    def verify(self, kid: str, payload: bytes, signature: str) -> bool:
        key = self.public_key(kid)
        if key is None:
            return False
        try:
            key.verify(b64url_decode(signature), payload)
        except (InvalidSignature, ValueError):
            return False
        return True

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        private = self.signing_keys.get(kid)
        return private.public_key() if private else None

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The public halves of every signing key, current first, as a JWK Set (RFC 7517/8037)."""
        kids = [self.signing_key_current] + sorted(k for k in self.signing_keys if k != self.signing_key_current)
        keys = []
        for kid in kids:
            raw = self.signing_keys[kid].public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            keys.append({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid,
                         "x": b64url_encode(raw)})
        return {"keys": keys}


def mask_bsn(bsn: str) -> str:
    """Show a BSN as the last three digits only, e.g. ``******782``."""
    return "*" * (len(bsn) - 3) + bsn[-3:]


def token_hash(token: str) -> str:
    """SHA-256 of a random bearer secret (session ids, reset tokens): stored instead of the secret."""
    return hashlib.sha256(token.encode()).hexdigest()
