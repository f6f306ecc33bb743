"""Lists of placements: a route's (on the route page) and a school's (``/trajecten/stages``).

Both go through the route's decision (:mod:`.access`): the route's list uses the decision the
route page already made (or decides itself, ``placement:list``), the school's list decides per
student shown in one statement (``decide_many``), as the route list does. A placement whose
student's education data is not allowed is left out; a name that is not allowed is not shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from network.access import Category, Decision, decide_many
from network.db import Page
from network.errors import Forbidden
from network.permissions import Principal
from referrals.models import Route
from referrals.placements.access import PLACEMENT_CATEGORIES, decide_route_placements
from referrals.placements.models import Placement
from referrals.placements.states import PlacementStatus
from referrals.route_service import PURPOSE_SCHOOL
from referrals.tags import PlacementTag


def route_placements(session: Session, actor: Principal, route: Route, *,
                     decision: Decision | None = None) -> list[Placement]:
    """The placements of the route, newest start first. ``decision``: the route page's own
    (which asked for the education data); without it the read is decided here."""
    if decision is None:
        decision = decide_route_placements(session, actor, route, event_type=PlacementTag.list)
    if not decision.permits(Category.education):
        return []
    return list(session.scalars(select(Placement).where(Placement.route_id == route.id)
                                .options(selectinload(Placement.organisation), selectinload(Placement.proposal))
                                .order_by(Placement.start_date.desc(), Placement.id.desc())))


@dataclass
class PlacementRow:
    placement: Placement
    #: None: the name is not allowed (the list then shows the route's number)
    student_name: str | None


def school_placements(session: Session, actor: Principal, *, status: str | None = None, page: int = 1,
                      per_page: int = 25) -> Page:
    """One page of the acting school's placements (running first, then by start date) with the
    students' names as the decision allows. A fixed number of statements per page."""
    if not actor.is_school_staff:
        raise Forbidden(_l("Alleen medewerkers van een school houden stages bij."))
    conditions = [Placement.school_id == actor.organisation_id]
    if status in {s.value for s in PlacementStatus}:
        conditions.append(Placement.status == PlacementStatus(status))
    total = session.scalar(select(func.count(Placement.id)).where(*conditions)) or 0
    page = max(1, page)
    placements = list(session.scalars(
        select(Placement).where(*conditions)
        .options(selectinload(Placement.route).selectinload(Route.student), selectinload(Placement.organisation),
                 selectinload(Placement.proposal), selectinload(Placement.supervisor))
        .order_by((Placement.status == PlacementStatus.running).desc(), Placement.start_date.desc(),
                  Placement.id.desc())
        .offset((page - 1) * per_page).limit(per_page)))
    decisions = decide_many(session, actor, [p.route.student for p in placements], PURPOSE_SCHOOL,
                            PLACEMENT_CATEGORIES, event_type=PlacementTag.list)
    rows = []
    for placement in placements:
        decision = decisions[placement.student_id]
        if not decision.permits(Category.education):
            continue
        name = placement.route.student.full_name if decision.permits(Category.contact) else None
        rows.append(PlacementRow(placement, name))
    return Page(rows, total, page, per_page)

