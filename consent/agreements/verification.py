"""Verification by anyone (DESIGN.md rule 4): what the public page ``/controle/<code>`` and its
API show of an agreement, and the check of an uploaded bundle.

The public view names no student and shows no content: per offered version its number, status
and hash, and per signature the party's role, the organisation that signed (or "leerling" /
"wettelijk vertegenwoordiger"), the time and the key id, with the result of
:func:`~consent.agreements.integrity.verify_agreement` (the stored content, hash and signatures
checked against the published keys and the audit log, so a change made directly in the database,
a deleted signature included, shows here). An uploaded bundle is checked with the published keys
alone, and then held against the hub's log when the hub holds that very version. Nothing here
loads the student.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from consent.agreements.documents import MalformedBundle, VersionReport, verify_bundle
from consent.agreements.integrity import (
    check_bundle_rows,
    describe_party,
    find_offered,
    later_note,
    problems_of,
    recorded_signatures,
    verify_agreement,
)
from consent.agreements.models import Agreement, AgreementVersion, PartyKind
from consent.agreements.overview import KIND_LABELS, VERSION_STATUS_LABELS
from network.crypto import Keyring
from network.errors import NotFound, ValidationFailed
from network.keys import published_jwks

#: the largest bundle the hub checks (a plan's bundle is a few tens of kilobytes)
MAX_BUNDLE_BYTES = 1024 * 1024
STUDENT = _l("leerling")
REPRESENTATIVE = _l("wettelijk vertegenwoordiger")
VERSION_GONE = _l("verwijderd uit Schakel")
UNKNOWN_CODE = _l("Deze controlecode kennen we niet. Controleer of u hem goed heeft overgenomen (tien tekens, "
                  "zonder 0, O, 1, I of L).")


def normalise_code(text: str | None) -> str:
    """What was typed or scanned, as stored: capitals, without spaces or dashes."""
    return re.sub(r"[\s-]", "", text or "").upper()[:16]


def find_by_code(session: Session, code: str) -> Agreement:
    """The agreement with this verification code (versions, parties and signatures; never the
    student), or :class:`NotFound`."""
    agreement = session.scalar(select(Agreement).where(Agreement.verify_code == normalise_code(code)).options(
        selectinload(Agreement.versions).selectinload(AgreementVersion.parties),
        selectinload(Agreement.versions).selectinload(AgreementVersion.signatures)))
    if agreement is None:
        raise NotFound(UNKNOWN_CODE)
    return agreement


@dataclass
class PublicSignature:
    party: str
    #: the party's role in the agreement ("leerling", "school", "jobcoach gemeente", ...)
    role: str
    #: the organisation that signed, or "leerling" / "wettelijk vertegenwoordiger"
    signed_by: str
    time: str
    kid: str | None
    valid: bool
    problem: str | None


@dataclass
class PublicVersion:
    number: int
    #: None for a version the audit log knows and the database lost
    status: str | None
    status_label: str
    hash: str | None
    valid: bool
    complete: bool
    problems: list[str]
    signatures: list[PublicSignature]
    #: who still has to sign (role and organisation, or "leerling")
    missing: list[str]


@dataclass
class PublicReport:
    code: str
    kind: str
    kind_label: str
    versions: list[PublicVersion] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return all(v.valid for v in self.versions)


def _signed_by(kind: PartyKind | None, organisation: str | None, on_behalf_of: str | None, fallback: str) -> str:
    if kind is PartyKind.student or (kind is None and organisation is None):
        return str(REPRESENTATIVE if on_behalf_of else STUDENT)
    return organisation or fallback


def _public_version(version: AgreementVersion, report: VersionReport) -> PublicVersion:
    parties = {p.key: p for p in version.parties}

    def described(key: str) -> str:
        party = parties.get(key)
        if party is None:
            return key
        return str(STUDENT) if party.kind is PartyKind.student else f"{party.name} ({party.role})"

    signatures = []
    for check in report.signatures:
        party = parties.get(check.party)
        signatures.append(PublicSignature(
            party=check.party, role=check.role,
            signed_by=_signed_by(party.kind if party else None, check.organisation, check.on_behalf_of,
                                 party.name if party else check.party),
            time=check.time, kid=check.kid, valid=check.ok, problem=check.problem))
    return PublicVersion(number=version.number, status=version.status.value,
                         status_label=str(VERSION_STATUS_LABELS[version.status]), hash=version.content_hash,
                         valid=report.ok, complete=report.complete, problems=list(report.problems),
                         signatures=signatures, missing=[described(key) for key in report.missing])


def _lost_version(report: VersionReport) -> PublicVersion:
    return PublicVersion(number=report.number, status=None, status_label=str(VERSION_GONE), hash=None, valid=False,
                         complete=False, problems=list(report.problems), signatures=[], missing=[])


def public_report(session: Session, keyring: Keyring, agreement: Agreement) -> PublicReport:
    """Every offered version of ``agreement``, newest first, verified as stored now."""
    by_number = {v.number: v for v in agreement.versions}
    report = PublicReport(code=agreement.verify_code, kind=agreement.kind.value,
                          kind_label=str(KIND_LABELS[agreement.kind]))
    for checked in verify_agreement(session, keyring, agreement):
        version = by_number.get(checked.number)
        report.versions.append(_public_version(version, checked) if version is not None else _lost_version(checked))
    return report


# -- bundles -----------------------------------------------------------------------------------

@dataclass
class BundleCheck:
    report: VersionReport
    #: party key -> (kind, name) from the bundle's own document
    parties: dict[str, dict[str, Any]]
    #: signatures the hub received after the bundle was made, in words (not a fault)
    note: str | None = None

    @property
    def signatures(self) -> list[PublicSignature]:
        found = []
        for check in self.report.signatures:
            party = self.parties.get(check.party) or {}
            kind = PartyKind.student if party.get("kind") == "student" else PartyKind.organisation if party else None
            found.append(PublicSignature(
                party=check.party, role=check.role,
                signed_by=_signed_by(kind, check.organisation, check.on_behalf_of,
                                     str(party.get("name") or check.party)),
                time=check.time, kid=check.kid, valid=check.ok, problem=check.problem))
        return found

    @property
    def missing(self) -> list[str]:
        return [str(STUDENT) if (self.parties.get(key) or {}).get("kind") == "student" else
                str((self.parties.get(key) or {}).get("name") or key) for key in self.report.missing]


def parse_bundle(raw: bytes | str) -> Any:
    """The JSON of an uploaded or pasted bundle; :class:`ValidationFailed` (field ``bundle``)
    when it is too big or not JSON."""
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    if len(data) > MAX_BUNDLE_BYTES:
        raise ValidationFailed(errors={"bundle": [str(_l("De bundel is groter dan 1 MB; dat is geen bundel van "
                                                         "Schakel."))]})
    if not data.strip():
        raise ValidationFailed(errors={"bundle": [str(_l("Plak de inhoud van de bundel of kies het bestand."))]})
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        where = f" (regel {exc.lineno}, kolom {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise ValidationFailed(errors={"bundle": [str(_l("Dit is geen geldige JSON%(where)s. Plak de bundel "
                                                         "precies zoals u hem downloadde.", where=where))]}) from None


def check_bundle(session: Session, keyring: Keyring, bundle: Any) -> BundleCheck:
    """Verify a bundle with only the keys the hub publishes; :class:`ValidationFailed` (field
    ``bundle``) when it is not a Schakel agreement bundle at all."""
    try:
        report = verify_bundle(bundle, published_jwks(session, keyring))
    except MalformedBundle as exc:
        raise ValidationFailed(errors={"bundle": [str(_l("Dit is geen geldige bundel van Schakel: %(why)s.",
                                                         why=str(exc)))]}) from None
    except (ValueError, RecursionError):  # e.g. a number JSON allows but RFC 8785 does not, or deep nesting
        raise ValidationFailed(errors={"bundle": [str(_l("Dit is geen geldige bundel van Schakel: het document "
                                                         "bevat waarden die niet canoniek te maken zijn."))]}) from None
    document = bundle["document"]
    parties = {str(p.get("key")): p for p in document["parties"] if isinstance(p, dict)}
    agreement = find_offered(session, document["agreement"].get("id"), document.get("version"), report.hash)
    if agreement is not None:  # the hub holds this very version: its log says which signatures it had
        check_bundle_rows(report, recorded_signatures(session, agreement).get(document["version"], []))
    def describe(key: str) -> str:
        return describe_party(parties.get(key))

    report.problems += problems_of(report, describe)
    return BundleCheck(report=report, parties=parties, note=later_note(report, describe))
