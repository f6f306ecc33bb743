"""A stagebedrijf as the placements know it (issue 19, item 5): computed, never typed.

- **History**: per employer organisation the placements registered there, how many completed,
  ended early, are running (or paused) or planned, and how many of the completed ones ended in a
  job at the company (:attr:`Placement.hired`, asked when a placement is completed). Counts only.
- **Feedback** ("wat moet de student leren om aangenomen te worden"): the employers' own answers
  in their submitted assessments (the eindoordeel's "if so, what must the student really develop"
  and "if not, where do you see possibilities"), without the student's name, the date as a month.
  The texts are about students, so a reader sees only those about students of their own school,
  each student's read decided through ``consent.decide`` (the school's educational task) and
  audited (``placement:employer-feedback``, all in one statement); the uitstroomcoördinator and
  the hub admin see the counts, not the texts.

Who: :data:`Permission.employer_profile_view` (school staff, the uitstroomcoördinator, the hub
admin); the company must be an employer of the actor's region (404 otherwise, as for an unknown
id). A page is a fixed number of statements whatever the company's size: the organisation, the
counts (one grouped query), its entries with their offers, the latest feedback, one audit insert.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, case, func, select
from sqlalchemy.orm import Session, selectinload

from network.access import Category, decide_many
from network.crypto import Keyring
from network.errors import Forbidden, NotFound
from network.models import Organisation, OrganisationType, Role, Student
from network.permissions import Permission, Principal
from referrals.placements.assessment_models import AssessmentStatus, PlacementAssessment
from referrals.placements.models import Placement
from referrals.placements.states import LIVE, PlacementKind, PlacementStatus
from referrals.route_service import PURPOSE_SCHOOL
from referrals.tags import PlacementTag
from socialmap.models import Service, ServiceStatus

NOT_FOUND = _l("Dit stagebedrijf bestaat niet, of het hoort bij een andere regio.")
NO_ACCESS = _l("Alleen schoolmedewerkers en de uitstroomcoördinator zien de stagegeschiedenis van een bedrijf.")
#: the most feedback texts a page shows (the newest)
FEEDBACK_LIMIT = 20
S = PlacementStatus


@dataclass
class History:
    """What happened to the placements at one company (counts, no names)."""

    total: int = 0
    completed: int = 0
    ended_early: int = 0
    #: running or paused
    running: int = 0
    planned: int = 0
    #: completed, and the company hired the student afterwards
    hired: int = 0
    #: live (planned, running, paused) placements per kind code: the places taken
    live_by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def finished(self) -> int:
        return self.completed + self.ended_early


@dataclass(frozen=True)
class Feedback:
    """One employer's answer, without the student: when (a month), the function and kind."""

    month: dt.date
    function: str | None
    kind: PlacementKind
    would_hire: bool | None
    #: "wat moet de student echt ontwikkelen" (the eindoordeel's "if so")
    develop: str | None
    #: "waar ziet u wel mogelijkheden" (the eindoordeel's "if not")
    possibilities: str | None


@dataclass
class EmployerProfile:
    organisation: Organisation
    entries: list[Service]
    history: History
    feedback: list[Feedback]


def history_query(organisation_ids):
    """Counts per organisation, status and kind (one grouped statement for many companies)."""
    return (select(Placement.organisation_id, Placement.status, Placement.kind, func.count().label("n"),
                   func.sum(case((Placement.hired.is_(True), 1), else_=0)).cast(Integer).label("hired"))
            .where(Placement.organisation_id.in_(organisation_ids))
            .group_by(Placement.organisation_id, Placement.status, Placement.kind))


