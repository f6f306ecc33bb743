"""Reading consents outside the student portal (the consents API): what school staff see on a
student's consent page, and what a partner organisation sees of the consents given to it.

School staff of the student's school see all of the student's consents; opening them is a read
of the student, decided and audited as the staff page does (purpose ``verwijzing``). A partner
sees only the consents given to its own organisation, in every status (a withdrawal must reach
it), and each one it is shown is audited. Anything else is :class:`NotFound`. Plain functions:
they add audit rows to the caller's unit of work and never commit.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from consent.models import Consent
from consent.tags import ConsentTag
from network.access import Category
from network.audit import AuditAction, event_values, record_many
from network.errors import Forbidden, NotFound
from network.events import EventTag
from network.models import Student
from network.permissions import Principal, can_manage_student
from network.students import get_student

#: the purpose and categories under which school staff open a student's consents (as the staff page)
STAFF_PURPOSE = "verwijzing"
STAFF_CATEGORIES = (Category.contact, Category.education)

_STUDENT_NOT_FOUND = _l("Deze leerling bestaat niet, of u heeft er geen toegang toe.")
_CONSENT_NOT_FOUND = _l("Deze toestemming bestaat niet, of u heeft er geen toegang toe.")


def _loaded():
    return (selectinload(Consent.items), selectinload(Consent.purpose), selectinload(Consent.recipient))


def staff_student(session: Session, actor: Principal, student_id: Any, *, event_type: EventTag = ConsentTag.overview,
                  action: AuditAction = AuditAction.read) -> Student:
    """A student of the actor's own school, read (decided and audited) as the staff consent page
    does; :class:`NotFound` for anyone else's (the decision, if one was made, stays pending)."""
    try:
        student, _decision = get_student(session, actor, student_id, purpose=STAFF_PURPOSE,
                                         categories=STAFF_CATEGORIES, event_type=event_type, action=action)
    except Forbidden:
        raise NotFound(_STUDENT_NOT_FOUND) from None
    if not can_manage_student(actor, student):
        raise NotFound(_STUDENT_NOT_FOUND)
    return student


def _audit_shown(session: Session, actor: Principal, consents: list[Consent], event_type: EventTag) -> None:
    """One audit event per consent a partner is shown, in one statement."""
    record_many(session, [event_values(actor, action=AuditAction.read, event_type=event_type, object_type="consent",
                                       object_id=c.id, student_id=c.student_id, purpose=c.purpose.code,
                                       basis=f"consent:{c.id}", detail={"status": c.status.value})
                          for c in consents])


def student_consents(session: Session, actor: Principal, student_id: Any) -> list[Consent]:
    """A student's consents as ``actor`` may see them, newest first: all of them for school staff
    of the student's school (the student read decided and audited); for a partner those given
    to its organisation, the wall itself (none: 404; no student row is read)."""
    if actor.is_school_staff:
        student = staff_student(session, actor, student_id)
        return list(session.scalars(select(Consent).where(Consent.student_id == student.id)
                                    .options(*_loaded()).order_by(Consent.given_at.desc(), Consent.id.desc())))
    consents = [] if actor.organisation_id is None else list(session.scalars(
        select(Consent).where(Consent.student_id == student_id, Consent.recipient_id == actor.organisation_id)
        .options(*_loaded()).order_by(Consent.given_at.desc(), Consent.id.desc())))
    if not consents:
        raise NotFound(_STUDENT_NOT_FOUND)
    _audit_shown(session, actor, consents, ConsentTag.shared_list)
    return consents


def find_consent(session: Session, actor: Principal, consent_id: int, *, event_type: EventTag = ConsentTag.view,
                 action: AuditAction = AuditAction.read) -> Consent:
    """One consent: for school staff of the student's school (the student read is decided and
    audited), or for the partner it was given to (audited); :class:`NotFound` for anyone else."""
    consent = session.scalar(select(Consent).where(Consent.id == consent_id).options(*_loaded())) \
        if 0 < consent_id < 2**31 else None  # PostgreSQL's integer: a larger id is no error, just not there
    if consent is None:
        raise NotFound(_CONSENT_NOT_FOUND)
    if actor.is_school_staff:
        try:
            staff_student(session, actor, consent.student_id, event_type=event_type, action=action)
        except NotFound:
            raise NotFound(_CONSENT_NOT_FOUND) from None
        return consent
    if actor.organisation_id is None or consent.recipient_id != actor.organisation_id:
        raise NotFound(_CONSENT_NOT_FOUND)
    _audit_shown(session, actor, [consent], ConsentTag.shared_view)
    return consent
