"""Verifying an agreement as it is stored, and making its signed bundles (DESIGN.md rule 4).

:func:`verify_agreement` checks every offered version against the published keys, for the
overview, ``/controle`` and the verification API alike; :func:`build_bundle` makes the bundle a
third party checks offline (:mod:`consent.agreements.documents`).
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from consent.agreements.documents import BUNDLE_FORMAT, VersionReport, statement_for, verify_document
from consent.agreements.models import Agreement, AgreementVersion, VersionStatus
from consent.agreements.service import content_of, document_of
from network.crypto import DecryptionError, Keyring
from network.errors import Conflict
from network.keys import published_jwks

# -- verification and bundles ------------------------------------------------------------------

def signature_entries(agreement: Agreement, version: AgreementVersion) -> list[dict[str, Any]]:
    return [{"statement": statement_for(s, agreement.id, version.number, s.version_hash), "kid": s.kid,
             "signature": s.signature} for s in version.signatures if not s.declined]


def verify_version(keyring: Keyring, jwks: dict[str, Any], agreement: Agreement,
                   version: AgreementVersion) -> VersionReport:
    """Check one offered version as it is stored now: decryptable content whose hash is the
    offered hash, and a valid signature on it for every signature row."""
    try:
        content = content_of(keyring, version)
    except (DecryptionError, ValueError):
        report = VersionReport(number=version.number, hash=None)
        report.problems.append("de inhoud is buiten Schakel gewijzigd of beschadigd (ontsleutelen mislukt)")
        return report
    entries = signature_entries(agreement, version)
    report = verify_document(jwks, document_of(agreement, version, content), version.content_hash,
                             [(e["statement"], e["kid"], e["signature"]) for e in entries])
    if report.missing and version.status in (VersionStatus.active, VersionStatus.ended):
        # stored as signed by everyone, yet a signature is gone (deleted, or turned into a refusal)
        report.problems.append("de versie staat als ondertekend, maar de handtekening ontbreekt van: "
                               + ", ".join(report.missing))
    return report


def verify_agreement(session: Session, keyring: Keyring, agreement: Agreement) -> list[VersionReport]:
    """Every version that was offered for signature, newest first, checked. The organisations'
    keys are read only when a signature names a key that is not the hub's own."""
    jwks = keyring.jwks()
    hub_kids = {key["kid"] for key in jwks["keys"]}
    if any(s.kid not in hub_kids for v in agreement.versions for s in v.signatures if s.kid):
        jwks = published_jwks(session, keyring)
    return [verify_version(keyring, jwks, agreement, v) for v in reversed(agreement.versions)
            if v.content_hash is not None]


def build_bundle(keyring: Keyring, agreement: Agreement, version: AgreementVersion, *,
                 jwks_url: str = "/.well-known/jwks.json", verify_url: str | None = None) -> dict[str, Any]:
    """The signed bundle of one offered version: its document (with the content), the hash
    and every signature with its statement. Verifiable with only the JWK Set at ``jwks_url``."""
    if version.content_hash is None:
        raise Conflict(_l("Deze versie is nog niet ter ondertekening aangeboden; er is nog niets te controleren."))
    content = content_of(keyring, version)
    return {
        "format": BUNDLE_FORMAT,
        "document": document_of(agreement, version, content),
        "hash": version.content_hash,
        "hash_algorithm": "SHA-256 over RFC 8785 (JCS) canonical JSON of document",
        "signature_algorithm": "Ed25519 over RFC 8785 canonical JSON of statement; key by kid",
        "status": version.status.value,
        "signatures": signature_entries(agreement, version),
        "jwks": jwks_url,
        "verify": verify_url,
    }
