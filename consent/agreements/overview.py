"""What the school's agreement pages show, built from the service: the list with the students'
names as far as the actor's decision allows, the overview of one agreement (completeness,
who still signs, verification, sharing warnings, who changed what), the words for codes, and
the choices of the section forms.

No flask here (STYLE rule 4): the views in :mod:`consent.agreements.views` and
:mod:`consent.agreements.edit_views` render what these functions return. Every function takes
an agreement the caller already found and read (:func:`~consent.agreements.access.find_agreement`,
:func:`~consent.agreements.access.read_agreement`), except :func:`agreement_rows`, which
decides (and audits) the names it shows itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from consent.agreements.access import Access, access_of, reader
from consent.agreements.content import Completeness, Section, completeness, find_section, missing_for_offer
from consent.agreements.documents import VersionReport
from consent.agreements.integrity import verify_agreement
from consent.agreements.models import (
    Agreement,
    AgreementEvent,
    AgreementKind,
    AgreementParty,
    AgreementStatus,
    AgreementVersion,
    SignatureMethod,
    SigningOrder,
    VersionStatus,
)
from consent.agreements.service import content_of, events_of
from consent.agreements.sharing import SharingWarning, sharing_warnings
from consent.agreements.signatures import signable_parties
from consent.models import Purpose
from consent.service import category_labels
from consent.tags import AgreementTag
from network.access import Category, decide_each
from network.crypto import DecryptionError, Keyring
from network.permissions import Principal

KIND_LABELS = {AgreementKind.plan: _l("School-naar-werk-plan"), AgreementKind.privacy: _l("Privacyafspraken")}
STATUS_LABELS = {
    AgreementStatus.draft: _l("In voorbereiding"),
    AgreementStatus.awaiting: _l("Wacht op handtekeningen"),
    AgreementStatus.active: _l("Geldt: door alle partijen ondertekend"),
    AgreementStatus.ended: _l("Beëindigd"),
}
VERSION_STATUS_LABELS = {
    VersionStatus.draft: _l("Concept (nog niet aangeboden)"),
    VersionStatus.awaiting: _l("Ter ondertekening"),
    VersionStatus.active: _l("Geldt"),
    VersionStatus.superseded: _l("Vervangen"),
    VersionStatus.declined: _l("Geweigerd door een partij"),
    VersionStatus.ended: _l("Beëindigd"),
}
ORDER_LABELS = {SigningOrder.parallel: _l("Tegelijk: iedereen tekent wanneer het uitkomt"),
                SigningOrder.sequential: _l("Op volgorde: de volgende tekent als de vorige getekend heeft")}
METHOD_LABELS = {
    SignatureMethod.password: _l("na opnieuw inloggen met wachtwoord"),
    SignatureMethod.totp: _l("na opnieuw inloggen met een code uit de app"),
    SignatureMethod.organisation_key: _l("met de sleutel van de organisatie (via de API)"),
}
EVENT_LABELS = {
    "created": _l("aangemaakt"),
    "edited": _l("gewijzigd"),
    "withdrawn": _l("teruggetrokken (er kwam een nieuwe versie)"),
    "offered": _l("ter ondertekening aangeboden"),
    "signed": _l("ondertekend"),
    "declined": _l("geweigerd"),
    "activated": _l("geldt nu: door alle partijen ondertekend"),
    "ended": _l("beëindigd"),
}
PARTIES_TITLE = _l("Partijen en toezeggingen")


def kind_label(kind: AgreementKind) -> str:
    return str(KIND_LABELS[kind])


# -- the list ----------------------------------------------------------------------------------

@dataclass
class AgreementRow:
    agreement: Agreement
    #: the student's name, or None when the actor's decision does not allow contact data
    student_name: str | None
    latest: AgreementVersion
    #: the actor can sign (a party of) the version that waits for signatures
    to_sign: bool


def agreement_rows(session: Session, actor: Principal, agreements: list[Agreement]) -> list[AgreementRow]:
    """The list page's rows. Versions, parties and signatures of all listed agreements come in
    three statements; the names are decided (and audited) for all students in one go, under the
    purpose the actor reads each agreement for."""
    if not agreements:
        return []
    session.scalars(select(Agreement).where(Agreement.id.in_([a.id for a in agreements])).options(
        selectinload(Agreement.versions).selectinload(AgreementVersion.parties),
        selectinload(Agreement.versions).selectinload(AgreementVersion.signatures))).all()
    shown: list[tuple[Agreement, str]] = []
    for agreement in agreements:
        access = access_of(session, actor, agreement)
        if access is not None:
            shown.append((agreement, reader(actor, agreement, access)[1]))
    decisions = decide_each(session, actor, [(a.student, purpose) for a, purpose in shown], [Category.contact],
                            event_type=AgreementTag.list) if shown else {}
    rows = []
    for agreement, purpose in shown:
        decision = decisions.get((agreement.student_id, purpose))
        name = agreement.student.full_name if decision and decision.permits(Category.contact) else None
        latest = agreement.latest
        rows.append(AgreementRow(agreement, name, latest, bool(signable_parties(session, actor, agreement, latest))))
    return rows


# -- one agreement -----------------------------------------------------------------------------

@dataclass
class EventLine:
    version: int
    kind: str
    actor_name: str
    occurred_at: dt.datetime
    #: the titles of the sections changed (edits), or the party it concerns
    sections: list[str] = field(default_factory=list)
    party: str | None = None
    reason: str | None = None


@dataclass
class Overview:
    """Everything the overview page shows of one agreement, besides the agreement itself."""

    latest: AgreementVersion
    active: AgreementVersion | None
    #: the latest version's content; None when it cannot be decrypted (changed in the database)
    content: dict[str, Any] | None
    completeness: Completeness | None
    #: what must still be filled in before the latest draft can be offered
    missing: list[tuple[Section, Any]]
    #: the version that waits for signatures, its parties still to sign, and those the actor may sign
    awaiting: AgreementVersion | None
    pending: list[AgreementParty]
    signable: list[AgreementParty]
    #: verification of every offered version, by number
    reports: dict[int, VersionReport]
    warnings: list[SharingWarning]
    events: list[EventLine]

    @property
    def tampered(self) -> list[VersionReport]:
        return [r for r in self.reports.values() if not r.ok]


def latest_content(keyring: Keyring, version: AgreementVersion) -> dict[str, Any] | None:
    try:
        return content_of(keyring, version)
    except (DecryptionError, ValueError):
        return None


def party_names(agreement: Agreement) -> dict[str, str]:
    """Party key -> name over all versions (a party may have left a later version)."""
    names: dict[str, str] = {}
    for version in agreement.versions:
        for party in version.parties:
            names[party.key] = party.name
    return names


def event_lines(agreement: Agreement, events: list[AgreementEvent]) -> list[EventLine]:
    names = party_names(agreement)
    lines = []
    for event in sorted(events, key=lambda e: e.id):  # as written (a signature's time is whole seconds)
        detail = event.detail or {}
        sections = []
        for code in detail.get("sections") or []:
            found = find_section(agreement.kind, code)
            sections.append(str(found.title) if found else str(PARTIES_TITLE) if code == "parties" else code)
        party = detail.get("party")
        lines.append(EventLine(version=event.version_number, kind=event.kind, actor_name=event.actor_name,
                               occurred_at=event.occurred_at, sections=sections,
                               party=names.get(party, party) if party else None, reason=detail.get("reason")))
    return lines


def overview(session: Session, actor: Principal, keyring: Keyring, agreement: Agreement, access: Access) -> Overview:
    """The overview of an agreement the actor has read. Its statements do not grow with the
    number of versions, parties or signatures: verification needs the published keys (one
    statement) and the audit log's record of the signatures (one), the timeline one, and for the
    school the sharing check a few per partner."""
    latest = agreement.latest
    content = latest_content(keyring, latest)
    awaiting = latest if latest.status is VersionStatus.awaiting else None
    pending: list[AgreementParty] = []
    signable: list[AgreementParty] = []
    if awaiting is not None:
        signed = {s.party_key for s in awaiting.signatures}
        pending = [p for p in awaiting.parties if p.signs and p.key not in signed]
        signable = signable_parties(session, actor, agreement, awaiting)
    # also for an agreement that looks like it was never offered: a version reset to a draft, or
    # deleted, shows through the audit log's record of its signatures
    reports = {r.number: r for r in verify_agreement(session, keyring, agreement)}
    warnings: list[SharingWarning] = []
    if access.is_school and content is not None and agreement.status is not AgreementStatus.ended:
        warnings = sharing_warnings(session, agreement, latest, content)
    missing = missing_for_offer(agreement.kind, content) if content is not None and \
        latest.status is VersionStatus.draft else []
    return Overview(latest=latest, active=agreement.active_version, content=content,
                    completeness=completeness(agreement.kind, content) if content is not None else None,
                    missing=missing, awaiting=awaiting, pending=pending, signable=signable, reports=reports,
                    warnings=warnings, events=event_lines(agreement, events_of(session, agreement)))


# -- words and choices ---------------------------------------------------------------------------

@dataclass
class Choices:
    """The choices of the section forms, per ``source``: the values the schema allows and the
    (value, label) options the form shows."""

    options: dict[str, list[tuple[str, str]]]

    @property
    def allowed(self) -> dict[str, list[str]]:
        return {source: [value for value, _label in options] for source, options in self.options.items()}

    @property
    def labels(self) -> dict[str, dict[str, str]]:
        return {source: dict(options) for source, options in self.options.items()}


def choices_for(session: Session, agreement: Agreement, version: AgreementVersion | None = None) -> Choices:
    """Active consent purposes, the data categories, and the parties of ``version`` (default:
    the latest). Two statements."""
    version = version or agreement.latest
    purposes = [(code, label) for code, label in session.execute(
        select(Purpose.code, Purpose.label).where(Purpose.is_active.is_(True))
        .order_by(Purpose.sort_order, Purpose.label)).all()]
    return Choices({
        "purposes": purposes,
        "categories": list(category_labels(session).items()),
        "parties": [(p.key, p.name) for p in version.parties],
    })


def labels_for(session: Session, agreement: Agreement) -> dict[str, dict[str, str]]:
    """Codes in words for :func:`content.flatten` and :func:`content.diff`: every purpose (also
    ones no longer active), the categories, and the parties of all versions."""
    return {
        "purposes": dict(session.execute(select(Purpose.code, Purpose.label)).all()),
        "categories": category_labels(session),
        "parties": party_names(agreement),
    }


def open_agreement_id(session: Session, student: Any, kind: AgreementKind) -> Any:
    """The student's agreement of ``kind`` that is not ended, if any (one per kind)."""
    return session.scalar(select(Agreement.id).where(Agreement.student_id == student.id, Agreement.kind == kind,
                                                     Agreement.status != AgreementStatus.ended))
