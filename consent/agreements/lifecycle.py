"""The way of an agreement after editing: offering the latest draft for signature (who signs,
who is told), the review moments of an active plan, and ending the agreement.

Signing and declining themselves are in :mod:`consent.agreements.signatures`, which activates a
version once all its parties signed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent.agreements.access import Access, require_editor
from consent.agreements.content import missing_for_offer, review_moments
from consent.agreements.documents import document_hash
from consent.agreements.models import (
    Agreement,
    AgreementKind,
    AgreementParty,
    AgreementStatus,
    AgreementVersion,
    PartyKind,
    ReviewMoment,
    SigningOrder,
    VersionStatus,
)
from consent.agreements.service import (
    add_event,
    audit_agreement,
    check_row_version,
    content_of,
    document_of,
    editable_version,
    touch,
)
from consent.models import Representation
from consent.tags import AgreementNotice, AgreementTag
from network import clock
from network.audit import AuditAction
from network.clock import under_consent_age, utcnow
from network.crypto import Keyring
from network.errors import Conflict, ValidationFailed
from network.models import SCHOOL_STAFF_ROLES
from network.notifications import notify, organisation_staff
from network.permissions import Principal
from network.signals import agreement_awaiting_signature

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
    audit_agreement(session, actor, agreement, AgreementTag.offer, AuditAction.update,
                    {"version": version.number, "hash": version.content_hash})
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
    audit_agreement(session, actor, agreement, AgreementTag.end, AuditAction.update)
    return agreement
