"""Signed consent receipts (Kantara Consent Receipt Specification v1.1 fields).

A receipt is a JSON object, canonicalised with RFC 8785 and signed with the hub's current
Ed25519 key as a compact JWS (``alg`` EdDSA, ``kid`` of the key in ``/.well-known/jwks.json``).
The download holds the receipt and the JWS; anyone can verify it with the published JWK alone
(:func:`verify_receipt` shows how, using only ``cryptography``).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from network.access import SPECIAL_CATEGORIES
from network.crypto import Keyring, b64url_decode, b64url_encode

RECEIPT_VERSION = "KI-CR-v1.1.0"
DEFAULT_POLICY_URL = "https://schakel.nl/privacyverklaring"
COLLECTION_METHODS = {
    "portal": "Online gegeven door de betrokkene in het Schakel-portaal",
    "in_person": "Mondeling gegeven in een gesprek, vastgelegd door de school",
    "paper": "Op papier gegeven en ondertekend, vastgelegd door de school",
}


def pseudonym(keyring: Keyring, student_id: Any) -> str:
    """The student's ``piiPrincipalId`` in receipts: a keyed hash of the student's id, so a
    receipt names nobody (no name, no BSN) yet all receipts of one student share it."""
    return "urn:schakel:betrokkene:" + keyring.blind_index("consent-receipt", str(student_id))[:32]


def build_receipt(consent, kind: str, keyring: Keyring, *, receipt_id: uuid.UUID, at: dt.datetime,
                  labels: dict[str, str], policy_url: str = DEFAULT_POLICY_URL) -> dict[str, Any]:
    """The receipt document for ``consent`` at a grant (``kind="grant"``) or withdrawal."""
    school = consent.student.school
    codes = sorted(item.category for item in consent.items)
    special = sorted(c for c in codes if c in SPECIAL_CATEGORIES)
    purpose = consent.purpose
    termination = (f"Geldig van {consent.valid_from.isoformat()} tot en met {consent.valid_until.isoformat()}; "
                   "intrekken kan altijd, in het portaal of bij de school.")
    return {
        "version": RECEIPT_VERSION,
        "jurisdiction": "NL",
        "consentTimestamp": int(at.timestamp()),
        "collectionMethod": COLLECTION_METHODS[consent.channel.value],
        "consentReceiptID": str(receipt_id),
        "language": "nl",
        "piiPrincipalId": pseudonym(keyring, consent.student_id),
        "piiControllers": [{
            "piiController": school.name, "onBehalf": False, "contact": school.name,
            "address": school.gemeente or "", "email": school.email or "", "phone": school.phone or "",
        }],
        "policyUrl": policy_url,
        "services": [{
            "service": consent.recipient.name,
            "purposes": [{
                "purpose": purpose.label,
                "purposeCategory": [purpose.code],
                "consentType": "EXPLICIT",
                "piiCategory": [labels.get(c, c) for c in codes],
                "primaryPurpose": True,
                "termination": termination,
                "thirdPartyDisclosure": True,
                "thirdPartyName": consent.recipient.name,
            }],
        }],
        "sensitive": bool(special),
        "spiCat": [labels.get(c, c) for c in special],
        # Schakel extensions
        "event": kind,
        "consentId": consent.id,
        "consentStatus": consent.status.value,
        "validFrom": consent.valid_from.isoformat(),
        "validUntil": consent.valid_until.isoformat(),
        "givenBy": consent.given_by.value,
        "representativeRelation": consent.representative_relation.value if consent.representative_relation else None,
        "categoryCodes": codes,
        "textVersion": consent.text_version,
        "textHash": consent.text_hash,
    }


def sign_receipt(keyring: Keyring, receipt: dict[str, Any]) -> tuple[str, str, str]:
    """Canonicalise and sign; returns (canonical payload, kid, base64url signature).

    The signature is a JWS signature over ``b64url(header) "." b64url(payload)``."""
    payload = rfc8785.dumps(receipt)
    kid = keyring.signing_key_current
    signing_input = _signing_input(kid, payload)
    kid, signature = keyring.sign(signing_input)
    return payload.decode(), kid, signature


def _header(kid: str) -> bytes:
    return rfc8785.dumps({"alg": "EdDSA", "kid": kid, "typ": "consent-receipt+jws"})


def _signing_input(kid: str, payload: bytes) -> bytes:
    return f"{b64url_encode(_header(kid))}.{b64url_encode(payload)}".encode()


def receipt_document(payload: str, kid: str, signature: str) -> dict[str, Any]:
    """What the student downloads: the receipt, and the compact JWS that proves it."""
    compact = f"{_signing_input(kid, payload.encode()).decode()}.{signature}"
    return {"receipt": json.loads(payload), "jws": compact, "kid": kid,
            "verify": "Controleer de JWS met de publieke sleutel (kid) uit /.well-known/jwks.json."}


def verify_receipt(document: dict[str, Any], jwks: dict[str, Any]) -> bool:
    """Check a downloaded receipt with only the published JWK Set: the JWS signature must be
    valid under the key named by its ``kid``, and its payload must be the receipt, canonically."""
    try:
        header_b64, payload_b64, signature_b64 = document["jws"].split(".")
        header = json.loads(b64url_decode(header_b64))
        if header.get("alg") != "EdDSA":
            return False
        jwk = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            return False
        key = Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
        key.verify(b64url_decode(signature_b64), f"{header_b64}.{payload_b64}".encode())
        return b64url_decode(payload_b64) == rfc8785.dumps(document["receipt"])
    except (InvalidSignature, KeyError, ValueError, StopIteration):
        return False
