"""Agreements: the content of a version, the guard against concurrent edits, the event
history, and making and editing agreements (content sections and parties).

Who may see and edit an agreement is in :mod:`consent.agreements.access`; offering a version for
signature and ending an agreement in :mod:`consent.agreements.lifecycle`; signing, declining and
verification in :mod:`consent.agreements.signatures`.

Versions: an edit changes the latest version while it is a draft; once a version has been
offered for signature it is frozen, and the next edit makes a new draft version (withdrawing
the offered one if it still waited for signatures). An active version stays active until a
newer version is signed by all its required parties.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from consent.agreements.access import PURPOSE_SCHOOL, Access, require_editor
from consent.agreements.documents import version_document
from consent.agreements.models import (
    Agreement,
    AgreementEvent,
    AgreementKind,
    AgreementParty,
    AgreementStatus,
    AgreementVersion,
    PartyKind,
    VersionStatus,
)
from consent.models import Purpose
from consent.tags import AgreementTag
from network.audit import AuditAction, record
from network.clock import utcnow
from network.crypto import Keyring
from network.db import add_unless_duplicate
from network.errors import Conflict, Forbidden, ValidationFailed
from network.events import EventTag
from network.models import Organisation, Student
from network.permissions import Principal, can_manage_student

MAX_COMMITMENT = 2000

STALE = _l("Iemand anders heeft deze overeenkomst intussen gewijzigd. Uw invoer staat hieronder nog: "
           "controleer en sla opnieuw op.")

TITLES = {AgreementKind.plan: "School-naar-werk-plan", AgreementKind.privacy: "Privacyafspraken"}


# -- content ---------------------------------------------------------------------------------

def content_of(keyring: Keyring, version: AgreementVersion) -> dict[str, Any]:
    """The decrypted content document of a version (raises DecryptionError when altered)."""
    return json.loads(keyring.decrypt(version.content_encrypted, version.content_ref()))


def _store(keyring: Keyring, version: AgreementVersion, content: dict[str, Any]) -> None:
    version.content_encrypted = keyring.encrypt(json.dumps(content, sort_keys=True, ensure_ascii=False),
                                                version.content_ref())


def document_of(agreement: Agreement, version: AgreementVersion, content: dict[str, Any]) -> dict[str, Any]:
    return version_document(agreement_id=agreement.id, kind=agreement.kind, title=agreement.title,
                            number=version.number, signing_order=version.signing_order, content=content,
                            parties=list(version.parties))


def parties_as_dicts(version: AgreementVersion) -> list[dict[str, Any]]:
    return [{"key": p.key, "kind": p.kind.value, "organisation_id": p.organisation_id, "name": p.name,
             "role": p.role, "purpose": p.purpose, "contact": p.contact, "commitment": p.commitment,
             "signs": p.signs, "position": p.position} for p in version.parties]


# -- concurrent edits ------------------------------------------------------------------------

def check_row_version(agreement: Agreement, row_version: Any) -> None:
    if row_version is not None and str(row_version) != str(agreement.row_version):
        raise Conflict(str(STALE), current=agreement.row_version)


def touch(session: Session, agreement: Agreement, now: dt.datetime) -> None:
    """Stamp the agreement and flush at once: the row-version check runs here, so of two
    concurrent changes (two edits, or the last two signatures) one wins and the other gets a
    conflict instead of both writing on what they read."""
    agreement.updated_at = now
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(str(STALE)) from exc


# -- events ----------------------------------------------------------------------------------

def add_event(session: Session, agreement: Agreement, version: AgreementVersion, kind: str, actor: Principal,
              detail: dict[str, Any] | None = None, *, now: dt.datetime | None = None) -> None:
    session.add(AgreementEvent(agreement=agreement, version_number=version.number, kind=kind,
                               account_id=actor.account_id, actor_name=actor.name, detail=detail or {},
                               occurred_at=now or utcnow()))


def events_of(session: Session, agreement: Agreement) -> list[AgreementEvent]:
    return list(session.scalars(select(AgreementEvent).where(AgreementEvent.agreement_id == agreement.id)
                                .order_by(AgreementEvent.occurred_at, AgreementEvent.id)))


def audit_agreement(session: Session, actor: Principal, agreement: Agreement, event_type: EventTag, action: AuditAction,
                    detail: dict[str, Any] | None = None) -> None:
    """Audit a change of the agreement (by the school, under its educational task)."""
    record(session, actor, action=action, event_type=event_type, object_type="agreement",
           object_id=str(agreement.id), student_id=agreement.student_id, purpose=PURPOSE_SCHOOL,
           basis="legal_task:onderwijstaak", detail=detail or {})


# -- create and edit -------------------------------------------------------------------------

def _default_parties(kind: AgreementKind, student: Student, school: Organisation) -> list[AgreementParty]:
    privacy = kind is AgreementKind.privacy
    return [
        AgreementParty(key="student", kind=PartyKind.student, name=student.full_name,
                       role="betrokkene" if privacy else "leerling", commitment="", signs=True, position=1),
        AgreementParty(key=f"org-{school.id}", kind=PartyKind.organisation, organisation_id=school.id,
                       name=school.name, role="verwerkingsverantwoordelijke" if privacy else "school",
                       commitment="", signs=True, position=2),
    ]


def create_agreement(session: Session, actor: Principal, keyring: Keyring, student: Student, kind: AgreementKind,
                     *, title: str | None = None, now: dt.datetime | None = None) -> Agreement:
    """Start a plan or privacy agreement for a student of the actor's school: version 1, a draft
    with the student and the school as parties. One open agreement of each kind per student."""
    if not can_manage_student(actor, student):
        raise Forbidden(_l("Alleen de school van de leerling maakt een plan of privacyafspraken."))

    def open_one() -> uuid.UUID | None:
        return session.scalar(select(Agreement.id).where(
            Agreement.student_id == student.id, Agreement.kind == kind, Agreement.status != AgreementStatus.ended))

    def already(agreement_id: uuid.UUID | None) -> Conflict:
        return Conflict(_l("Deze leerling heeft hier al een overeenkomst van; pas die aan."),
                        agreement=str(agreement_id))

    if (existing := open_one()) is not None:
        raise already(existing)
    now = now or utcnow()
    agreement = Agreement(id=uuid.uuid4(), kind=kind, student=student, school_id=student.school_id,
                          title=(title or TITLES[kind])[:200], status=AgreementStatus.draft,
                          verify_code=new_verify_code(), created_by_account_id=actor.account_id, created_at=now,
                          updated_at=now)
    if not add_unless_duplicate(session, agreement):  # one started at the same moment was made first
        raise already(open_one())
    version = AgreementVersion(agreement=agreement, number=1, status=VersionStatus.draft,
                               created_by_account_id=actor.account_id, created_by_name=actor.name, created_at=now,
                               parties=_default_parties(kind, student, student.school))
    version.agreement_id = agreement.id  # the content's associated data names the agreement
    _store(keyring, version, {})
    session.add(version)
    add_event(session, agreement, version, "created", actor, now=now)
    audit_agreement(session, actor, agreement, AgreementTag.create, AuditAction.create, {"kind": kind.value})
    return agreement


def new_verify_code() -> str:
    """Ten characters, unambiguous to read aloud or type from paper (no 0/O, 1/I/L)."""
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))


def editable_version(session: Session, actor: Principal, keyring: Keyring, agreement: Agreement, *,
                     now: dt.datetime | None = None) -> AgreementVersion:
    """The draft to change: the latest version while it is a draft, else a new version copied
    from the latest (an offered version that still waited for signatures is withdrawn)."""
    latest = agreement.latest
    if latest.status is VersionStatus.draft:
        return latest
    now = now or utcnow()
    if latest.status is VersionStatus.awaiting:
        latest.status = VersionStatus.superseded
        latest.closed_at = now
        add_event(session, agreement, latest, "withdrawn", actor, now=now)
    version = AgreementVersion(agreement=agreement, number=latest.number + 1, status=VersionStatus.draft,
                               signing_order=latest.signing_order, created_by_account_id=actor.account_id,
                               created_by_name=actor.name, created_at=now,
                               parties=[AgreementParty(**{k: v for k, v in p.items() if k != "kind"},
                                                       kind=PartyKind(p["kind"])) for p in parties_as_dicts(latest)])
    version.agreement_id = agreement.id
    _store(keyring, version, content_of(keyring, latest))
    session.add(version)
    if agreement.status is AgreementStatus.awaiting:
        agreement.status = AgreementStatus.draft
    return version


def save_section(session: Session, actor: Principal, keyring: Keyring, agreement: Agreement, access: Access,
                 section_code: str, part: dict[str, Any], *, row_version: Any = None,
                 now: dt.datetime | None = None) -> AgreementVersion:
    """Save one section of the content (validated by :func:`forms.load_section`). Saving what
    is already there changes nothing and makes no new version."""
    require_editor(access, agreement)
    check_row_version(agreement, row_version)
    current = content_of(keyring, agreement.latest)
    if (current.get(section_code) or {}) == part:
        return agreement.latest
    now = now or utcnow()
    version = editable_version(session, actor, keyring, agreement, now=now)
    content = content_of(keyring, version) if version is agreement.latest else current
    if part:
        content[section_code] = part
    else:
        content.pop(section_code, None)
    _store(keyring, version, content)
    touch(session, agreement, now)
    add_event(session, agreement, version, "edited", actor, {"sections": [section_code]}, now=now)
    audit_agreement(session, actor, agreement, AgreementTag.update, AuditAction.update,
                    {"section": section_code, "version": version.number})
    return version


def partner_choices(session: Session, agreement: Agreement) -> list[Organisation]:
    """Organisations that can be a party: the active organisations of the school's region."""
    return list(session.scalars(select(Organisation).where(
        Organisation.region_id == agreement.school.region_id, Organisation.is_active.is_(True),
        Organisation.id != agreement.school_id).order_by(Organisation.name)))


