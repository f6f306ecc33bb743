"""Who may see and edit an agreement, and the audited read.

Walls: the school that owns the agreement (its staff edit), the student (and, under 16, the
legal representative), and the partner organisations that are a party. Everyone else gets a
404. Inside the walls every read asks :func:`consent.decide` for the ``school-naar-werk-plan``
category, under the school's educational task, the student's own access, or the purpose the
partner works under, and is audited; nothing allowed is a 403.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from consent.agreements.models import (
    Agreement,
    AgreementParty,
    AgreementStatus,
    AgreementVersion,
)
from consent.models import Representation
from consent.service import active_representation
from consent.tags import AgreementTag
from network import clock
from network.access import Category, Decision, decide
from network.audit import AuditAction
from network.clock import under_consent_age
from network.errors import Conflict, Forbidden, NotFound
from network.events import EventTag
from network.models import Role, Student
from network.permissions import Principal

PURPOSE_SCHOOL = "leerlingbegeleiding"
PURPOSE_SELF = "inzage"
DEFAULT_PARTNER_PURPOSE = "begeleiding-naar-werk"
READ_CATEGORIES = (Category.plan,)

NOT_FOUND = _l("Deze overeenkomst bestaat niet, of u heeft er geen toegang toe.")


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
        # with the versions, in their statement: verification also reads the audit log's record
        # of the signatures, and the overview keeps to its few statements
        selectinload(Agreement.versions).joinedload(AgreementVersion.signatures),
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
