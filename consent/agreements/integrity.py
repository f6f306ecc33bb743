"""Signatures that cannot vanish (issue 18): what proves that a signature existed, and the
checks that it still does.

Someone who can write to the database, but has not the hub's key, can delete a signature row
and set the version's status back to "awaiting"; the signatures left all verify. What they
cannot rewrite:

- **the signatures after it.** Each signature's statement names the signatures already on the
  version (``previous``, :func:`previous_for`), so a later one proves the earlier ones existed:
  a signature removed from the middle, or re-linked, is proved (also offline, in a bundle);
- **the audit log.** Every signature and refusal is recorded as an ``agreement:signature``
  event (:func:`record_signature`) in the transaction that stores the row. The log is
  hash-chained and its checkpoints are signed with the hub's key and copied off the box, so a
  sealed event cannot be taken out without ``schakel audit verify`` (and every witness)
  noticing. :func:`check_rows` holds the rows against these events: the last signature, all of
  a version's, or a refusal deleted is proved; so is a whole version deleted. Existing
  signatures got their events from the migration that brought this in;
- **the seal of a bundle.** A bundle carries the hub's signed list of the signatures it held
  (:func:`seal_of`): one taken out of the bundle afterwards, even the last, is proved offline.
  The hub also holds an uploaded bundle against its log (:func:`check_bundle_rows`).

Here too: verifying an agreement as it is stored (:func:`verify_agreement`, for the overview,
``/controle`` and the verification API alike, with what it found in words: :func:`problems_of`)
and making its bundles (:func:`build_bundle`).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent.agreements.documents import (
    BUNDLE_FORMAT,
    SEAL_INVALID,
    SEAL_VALID,
    Vanished,
    VersionReport,
    chain,
    seal_statement,
    signing_input,
    statement_for,
    verify_document,
)
from consent.agreements.models import (
    Agreement,
    AgreementParty,
    AgreementSignature,
    AgreementVersion,
    PartyKind,
    VersionStatus,
)
from consent.agreements.service import content_of, document_of
from consent.tags import AgreementTag
from network.access import Decision
from network.audit import AuditAction, AuditEvent, AuditOutcome, record
from network.clock import utcnow, wall_time
from network.crypto import DecryptionError, Keyring
from network.errors import Conflict
from network.keys import published_jwks
from network.permissions import Principal

THE_STUDENT = _l("de leerling")
UNKNOWN_PARTY = _l("een partij die niet meer in de versie staat")


def signature_entries(agreement: Agreement, version: AgreementVersion) -> list[dict[str, Any]]:
    """The version's signatures (not its refusals) as a bundle holds them, in the order made."""
    return [{"statement": statement_for(s, agreement.id, version.number, s.version_hash), "kid": s.kid,
             "signature": s.signature} for s in version.signatures if not s.declined]


def previous_for(agreement: Agreement, version: AgreementVersion) -> list[dict[str, str]]:
    """What the next signature's statement names in ``previous``: every signature on the
    version now. Call it before the new row joins ``version.signatures``."""
    return chain([(e["statement"], e["kid"], e["signature"]) for e in signature_entries(agreement, version)])


def seal_of(keyring: Keyring, agreement: Agreement, version: AgreementVersion,
            entries: list[dict[str, Any]], now: dt.datetime | None = None) -> dict[str, Any]:
    """The hub's seal of a bundle: its key signs which signatures the bundle holds, and when."""
    stmt = seal_statement(agreement_id=agreement.id, number=version.number, version_hash=version.content_hash,
                          signatures=chain([(e["statement"], e["kid"], e["signature"]) for e in entries]),
                          sealed_at=now or utcnow())
    kid, signature = keyring.sign(signing_input(stmt))
    return {"statement": stmt, "kid": kid, "signature": signature}


# -- the audit log's record ------------------------------------------------------------------------

def record_signature(session: Session, actor: Principal, agreement: Agreement, version: AgreementVersion,
                     row: AgreementSignature, decision: Decision) -> None:
    """Record in the audit log that ``row`` (a signature or a refusal) was made, on the basis
    the signer read the agreement with; it lives and dies with the row."""
    record(session, actor, action=AuditAction.create, event_type=AgreementTag.signature, object_type="agreement",
           object_id=agreement.id, student_id=agreement.student_id, purpose=decision.purpose,
           basis=decision.basis_label,
           detail={"version": version.number, "party": row.party_key, "declined": bool(row.declined)})


@dataclass(frozen=True)
class Recorded:
    """A signature or refusal as the audit log recorded it."""

    version: int
    party: str
    declined: bool
    at: dt.datetime


