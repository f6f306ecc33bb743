"""Referrals: the wizard's drafts, sending with a hand-over packet, the state machine, the warm
hand-over, assignment, updates and notes, and who may see what.

Plain functions: they take the session, the acting :class:`Principal`, the keyring and the
clock; they flush but never commit, audit every change in the same transaction, and raise
:class:`ValidationFailed` (Dutch field messages) before anything is written, so nothing is
half-saved. Illegal transitions and stale versions are :class:`Conflict` (409) with the
allowed transitions listed.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from network import clock
from network.access import Category, bases_for_organisation
from network.audit import AuditAction, record
from network.clock import utcnow
from network.crypto import Keyring
from network.errors import Conflict, Forbidden, NotFound, ValidationFailed
from network.models import Membership, Organisation, Role, Student
from network.notifications import notify, notify_organisation
from network.permissions import Principal, can_manage_student
from network.signals import referral_sent, referral_updated
from referrals.models import EventKind, HandoverPacket, Referral, Route
from referrals.referral_timeline import add_event
from referrals.signup import SHAREABLE, empty_details, snapshot
from referrals.states import (
    MOVED_BY,
    REASON_REQUIRED,
    RECEIVER,
    SENDER,
    TERMINAL,
    Outcome,
    ReferralStatus,
    ReferralType,
    allowed_for,
    allowed_next,
)
from referrals.tags import TRANSITION_NOTICES, TRANSITION_TAGS, ReferralNotice, ReferralTag
from referrals.workdays import DEFAULT_RESPONSE_DAYS, add_working_days
from socialmap.models import Service, ServiceStatus

S = ReferralStatus
NOT_FOUND = _l("Deze verwijzing bestaat niet, of u heeft er geen toegang toe.")


# -- who sees what -----------------------------------------------------------------------------

def side_of(actor: Principal, referral: Referral) -> str | None:
    """``sender`` for staff of the referring school, ``receiver`` for staff of the receiving
    organisation, else None."""
    if actor.organisation_id is None:
        return None
    if actor.organisation_id == referral.from_organisation_id and actor.is_school_staff:
        return SENDER
    if actor.organisation_id == referral.to_organisation_id and actor.role is Role.partner_staff:
        return RECEIVER
    return None


def can_view_referral(actor: Principal, referral: Referral) -> bool:
    """Sender and receiver see the referral; the receiver not while it is a draft."""
    side = side_of(actor, referral)
    return side == SENDER or (side == RECEIVER and referral.status is not S.draft)


#: not the student: a student row is loaded only after the access decision (and its audit event)
_DETAIL_LOAD = (joinedload(Referral.packet), joinedload(Referral.service), joinedload(Referral.from_organisation),
                joinedload(Referral.to_organisation))


def get_referral(session: Session, actor: Principal, referral_id: Any) -> Referral:
    """Load a referral inside the actor's walls, else :class:`NotFound` (404 before 403)."""
    try:
        key = int(referral_id)
    except (TypeError, ValueError):
        raise NotFound(NOT_FOUND) from None
    # one query for the referral and what every caller shows of it (its packet, service and both
    # organisations) instead of one lazy load each
    referral = session.get(Referral, key, options=_DETAIL_LOAD) if 0 < key < 2**31 else None  # PG integer range
    if referral is None or not can_view_referral(actor, referral):
        raise NotFound(NOT_FOUND)
    return referral


def _check_version(referral: Referral, expected_version: int | None) -> None:
    if expected_version is not None and int(expected_version) != referral.version:
        raise Conflict(_l("Iemand anders heeft deze verwijzing intussen gewijzigd. Bekijk de nieuwe stand en "
                          "probeer het opnieuw."), current_version=referral.version)


# -- the details (the sign-up form), encrypted ---------------------------------------------

def read_details(keyring: Keyring, referral: Referral) -> dict[str, Any]:
    if not referral.details_encrypted:
        return empty_details()
    return json.loads(keyring.decrypt(referral.details_encrypted, referral.details_ref()))


