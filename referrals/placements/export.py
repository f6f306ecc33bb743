"""The placements' part of the student's download ("alles wat Schakel over je bewaart", AVG art.
15 and 20): the student's internships, the stageprotocol's contacts with what was recorded, the
employer's submitted assessments, and the begeleidingsformulier with the student's choice of
readers. Registered with :func:`consent.export.register_export_section`; the download's own
decision (action ``export``) covers it, so nothing here decides again.

Codes stay codes in the file (it is data for the student to take elsewhere); the student's
pages show them in words.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent.export import register_export_section
from network.crypto import Keyring
from network.models import Student
from referrals.placements.assessment import assessment_texts
from referrals.placements.assessment_models import AssessmentStatus, PlacementAssessment
from referrals.placements.guidance import find_form, texts_of
from referrals.placements.models import Placement
from referrals.placements.protocol import contact_notes
from referrals.placements.protocol_models import PlacementContact
from referrals.placements.service import learning_goals


def placements(session: Session, keyring: Keyring, student: Student) -> list[dict[str, Any]]:
    rows = session.scalars(select(Placement).where(Placement.student_id == student.id).order_by(Placement.start_date))
    return [{"id": str(p.uuid), "kind": p.kind, "status": p.status, "company": p.company_name, "function": p.function,
             "praktijkopleider": p.trainer_name, "praktijkopleider_email": p.trainer_email,
             "praktijkopleider_phone": p.trainer_phone,
             "stagebegeleider": p.supervisor.name if p.supervisor is not None else None,
             "start_date": p.start_date, "end_date": p.end_date, "schedule_minutes": p.schedule,
             "with_coach": p.with_coach, "learning_goals": learning_goals(keyring, p), "werkprocessen": p.werkprocessen,
             "started_on": p.started_on, "ended_on": p.ended_on, "end_reason": p.end_reason} for p in rows]


def contacts(session: Session, keyring: Keyring, student: Student) -> list[dict[str, Any]]:
    rows = session.scalars(select(PlacementContact).join(Placement, Placement.id == PlacementContact.placement_id)
                           .where(Placement.student_id == student.id)
                           .order_by(PlacementContact.placement_id, PlacementContact.due_date, PlacementContact.id))
    return [{"placement": str(c.placement.uuid), "kind": c.kind, "status": c.status, "due_date": c.due_date,
             "planned_date": c.planned_date, "done_on": c.done_on, "with_whom": c.with_whom, "how": c.how,
             "recorded_by": c.recorded_by_name, **contact_notes(keyring, c)} for c in rows]


def assessments(session: Session, keyring: Keyring, student: Student) -> list[dict[str, Any]]:
    rows = session.scalars(select(PlacementAssessment).where(
        PlacementAssessment.student_id == student.id, PlacementAssessment.status == AssessmentStatus.submitted)
        .order_by(PlacementAssessment.submitted_at))
    return [{"placement": str(a.placement.uuid), "company": a.company_name, "function": a.function,
             "assessor": a.signed_name, "assessed_on": a.assessed_on, "would_hire": a.would_hire,
             "can_develop": a.can_develop, "werkprocessen": a.werkproces_scores, "competences": a.competence_scores,
             "more_attention": a.attention, **assessment_texts(keyring, a)} for a in rows]


def guidance_form(session: Session, keyring: Keyring, student: Student) -> list[dict[str, Any]]:
    form = find_form(session, student)
    if form is None:
        return []
    return [{**texts_of(keyring, form), "shared_with": form.shared_with, "shared_changed_at": form.shared_changed_at,
             "written_by": form.written_by_name, "updated_at": form.updated_at}]


register_export_section("placements", placements)
register_export_section("placement_contacts", contacts)
register_export_section("placement_assessments", assessments)
register_export_section("guidance_form", guidance_form)
