"""Signing, declining and verifying agreement versions (DESIGN.md rule 4).

A person signs in the browser after proving again who they are (password or TOTP code, at
most :data:`FRESH_AUTH` ago): the hub then signs the statement with its current Ed25519 key.
A partner system signs through the API with its organisation's own registered key; the hub
checks that signature before it stores it. Either way the stored row, the version's content
and the published JWK Set are all that :func:`~consent.agreements.integrity.verify_agreement`
and a third party need. Each signature names the ones before it and is recorded in the audit
log, so none can vanish unnoticed (:mod:`consent.agreements.integrity`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent.agreements.access import Access, read_agreement
from consent.agreements.documents import (
    check_signature,
    document_hash,
    signing_input,
    statement,
    statement_for,
)
from consent.agreements.integrity import previous_for, record_signature, vanished_parties
from consent.agreements.lifecycle import notify_signers, signer_accounts, sync_review_moments
from consent.agreements.models import (
    Agreement,
    AgreementKind,
    AgreementParty,
    AgreementSignature,
    AgreementStatus,
    AgreementVersion,
    PartyKind,
    SignatureMethod,
    SigningOrder,
    VersionStatus,
)
from consent.agreements.service import add_event, content_of, document_of, touch
from consent.service import active_representation
from consent.tags import AgreementNotice, AgreementTag
from network import clock
from network.audit import AuditAction
from network.clock import under_consent_age, utcnow
from network.crypto import DecryptionError, Keyring
from network.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from network.models import OrganisationKey
from network.notifications import notify
from network.permissions import Principal
from network.signals import agreement_awaiting_signature

#: how long a password or TOTP check counts as "just now" for signing
FRESH_AUTH = dt.timedelta(minutes=10)
#: how far the time an API signature claims may be from the hub's clock
API_CLOCK_SKEW = dt.timedelta(minutes=5)
MAX_REASON = 1000

STATUS_MESSAGES = {
    VersionStatus.draft: _l("Deze versie is nog niet ter ondertekening aangeboden."),
    VersionStatus.superseded: _l("Deze versie is vervangen door een nieuwere versie. Onderteken de nieuwste versie."),
    VersionStatus.active: _l("Deze versie is al door alle partijen ondertekend."),
    VersionStatus.declined: _l("Een partij heeft deze versie geweigerd; er komt een nieuwe versie."),
    VersionStatus.ended: _l("Deze overeenkomst is beëindigd."),
}


def find_version(agreement: Agreement, number: Any) -> AgreementVersion:
    version = next((v for v in agreement.versions if str(v.number) == str(number)), None)
    if version is None:
        raise NotFound(_l("Deze versie bestaat niet."))
    return version


def _party(version: AgreementVersion, key: str) -> AgreementParty:
    party = next((p for p in version.parties if p.key == key), None)
    if party is None or not party.signs:
        raise ValidationFailed(errors={"party": [str(_l("Deze partij ondertekent deze versie niet."))]})
    return party


def signing_capacity(session: Session, actor: Principal, agreement: Agreement,
                     party: AgreementParty) -> tuple[str | None, str | None] | None:
    """Whether ``actor`` may sign for ``party``: ``(organisation name, on behalf of)``, or None.

    The student signs for themself from 16; under 16 only a recorded legal representative
    signs, on the student's behalf. An organisation's party is signed by its staff acting for
    it (for the school: school staff)."""
    student = agreement.student
    if party.kind is PartyKind.student:
        under16 = under_consent_age(student.date_of_birth, clock.today())
        if not under16 and actor.account_id is not None and student.account_id == actor.account_id:
            return None, None
        if under16 and active_representation(session, actor.account_id, student) is not None:
            return None, party.name
        return None
    acting = actor.acting
    if acting is None or acting.organisation_id != party.organisation_id or acting.role.value == "student":
        return None
    if party.organisation_id == agreement.school_id and not actor.is_school_staff:
        return None
    return acting.organisation_name, None


def signable_parties(session: Session, actor: Principal, agreement: Agreement,
                     version: AgreementVersion) -> list[AgreementParty]:
    """The parties of an awaiting version that ``actor`` may sign for now (not yet signed,
    and in a sequential order every party before it has signed)."""
    if version.status is not VersionStatus.awaiting:
        return []
    done = {s.party_key for s in version.signatures}
    return [p for p in version.parties if p.signs and p.key not in done
            and signing_capacity(session, actor, agreement, p) is not None and _turn_problem(version, p) is None]


def _turn_problem(version: AgreementVersion, party: AgreementParty) -> str | None:
    if version.signing_order is not SigningOrder.sequential:
        return None
    signed = {s.party_key for s in version.signatures if not s.declined}
    waiting = [p.name for p in version.parties if p.signs and p.position < party.position and p.key not in signed]
    if waiting:
        return str(_l("De volgorde is vastgelegd: eerst tekent %(names)s.", names=", ".join(waiting)))
    return None


def _check_signable(session: Session, keyring: Keyring, agreement: Agreement, version: AgreementVersion,
                    party: AgreementParty) -> dict[str, Any]:
    if agreement.status is AgreementStatus.ended:
        raise Conflict(STATUS_MESSAGES[VersionStatus.ended])
    if version.status is not VersionStatus.awaiting:
        raise Conflict(STATUS_MESSAGES.get(version.status, STATUS_MESSAGES[VersionStatus.superseded]),
                       latest=agreement.latest.number)
    if any(s.party_key == party.key for s in version.signatures):
        raise Conflict(_l("Deze partij heeft op deze versie al gereageerd."))
    problem = _turn_problem(version, party)
    if problem:
        raise Conflict(problem)
    try:
        content = content_of(keyring, version)
    except DecryptionError:
        raise Conflict(_l("De inhoud van deze versie is beschadigd of buiten Schakel gewijzigd; ondertekenen kan "
                          "niet. Neem contact op met de beheerder.")) from None
    if document_hash(document_of(agreement, version, content)) != version.content_hash:
        raise Conflict(_l("De inhoud van deze versie is gewijzigd na het aanbieden; ondertekenen kan niet. "
                          "Neem contact op met de beheerder."))
    if vanished_parties(session, agreement, version):
        raise Conflict(_l("Uit deze versie is buiten Schakel een handtekening verwijderd; ondertekenen kan niet. "
                          "Neem contact op met de beheerder."))
    return content


def signing_refusal(session: Session, actor: Principal, keyring: Keyring, agreement: Agreement,
                    version: AgreementVersion, party_key: str) -> DomainError | None:
    """Why ``actor`` cannot sign ``version`` for ``party_key`` now (the error :func:`sign_version`
    would raise, apart from the fresh login), or None: lets the signing page say so before the
    signer types a password."""
    try:
        party = _party(version, party_key)
        if signing_capacity(session, actor, agreement, party) is None:
            raise Forbidden(_l("U kunt niet ondertekenen namens %(name)s.", name=party.name))
        _check_signable(session, keyring, agreement, version, party)
    except DomainError as exc:
        return exc
    return None


def sign_version(session: Session, actor: Principal, keyring: Keyring, agreement: Agreement, access: Access,
                 number: Any, party_key: str, *, authenticated_at: dt.datetime | None, method: SignatureMethod,
                 base_url: str = "", now: dt.datetime | None = None) -> AgreementSignature:
    """Sign version ``number`` for ``party_key`` as ``actor``, who proved who they are with
    ``method`` at ``authenticated_at`` (at most :data:`FRESH_AUTH` ago). The signer reads what
    they sign, so the read is decided and audited first."""
    now = (now or utcnow()).replace(microsecond=0)
    version = find_version(agreement, number)
    party = _party(version, party_key)
    capacity = signing_capacity(session, actor, agreement, party)
    if capacity is None:
        raise Forbidden(_l("U kunt niet ondertekenen namens %(name)s.", name=party.name))
    if authenticated_at is None or now - authenticated_at > FRESH_AUTH or authenticated_at > now + API_CLOCK_SKEW:
        raise Forbidden(_l("Bevestig eerst opnieuw wie u bent (wachtwoord of code) om te ondertekenen."))
    content = _check_signable(session, keyring, agreement, version, party)
    decision = read_agreement(session, actor, agreement, access, event_type=AgreementTag.sign,
                              action=AuditAction.update)
    touch(session, agreement, now)
    organisation, on_behalf_of = capacity
    previous = previous_for(agreement, version)  # before the new row joins version.signatures
    row = AgreementSignature(version=version, party_key=party.key, role=party.role, declined=False,
                             signer_account_id=actor.account_id, signer_name=actor.name,
                             signer_organisation=organisation, on_behalf_of=on_behalf_of, method=method,
                             signed_at=now, version_hash=version.content_hash, previous=previous)
    row.kid, row.signature = keyring.sign(signing_input(statement_for(row, agreement.id, version.number,
                                                                      version.content_hash)))
    session.add(row)
    record_signature(session, actor, agreement, version, row, decision)
    _after_signature(session, actor, keyring, agreement, version, party, content, base_url=base_url, now=now)
    return row


def sign_with_organisation_key(session: Session, actor: Principal, keyring: Keyring, agreement: Agreement,
                               access: Access, number: Any, party_key: str, *, signer_name: str,
                               signed_at: dt.datetime, kid: str, signature: str, base_url: str = "",
                               now: dt.datetime | None = None) -> AgreementSignature:
    """A partner system signs with its organisation's registered Ed25519 key: it sends the
    signature over the statement (method ``organisation-key``) and the hub checks it."""
    now = now or utcnow()
    version = find_version(agreement, number)
    party = _party(version, party_key)
    capacity = signing_capacity(session, actor, agreement, party)
    if capacity is None or party.kind is not PartyKind.organisation:
        raise Forbidden(_l("U kunt niet ondertekenen namens %(name)s.", name=party.name))
    key = session.scalar(select(OrganisationKey).where(OrganisationKey.kid == kid))
    if key is None or key.organisation_id != party.organisation_id or key.revoked_at is not None:
        raise ValidationFailed(errors={"kid": [str(_l("Onbekende of ingetrokken sleutel voor deze organisatie."))]})
    if signed_at.tzinfo is None or abs(now - signed_at) > API_CLOCK_SKEW:
        raise ValidationFailed(
            errors={"signed_at": [str(_l("Het tijdstip wijkt meer dan 5 minuten af van nu (UTC)."))]})
    signer_name = (signer_name or "").strip()[:200]
    if not signer_name:
        raise ValidationFailed(errors={"signer_name": [str(_l("Vul de naam van de ondertekenaar in."))]})
    content = _check_signable(session, keyring, agreement, version, party)
    previous = _signed_previous(agreement, version, party, key.jwk(), kid, signature, signer_name=signer_name,
                                organisation=capacity[0], signed_at=signed_at.replace(microsecond=0))
    decision = read_agreement(session, actor, agreement, access, event_type=AgreementTag.sign,
                              action=AuditAction.update)
    touch(session, agreement, now)
    row = AgreementSignature(version=version, party_key=party.key, role=party.role, declined=False,
                             signer_account_id=actor.account_id, signer_name=signer_name,
                             signer_organisation=capacity[0], on_behalf_of=None,
                             method=SignatureMethod.organisation_key, signed_at=signed_at.replace(microsecond=0),
                             version_hash=version.content_hash, kid=kid, signature=signature, previous=previous)
    session.add(row)
    record_signature(session, actor, agreement, version, row, decision)
    _after_signature(session, actor, keyring, agreement, version, party, content, base_url=base_url, now=now)
    return row


def _signed_previous(agreement: Agreement, version: AgreementVersion, party: AgreementParty, jwk: dict[str, Any],
                     kid: str, signature: str, *, signer_name: str, organisation: str | None,
                     signed_at: dt.datetime) -> list[dict[str, str]] | None:
    """The ``previous`` the partner's signature covers: the signatures on the version now, or
    None for a statement in the form before issue 18 (still accepted, so a partner system
    that has not changed keeps working; the audit log still proves the earlier signatures)."""
    previous = previous_for(agreement, version)
    for candidate in (previous, None):
        stmt = statement(agreement_id=agreement.id, number=version.number, version_hash=version.content_hash,
                         party=party.key, role=party.role, signer_name=signer_name, signer_organisation=organisation,
                         on_behalf_of=None, signed_at=signed_at, method=SignatureMethod.organisation_key,
                         previous=candidate)
        if check_signature({"keys": [jwk]}, kid, stmt, signature) is None:
            return candidate
    raise ValidationFailed(errors={"signature": [str(_l(
        "De handtekening past niet bij de verklaring van deze versie. Haal de versie opnieuw op: de verklaring "
        "noemt in previous de handtekeningen die er nu op staan."))]})


def _after_signature(session: Session, actor: Principal, keyring: Keyring, agreement: Agreement,
                     version: AgreementVersion, party: AgreementParty, content: dict[str, Any], *,
                     base_url: str, now: dt.datetime) -> None:
    add_event(session, agreement, version, "signed", actor, {"party": party.key}, now=now)
    signed = {s.party_key for s in version.signatures if not s.declined} | {party.key}
    remaining = [p for p in version.parties if p.signs and p.key not in signed]
    if not remaining:
        _activate(session, actor, keyring, agreement, version, content, base_url=base_url, now=now)
    elif version.signing_order is SigningOrder.sequential:  # the next party's turn
        notify_signers(session, keyring, agreement, version, [remaining[0].key], base_url=base_url, now=now)
        agreement_awaiting_signature.send(version, agreement=agreement, party_keys=[remaining[0].key],
                                          session=session, keyring=keyring)


def _activate(session: Session, actor: Principal, keyring: Keyring, agreement: Agreement, version: AgreementVersion,
              content: dict[str, Any], *, base_url: str, now: dt.datetime) -> None:
    for other in agreement.versions:
        if other is not version and other.status is VersionStatus.active:
            other.status = VersionStatus.superseded
            other.closed_at = now
    version.status = VersionStatus.active
    version.activated_at = now
    agreement.status = AgreementStatus.active
    add_event(session, agreement, version, "activated", actor, now=now)
    if agreement.kind is AgreementKind.plan:
        sync_review_moments(session, agreement, content)
    accounts = {a for p in version.parties for a in signer_accounts(session, agreement, p)}
    notify(session, keyring, accounts, kind=AgreementNotice.active,
           title=str(_l("Versie %(n)s is door alle partijen ondertekend en geldt nu", n=version.number)),
           link=f"/plannen/{agreement.id}", base_url=base_url, now=now)


def decline_version(session: Session, actor: Principal, keyring: Keyring, agreement: Agreement, access: Access,
                    number: Any, party_key: str, *, reason: str, base_url: str = "",
                    now: dt.datetime | None = None) -> AgreementSignature:
    """A party says no to this version, with a reason; the school gets a notification and the
    next edit makes a new version to sign."""
    now = (now or utcnow()).replace(microsecond=0)
    version = find_version(agreement, number)
    party = _party(version, party_key)
    capacity = signing_capacity(session, actor, agreement, party)
    if capacity is None:
        raise Forbidden(_l("U kunt niet reageren namens %(name)s.", name=party.name))
    reason = (reason or "").strip()
    if len(reason) < 3 or len(reason) > MAX_REASON:
        raise ValidationFailed(errors={"reason": [str(_l("Geef een reden (hoogstens %(max)s tekens).",
                                                         max=MAX_REASON))]})
    _check_signable(session, keyring, agreement, version, party)
    decision = read_agreement(session, actor, agreement, access, event_type=AgreementTag.decline,
                              action=AuditAction.update)
    touch(session, agreement, now)
    row = AgreementSignature(version=version, party_key=party.key, role=party.role, declined=True,
                             decline_reason=reason, signer_account_id=actor.account_id, signer_name=actor.name,
                             signer_organisation=capacity[0], on_behalf_of=capacity[1],
                             method=SignatureMethod.password, signed_at=now, version_hash=version.content_hash)
    session.add(row)
    record_signature(session, actor, agreement, version, row, decision)
    version.status = VersionStatus.declined
    version.closed_at = now
    add_event(session, agreement, version, "declined", actor, {"party": party.key, "reason": reason}, now=now)
    school_party = next((p for p in version.parties if p.organisation_id == agreement.school_id), None)
    accounts = set(signer_accounts(session, agreement, school_party)) if school_party else set()
    if agreement.created_by_account_id:
        accounts.add(agreement.created_by_account_id)
    notify(session, keyring, accounts, kind=AgreementNotice.declined,
           title=str(_l("Een partij heeft versie %(n)s niet ondertekend", n=version.number)),
           link=f"/plannen/{agreement.id}", base_url=base_url, now=now)
    return row