def _write_details(keyring: Keyring, referral: Referral, details: dict[str, Any]) -> None:
    referral.details_encrypted = keyring.encrypt(json.dumps(details, ensure_ascii=False), referral.details_ref())


# -- the wizard --------------------------------------------------------------------------------

def shareable_categories(session: Session, student: Student, recipient: Organisation,
                         purpose: str) -> dict[Category, str | None]:
    """Each category the wizard offers, with the basis the recipient would have for it (the
    audit-log name, e.g. ``consent:12``) or None: then consent must be recorded or asked first."""
    decision = bases_for_organisation(session, recipient, student, purpose, SHAREABLE)
    found: dict[Category, str | None] = {}
    for category in SHAREABLE:
        refs = [str(b) for b in decision.bases if category in b.categories]
        found[category] = ",".join(refs) if refs else None
    return found


def _load_service(session: Session, service_id: Any) -> Service | None:
    try:
        key = int(service_id) if service_id not in (None, "") else None
        return session.get(Service, key) if key is not None and 0 < key < 2**31 else None
    except (TypeError, ValueError):
        return None


def _check_draft(session: Session, actor: Principal, student: Student, data: dict[str, Any],
                 errors: dict[str, list[str]]) -> Service | None:
    """Checks a draft must pass (sending checks more: :func:`_check_send`)."""
    if not can_manage_student(actor, student):
        raise NotFound(_l("Deze leerling bestaat niet, of u heeft er geen toegang toe."))
    service = _load_service(session, data.get("service_id"))
    if data.get("service_id") not in (None, "") and service is None:
        errors.setdefault("service_id", []).append(str(_l("Deze dienst bestaat niet (meer).")))
    if service is not None:
        if service.organisation_id == actor.organisation_id:
            errors.setdefault("service_id", []).append(
                str(_l("U kunt niet naar uw eigen organisatie verwijzen; kies een dienst van een partner.")))
        elif not service.organisation.is_active:
            errors.setdefault("service_id", []).append(str(_l("Deze organisatie is niet actief.")))
    return service


def save_draft(session: Session, actor: Principal, keyring: Keyring, student: Student, data: dict[str, Any], *,
               referral: Referral | None = None, now: dt.datetime | None = None) -> Referral:
    """Create or update a draft referral (the wizard saves after every step).

    :param data: ``service_id``, ``purpose``, ``type``, ``categories`` (codes), ``details``
        (the sign-up form, see :mod:`referrals.signup`), ``client_token`` (one per wizard; a
        repeated create with the same token returns the draft it made), ``expected_version``.
    """
    now = now or utcnow()
    if referral is None and data.get("client_token"):
        existing = session.scalar(select(Referral).where(Referral.client_token == str(data["client_token"])))
        if existing is not None:
            if side_of(actor, existing) != SENDER:
                raise NotFound(NOT_FOUND)
            if existing.status is not S.draft:
                return existing  # a double submit: the referral was made (and maybe sent) already
            referral = existing
    if referral is not None:
        if side_of(actor, referral) != SENDER:
            raise NotFound(NOT_FOUND)
        if referral.status is not S.draft:
            raise Conflict(_l("Deze verwijzing is al verstuurd en kan niet meer als concept worden gewijzigd."),
                           allowed=[s.value for s in allowed_for(referral.status, SENDER)])
        _check_version(referral, data.get("expected_version"))
    errors: dict[str, list[str]] = {}
    service = _check_draft(session, actor, student, data, errors)
    categories = []
    for code in data.get("categories") or []:
        try:
            category = Category(code)
        except ValueError:
            errors.setdefault("categories", []).append(str(_l("Onbekend gegevenstype.")))
            continue
        if category not in SHAREABLE:
            errors.setdefault("categories", []).append(str(_l("Dit gegevenstype kan niet met een verwijzing mee.")))
        categories.append(category)
    if errors:
        raise ValidationFailed(errors=errors)
    created = referral is None
    if created:
        referral = Referral(student_id=student.id, from_organisation_id=actor.organisation_id,
                            from_account_id=actor.account_id, from_name=actor.name, status=S.draft,
                            client_token=str(data["client_token"]) if data.get("client_token") else None,
                            created_at=now, status_changed_at=now, type=ReferralType.transitieroute,
                            purpose=data.get("purpose") or "", categories="")
        route = session.scalar(select(Route).where(Route.student_id == student.id))
        referral.route_id = route.id if route else None
    if service is not None:
        referral.service_id, referral.to_organisation_id = service.id, service.organisation_id
    if data.get("purpose"):
        referral.purpose = str(data["purpose"])
    if data.get("type"):
        referral.type = ReferralType(data["type"])
    if "categories" in data:
        referral.categories = " ".join(sorted(c.value for c in set(categories)))
    if created:
        if referral.service_id is None:
            raise ValidationFailed(errors={"service_id": [str(_l("Kies een dienst van de sociale kaart."))]})
        session.add(referral)
        session.flush()  # the id binds the encrypted details to this row
        add_event(session, keyring, referral, EventKind.created, actor, to_status=S.draft, now=now)
    if "details" in data:
        details = empty_details()
        details.update(data["details"] or {})
        _write_details(keyring, referral, details)
    record(session, actor, action=AuditAction.create if created else AuditAction.update,
           event_type=ReferralTag.draft, object_type="referral", object_id=referral.id, student_id=student.id,
           purpose="verwijzing", basis="legal_task:onderwijstaak")
    return referral