def recorded_signatures(session: Session, agreement: Agreement) -> dict[int, list[Recorded]]:
    """The log's signatures and refusals of ``agreement``, by version number: one statement,
    through the student's index (a student has hundreds of events, the log millions)."""
    rows = session.execute(select(AuditEvent.detail, AuditEvent.occurred_at).where(
        AuditEvent.student_id == str(agreement.student_id), AuditEvent.event_type == AgreementTag.signature,
        AuditEvent.object_id == str(agreement.id), AuditEvent.outcome == AuditOutcome.success)
        .order_by(AuditEvent.id)).all()
    found: dict[int, list[Recorded]] = {}
    for detail, at in rows:
        try:
            data = json.loads(detail or "{}")
            item = Recorded(int(data["version"]), str(data["party"]), bool(data.get("declined")), at)
        except (ValueError, KeyError, TypeError):  # not ours: the chain check names a changed event
            continue
        found.setdefault(item.version, []).append(item)
    return found


def check_rows(report: VersionReport, version: AgreementVersion | None, recorded: list[Recorded]) -> None:
    """Every signature and refusal the log recorded for this version must still be a row of
    it, as what it was (a signature turned into a refusal has vanished too)."""
    rows = {(s.party_key, s.declined) for s in version.signatures} if version is not None else set()
    for item in recorded:
        if (item.party, item.declined) not in rows and all(v.party != item.party for v in report.vanished):
            report.vanished.append(Vanished(party=item.party, evidence="log", recorded_at=item.at,
                                            declined=item.declined))


def vanished_parties(session: Session, agreement: Agreement, version: AgreementVersion) -> list[str]:
    """The parties whose signature (or refusal) on ``version`` the audit log, or a later
    signature, proves and the database no longer holds. Nobody signs such a version: who
    signed again would hide what happened; a restore or a new version puts it right."""
    report = VersionReport(number=version.number, hash=None)
    check_rows(report, version, recorded_signatures(session, agreement).get(version.number, []))
    present = {s.party_key for s in version.signatures}
    named = {ref.get("party") for s in version.signatures for ref in (s.previous or []) if isinstance(ref, dict)}
    return sorted({v.party for v in report.vanished} | {str(p) for p in named if p not in present})


def check_bundle_rows(report: VersionReport, recorded: list[Recorded]) -> None:
    """Every signature the log recorded for this version before the bundle was sealed must be
    in the bundle; one recorded after a (valid) seal is newer than the bundle, not missing."""
    present = {s.party for s in report.signatures}
    for item in recorded:
        if item.declined or item.party in present or any(v.party == item.party for v in report.vanished):
            continue
        if report.seal == SEAL_VALID and report.sealed_at is not None and item.at > report.sealed_at:
            if item.party not in report.later:
                report.later.append(item.party)
        else:
            report.vanished.append(Vanished(party=item.party, evidence="log", recorded_at=item.at))


def find_offered(session: Session, agreement_id: Any, number: Any, content_hash: str | None) -> Agreement | None:
    """The agreement a bundle is of, when the hub holds that version with that hash (so only
    who has the document learns what the hub's log says of it), else None."""
    try:
        key = uuid.UUID(str(agreement_id))
    except ValueError:
        return None
    agreement = session.get(Agreement, key)
    if agreement is None or not any(v.number == number and v.content_hash == content_hash and content_hash
                                    for v in agreement.versions):
        return None
    return agreement


# -- in words ---------------------------------------------------------------------------------------

def describe_party(party: AgreementParty | dict[str, Any] | None) -> str:
    """A party as a problem names it: never the student's name (``/controle`` shows these)."""
    if party is None:
        return str(UNKNOWN_PARTY)
    get = party.get if isinstance(party, dict) else (lambda key: getattr(party, key))
    if str(get("kind")) == PartyKind.student.value:
        return str(THE_STUDENT)
    return f"{get('name')} ({get('role')})" if get("role") else str(get("name"))


def problems_of(report: VersionReport, describe: Callable[[str], str]) -> list[str]:
    """What :attr:`VersionReport.vanished` and the seal say, in words (B1 Dutch: the student
    reads them on the overview)."""
    found = []
    if report.seal == SEAL_INVALID:
        found.append(str(_l("Het zegel van Schakel op deze bundel klopt niet: de bundel is veranderd nadat Schakel "
                            "hem maakte.")))
    for item in report.vanished:
        who = describe(item.party)
        if item.evidence == "chain":
            found.append(str(_l("De handtekening van %(party)s is verwijderd: de handtekening van %(by)s noemt haar, "
                                "maar zij staat er niet meer bij.", party=who, by=describe(item.named_by or ""))))
        elif item.evidence == "seal":
            found.append(str(_l("De handtekening van %(party)s is uit deze bundel gehaald: het zegel van Schakel "
                                "noemt haar.", party=who)))
        elif item.declined:
            found.append(str(_l("De weigering van %(party)s is verwijderd. Volgens het logboek van Schakel is die "
                                "gegeven op %(when)s.", party=who, when=wall_time(item.recorded_at))))
        else:
            found.append(str(_l("De handtekening van %(party)s is verwijderd. Volgens het logboek van Schakel is die "
                                "gezet op %(when)s.", party=who, when=wall_time(item.recorded_at))))
    return found