def histories(session: Session, organisation_ids) -> dict[int, History]:
    """:class:`History` per organisation id (an organisation without placements: an empty one)."""
    found: dict[int, History] = {}
    ids = list(organisation_ids)
    if not ids:
        return found
    for org_id, status, kind, n, hired in session.execute(history_query(ids)):
        history = found.setdefault(org_id, History())
        history.total += n
        if status is S.completed:
            history.completed += n
            history.hired += hired or 0
        elif status is S.ended_early:
            history.ended_early += n
        elif status in (S.running, S.paused):
            history.running += n
        else:
            history.planned += n
        if status in LIVE:
            history.live_by_kind[kind.value] = history.live_by_kind.get(kind.value, 0) + n
    return found


def find_employer(session: Session, actor: Principal, organisation_id: Any) -> Organisation:
    """The employer organisation inside the actor's region (the hub admin: any region)."""
    if not actor.has(Permission.employer_profile_view):
        raise Forbidden(NO_ACCESS)
    organisation = (session.get(Organisation, organisation_id)
                    if isinstance(organisation_id, int) and 0 < organisation_id < 2**31 else None)
    if organisation is None or organisation.type is not OrganisationType.werkgever:
        raise NotFound(NOT_FOUND)
    if actor.role is not Role.hub_admin and organisation.region_id != actor.region_id:
        raise NotFound(NOT_FOUND)
    return organisation


def _texts(keyring: Keyring, assessment: PlacementAssessment) -> dict[str, str]:
    if not assessment.texts_encrypted:
        return {}
    return json.loads(keyring.decrypt(assessment.texts_encrypted, assessment.text_ref()))


def employer_feedback(session: Session, actor: Principal, keyring: Keyring, organisation: Organisation, *,
                      limit: int = FEEDBACK_LIMIT) -> list[Feedback]:
    """The newest submitted assessments' answers at ``organisation`` about students of the actor's
    own school, each student's read decided (``consent.decide``, the school's educational task)
    and audited in one statement; only what is allowed is decrypted. Others (the coordinator, a
    school whose students never were there) get none: the texts are about students. Call after
    :func:`find_employer`."""
    if not actor.is_school_staff:
        return []
    rows = session.execute(
        select(PlacementAssessment, Placement.kind)
        .join(Placement, Placement.id == PlacementAssessment.placement_id)
        .where(Placement.organisation_id == organisation.id, PlacementAssessment.status == AssessmentStatus.submitted,
               PlacementAssessment.school_id == actor.organisation_id)
        .order_by(PlacementAssessment.submitted_at.desc(), PlacementAssessment.id.desc()).limit(limit)).all()
    if not rows:
        return []
    students = session.scalars(select(Student).where(Student.id.in_({a.student_id for a, _kind in rows}))).all()
    decisions = decide_many(session, actor, students, PURPOSE_SCHOOL, [Category.education],
                            event_type=PlacementTag.employer_feedback)
    feedback = []
    for assessment, kind in rows:
        decision = decisions.get(assessment.student_id)
        if decision is None or not decision.permits(Category.education):
            continue
        texts = _texts(keyring, assessment)
        develop, possibilities = (texts.get("if_so") or "").strip(), (texts.get("if_not") or "").strip()
        if not (develop or possibilities):
            continue
        day = assessment.assessed_on or assessment.submitted_at.date()
        feedback.append(Feedback(day.replace(day=1), assessment.function, kind, assessment.would_hire,
                                 develop or None, possibilities or None))
    return feedback


def employer_entries_with_offers(session: Session, organisation: Organisation) -> list[Service]:
    return list(session.scalars(
        select(Service).where(Service.organisation_id == organisation.id, Service.status == ServiceStatus.active)
        .options(selectinload(Service.employer_offer)).order_by(Service.name, Service.id)))


def employer_profile(session: Session, actor: Principal, keyring: Keyring, organisation_id: Any) -> EmployerProfile:
    """The company's page: its entries (with what it offers), its history, the feedback."""
    organisation = find_employer(session, actor, organisation_id)
    history = histories(session, [organisation.id]).get(organisation.id, History())
    return EmployerProfile(organisation, employer_entries_with_offers(session, organisation), history,
                           employer_feedback(session, actor, keyring, organisation))