def _check_send(session: Session, referral: Referral, keyring: Keyring, today: dt.date,
                response_due: dt.date | None) -> tuple[Service, frozenset[Category], list[str]]:
    errors: dict[str, list[str]] = {}
    service = referral.service
    if service is None:
        errors.setdefault("service_id", []).append(str(_l("Kies een dienst van de sociale kaart.")))
    elif service.status is not ServiceStatus.active or not service.organisation.is_active:
        errors.setdefault("service_id", []).append(
            str(_l("Deze dienst is niet actief; kies een andere dienst op de sociale kaart.")))
    elif service.organisation_id == referral.from_organisation_id:
        errors.setdefault("service_id", []).append(str(_l("U kunt niet naar uw eigen organisatie verwijzen.")))
    details = read_details(keyring, referral)
    if not (details.get("reason") or "").strip():
        errors.setdefault("reason", []).append(str(_l("Vul de reden van de verwijzing in.")))
    if not referral.purpose:
        errors.setdefault("purpose", []).append(str(_l("Kies het doel van de verwijzing.")))
    categories = frozenset(Category(c) for c in referral.category_list)
    if not categories:
        errors.setdefault("categories", []).append(str(_l("Kies welke gegevens u deelt.")))
    if response_due is not None and response_due < today:
        errors.setdefault("response_due", []).append(str(_l("De reactietermijn kan niet in het verleden liggen.")))
    refs: list[str] = []
    if service is not None and categories and not errors.get("service_id") and referral.purpose:
        decision = bases_for_organisation(session, service.organisation, referral.student, referral.purpose,
                                          categories)
        missing = categories - decision.allowed
        if missing:
            errors.setdefault("categories", []).append(str(_l(
                "Voor %(cats)s heeft de ontvanger geen grondslag: leg eerst toestemming vast of vraag erom.",
                cats=", ".join(sorted(c.value for c in missing)))))
        refs = sorted({str(b) for b in decision.bases})
    if errors:
        raise ValidationFailed(errors=errors)
    return service, categories, refs


