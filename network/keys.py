"""Key rotation: new field keys and signing keys, and re-encryption of every encrypted column.

Rotation is three steps an operator can run while the hub is up (README, "Key rotation"):
``schakel keys rotate-field-key`` adds a key and makes it current (restart the web workers so
they encrypt with it), ``schakel keys reencrypt`` re-encrypts every value under the current key
(decrypting with whichever key made it), and ``schakel keys retire-field-key KID`` drops the old
key once nothing uses it. Signing keys are only added: old public halves stay in the JWKS so
old signatures stay verifiable.
"""

from __future__ import annotations

import base64
import copy
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from network.audit import AuditAction, record
from network.clock import utcnow
from network.crypto import FieldRef, Keyring, b64url_decode, b64url_encode
from network.errors import Forbidden, ValidationFailed
from network.idempotency import IdempotencyRecord
from network.models import Account, Organisation, OrganisationKey, OutboxMessage, Role, Student
from network.permissions import Principal
from network.tags import OrganisationTag
from network.webhooks import WebhookSubscription


@dataclass(frozen=True)
class EncryptedColumn:
    model: type
    attribute: str
    ref: Callable[[Any], FieldRef]


#: every encrypted column in the hub; features add theirs with :func:`register_encrypted_column`
#: when imported. A column left out would keep its old key through ``reencrypt`` and be lost
#: when that key is retired: ``tests/network/test_keys.py`` checks that every ``*_encrypted``
#: column of every model is here.
ENCRYPTED_COLUMNS: list[EncryptedColumn] = [
    EncryptedColumn(Student, "bsn_encrypted", Student.bsn_ref),
    EncryptedColumn(Account, "totp_secret_encrypted", Account.totp_ref),
    EncryptedColumn(OutboxMessage, "body_encrypted", OutboxMessage.body_ref),
    EncryptedColumn(WebhookSubscription, "secret_encrypted", WebhookSubscription.secret_ref),
    EncryptedColumn(WebhookSubscription, "previous_secret_encrypted", WebhookSubscription.previous_secret_ref),
    EncryptedColumn(IdempotencyRecord, "response_encrypted", IdempotencyRecord.response_ref),
]


def register_encrypted_column(column: EncryptedColumn) -> None:
    if column not in ENCRYPTED_COLUMNS:
        ENCRYPTED_COLUMNS.append(column)