def _party_key(index: int, row: dict[str, Any], organisations: dict[int, Organisation], seen: set[str],
               errors: dict[str, list[str]]) -> str | None:
    """The row's party key (``org-<id>`` for an organisation picked from the list), or None with
    a field error when the organisation is not of the region or already a party."""
    key = row.get("key")
    if not key:
        org_id = row.get("organisation_id")
        if org_id not in organisations:
            errors.setdefault(f"parties-{index}-organisation_id", []).append(
                str(_l("Kies een organisatie uit de regio.")))
            return None
        key = f"org-{org_id}"
    if key in seen:
        errors.setdefault(f"parties-{index}-organisation_id", []).append(
            str(_l("Deze organisatie staat er al bij.")))
        return None
    return key


def _party_role(index: int, row: dict[str, Any], purposes: set[str], errors: dict[str, list[str]]) -> str:
    """The row's role, stripped; field errors for a missing role, a too long commitment or a
    purpose that is not in the catalogue."""
    role = (row.get("role") or "").strip()
    if not role:
        errors.setdefault(f"parties-{index}-role", []).append(str(_l("Vul de rol van deze partij in.")))
    if len(row.get("commitment") or "") > MAX_COMMITMENT:
        errors.setdefault(f"parties-{index}-commitment", []).append(
            str(_l("Houd de toezegging korter dan %(max)s tekens.", max=MAX_COMMITMENT)))
    if row.get("purpose") and row["purpose"] not in purposes:
        errors.setdefault(f"parties-{index}-purpose", []).append(str(_l("Kies een doel uit de lijst.")))
    return role