def send_referral(session: Session, actor: Principal, keyring: Keyring, referral: Referral, *,
                  response_due: dt.date | None = None, expected_version: int | None = None,
                  today: dt.date | None = None, now: dt.datetime | None = None, base_url: str = "") -> Referral:
    """Send a draft: check everything, take the hand-over packet (a snapshot of the allowed
    categories, encrypted), set the answer deadline (the service's response time in working
    days, or an explicit later date) and tell the receiving organisation.

    Sending a referral that was already sent returns it unchanged (a double submit is one
    referral).
    """

    today, now = today or clock.today(), now or utcnow()
    if side_of(actor, referral) != SENDER:
        raise NotFound(NOT_FOUND)
    if referral.status is not S.draft:
        if referral.status is S.requested and referral.sent_at is not None:
            return referral
        raise Conflict(_l("Deze verwijzing is al verstuurd."), allowed=[s.value for s in allowed_for(referral.status, SENDER)])
    _check_version(referral, expected_version)
    service, categories, refs = _check_send(session, referral, keyring, today, response_due)
    student = referral.student
    details = read_details(keyring, referral)
    referrer = {"name": referral.from_name, "organisation": referral.from_organisation.name,
                "email": referral.from_account.email if referral.from_account else ""}
    # through the relationship, so referral.packet (loaded, and None, while a draft) is this one
    packet = HandoverPacket(referral=referral, referral_id=referral.id, student_id=student.id,
                            recipient_id=service.organisation_id, categories=referral.categories,
                            basis=",".join(refs), created_at=now)
    packet.content_encrypted = keyring.encrypt(
        json.dumps(snapshot(student, keyring, details, categories, referrer=referrer), ensure_ascii=False),
        packet.content_ref())
    session.add(packet)
    referral.status, referral.status_changed_at, referral.sent_at = S.requested, now, now
    referral.response_due = response_due or add_working_days(today, service.response_days or DEFAULT_RESPONSE_DAYS)
    add_event(session, keyring, referral, EventKind.transition, actor, from_status=S.draft, to_status=S.requested,
              now=now)
    record(session, actor, action=AuditAction.export, event_type=ReferralTag.send, object_type="referral",
           object_id=referral.id, student_id=student.id, purpose=referral.purpose, basis=",".join(refs) or None,
           detail={"to_organisation_id": service.organisation_id, "categories": referral.category_list})
    notify_organisation(session, keyring, service.organisation_id, roles=[Role.partner_staff],
                        kind=ReferralNotice.requested, base_url=base_url, now=now,
                        title=f"Nieuwe verwijzing nr. {referral.id} voor '{service.name}' van "
                              f"{referral.from_organisation.name}; reageer vóór {referral.response_due:%d-%m-%Y}",
                        link=f"/inbox/{referral.id}")
    referral_sent.send(referral, session=session, keyring=keyring)
    return referral


def _announce(session: Session, keyring: Keyring, referral: Referral, *, own_only_for: Principal | None = None) -> None:
    """Tell the organisations on ``referral`` that it changed (webhooks listen): both sides,
    or only ``own_only_for``'s organisation (a draft, an internal note)."""
    if own_only_for is not None or referral.status is S.draft and referral.sent_at is None:
        organisations = {own_only_for.organisation_id if own_only_for else referral.from_organisation_id}
    else:
        organisations = {referral.from_organisation_id, referral.to_organisation_id}
    referral_updated.send(referral, session=session, keyring=keyring, organisation_ids=organisations)


# -- the state machine -------------------------------------------------------------------------