def add_field_key(secrets_: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Return new secrets with a fresh AES-256 field key made current, and its key id."""
    updated = copy.deepcopy(secrets_)
    kid = "f" + secrets.token_hex(4)
    updated["field_keys"][kid] = base64.b64encode(secrets.token_bytes(32)).decode()
    updated["field_key_current"] = kid
    return updated, kid


def add_signing_key(secrets_: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Return new secrets with a fresh Ed25519 signing key made current, and its key id."""
    updated = copy.deepcopy(secrets_)
    kid = "s" + secrets.token_hex(4)
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    updated["signing_keys"][kid] = base64.b64encode(raw).decode()
    updated["signing_key_current"] = kid
    return updated, kid


def count_by_key(session: Session) -> dict[str, int]:
    """How many stored ciphertexts each field key made."""
    counts: dict[str, int] = {}
    for column in ENCRYPTED_COLUMNS:
        attribute = getattr(column.model, column.attribute)
        for (token,) in session.execute(select(attribute).where(attribute.is_not(None))):
            kid = token.split(":", 1)[0]
            counts[kid] = counts.get(kid, 0) + 1
    return counts


def reencrypt(session: Session, keyring: Keyring, *, batch: int = 500,
              on_progress: Callable[[int, int], None] | None = None) -> int:
    """Re-encrypt every value not made by the current field key. The caller commits.

    Rows are loaded in batches; each value is decrypted with the key that made it (the key id
    is in the ciphertext) and encrypted again, bound to the same row. ``on_progress(done,
    total)`` hears after each batch (the total is counted first, one query per column).
    """
    def stale_of(column: EncryptedColumn):
        attribute = getattr(column.model, column.attribute)
        return attribute.is_not(None), attribute.not_like(keyring.field_key_current + ":%")

    total = 0
    if on_progress is not None:
        total = sum(session.scalar(select(func.count()).select_from(column.model).where(*stale_of(column))) or 0
                    for column in ENCRYPTED_COLUMNS)
        on_progress(0, total)
    changed = 0
    for column in ENCRYPTED_COLUMNS:
        query = select(column.model).where(*stale_of(column)).execution_options(yield_per=batch)
        for obj in session.execute(query).scalars():
            ref = column.ref(obj)
            plaintext = keyring.decrypt(getattr(obj, column.attribute), ref)
            setattr(obj, column.attribute, keyring.encrypt(plaintext, ref))
            changed += 1
            if on_progress is not None and changed % batch == 0:
                on_progress(changed, max(total, changed))
        session.flush()
    if on_progress is not None:
        on_progress(changed, max(total, changed))
    return changed


def retire_field_key(secrets_: dict[str, Any], session: Session, kid: str) -> dict[str, Any]:
    """Return secrets without field key ``kid``; refuses while any value still uses it."""
    if kid == secrets_["field_key_current"]:
        raise ValueError("the current field key cannot be retired; rotate first")
    if kid not in secrets_["field_keys"]:
        raise ValueError(f"no field key {kid!r}")
    in_use = count_by_key(session).get(kid, 0)
    if in_use:
        raise ValueError(f"{in_use} values still use key {kid!r}; run `schakel keys reencrypt` first")
    updated = copy.deepcopy(secrets_)
    del updated["field_keys"][kid]
    return updated


# -- published keys ----------------------------------------------------------------------------

def published_jwks(session: Session, keyring: Keyring) -> dict[str, list[dict[str, str]]]:
    """What ``/.well-known/jwks.json`` publishes: the hub's signing keys (current first) and
    every organisation key ever registered (revoked ones too: what they signed before the
    revocation must stay verifiable)."""
    keys = keyring.jwks()["keys"]
    keys += [key.jwk() for key in session.scalars(select(OrganisationKey).order_by(OrganisationKey.id))]
    return {"keys": keys}


def _raw_public_key(text: str) -> bytes:
    """An Ed25519 public key given as PEM, or as the raw 32 bytes in base64url (a JWK ``x``)."""
    text = (text or "").strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 key")
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    raw = b64url_decode(text)
    Ed25519PublicKey.from_public_bytes(raw)  # raises ValueError unless 32 valid bytes
    return raw


def register_organisation_key(session: Session, actor: Principal, organisation: Organisation, *, public_key: str,
                              label: str = "") -> OrganisationKey:
    """Register an organisation's Ed25519 public key (hub admins do, for a partner system)."""
    if actor.role is not Role.hub_admin:
        raise Forbidden("Alleen de hub-beheerder registreert sleutels.")
    try:
        raw = _raw_public_key(public_key)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ValidationFailed(errors={"public_key": [
            "Dit is geen Ed25519-sleutel. Plak de publieke sleutel als PEM of als base64url (32 bytes)."]}) from None
    encoded = b64url_encode(raw)
    if session.scalar(select(OrganisationKey.id).where(OrganisationKey.public_key == encoded)) is not None:
        raise ValidationFailed(errors={"public_key": ["Deze sleutel is al geregistreerd."]})
    key = OrganisationKey(organisation_id=organisation.id, kid=f"org{organisation.id}-{secrets.token_hex(4)}",
                          public_key=encoded, label=(label or "")[:120])
    session.add(key)
    session.flush()  # the key id for the audit event
    record(session, actor, action=AuditAction.create, event_type=OrganisationTag.key_register,
           object_type="organisation_key", object_id=key.kid, detail={"organisation_id": organisation.id})
    return key


def revoke_organisation_key(session: Session, actor: Principal, key: OrganisationKey) -> OrganisationKey:
    """Stop accepting new signatures made with ``key``; it stays published for old ones."""
    if actor.role is not Role.hub_admin:
        raise Forbidden("Alleen de hub-beheerder trekt sleutels in.")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        record(session, actor, action=AuditAction.update, event_type=OrganisationTag.key_revoke,
               object_type="organisation_key", object_id=key.kid, detail={"organisation_id": key.organisation_id})
    return key
