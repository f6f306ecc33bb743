"""Copying a submitted assessment into the student's school-naar-werk-plan (issue 19, item 4:
"the stagebegeleider can copy scores into the plan's skills (O/V/G) in one step, with the
source noted").

The plan's skills section (consent/agreements/content.py, ``skills``) holds rows of a skill,
its kind (werknemers- or beroepsvaardigheid), a score O/V/G and a note. One step writes:

- each werkproces of the assessment as a **beroepsvaardigheid**, its score mapped;
- each of the form's six competence groups as a **werknemersvaardigheid** ("Goed
  werknemerschap", …), scored by its *lowest* item (a plan's skill is met when all of it is);
  the form has 26 items and the plan at most 30 rows, so the groups are copied, not the items;
- the note: the source ("Beoordeling praktijkopleider <name>, <date>").

The mapping: kan de taak niet uitvoeren / laat competentie niet zien → O; onder begeleiding /
na aansturing → V; zelfstandig / op eigen initiatief → G; n.v.t. is not copied. A row whose skill
is already in the plan (same text and kind) gets the new score and note; the other rows stay.
It is one save of the section (:func:`consent.agreements.service.save_section`): a new draft
version when the plan was offered or in force, decided, audited and evented as any edit.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from consent.agreements.access import find_agreement, read_agreement
from consent.agreements.content import MAX_TEXT
from consent.agreements.models import AgreementKind
from consent.agreements.overview import latest_content, open_agreement_id
from consent.agreements.service import save_section
from network.audit import AuditAction, record
from network.crypto import Keyring
from network.errors import Conflict
from network.permissions import Principal
from referrals.placements.assessment_form import GROUPS, RANK
from referrals.placements.assessment_models import PlacementAssessment
from referrals.route_service import require_route_manager
from referrals.tags import PlacementTag

OVG = {0: "O", 1: "V", 2: "G"}
MAX_ROWS = 30
NO_PLAN = _l("Deze leerling heeft geen open school-naar-werk-plan om de scores in over te nemen.")
NOT_SUBMITTED = _l("Alleen een ingevulde beoordeling kan in het plan worden overgenomen.")
TOO_MANY = _l("Het plan heeft dan meer dan 30 vaardigheden. Haal eerst vaardigheden weg die niet meer gelden.")


def plan_rows(assessment: PlacementAssessment) -> list[dict[str, str]]:
    """The skills rows the assessment gives (n.v.t. left out)."""
    source = str(_l("Beoordeling praktijkopleider %(name)s, %(date)s", name=assessment.signed_name,
                    date=assessment.assessed_on.strftime("%d-%m-%Y") if assessment.assessed_on else ""))[:MAX_TEXT]
    rows = []
    for entry in assessment.werkproces_scores or []:
        if entry.get("score") in RANK:
            rows.append({"skill": entry["werkproces"][:MAX_TEXT], "kind": "beroep",
                         "score": OVG[RANK[entry["score"]]], "note": source})
    for group in GROUPS:
        ranks = [RANK[code] for item in group.items
                 if (code := (assessment.competence_scores or {}).get(item.key)) in RANK]
        if ranks:
            rows.append({"skill": group.title, "kind": "werknemer", "score": OVG[min(ranks)], "note": source})
    return rows


def merged(existing: list[dict[str, Any]], new: list[dict[str, str]]) -> list[dict[str, Any]]:
    by_key = {(row["skill"], row["kind"]): row for row in new}
    out = []
    for row in existing:
        key = (row.get("skill"), row.get("kind"))
        out.append(by_key.pop(key) if key in by_key else row)
    return out + list(by_key.values())


def copy_into_plan(session: Session, actor: Principal, keyring: Keyring, assessment: PlacementAssessment) -> Any:
    """Write the assessment's scores into the open plan's skills; returns the plan's version."""
    placement = assessment.placement
    require_route_manager(actor, placement.route)
    if not assessment.is_submitted:
        raise Conflict(str(NOT_SUBMITTED))
    agreement_id = open_agreement_id(session, placement.route.student, AgreementKind.plan)
    if agreement_id is None:
        raise Conflict(str(NO_PLAN))
    agreement, access = find_agreement(session, actor, agreement_id)
    read_agreement(session, actor, agreement, access, event_type=PlacementTag.assessment_to_plan,
                   action=AuditAction.update)
    current = (latest_content(keyring, agreement.latest) or {}).get("skills") or {}
    rows = merged(list(current.get("skills") or []), plan_rows(assessment))
    if len(rows) > MAX_ROWS:
        raise Conflict(str(TOO_MANY))
    version = save_section(session, actor, keyring, agreement, access, "skills", {**current, "skills": rows},
                           row_version=None)
    record(session, actor, action=AuditAction.update, event_type=PlacementTag.assessment_to_plan,
           object_type="placement_assessment", object_id=str(assessment.uuid), student_id=assessment.student_id,
           detail={"agreement_version": version.number, "rows": len(rows)})
    return version