def transition(session: Session, actor: Principal, keyring: Keyring, referral: Referral, to: ReferralStatus | str, *,
               reason: str | None = None, outcome: Outcome | str | None = None, expected_version: int | None = None,
               now: dt.datetime | None = None, base_url: str = "") -> Referral:
    """Move ``referral`` to ``to`` if the state machine and the actor's side allow it.

    A reason is required for rejected, cancelled, on-hold, failed and entered-in-error; an
    outcome for completed. Starting the work (accepted → in-progress) needs the warm hand-over
    confirmed by the receiver. Illegal moves raise :class:`Conflict` listing what is allowed.
    """
    now = now or utcnow()
    side = side_of(actor, referral)
    if side is None or not can_view_referral(actor, referral):
        raise NotFound(NOT_FOUND)
    try:
        target = ReferralStatus(to)
    except ValueError:
        raise ValidationFailed(errors={"status": [str(_l("Onbekende status."))]}) from None
    if target is S.requested:
        raise Conflict(_l("Versturen gaat via de verwijswizard."), allowed=[s.value for s in allowed_for(referral.status, side)])
    _check_version(referral, expected_version)
    allowed = allowed_for(referral.status, side)
    if target not in allowed_next(referral.status) or side not in MOVED_BY.get(target, ()):
        raise Conflict(_l("Deze stap kan niet vanuit de status '%(status)s'.", status=referral.status.value),
                       allowed=[s.value for s in allowed])
    errors: dict[str, list[str]] = {}
    reason = (reason or "").strip() or None
    if target in REASON_REQUIRED and not reason:
        errors["reason"] = [str(_l("Geef een reden op."))]
    if reason and len(reason) > 500:
        errors["reason"] = [str(_l("De reden is te lang (hoogstens 500 tekens)."))]
    chosen_outcome = None
    if target is S.completed:
        try:
            chosen_outcome = Outcome(outcome) if outcome else None
        except ValueError:
            chosen_outcome = None
        if chosen_outcome is None:
            errors["outcome"] = [str(_l("Kies de uitkomst."))]
    if target is S.in_progress and referral.status is S.accepted and referral.handover_confirmed_at is None:
        raise Conflict(_l("Leg eerst de warme overdracht vast (en laat de ontvanger die bevestigen)."),
                       allowed=[s.value for s in allowed if s is not S.in_progress])
    if errors:
        raise ValidationFailed(errors=errors)
    previous = referral.status
    referral.status, referral.status_reason, referral.status_changed_at = target, reason, now
    if previous is S.requested and target in (S.accepted, S.rejected):
        referral.answered_at = now
    if target is S.completed:
        referral.outcome = chosen_outcome
    if target in TERMINAL:
        referral.closed_at = now
    if target in (S.accepted,) and referral.owner_account_id is None and side == RECEIVER:
        referral.owner_account_id = actor.account_id
    add_event(session, keyring, referral, EventKind.transition, actor, from_status=previous, to_status=target,
              reason=reason, now=now)
    record(session, actor, action=AuditAction.update, event_type=TRANSITION_TAGS[target], object_type="referral",
           object_id=referral.id, student_id=referral.student_id, purpose=referral.purpose,
           detail={"from": previous.value, "to": target.value, **({"outcome": chosen_outcome.value} if chosen_outcome else {})})
    if previous is not S.draft:  # the receiver never saw a draft: nothing to tell
        _tell_other_side(session, keyring, referral, side, kind=TRANSITION_NOTICES[target], base_url=base_url,
                         now=now, title=f"Verwijzing nr. {referral.id}: {_STATUS_WORDS.get(target, target.value)}")
    _announce(session, keyring, referral, own_only_for=actor if previous is S.draft else None)
    return referral


_STATUS_WORDS = {
    S.accepted: "geaccepteerd", S.rejected: "afgewezen", S.in_progress: "begeleiding gestart",
    S.on_hold: "gepauzeerd", S.completed: "afgerond", S.failed: "mislukt", S.cancelled: "ingetrokken",
    S.entered_in_error: "ten onrechte ingevoerd",
}


def _tell_other_side(session: Session, keyring: Keyring, referral: Referral, side: str, *, kind: ReferralNotice,
                     title: str, base_url: str, now: dt.datetime) -> None:
    if side == RECEIVER:
        if referral.from_account_id:
            notify(session, keyring, [referral.from_account_id], kind=kind, title=title, base_url=base_url, now=now,
                   link=f"/verwijzingen/{referral.id}")
    elif referral.owner_account_id:
        notify(session, keyring, [referral.owner_account_id], kind=kind, title=title, base_url=base_url, now=now,
               link=f"/inbox/{referral.id}")
    elif referral.status is not S.draft:
        notify_organisation(session, keyring, referral.to_organisation_id, roles=[Role.partner_staff], kind=kind,
                            title=title, base_url=base_url, now=now, link=f"/inbox/{referral.id}")


# -- the warm hand-over ------------------------------------------------------------------------