def _wanted_parties(rows: list[dict[str, Any]], fixed: dict[str, AgreementParty],
                    organisations: dict[int, Organisation], purposes: set[str],
                    errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The rows checked, each with its key and role; the student and the school stay parties."""
    wanted: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, row in enumerate(rows):
        key = _party_key(index, row, organisations, seen, errors)
        if key is None:
            continue
        seen.add(key)
        role = _party_role(index, row, purposes, errors)
        wanted.append({**row, "key": key, "role": role})
    for key in fixed:
        if key not in seen:
            errors.setdefault("parties", []).append(
                str(_l("De leerling en de school blijven altijd partij.")))
    return wanted


def _rebuilt_parties(wanted: list[dict[str, Any]], fixed: dict[str, AgreementParty],
                     organisations: dict[int, Organisation], signs: dict[str, bool]) -> list[dict[str, Any]]:
    """The parties as :func:`parties_as_dicts` gives them, in the order of ``wanted``; a party
    keeps whether it signs (a new one signs)."""
    rebuilt = []
    for position, row in enumerate(wanted, start=1):
        if row["key"] in fixed:
            base = fixed[row["key"]]
            kind, organisation_id, name = base.kind.value, base.organisation_id, base.name
        else:
            org = organisations[int(row["key"].split("-", 1)[1])]
            kind, organisation_id, name = PartyKind.organisation.value, org.id, org.name
        rebuilt.append({"key": row["key"], "kind": kind, "organisation_id": organisation_id, "name": name,
                        "role": row["role"][:120], "purpose": row.get("purpose") or None,
                        "contact": row.get("contact") or None, "commitment": (row.get("commitment") or "").strip(),
                        "signs": signs.get(row["key"], True), "position": position})
    return rebuilt


def save_parties(session: Session, actor: Principal, keyring: Keyring, agreement: Agreement, access: Access,
                 rows: list[dict[str, Any]], *, row_version: Any = None,
                 now: dt.datetime | None = None) -> AgreementVersion:
    """Set the parties with their roles and own commitments. The student and the school are
    always parties; others are organisations of the region, each once.

    :param rows: ``[{key | organisation_id, role, contact, commitment, purpose}]``
    """
    require_editor(access, agreement)
    check_row_version(agreement, row_version)
    errors: dict[str, list[str]] = {}
    latest = agreement.latest
    fixed = {p.key: p for p in latest.parties if p.key in ("student", f"org-{agreement.school_id}")}
    organisations = {o.id: o for o in partner_choices(session, agreement)}
    purposes = set(session.scalars(select(Purpose.code).where(Purpose.is_active.is_(True))))
    wanted = _wanted_parties(rows, fixed, organisations, purposes, errors)
    if errors:
        raise ValidationFailed(errors=errors)
    now = now or utcnow()
    before = parties_as_dicts(latest)
    rebuilt = _rebuilt_parties(wanted, fixed, organisations, {p["key"]: p["signs"] for p in before})
    if rebuilt == before:
        return latest
    version = editable_version(session, actor, keyring, agreement, now=now)
    version.parties.clear()
    session.flush()  # the old rows go before new ones take their (version, key)
    for row in rebuilt:
        version.parties.append(AgreementParty(**{**row, "kind": PartyKind(row["kind"])}))
    touch(session, agreement, now)
    add_event(session, agreement, version, "edited", actor, {"sections": ["parties"]}, now=now)
    audit_agreement(session, actor, agreement, AgreementTag.update, AuditAction.update,
                    {"section": "parties", "version": version.number})
    return version


