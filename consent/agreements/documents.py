"""Canonical documents, hashes, signatures and their verification (DESIGN.md rule 4).

- The **version document** is ``{format, agreement: {id, kind, title}, version, signing_order,
  content, parties}``; its hash is SHA-256 over the RFC 8785 canonical JSON, in lowercase hex.
- A **signature** is Ed25519 over the canonical JSON of the **statement** ``{agreement,
  version, version_hash, party, role, signer: {name, organisation, on_behalf_of}, time,
  method}`` (``time`` in UTC, whole seconds, ``YYYY-MM-DDTHH:MM:SSZ``), made by the key named
  ``kid``: the hub's own key after the signer logged in again, or an organisation's registered
  key when its system signs through the API.
- A signature made since issue 18 also names, in its statement's ``previous``, every signature
  that was on the version before it (``{party, hash}``, the hash of the whole entry: see
  :func:`entry_hash`). A later signature thus proves the earlier ones existed: one removed from
  the middle is noticed by anyone holding the rest (statements without ``previous`` are older,
  and stay valid).
- A **bundle** holds the version document, its hash and the signatures with their
  statements, and since issue 18 the hub's **seal**: its signed statement of the signatures the
  bundle held when it was made, so a signature taken out of a bundle afterwards (even the last
  one) is noticed too. :func:`verify_bundle` checks one with nothing but the JWK Set published
  at ``/.well-known/jwks.json``; it uses only ``cryptography`` and ``rfc8785``, as the README's
  procedure does, so a third party can do the same.

The hub never trusts a stored statement: :func:`statement_for` rebuilds it from the signature
row and the decrypted content, so a change made directly in the database to the content, the
hash, the signer, the time or the signature itself fails verification.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from network.crypto import b64url_decode

BUNDLE_FORMAT = "schakel-agreement-bundle/1"
DOCUMENT_FORMAT = "schakel-agreement/1"
SEAL_FORMAT = "schakel-bundle-seal/1"


def format_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_precise_time(value: dt.datetime) -> str:
    """A seal's time, to the microsecond: it is compared with the times of the hub's log."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def party_document(party: Any) -> dict[str, Any]:
    """A party as the version document holds it (from a row or a dict)."""
    get = party.get if isinstance(party, dict) else (lambda key: getattr(party, key))
    return {
        "key": get("key"),
        "kind": str(get("kind")),
        "organisation_id": get("organisation_id"),
        "name": get("name"),
        "role": get("role"),
        "purpose": get("purpose"),
        "contact": get("contact"),
        "commitment": get("commitment") or "",
        "signs": bool(get("signs")),
        "position": int(get("position")),
    }


def version_document(*, agreement_id: Any, kind: str, title: str, number: int, signing_order: str,
                     content: dict[str, Any], parties: list[Any]) -> dict[str, Any]:
    return {
        "format": DOCUMENT_FORMAT,
        "agreement": {"id": str(agreement_id), "kind": str(kind), "title": title},
        "version": number,
        "signing_order": str(signing_order),
        "content": content,
        "parties": [party_document(p) for p in parties],
    }


def document_hash(document: dict[str, Any]) -> str:
    return hashlib.sha256(rfc8785.dumps(document)).hexdigest()


