"""Reading a submitted assessment: finding it inside the placement's walls, the student's earlier
assessments, and the comparison per item (the earlier score beside the current one).

The comparison takes the student's submitted assessments before this one (any placement,
oldest first): per competence item (the form's fixed items) and per werkproces (matched by its
text; a werkproces of another function simply has no earlier score) it shows each earlier
score and whether the current one is higher, lower or the same on the form's scale (n.v.t.
has no place on it and is not compared).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from network.errors import NotFound
from network.permissions import Principal
from referrals.placements.access import find_placement
from referrals.placements.assessment_form import COMPETENCE_LABELS, GROUPS, RANK, TASK_LABELS
from referrals.placements.assessment_models import AssessmentStatus, PlacementAssessment

NOT_FOUND = _l("Deze beoordeling bestaat niet, of u heeft er geen toegang toe.")
TRENDS = {"up": _l("hoger"), "down": _l("lager"), "same": _l("gelijk")}


def find_assessment(session: Session, actor: Principal, placement_id: int, assessment_id: int) -> PlacementAssessment:
    """The placement's assessment inside the actor's walls (:class:`NotFound` otherwise)."""
    placement = find_placement(session, actor, placement_id)
    assessment = (session.get(PlacementAssessment, assessment_id)
                  if isinstance(assessment_id, int) and 0 < assessment_id < 2**31 else None)
    if assessment is None or assessment.placement_id != placement.id:
        raise NotFound(NOT_FOUND)
    return assessment


def earlier_assessments(session: Session, assessment: PlacementAssessment) -> list[PlacementAssessment]:
    """The student's submitted assessments before this one, oldest first."""
    if assessment.submitted_at is None:
        return []
    return list(session.scalars(select(PlacementAssessment).where(
        PlacementAssessment.student_id == assessment.student_id,
        PlacementAssessment.status == AssessmentStatus.submitted,
        PlacementAssessment.submitted_at < assessment.submitted_at,
        PlacementAssessment.id != assessment.id).order_by(PlacementAssessment.submitted_at)))


@dataclass(frozen=True)
class Row:
    label: str
    text: str
    current: str
    #: the earlier scores' labels, one per earlier assessment ("—": not scored then)
    earlier: tuple[str, ...]
    #: "up", "down", "same" or None: the current score against the latest earlier one
    trend: str | None


def _trend(before: str | None, now: str | None) -> str | None:
    if before not in RANK or now not in RANK:
        return None
    return "up" if RANK[now] > RANK[before] else "down" if RANK[now] < RANK[before] else "same"


def _row(label: str, text: str, now: str | None, before: list[str | None], labels: dict) -> Row:
    return Row(label, text, str(labels.get(now, "—")), tuple(str(labels.get(b, "—")) for b in before),
               _trend(before[-1] if before else None, now))


def comparison(assessment: PlacementAssessment, earlier: list[PlacementAssessment]) -> dict[str, list[Row]]:
    """``{"werkprocessen": [Row], "competences": [(group, [Row])]}`` for the result page and PDF."""
    werkprocessen = []
    for index, entry in enumerate(assessment.werkproces_scores or []):
        before = [{e["werkproces"]: e["score"] for e in old.werkproces_scores or []}.get(entry["werkproces"])
                  for old in earlier]
        werkprocessen.append(_row(str(index + 1), entry["werkproces"], entry["score"], before, TASK_LABELS))
    groups = []
    for group in GROUPS:
        rows = [_row(item.letter, item.text, (assessment.competence_scores or {}).get(item.key),
                     [(old.competence_scores or {}).get(item.key) for old in earlier], COMPETENCE_LABELS)
                for item in group.items]
        groups.append((group, rows))
    return {"werkprocessen": werkprocessen, "competences": groups}
