"""Consent requests, guardians, expiry and reminders (services; no flask, flush never commit)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent.measures import active_measure, measure_decides
from consent.models import (
    Consent,
    ConsentRequest,
    ConsentStatus,
    Relation,
    Representation,
    RequestStatus,
)
from consent.service import check_scope, end_consent
from consent.tags import ConsentTag
from network import clock
from network.audit import AuditAction, record
from network.clock import under_consent_age, utcnow
from network.crypto import Keyring
from network.db import compare_and_set
from network.errors import Conflict, Forbidden, ValidationFailed
from network.models import Account, Student
from network.outbox import enqueue_email
from network.permissions import Principal, can_manage_student, system_principal
from network.signals import consent_expired

REMIND_DAYS = 30


def request_consent(session: Session, actor: Principal, keyring: Keyring, student: Student, data: dict[str, Any], *,
                    portal_url: str = "/mijn-gegevens/toestemmingen", now: dt.datetime | None = None) -> ConsentRequest:
    """School staff ask the student (or, under 16, the parent; under curatele or mentorschap the
    curator or mentor where they decide) for consent: a pending request in the portal plus an
    e-mail through the outbox.

    :param data: ``recipient_id``, ``purpose_code``, ``categories`` (checked like a grant).
    """
    if not can_manage_student(actor, student):
        raise Forbidden(_l("Alleen de school van de leerling kan om toestemming vragen."))
    errors: dict[str, list[str]] = {}
    recipient, purpose, categories = check_scope(session, student, data, errors)
    if errors:
        raise ValidationFailed(errors=errors)
    now = now or utcnow()
    request = ConsentRequest(student_id=student.id, recipient=recipient, purpose=purpose,
                             categories=" ".join(sorted(c.value for c in categories)), status=RequestStatus.open,
                             requested_by_account_id=actor.account_id, requested_by_name=actor.name, created_at=now)
    session.add(request)
    session.flush()  # the request id for the audit event
    record(session, actor, action=AuditAction.create, event_type=ConsentTag.request, object_type="consent_request",
           object_id=request.id, student_id=student.id, purpose=purpose.code, basis="legal_task:onderwijstaak",
           detail={"recipient_id": recipient.id, "categories": request.categories.split()})
    to = _decider_email(session, student, categories, clock.today())
    if to:
        organisation_name = actor.acting.organisation_name if actor.acting else "de school"
        enqueue_email(session, keyring, to=to, subject="Schakel: vraag om toestemming",
                      body=(f"Hallo,\n\n{actor.name} van {organisation_name}"
                            f" vraagt toestemming om gegevens te delen met {recipient.name} voor "
                            f"'{purpose.label}'.\nKijk in Schakel bij 'Wie mag wat zien': {portal_url}\n"
                            "Je beslist zelf. Nee zeggen mag altijd.\n\nSchakel"))
    return request


def _decider_email(session: Session, student: Student, categories, today: dt.date) -> str | None:
    """Whom to write about a consent for ``categories``: the curator or mentor where they decide,
    else the parent (under 16) or the student."""
    measure = active_measure(session, student, today)
    if measure is not None and measure_decides(measure, categories):
        return measure.account.email
    return student.parent_email if under_consent_age(student.date_of_birth, today) else student.email


def add_representation(session: Session, actor: Principal, student: Student, *, email: str,
                       relation: str) -> Representation:
    """Record that the account with ``email`` is a parent or guardian of ``student``.

    Only school staff of the student's school; a guardian acts in the portal only while the
    student is under 16 (checked where they act).
    """
    if not can_manage_student(actor, student):
        raise Forbidden(_l("Alleen de school van de leerling kan een ouder of voogd vastleggen."))
    errors: dict[str, list[str]] = {}
    account = session.scalar(select(Account).where(Account.email == (email or "").strip().lower()))
    if account is None:
        errors["email"] = [_l("Er is geen account met dit e-mailadres. Vraag de beheerder er een aan te maken.")]
    elif account.id == student.account_id:
        errors["email"] = [_l("Dit is het account van de leerling zelf.")]
    try:
        rel = Relation(relation)
    except ValueError:
        errors["relation"] = [_l("Kies de relatie tot de leerling.")]
    if errors:
        raise ValidationFailed(errors=errors)
    existing = session.scalar(select(Representation).where(Representation.account_id == account.id,
                                                           Representation.student_id == student.id))
    if existing is not None:
        existing.ended_at, existing.relation = None, rel
        representation = existing
    else:
        representation = Representation(account_id=account.id, student_id=student.id, relation=rel,
                                        recorded_by_account_id=actor.account_id, recorded_by_name=actor.name)
        session.add(representation)
    session.flush()  # the id for the audit event
    record(session, actor, action=AuditAction.create, event_type=ConsentTag.representative,
           object_type="representation", object_id=representation.id, student_id=student.id, purpose="registratie",
           basis="legal_task:onderwijstaak", detail={"relation": rel.value, "account_id": account.id})
    return representation


def expire_consents(session: Session, today: dt.date | None = None) -> int:
    """Mark active consents past their end date as expired (idempotent). Returns how many."""
    today = today or clock.today()
    actor = system_principal("job", "consent.expire")
    now = utcnow()
    count = 0
    for consent in session.scalars(select(Consent).where(Consent.status == ConsentStatus.active,
                                                         Consent.valid_until < today).order_by(Consent.id)).all():
        if not end_consent(session, consent, ConsentStatus.expired, expired_at=now):
            continue  # withdrawn since this query read it
        record(session, actor, action=AuditAction.update, event_type=ConsentTag.expire, object_type="consent",
               object_id=consent.id, student_id=consent.student_id, basis=f"consent:{consent.id}",
               detail={"valid_until": consent.valid_until.isoformat()})
        consent_expired.send(consent, session=session)
        count += 1
    session.flush()
    return count


def remind_expiring(session: Session, keyring: Keyring, today: dt.date | None = None,
                    portal_url: str = "/mijn-gegevens/toestemmingen") -> int:
    """E-mail the student (or parent, under 16; or the curator or mentor who decides) and the
    recorder once, 30 days before a consent ends; the ``reminder_sent_at`` marker makes a
    second run send nothing."""
    today = today or clock.today()
    actor = system_principal("job", "consent.remind")
    now = utcnow()
    count = 0
    due = session.scalars(select(Consent).where(
        Consent.status == ConsentStatus.active, Consent.reminder_sent_at.is_(None),
        Consent.valid_until <= today + dt.timedelta(days=REMIND_DAYS), Consent.valid_until >= today,
    ).order_by(Consent.id)).all()
    for consent in due:
        student = consent.student
        targets = {_decider_email(session, student, consent.categories, today)}
        if consent.recorded_by is not None and consent.recorded_by_account_id != student.account_id:
            targets.add(consent.recorded_by.email)
        until = consent.valid_until.strftime("%d-%m-%Y")
        for to in sorted(t for t in targets if t):
            enqueue_email(session, keyring, to=to, subject="Schakel: toestemming loopt bijna af",
                          body=(f"Hallo,\n\nDe toestemming voor {consent.recipient.name} ('{consent.purpose.label}') "
                                f"loopt af op {until}. Daarna mogen zij deze gegevens niet meer zien.\n"
                                f"Wil je dat het doorgaat? Geef dan opnieuw toestemming: {portal_url}\n\nSchakel"))
        consent.reminder_sent_at = now
        record(session, actor, action=AuditAction.execute, event_type=ConsentTag.remind, object_type="consent",
               object_id=consent.id, student_id=student.id, basis=f"consent:{consent.id}",
               detail={"recipients": len([t for t in targets if t])})
        count += 1
    session.flush()
    return count


def open_requests(session: Session, student: Student) -> list[ConsentRequest]:
    return list(session.scalars(select(ConsentRequest).where(
        ConsentRequest.student_id == student.id, ConsentRequest.status == RequestStatus.open)
        .order_by(ConsentRequest.created_at)))


def end_representation(session: Session, actor: Principal, representation: Representation, *,
                       now: dt.datetime | None = None) -> None:
    """End a parent's or guardian's representation (school staff of the student's school).

    From the next request on the account no longer acts for the student in the portal, and the
    access decision no longer gives it a basis. Ending an ended representation is a conflict.
    """
    student = representation.student
    if not can_manage_student(actor, student):
        raise Forbidden(_l("Alleen de school van de leerling kan een ouder of voogd beëindigen."))
    if representation.ended_at is not None or not compare_and_set(
            session, representation, Representation.ended_at.is_(None), ended_at=now or utcnow()):
        raise Conflict(_l("Deze ouder of voogd was al beëindigd."))
    record(session, actor, action=AuditAction.update, event_type=ConsentTag.representative_end,
           object_type="representation", object_id=representation.id, student_id=student.id, purpose="registratie",
           basis="legal_task:onderwijstaak", detail={"account_id": representation.account_id})
    session.flush()


def cancel_request(session: Session, actor: Principal, request: ConsentRequest, *,
                   now: dt.datetime | None = None) -> None:
    """Cancel an open consent request (school staff of the student's school); it leaves the
    student's portal. Only an open request can be cancelled."""
    student = session.get(Student, request.student_id)
    if student is None or not can_manage_student(actor, student):
        raise Forbidden(_l("Alleen de school van de leerling kan een vraag om toestemming intrekken."))
    if request.status is not RequestStatus.open or not compare_and_set(
            session, request, ConsentRequest.status == RequestStatus.open, status=RequestStatus.cancelled,
            answered_at=now or utcnow()):
        raise Conflict(_l("Deze vraag om toestemming is al beantwoord of ingetrokken."))
    record(session, actor, action=AuditAction.update, event_type=ConsentTag.request_cancel,
           object_type="consent_request", object_id=request.id, student_id=student.id,
           purpose=request.purpose.code, basis="legal_task:onderwijstaak",
           detail={"recipient_id": request.recipient_id})
    session.flush()