def statement(*, agreement_id: Any, number: int, version_hash: str, party: str, role: str, signer_name: str,
              signer_organisation: str | None, on_behalf_of: str | None, signed_at: dt.datetime,
              method: str, previous: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """The signed statement. ``previous`` (the signatures already on the version, see
    :func:`chain`) is left out only for the statements made before it existed."""
    stmt = {
        "agreement": str(agreement_id),
        "version": number,
        "version_hash": version_hash,
        "party": party,
        "role": role,
        "signer": {"name": signer_name, "organisation": signer_organisation, "on_behalf_of": on_behalf_of},
        "time": format_time(signed_at),
        "method": str(method),
    }
    if previous is not None:
        stmt["previous"] = [{"party": str(p["party"]), "hash": str(p["hash"])} for p in previous]
    return stmt


def statement_for(signature_row: Any, agreement_id: Any, number: int, version_hash: str) -> dict[str, Any]:
    """The statement a stored signature claims to sign, rebuilt from its columns and the hash of
    the version as it is now (so any change to either breaks the signature)."""
    return statement(agreement_id=agreement_id, number=number, version_hash=version_hash,
                     party=signature_row.party_key, role=signature_row.role, signer_name=signature_row.signer_name,
                     signer_organisation=signature_row.signer_organisation, on_behalf_of=signature_row.on_behalf_of,
                     signed_at=signature_row.signed_at, method=signature_row.method,
                     previous=signature_row.previous)


def signing_input(stmt: dict[str, Any]) -> bytes:
    return rfc8785.dumps(stmt)


def entry_hash(stmt: dict[str, Any], kid: str | None, signature: str | None) -> str:
    """SHA-256 (hex) of the RFC 8785 JSON of a bundle entry ``{statement, kid, signature}``:
    what a later signature and the seal name a signature by."""
    return hashlib.sha256(rfc8785.dumps({"statement": stmt, "kid": kid, "signature": signature})).hexdigest()


def chain(entries: list[tuple[dict[str, Any], str | None, str | None]]) -> list[dict[str, str]]:
    """The signatures ``(statement, kid, signature)`` in the order they were made, as the next
    statement's ``previous`` (and a seal) names them."""
    return [{"party": str(stmt.get("party")), "hash": entry_hash(stmt, kid, sig)} for stmt, kid, sig in entries]


def seal_statement(*, agreement_id: Any, number: int, version_hash: str, signatures: list[dict[str, str]],
                   sealed_at: dt.datetime) -> dict[str, Any]:
    """What the hub signs when it makes a bundle: the signatures the bundle holds."""
    return {"format": SEAL_FORMAT, "agreement": str(agreement_id), "version": number, "version_hash": version_hash,
            "signatures": signatures, "time": format_precise_time(sealed_at)}


def public_key(jwks: dict[str, Any], kid: str) -> Ed25519PublicKey | None:
    for jwk in jwks.get("keys", []):
        if jwk.get("kid") == kid and jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
            try:
                return Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
            except (KeyError, ValueError):
                return None
    return None


def check_signature(jwks: dict[str, Any], kid: str | None, stmt: dict[str, Any], signature: str | None) -> str | None:
    """None when ``signature`` is ``kid``'s valid Ed25519 signature of ``stmt``, else why not."""
    if not kid or not signature:
        return "geen handtekening"
    key = public_key(jwks, kid)
    if key is None:
        return f"onbekende sleutel {kid!r}"
    try:
        key.verify(b64url_decode(signature), signing_input(stmt))
    except (InvalidSignature, ValueError):
        return "de handtekening past niet bij de inhoud"
    return None


# -- reports ---------------------------------------------------------------------------------

@dataclass
class SignatureCheck:
    party: str
    role: str
    signer: str
    organisation: str | None
    on_behalf_of: str | None
    time: str
    kid: str | None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass
class Vanished:
    """A signature (or a refusal) that existed and is gone, and what proves it existed."""

    party: str
    #: ``chain``: a later signature names it; ``seal``: the hub's seal of the bundle lists it;
    #: ``log``: the hub's audit log recorded it (:mod:`consent.agreements.integrity`)
    evidence: str
    #: the party whose signature names it (``chain``)
    named_by: str | None = None
    #: when the hub's log recorded it (``log``)
    recorded_at: dt.datetime | None = None
    #: it was a refusal, not a signature (``log``)
    declined: bool = False


#: the seal of a bundle: none (made before seals, or taken off), valid, or not valid
SEAL_NONE, SEAL_VALID, SEAL_INVALID = "none", "valid", "invalid"


@dataclass
class VersionReport:
    """Verification of one version: the content hash and every signature on it."""

    number: int
    hash: str | None
    problems: list[str] = field(default_factory=list)
    signatures: list[SignatureCheck] = field(default_factory=list)
    #: required parties without a valid signature
    missing: list[str] = field(default_factory=list)
    #: signatures that existed and were removed (the version is not valid then)
    vanished: list[Vanished] = field(default_factory=list)
    #: a bundle's seal (:data:`SEAL_NONE`, :data:`SEAL_VALID`, :data:`SEAL_INVALID`)
    seal: str = SEAL_NONE
    #: a bundle's sealing time (a valid seal)
    sealed_at: dt.datetime | None = None
    #: parties the hub holds a signature of that came after the bundle was made (not a fault)
    later: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (not self.problems and not self.vanished and self.seal != SEAL_INVALID
                and all(s.ok for s in self.signatures))

    @property
    def complete(self) -> bool:
        return self.ok and not self.missing


#: an organisation's registered key: ``org<organisation id>-<random>`` (network.models.OrganisationKey)
ORGANISATION_KID = re.compile(r"org(\d+)-")


def _key_problem(document: dict[str, Any], stmt: dict[str, Any], kid: str) -> str | None:
    """An organisation's own key signs only for that organisation's party, as ``organisation-key``:
    a partner system must not be able to sign in the name of the student, the school or another
    partner (the hub's keys sign for whoever logged in again, after the hub checked who they are)."""
    match = ORGANISATION_KID.match(kid)
    if match is None:
        return None
    party = next((p for p in document["parties"] if p.get("key") == stmt.get("party")), None)
    if party is None or party.get("organisation_id") != int(match.group(1)) or stmt.get("method") != "organisation-key":
        return "ondertekend met de sleutel van een andere organisatie"
    return None


def _check(report: VersionReport, jwks: dict[str, Any], document: dict[str, Any], expected_hash: str | None,
           signatures: list[tuple[dict[str, Any], str | None, str | None]]) -> VersionReport:
    actual = document_hash(document)
    report.hash = actual
    if expected_hash is not None and actual != expected_hash:
        report.problems.append("de inhoud is gewijzigd na het aanbieden ter ondertekening (hash klopt niet)")
    signed = set()
    for stmt, kid, sig in signatures:
        problem = None
        if stmt.get("version_hash") != actual:
            problem = "ondertekend over een andere inhoud (hash klopt niet)"
        elif stmt.get("agreement") != document["agreement"]["id"] or stmt.get("version") != document["version"]:
            problem = "hoort bij een andere overeenkomst of versie"
        else:
            problem = check_signature(jwks, kid, stmt, sig) or _key_problem(document, stmt, kid)
        signer = stmt.get("signer") or {}
        report.signatures.append(SignatureCheck(
            party=str(stmt.get("party")), role=str(stmt.get("role")), signer=str(signer.get("name")),
            organisation=signer.get("organisation"), on_behalf_of=signer.get("on_behalf_of"),
            time=str(stmt.get("time")), kid=kid, problem=problem))
        if problem is None:
            signed.add(stmt.get("party"))
    report.missing = [p["key"] for p in document["parties"] if p["signs"] and p["key"] not in signed]
    _check_chain(report, signatures)
    return report


def _check_chain(report: VersionReport, signatures: list[tuple[dict[str, Any], str | None, str | None]]) -> None:
    """Every signature a valid signature names in ``previous`` must still be there (only a
    valid signature's word counts)."""
    for (stmt, _kid, _sig), check in zip(signatures, report.signatures, strict=True):
        if not check.ok:
            continue
        for ref in _references(stmt.get("previous")):
            _note_vanished(report, signatures, ref, Vanished(party=ref["party"], evidence="chain",
                                                             named_by=str(stmt.get("party"))))


def _references(value: Any) -> list[dict[str, str]]:
    """The ``{party, hash}`` items of a statement's ``previous`` or a seal's ``signatures``
    (anything else in it is ignored: a valid signature never holds it)."""
    if not isinstance(value, list):
        return []
    return [{"party": item["party"], "hash": item["hash"]} for item in value
            if isinstance(item, dict) and isinstance(item.get("party"), str) and isinstance(item.get("hash"), str)]


def _note_vanished(report: VersionReport, signatures: list[tuple[dict[str, Any], str | None, str | None]],
                   ref: dict[str, str], vanished: Vanished) -> None:
    """Record ``vanished`` when the named party has no entry at all (an entry of the party
    that was changed fails its own check, and is named there)."""
    if any(stmt.get("party") == ref["party"] for stmt, _kid, _sig in signatures):
        return
    if all(v.party != ref["party"] for v in report.vanished):
        report.vanished.append(vanished)


def _seal_holds(jwks: dict[str, Any], document: dict[str, Any], expected_hash: str, seal: Any) -> bool:
    if not isinstance(seal, dict) or not isinstance(seal.get("statement"), dict):
        return False
    stmt, kid = seal["statement"], seal.get("kid")
    if not isinstance(kid, str) or ORGANISATION_KID.match(kid):  # only the hub seals
        return False
    about = (stmt.get("format"), stmt.get("agreement"), stmt.get("version"), stmt.get("version_hash"))
    if about != (SEAL_FORMAT, document["agreement"].get("id"), document.get("version"), expected_hash):
        return False
    return check_signature(jwks, kid, stmt, seal.get("signature")) is None


def _check_seal(report: VersionReport, jwks: dict[str, Any], document: dict[str, Any], expected_hash: str,
                seal: Any, signatures: list[tuple[dict[str, Any], str | None, str | None]]) -> None:
    """A bundle's seal: the hub's key (never an organisation's) signed which signatures the
    bundle held; each of them must still be in it."""
    if seal is None:
        return
    if not _seal_holds(jwks, document, expected_hash, seal):
        report.seal = SEAL_INVALID
        return
    stmt = seal["statement"]
    report.seal = SEAL_VALID
    try:
        report.sealed_at = dt.datetime.strptime(str(stmt.get("time")), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
    except ValueError:
        report.sealed_at = None
    for ref in _references(stmt.get("signatures")):
        _note_vanished(report, signatures, ref, Vanished(party=ref["party"], evidence="seal"))


def verify_document(jwks: dict[str, Any], document: dict[str, Any], expected_hash: str | None,
                    signatures: list[tuple[dict[str, Any], str | None, str | None]]) -> VersionReport:
    """Verify a version document and its (statement, kid, signature) triples against ``jwks``."""
    return _check(VersionReport(number=document.get("version", 0), hash=None), jwks, document, expected_hash,
                  signatures)


class MalformedBundle(ValueError):
    """A bundle that is not a Schakel agreement bundle (wrong shape or types)."""


def verify_bundle(bundle: Any, jwks: dict[str, Any]) -> VersionReport:
    """Check a downloaded bundle with only the published JWK Set. Raises
    :class:`MalformedBundle` for something that is not a bundle at all."""
    try:
        if bundle.get("format") != BUNDLE_FORMAT:
            raise MalformedBundle("onbekend formaat: verwacht " + BUNDLE_FORMAT)
        document = bundle["document"]
        expected = bundle["hash"]
        entries = bundle["signatures"]
        if not isinstance(document, dict) or not isinstance(entries, list) or not isinstance(expected, str):
            raise MalformedBundle("document, hash of signatures heeft een verkeerd type")
        if not isinstance(document.get("parties"), list) or not isinstance(document.get("agreement"), dict):
            raise MalformedBundle("het document mist partijen of de overeenkomst")
        signatures = []
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("statement"), dict):
                raise MalformedBundle("een handtekening mist haar verklaring (statement)")
            signatures.append((entry["statement"], entry.get("kid"), entry.get("signature")))
        for party in document["parties"]:
            if not isinstance(party, dict) or "key" not in party or "signs" not in party:
                raise MalformedBundle("een partij mist key of signs")
        report = verify_document(jwks, document, expected, signatures)
        _check_seal(report, jwks, document, expected, bundle.get("seal"), signatures)
        return report
    except MalformedBundle:
        raise
    except (AttributeError, KeyError, TypeError, rfc8785.CanonicalizationError) as exc:
        raise MalformedBundle(f"geen geldige bundel ({exc.__class__.__name__})") from exc
