"""The follow-up term per school level and region, as the region agreed it (issue 20, item 5).

Seed 004 gives entree two years of follow-up; VSO follows its pupils as long; PrO and mbo 2–4
follow a year unless the region agrees otherwise. The uitstroomcoördinator sets the region's
term per school level (``/regio/nazorgtermijn``); a level the region did not set takes
:data:`DEFAULT_TERMS`. A route takes the term when it opens and again at the exit; a route
already in follow-up keeps the term it had (changing the agreement does not rewrite it).

Same conventions as the other services: session and actor in; flush, never commit; audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from network.audit import AuditAction, record
from network.errors import ValidationFailed
from network.models import Organisation, Region, SchoolLevel, Student
from network.permissions import Permission, Principal
from referrals.deadlines import region_in_reach
from referrals.followup_models import TERM_MAX, TERM_MIN, FollowupTerm
from referrals.tags import RouteTag

#: the term when the region set none (seed 004; PrO and mbo as the region agrees, a year by default)
DEFAULT_TERMS: dict[SchoolLevel, int] = {
    SchoolLevel.entree: 24, SchoolLevel.vso: 24, SchoolLevel.pro: 12, SchoolLevel.mbo2: 12,
    SchoolLevel.mbo3: 12, SchoolLevel.mbo4: 12, SchoolLevel.other: 12,
}
#: at least this long for entree and for routes with an RMC or School-ex referral
RMC_TERM = 24

LEVEL_LABELS = {
    SchoolLevel.entree: _l("Entree"), SchoolLevel.pro: _l("Praktijkonderwijs (PrO)"),
    SchoolLevel.vso: _l("Voortgezet speciaal onderwijs (VSO)"), SchoolLevel.mbo2: _l("Mbo niveau 2"),
    SchoolLevel.mbo3: _l("Mbo niveau 3"), SchoolLevel.mbo4: _l("Mbo niveau 4"), SchoolLevel.other: _l("Overig"),
}

MONTHS_ERROR = _l("Vul een aantal hele maanden in, van %(min)d tot en met %(max)d.")


@dataclass(frozen=True)
class TermRow:
    level: SchoolLevel
    months: int
    #: set by the region (else the default)
    is_set: bool
    default: int
    updated_by: str | None


def region_term(session: Session, student: Student) -> int:
    """The follow-up term the region of the student's school agreed for the student's level."""
    months = session.scalar(select(FollowupTerm.months).join(
        Organisation, Organisation.region_id == FollowupTerm.region_id).where(
        Organisation.id == student.school_id, FollowupTerm.level == student.level))
    return months if months is not None else DEFAULT_TERMS.get(student.level, 12)


def region_terms(session: Session, actor: Principal, region_id: int | None) -> tuple[Region, list[TermRow]]:
    """Every school level's term in a region the actor may manage (own region; hub admin any)."""
    region = region_in_reach(session, actor, region_id, Permission.followup_term_manage)
    stored = {t.level: t for t in session.scalars(select(FollowupTerm).where(FollowupTerm.region_id == region.id))}
    rows = [TermRow(level=level, months=stored[level].months if level in stored else DEFAULT_TERMS[level],
                    is_set=level in stored, default=DEFAULT_TERMS[level],
                    updated_by=stored[level].updated_by_name if level in stored else None)
            for level in LEVEL_LABELS]
    return region, rows


def parse_months(value: Any) -> int:
    """Whole months within the allowed range, else a field error."""
    text = str(value if value is not None else "").strip()
    months = int(text) if text.isdigit() else None
    if months is None or not TERM_MIN <= months <= TERM_MAX:
        raise ValidationFailed(errors={"months": [MONTHS_ERROR % {"min": TERM_MIN, "max": TERM_MAX}]})
    return months


def parse_level(value: Any) -> SchoolLevel:
    try:
        return SchoolLevel(value)
    except ValueError:
        raise ValidationFailed(errors={"level": [_l("Kies een schoolsoort.")]}) from None


def set_region_term(session: Session, actor: Principal, region_id: int | None, level: Any,
                    months: Any) -> FollowupTerm | None:
    """Set the region's follow-up term for one school level (``months`` in whole months,
    :data:`TERM_MIN`–:data:`TERM_MAX`). Returns the row, or None when nothing changed.
    Routes already in follow-up keep their term."""
    region = region_in_reach(session, actor, region_id, Permission.followup_term_manage)
    level, months = parse_level(level), parse_months(months)
    term = session.scalar(select(FollowupTerm).where(FollowupTerm.region_id == region.id,
                                                     FollowupTerm.level == level))
    before = term.months if term else DEFAULT_TERMS[level]
    if term is not None and term.months == months:
        return None
    if term is None:
        term = FollowupTerm(region_id=region.id, level=level, months=months, updated_by_name=actor.name)
        session.add(term)
    else:
        term.months, term.updated_by_name = months, actor.name
    session.flush()
    record(session, actor, action=AuditAction.update, event_type=RouteTag.followup_term, object_type="region",
           object_id=region.id, detail={"level": level.value, "months": months, "before": before})
    return term