def record_handover(session: Session, actor: Principal, keyring: Keyring, referral: Referral, *, held_on: dt.date,
                    present: str, expected_version: int | None = None, today: dt.date | None = None,
                    now: dt.datetime | None = None, base_url: str = "") -> Referral:
    """Record the overdrachtsgesprek (date, who was there). Recorded by the receiver it is
    confirmed at once and the work starts (accepted → in-progress); recorded by the school it
    waits for the receiver's confirmation (:func:`confirm_handover`)."""

    today, now = today or clock.today(), now or utcnow()
    side = side_of(actor, referral)
    if side is None or not can_view_referral(actor, referral):
        raise NotFound(NOT_FOUND)
    _check_version(referral, expected_version)
    if referral.status is not S.accepted:
        raise Conflict(_l("De warme overdracht volgt op een geaccepteerde verwijzing."),
                       allowed=[s.value for s in allowed_for(referral.status, side)])
    errors: dict[str, list[str]] = {}
    present = (present or "").strip()
    if not present:
        errors["present"] = [str(_l("Vul in wie er bij het gesprek waren."))]
    elif len(present) > 500:
        errors["present"] = [str(_l("Hoogstens 500 tekens."))]
    if held_on is None:
        errors["held_on"] = [str(_l("Vul de datum van het gesprek in."))]
    elif held_on > today:
        errors["held_on"] = [str(_l("Het gesprek kan niet in de toekomst liggen."))]
    if errors:
        raise ValidationFailed(errors=errors)
    referral.handover_on, referral.handover_present, referral.handover_recorded_by_name = held_on, present, actor.name
    add_event(session, keyring, referral, EventKind.handover, actor, now=now,
              reason=f"{held_on.isoformat()}: {present}"[:500])
    record(session, actor, action=AuditAction.update, event_type=ReferralTag.handover, object_type="referral",
           object_id=referral.id, student_id=referral.student_id, purpose=referral.purpose,
           detail={"held_on": held_on.isoformat()})
    if side == RECEIVER:
        _confirm(session, actor, keyring, referral, now)
    else:
        referral.handover_confirmed_at = referral.handover_confirmed_by_name = None
        _tell_other_side(session, keyring, referral, side, kind=ReferralNotice.handover, base_url=base_url, now=now,
                         title=f"Verwijzing nr. {referral.id}: bevestig de warme overdracht")
    _announce(session, keyring, referral)
    return referral


def confirm_handover(session: Session, actor: Principal, keyring: Keyring, referral: Referral, *,
                     expected_version: int | None = None, now: dt.datetime | None = None,
                     base_url: str = "") -> Referral:
    """The receiver confirms a hand-over the school recorded; the work starts."""
    now = now or utcnow()
    side = side_of(actor, referral)
    if side is None or not can_view_referral(actor, referral):
        raise NotFound(NOT_FOUND)
    if side != RECEIVER:
        raise Forbidden(_l("Alleen de ontvangende organisatie bevestigt de warme overdracht."))
    _check_version(referral, expected_version)
    if referral.status is not S.accepted or referral.handover_on is None:
        raise Conflict(_l("Er is geen warme overdracht om te bevestigen."),
                       allowed=[s.value for s in allowed_for(referral.status, side)])
    _confirm(session, actor, keyring, referral, now)
    _tell_other_side(session, keyring, referral, side, kind=ReferralNotice.in_progress, base_url=base_url, now=now,
                     title=f"Verwijzing nr. {referral.id}: warme overdracht bevestigd, begeleiding gestart")
    _announce(session, keyring, referral)
    return referral


def _confirm(session: Session, actor: Principal, keyring: Keyring, referral: Referral, now: dt.datetime) -> None:
    referral.handover_confirmed_at, referral.handover_confirmed_by_name = now, actor.name
    add_event(session, keyring, referral, EventKind.handover_confirmed, actor, now=now)
    previous = referral.status
    referral.status, referral.status_reason, referral.status_changed_at = S.in_progress, None, now
    if referral.owner_account_id is None:
        referral.owner_account_id = actor.account_id
    add_event(session, keyring, referral, EventKind.transition, actor, from_status=previous, to_status=S.in_progress,
              now=now)
    record(session, actor, action=AuditAction.update, event_type=ReferralTag.in_progress, object_type="referral",
           object_id=referral.id, student_id=referral.student_id, purpose=referral.purpose,
           detail={"from": previous.value, "to": S.in_progress.value, "handover_confirmed": True})