def version_gone(number: int) -> str:
    return str(_l("Versie %(n)s is uit Schakel verwijderd, maar volgens het logboek van Schakel is zij "
                  "ondertekend.", n=number))


def later_note(report: VersionReport, describe: Callable[[str], str]) -> str | None:
    """A note (not a fault) when the hub received signatures after the bundle was made."""
    if not report.later:
        return None
    return str(_l("Na het maken van deze bundel heeft Schakel ook de handtekening ontvangen van %(parties)s. "
                  "Download de bundel opnieuw voor de nieuwste stand.",
                  parties=", ".join(describe(p) for p in report.later)))


# -- verification and bundles ------------------------------------------------------------------

def verify_version(keyring: Keyring, jwks: dict[str, Any], agreement: Agreement, version: AgreementVersion,
                   recorded: list[Recorded] | None = None) -> VersionReport:
    """Check one offered version as it is stored now: decryptable content whose hash is the
    offered hash, a valid signature on it for every signature row, every signature a later one
    names still there, and every signature and refusal the audit log ``recorded`` still a row."""
    try:
        content = content_of(keyring, version)
    except (DecryptionError, ValueError):
        report = VersionReport(number=version.number, hash=None)
        report.problems.append("de inhoud is buiten Schakel gewijzigd of beschadigd (ontsleutelen mislukt)")
    else:
        entries = signature_entries(agreement, version)
        report = verify_document(jwks, document_of(agreement, version, content), version.content_hash,
                                 [(e["statement"], e["kid"], e["signature"]) for e in entries])
    check_rows(report, version, recorded or [])
    describe = _describer(agreement, version)
    if version.content_hash is None:  # the log says it was signed: it was offered
        report.problems.append(str(_l("Versie %(n)s is ondertekend, maar staat in Schakel als concept dat nooit is "
                                      "aangeboden.", n=version.number)))
    gone = {v.party for v in report.vanished}
    still_missing = [key for key in report.missing if key not in gone]
    if still_missing and version.status in (VersionStatus.active, VersionStatus.ended):
        # stored as signed by everyone, yet a signature is gone (deleted, or turned into a refusal)
        report.problems.append(str(_l("De versie staat als ondertekend, maar de handtekening ontbreekt van "
                                      "%(parties)s.", parties=", ".join(describe(key) for key in still_missing))))
    report.problems += problems_of(report, describe)
    return report


def _describer(agreement: Agreement, version: AgreementVersion | None):
    parties = {p.key: p for v in agreement.versions for p in v.parties}
    if version is not None:
        parties.update({p.key: p for p in version.parties})
    return lambda key: describe_party(parties.get(key))


def verify_agreement(session: Session, keyring: Keyring, agreement: Agreement) -> list[VersionReport]:
    """Every version that was offered for signature (or that the audit log says was signed),
    newest first, checked; a version the log knows and the database lost is reported too. The
    organisations' keys are read only when a signature names a key that is not the hub's own."""
    jwks = keyring.jwks()
    hub_kids = {key["kid"] for key in jwks["keys"]}
    if any(s.kid not in hub_kids for v in agreement.versions for s in v.signatures if s.kid):
        jwks = published_jwks(session, keyring)
    recorded = recorded_signatures(session, agreement)
    reports = [verify_version(keyring, jwks, agreement, v, recorded.get(v.number)) for v in agreement.versions
               if v.content_hash is not None or v.number in recorded]
    for number in sorted(set(recorded) - {v.number for v in agreement.versions}):
        report = VersionReport(number=number, hash=None, problems=[version_gone(number)])
        check_rows(report, None, recorded[number])
        report.problems += problems_of(report, _describer(agreement, None))
        reports.append(report)
    return sorted(reports, key=lambda r: r.number, reverse=True)


def build_bundle(keyring: Keyring, agreement: Agreement, version: AgreementVersion, *,
                 jwks_url: str = "/.well-known/jwks.json", verify_url: str | None = None) -> dict[str, Any]:
    """The signed bundle of one offered version: its document (with the content), the hash,
    every signature with its statement, and the hub's seal of those signatures. Verifiable with
    only the JWK Set at ``jwks_url``."""
    if version.content_hash is None:
        raise Conflict(_l("Deze versie is nog niet ter ondertekening aangeboden; er is nog niets te controleren."))
    content = content_of(keyring, version)
    entries = signature_entries(agreement, version)
    return {
        "format": BUNDLE_FORMAT,
        "document": document_of(agreement, version, content),
        "hash": version.content_hash,
        "hash_algorithm": "SHA-256 over RFC 8785 (JCS) canonical JSON of document",
        "signature_algorithm": "Ed25519 over RFC 8785 canonical JSON of statement; key by kid",
        "status": version.status.value,
        "signatures": entries,
        "seal": seal_of(keyring, agreement, version, entries),
        "jwks": jwks_url,
        "verify": verify_url,
    }
