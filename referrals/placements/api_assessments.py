"""The employer's assessments in the placement API (issue 19, items 4 and 6):

- ``GET /placements/{id}/assessments``: the assessments asked of the praktijkopleider (sent,
  expired, revoked, submitted), without scores;
- ``GET /placements/{id}/assessments/{assessment_id}``: one assessment; once submitted, the
  result in the form's own structure (seed 001, Bijlage 5.4): the header, the eindoordeel, the
  score of each werkproces and competence item on its scale (code and label, the scales listed),
  the "meer aandacht" items and the toelichting.

Both are decided as the HTML result page decides (:func:`referrals.placements.access.decide_placement`
with ``placement:assessment-view``, audited, the API client as the actor); the student's name
only with the contact data allowed. The personal link's token is never in the API (only its
hash is stored; the answer says whether the link is open, expired, revoked or used).
"""

from __future__ import annotations

from typing import Any

from network.access import Category, Decision
from network.api import api_principal
from network.clock import utcnow
from network.db import db
from network.permissions import Permission
from network.web import keyring
from referrals.api_common import NOT_FOUND
from referrals.placements.access import decide_placement, find_placement
from referrals.placements.api_blueprint import NO_BASIS, api_require, bp
from referrals.placements.api_followup_schemas import AssessmentListSchema, AssessmentSchema
from referrals.placements.assessment import assessment_texts, placement_assessments
from referrals.placements.assessment_form import (
    ATTENTION_LABELS,
    COMPETENCE_LABELS,
    COMPETENCE_SCALE,
    GROUPS,
    TASK_LABELS,
    TASK_SCALE,
)
from referrals.placements.assessment_models import PlacementAssessment
from referrals.placements.assessment_reads import find_assessment
from referrals.tags import PlacementTag


def _link_state(assessment: PlacementAssessment, now) -> str:
    if assessment.is_submitted:
        return "used"
    if assessment.revoked_at is not None:
        return "revoked"
    return "expired" if now >= assessment.expires_at else "open"


def summary(assessment: PlacementAssessment, now=None) -> dict[str, Any]:
    return {
        "id": assessment.id, "uuid": str(assessment.uuid), "placement_id": assessment.placement_id,
        "status": assessment.status.value, "link": _link_state(assessment, now or utcnow()),
        "channel": assessment.channel, "sent_to": assessment.sent_to, "sent_at": assessment.sent_at,
        "expires_at": assessment.expires_at,
        "revoked_at": assessment.revoked_at, "submitted_at": assessment.submitted_at,
        "assessed_on": assessment.assessed_on, "assessor_name": assessment.assessor_name,
    }


def _scored(key: str, number: str, text: str, score: str | None, labels: dict) -> dict[str, Any]:
    return {"key": key, "number": number, "text": text, "score": score,
            "label": str(labels[score]) if score in labels else None}


def result(assessment: PlacementAssessment, decision: Decision) -> dict[str, Any]:
    """The submitted assessment in the form's structure (the scores' codes with their labels)."""
    body = {**summary(assessment), "header": None, "eindoordeel": None, "werkprocessen": None, "competences": None,
            "attention": None, "toelichting": None, "signed_name": None,
            "scales": {"werkprocessen": [{"code": code, "label": str(label)} for code, label in TASK_SCALE],
                       "competences": [{"code": code, "label": str(label)} for code, label in COMPETENCE_SCALE]}}
    if not assessment.is_submitted:
        return body
    texts = assessment_texts(keyring(), assessment)
    student = assessment.placement.route.student
    scores = assessment.competence_scores or {}
    body.update(
        header={"deelnemer": student.full_name if decision.permits(Category.contact) else None,
                "bedrijf": assessment.company_name, "setting": assessment.setting, "functie": assessment.function,
                "beoordelaar": assessment.assessor_name, "begeleider": assessment.supervisor_name,
                "datum": assessment.assessed_on.isoformat() if assessment.assessed_on else None},
        eindoordeel={"would_hire": assessment.would_hire, "can_develop": assessment.can_develop,
                     "if_not": texts.get("if_not"), "if_so": texts.get("if_so")},
        werkprocessen=[_scored(str(index + 1), str(index + 1), entry["werkproces"], entry["score"], TASK_LABELS)
                       for index, entry in enumerate(assessment.werkproces_scores or [])],
        competences=[{"number": group.number, "title": group.title,
                      "items": [_scored(item.key, item.letter, item.text, scores.get(item.key), COMPETENCE_LABELS)
                                for item in group.items]} for group in GROUPS],
        attention=[{"code": key, "label": ATTENTION_LABELS[key]} for key in assessment.attention or []
                   if key in ATTENTION_LABELS],
        toelichting=texts.get("toelichting"), signed_name=assessment.signed_name)
    return body


@bp.route("/placements/<int:placement_id>/assessments", methods=["GET"])
@api_require(Permission.route_view)
@bp.response(200, AssessmentListSchema)
@bp.problems(NO_BASIS, NOT_FOUND)
def list_assessments(placement_id):
    """De beoordelingen die aan de praktijkopleider van een stage zijn gevraagd: verstuurd,
    verlopen, ingetrokken of ingevuld, zonder de scores. De link zelf staat er nooit in."""
    principal = api_principal()
    placement = find_placement(db.session, principal, placement_id)
    decide_placement(db.session, principal, placement, event_type=PlacementTag.assessment_view)
    now = utcnow()
    return {"placement_id": placement.id,
            "items": [summary(a, now) for a in placement_assessments(db.session, placement)]}


@bp.route("/placements/<int:placement_id>/assessments/<int:assessment_id>", methods=["GET"])
@api_require(Permission.route_view)
@bp.response(200, AssessmentSchema)
@bp.problems(NO_BASIS, NOT_FOUND)
def get_assessment(placement_id, assessment_id):
    """Eén beoordeling; ingevuld: het eindoordeel, de score per werkproces en per
    competentie-item op de schaal van het formulier (code en tekst), de punten die meer
    aandacht vragen en de toelichting, zoals de praktijkopleider ze ondertekende."""
    principal = api_principal()
    assessment = find_assessment(db.session, principal, placement_id, assessment_id)
    decision = decide_placement(db.session, principal, assessment.placement, event_type=PlacementTag.assessment_view)
    return result(assessment, decision)


__all__ = ["bp"]