# -- assignment, updates and notes -------------------------------------------------------------

def colleagues(session: Session, actor: Principal) -> list[tuple[int, str]]:
    """(account id, name) of the partner staff of the actor's organisation."""
    from network.models import Account

    rows = session.execute(
        select(Account.id, Account.name).join(Membership, Membership.account_id == Account.id)
        .where(Membership.organisation_id == actor.organisation_id, Membership.role == Role.partner_staff,
               Account.is_active.is_(True)).order_by(Account.name)).all()
    return [(account_id, name) for account_id, name in dict.fromkeys(rows)]


def assign(session: Session, actor: Principal, keyring: Keyring, referral: Referral, account_id: int | None, *,
           expected_version: int | None = None, now: dt.datetime | None = None, base_url: str = "") -> Referral:
    """Claim (``account_id`` = the actor) or assign to a colleague of the receiving organisation."""
    now = now or utcnow()
    if side_of(actor, referral) != RECEIVER or not can_view_referral(actor, referral):
        raise NotFound(NOT_FOUND)
    _check_version(referral, expected_version)
    if referral.status in TERMINAL:
        raise Conflict(_l("Deze verwijzing is afgesloten."), allowed=[])
    names = dict(colleagues(session, actor))
    if account_id is None or int(account_id) not in names:
        raise ValidationFailed(errors={"owner_account_id": [str(_l("Kies een collega van uw organisatie."))]})
    referral.owner_account_id = int(account_id)
    add_event(session, keyring, referral, EventKind.assigned, actor, reason=names[int(account_id)],
              internal_to=referral.to_organisation_id, now=now)
    record(session, actor, action=AuditAction.update, event_type=ReferralTag.assign, object_type="referral",
           object_id=referral.id, student_id=referral.student_id, purpose=referral.purpose,
           detail={"owner_account_id": int(account_id)})
    if int(account_id) != actor.account_id:
        notify(session, keyring, [int(account_id)], kind=ReferralNotice.assigned, base_url=base_url, now=now,
               title=f"Verwijzing nr. {referral.id} is aan u toegewezen", link=f"/inbox/{referral.id}")
    _announce(session, keyring, referral, own_only_for=actor)  # the assignment is internal to the receiver
    return referral


def post_message(session: Session, actor: Principal, keyring: Keyring, referral: Referral, text: str, *,
                 internal: bool = False, now: dt.datetime | None = None, base_url: str = ""):
    """An update visible to both sides, or (``internal``) a note for the actor's organisation only."""
    now = now or utcnow()
    side = side_of(actor, referral)
    if side is None or not can_view_referral(actor, referral):
        raise NotFound(NOT_FOUND)
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(errors={"text": [str(_l("Schrijf een bericht."))]})
    if len(text) > 4000:
        raise ValidationFailed(errors={"text": [str(_l("Het bericht is te lang (hoogstens 4000 tekens)."))]})
    if referral.status is S.entered_in_error:
        raise Conflict(_l("Deze verwijzing is als foutief gemarkeerd."), allowed=[])
    event = add_event(session, keyring, referral, EventKind.note if internal else EventKind.update, actor, body=text,
                      internal_to=actor.organisation_id if internal else None, now=now)
    record(session, actor, action=AuditAction.create, event_type=ReferralTag.note if internal else ReferralTag.update,
           object_type="referral", object_id=referral.id, student_id=referral.student_id, purpose=referral.purpose)
    if not internal:
        _tell_other_side(session, keyring, referral, side, kind=ReferralNotice.update, base_url=base_url, now=now,
                         title=f"Verwijzing nr. {referral.id}: nieuw bericht van {actor.acting.organisation_name}")
    _announce(session, keyring, referral, own_only_for=actor if internal else None)
    return event


def new_client_token() -> str:
    return uuid.uuid4().hex
