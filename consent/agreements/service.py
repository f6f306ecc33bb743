"""Agreements: who may see and edit them, versions, parties, offering for signature, and
ending. Signing, declining and verification are in :mod:`consent.agreements.signatures`.

Walls: the school that owns the agreement (its staff edit), the student (and, under 16, the
legal representative), and the partner organisations that are a party. Everyone else gets a
404. Inside the walls every read asks :func:`consent.decide` for the ``school-naar-werk-plan``
category, under the school's educational task, the student's own access, or the purpose the
partner works under, and is audited; nothing allowed is a 403.

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
from dataclasses import dataclass, replace
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from consent.agreements.content import missing_for_offer, review_moments
from consent.agreements.documents import document_hash, version_document
from consent.agreements.models import (
    Agreement,
    AgreementEvent,
    AgreementKind,
    AgreementParty,
    AgreementStatus,
    AgreementVersion,
    PartyKind,
    ReviewMoment,
    SigningOrder,
    VersionStatus,
)
from consent.models import Purpose, Representation
from consent.service import active_representation
from consent.tags import AgreementNotice, AgreementTag
from network import clock
from network.access import Category, Decision, decide
from network.audit import AuditAction, record
from network.clock import under_consent_age, utcnow
from network.crypto import Keyring
from network.db import add_unless_duplicate
from network.errors import Conflict, Forbidden, NotFound, ValidationFailed
from network.events import EventTag
from network.models import SCHOOL_STAFF_ROLES, Organisation, Role, Student
from network.notifications import notify, organisation_staff
from network.permissions import Principal, can_manage_student
from network.signals import agreement_awaiting_signature

PURPOSE_SCHOOL = "leerlingbegeleiding"
PURPOSE_SELF = "inzage"
DEFAULT_PARTNER_PURPOSE = "begeleiding-naar-werk"
READ_CATEGORIES = (Category.plan,)
MAX_COMMITMENT = 2000

NOT_FOUND = _l("Deze overeenkomst bestaat niet, of u heeft er geen toegang toe.")
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


# -- walls -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Access:
    """How the actor relates to an agreement: ``school``, ``self``, ``representative`` or
    ``partner`` (with the party it belongs to)."""

    relation: str
    party: AgreementParty | None = None

    @property
    def is_school(self) -> bool:
        return self.relation == "school"


def _party_for_organisation(agreement: Agreement, organisation_id: int | None) -> AgreementParty | None:
    if organisation_id is None:
        return None
    for version in reversed(agreement.versions):
        for party in version.parties:
            if party.organisation_id == organisation_id:
                return party
    return None


def access_of(session: Session, actor: Principal, agreement: Agreement) -> Access | None:
    """How ``actor`` relates to ``agreement``, or None (outside its walls). An API client acts
    as its organisation (no account): it is the school, or a partner that is a party."""
    if actor.account_id is None and actor.client_id is None:
        return None
    if actor.is_school_staff and actor.organisation_id == agreement.school_id:
        return Access("school", _party_for_organisation(agreement, agreement.school_id))
    student = agreement.student
    if actor.account_id is not None and student.account_id == actor.account_id:
        return Access("self")
    if actor.role is Role.student or actor.acting is None:
        if under_consent_age(student.date_of_birth, clock.today()) and active_representation(
                session, actor.account_id, student):
            return Access("representative")
        return None
    party = _party_for_organisation(agreement, actor.organisation_id)
    if party is not None and actor.role is not Role.student:
        return Access("partner", party)
    return None


def find_agreement(session: Session, actor: Principal, agreement_id: Any) -> tuple[Agreement, Access]:
    """The agreement and the actor's relation to it, or :class:`NotFound` outside the walls.
    Loads versions and parties with it (the overview needs them: fixed statement count)."""
    try:
        key = agreement_id if isinstance(agreement_id, uuid.UUID) else uuid.UUID(str(agreement_id))
    except ValueError:
        raise NotFound(NOT_FOUND) from None
    agreement = session.scalar(select(Agreement).where(Agreement.id == key).options(
        selectinload(Agreement.versions).selectinload(AgreementVersion.parties).joinedload(AgreementParty.organisation),
        selectinload(Agreement.versions).selectinload(AgreementVersion.signatures),
        joinedload(Agreement.student).joinedload(Student.school)))  # in the same statement
    access = access_of(session, actor, agreement) if agreement is not None else None
    if access is None:
        raise NotFound(NOT_FOUND)
    return agreement, access


def reader(actor: Principal, agreement: Agreement, access: Access) -> tuple[Principal, str]:
    """The principal and purpose the read is decided for."""
    if access.relation == "school":
        return actor, PURPOSE_SCHOOL
    if access.relation == "self":
        return actor, PURPOSE_SELF
    if access.relation == "representative":
        return replace(actor, on_behalf_of=f"leerling:{agreement.student_id}"), PURPOSE_SELF
    return actor, (access.party.purpose if access.party and access.party.purpose else DEFAULT_PARTNER_PURPOSE)


def read_agreement(session: Session, actor: Principal, agreement: Agreement, access: Access, *,
                   event_type: EventTag = AgreementTag.view, action: AuditAction = AuditAction.read) -> Decision:
    """Decide (and audit) the read of an agreement. Denied is :class:`Forbidden`; the denial
    stays in the audit log whatever the request does next (:func:`network.audit.record`)."""
    principal, purpose = reader(actor, agreement, access)
    decision = decide(session, principal, agreement.student, purpose, READ_CATEGORIES, action=action,
                      event_type=event_type)
    if not decision.permits(Category.plan):
        raise Forbidden(_l("U heeft (nu) geen grondslag om deze overeenkomst van de leerling in te zien. "
                           "Vraag de school of de leerling om toestemming."))
    return decision


def require_editor(access: Access, agreement: Agreement) -> None:
    if not access.is_school:
        raise Forbidden(_l("Alleen de school van de leerling wijzigt deze overeenkomst."))
    if agreement.status is AgreementStatus.ended:
        raise Conflict(_l("Deze overeenkomst is beëindigd en kan niet meer worden gewijzigd."))


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


def list_agreements(session: Session, actor: Principal, *, student: Student | None = None,
                    limit: int = 200, offset: int = 0) -> list[Agreement]:
    """The agreements the actor can see (no content: titles, statuses, students' ids), most
    recently changed first; ``offset`` skips that many (a page of the API's list)."""
    query = (select(Agreement).options(selectinload(Agreement.student))
             .order_by(Agreement.updated_at.desc(), Agreement.id).offset(offset))
    if student is not None:
        query = query.where(Agreement.student_id == student.id)
    if actor.is_school_staff:
        query = query.where(Agreement.school_id == actor.organisation_id)
    elif actor.acting is not None and actor.role is not Role.student:
        party_of = select(AgreementVersion.agreement_id).join(AgreementParty).where(
            AgreementParty.organisation_id == actor.organisation_id)
        query = query.where(Agreement.id.in_(party_of))
    else:
        today = clock.today()
        own = select(Student.id).where(Student.account_id == actor.account_id)
        represented = select(Representation.student_id).where(Representation.account_id == actor.account_id,
                                                              Representation.ended_at.is_(None))
        query = query.where(or_(Agreement.student_id.in_(own), Agreement.student_id.in_(represented)))
        found = list(session.scalars(query.limit(limit)))
        return [a for a in found if a.student.account_id == actor.account_id
                or under_consent_age(a.student.date_of_birth, today)]
    return list(session.scalars(query.limit(limit)))


# -- events ----------------------------------------------------------------------------------

def add_event(session: Session, agreement: Agreement, version: AgreementVersion, kind: str, actor: Principal,
              detail: dict[str, Any] | None = None, *, now: dt.datetime | None = None) -> None:
    session.add(AgreementEvent(agreement=agreement, version_number=version.number, kind=kind,
                               account_id=actor.account_id, actor_name=actor.name, detail=detail or {},
                               occurred_at=now or utcnow()))


def events_of(session: Session, agreement: Agreement) -> list[AgreementEvent]:
    return list(session.scalars(select(AgreementEvent).where(AgreementEvent.agreement_id == agreement.id)
                                .order_by(AgreementEvent.occurred_at, AgreementEvent.id)))


def _audit(session: Session, actor: Principal, agreement: Agreement, event_type: EventTag, action: AuditAction,
           detail: dict[str, Any] | None = None) -> None:
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
    _audit(session, actor, agreement, AgreementTag.create, AuditAction.create, {"kind": kind.value})
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
    """Save one section of the content (validated by :func:`content.load_section`). Saving what
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
    _audit(session, actor, agreement, AgreementTag.update, AuditAction.update, {"section": section_code,
                                                                              "version": version.number})
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
    _audit(session, actor, agreement, AgreementTag.update, AuditAction.update, {"section": "parties",
                                                                              "version": version.number})
    return version


# -- offer for signature -------------------------------------------------------------------------

def offer_for_signature(session: Session, actor: Principal, keyring: Keyring, agreement: Agreement, access: Access,
                        *, order: SigningOrder, signers: list[str], row_version: Any = None,
                        base_url: str = "", now: dt.datetime | None = None) -> AgreementVersion:
    """Freeze the latest draft and ask the chosen parties to sign it, in parallel or in the
    order of ``signers``. Refused (nothing changes) when a required part of the plan is empty
    (the fall-back strategy ...), a party has no commitment of its own, or fewer than two
    parties sign (for a plan, the student always among them)."""
    require_editor(access, agreement)
    check_row_version(agreement, row_version)
    now = now or utcnow()
    version = agreement.latest
    if version.status not in (VersionStatus.draft, VersionStatus.declined):
        raise Conflict(_l("Deze versie is al aangeboden. Wijzig het plan om een nieuwe versie te maken."))
    # a declined version is checked as it is (its copy holds the same), then copied: nothing is
    # made when the offer is refused
    content = content_of(keyring, version)
    errors: dict[str, list[str]] = {}
    for section, item in missing_for_offer(agreement.kind, content):
        errors.setdefault(f"{section.code}.{item.code}", []).append(
            str(_l("%(section)s: vul eerst '%(label)s' in.", section=section.title, label=item.label)))
    keys = {p.key: p for p in version.parties}
    chosen = [key for key in dict.fromkeys(signers) if key in keys]
    if len(chosen) < 2:
        errors.setdefault("signers", []).append(str(_l("Kies minstens twee partijen die ondertekenen.")))
    if agreement.kind is AgreementKind.plan:
        if "student" not in chosen:
            errors.setdefault("signers", []).append(
                str(_l("De leerling ondertekent het eigen plan (onder 16 jaar: de wettelijk vertegenwoordiger).")))
        for party in version.parties:
            if not party.commitment.strip():
                errors.setdefault(f"party-{party.key}", []).append(
                    str(_l("%(name)s heeft nog geen eigen toezegging.", name=party.name)))
    if errors:
        raise ValidationFailed(_l("Het plan kan nog niet ter ondertekening worden aangeboden."), errors=errors)
    if version.status is VersionStatus.declined:
        # offered again as it is (after talking it through): a new version, the refusal stays on the old
        version = editable_version(session, actor, keyring, agreement, now=now)
    for party in version.parties:
        party.signs = party.key in chosen
        party.position = chosen.index(party.key) + 1 if party.signs else len(chosen) + 1 + party.position
    version.parties.sort(key=lambda p: p.position)
    version.signing_order = order
    version.content_hash = document_hash(document_of(agreement, version, content))
    version.status = VersionStatus.awaiting
    version.offered_at = now
    if agreement.status is AgreementStatus.draft:
        agreement.status = AgreementStatus.awaiting
    touch(session, agreement, now)
    add_event(session, agreement, version, "offered", actor, {"signers": chosen, "order": order.value}, now=now)
    _audit(session, actor, agreement, AgreementTag.offer, AuditAction.update, {"version": version.number,
                                                                             "hash": version.content_hash})
    first = chosen[:1] if order is SigningOrder.sequential else chosen
    notify_signers(session, keyring, agreement, version, first, base_url=base_url, now=now)
    agreement_awaiting_signature.send(version, agreement=agreement, party_keys=first, session=session, keyring=keyring)
    return version


def signer_accounts(session: Session, agreement: Agreement, party: AgreementParty) -> list[int]:
    """Who can sign for a party: the student (16+) or the legal representative(s) (under 16);
    for an organisation, its staff (for the school: school staff roles)."""
    if party.kind is PartyKind.student:
        student = agreement.student
        if not under_consent_age(student.date_of_birth, clock.today()):
            return [student.account_id] if student.account_id else []
        return list(session.scalars(select(Representation.account_id).where(
            Representation.student_id == student.id, Representation.ended_at.is_(None))))
    roles = None
    if party.organisation_id == agreement.school_id:
        roles = SCHOOL_STAFF_ROLES
    return organisation_staff(session, party.organisation_id, roles)


def notify_signers(session: Session, keyring: Keyring, agreement: Agreement, version: AgreementVersion,
                   party_keys: list[str], *, base_url: str = "", now: dt.datetime | None = None) -> None:
    title = str(_l("Een %(kind)s wacht op uw handtekening (versie %(n)s)",
                   kind=("school-naar-werk-plan" if agreement.kind is AgreementKind.plan else "privacyafspraak"),
                   n=version.number))
    accounts: set[int] = set()
    for party in version.parties:
        if party.key in party_keys:
            accounts.update(signer_accounts(session, agreement, party))
    notify(session, keyring, accounts, kind=AgreementNotice.sign, title=title, link=f"/plannen/{agreement.id}",
           base_url=base_url, now=now)


# -- active, ended ---------------------------------------------------------------------------------

def sync_review_moments(session: Session, agreement: Agreement, content: dict[str, Any]) -> None:
    """The active plan's dated moments become review reminders for the school's contact (the
    agreement's creator, else nobody); moments already reminded keep their stamp."""
    existing = {(m.due_date, m.label): m for m in session.scalars(
        select(ReviewMoment).where(ReviewMoment.agreement_id == agreement.id))}
    wanted = {(day, (label or "Evaluatiemoment")[:200]) for day, label in review_moments(content)}
    for key, moment in existing.items():
        if key not in wanted:
            session.delete(moment)
    for day, label in wanted - set(existing):
        session.add(ReviewMoment(agreement=agreement, due_date=day, label=label,
                                 contact_account_id=agreement.created_by_account_id))


def end_agreement(session: Session, actor: Principal, agreement: Agreement, access: Access, *, reason: str,
                  row_version: Any = None, now: dt.datetime | None = None) -> Agreement:
    """End the agreement (the route is over, the student left): its versions stay readable and
    verifiable; nothing more can be edited or signed."""
    require_editor(access, agreement)
    check_row_version(agreement, row_version)
    reason = (reason or "").strip()
    if len(reason) < 3:
        raise ValidationFailed(errors={"reason": [str(_l("Geef een reden."))]})
    now = now or utcnow()
    for version in agreement.versions:
        if version.status is VersionStatus.active:
            version.status = VersionStatus.ended
            version.closed_at = now
        elif version.status in (VersionStatus.awaiting, VersionStatus.draft):
            version.status = VersionStatus.superseded
            version.closed_at = now
    agreement.status = AgreementStatus.ended
    agreement.ended_at = now
    agreement.end_reason = reason[:500]
    touch(session, agreement, now)
    for moment in session.scalars(select(ReviewMoment).where(ReviewMoment.agreement_id == agreement.id,
                                                             ReviewMoment.reminded_at.is_(None))):
        session.delete(moment)
    add_event(session, agreement, agreement.latest, "ended", actor, {"reason": reason[:500]}, now=now)
    _audit(session, actor, agreement, AgreementTag.end, AuditAction.update)
    return agreement

