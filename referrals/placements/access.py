"""Who may see and change a placement, and the audited read.

A placement is part of the student's route, so it has the route's walls and the route's
decision: school staff of the route's school find it (404 for everyone else), and every read
asks :func:`network.access.decide` (``consent.decide``) for the student's contact and education
data under the school's educational task, which writes the audit event; nothing allowed is a
403 (and the denial is audited too).

Partners come later (issue 19, items 3 and 4: the praktijkopleider, an employer with accounts)
through one hook, :func:`relation_of`: it answers how the actor relates to the placement, and
:data:`READ_PURPOSES` the purpose the read is decided for. A new relation (``employer``, read
under ``stagebegeleiding`` with the student's consent) is added there and nowhere else.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from network.access import Category, Decision, decide
from network.audit import AuditAction
from network.errors import Conflict, Forbidden, NotFound
from network.events import EventTag
from network.permissions import Principal
from referrals.models import Route
from referrals.placements.models import Placement
from referrals.placements.states import FINAL
from referrals.route_service import NOT_FOUND as ROUTE_NOT_FOUND
from referrals.route_service import PURPOSE_SCHOOL, decide_route, is_route_school_staff, require_route_manager
from referrals.tags import PlacementTag

#: what a placement page shows of the student: the name (contact) and the internship (education)
PLACEMENT_CATEGORIES = (Category.contact, Category.education)
#: the relations of :func:`relation_of` and the purpose each reads under
SCHOOL = "school"
READ_PURPOSES = {SCHOOL: PURPOSE_SCHOOL}

NOT_FOUND = _l("Deze stage bestaat niet, of u heeft er geen toegang toe.")
NO_BASIS = _l("U heeft geen grondslag om de stagegegevens van deze leerling in te zien.")
FINAL_MESSAGE = _l("Deze stage is afgerond of beëindigd en kan niet meer worden gewijzigd.")


def relation_of(session: Session, actor: Principal, placement: Placement) -> str | None:
    """How ``actor`` relates to ``placement``: ``school`` (staff of the route's school), or None
    (outside its walls). The one place later readers (the company's staff) are added."""
    if is_route_school_staff(actor, placement.route):
        return SCHOOL
    return None


def find_placement(session: Session, actor: Principal, placement_id: Any) -> Placement:
    """The placement, or :class:`NotFound` outside the actor's walls. Loads no student data:
    decide before showing any."""
    placement = (session.get(Placement, placement_id)
                 if isinstance(placement_id, int) and 0 < placement_id < 2**31 else None)
    if placement is None or relation_of(session, actor, placement) is None:
        raise NotFound(NOT_FOUND)
    return placement


def decide_placement(session: Session, actor: Principal, placement: Placement, *,
                     event_type: EventTag = PlacementTag.view, action: AuditAction = AuditAction.read) -> Decision:
    """Decide (and audit) the read of a placement's student. Without the education data (the
    placement is part of the student's education) it is :class:`Forbidden`."""
    relation = relation_of(session, actor, placement)
    if relation is None:
        raise NotFound(NOT_FOUND)
    decision = decide(session, actor, placement.route.student, READ_PURPOSES[relation], PLACEMENT_CATEGORIES,
                      action=action, event_type=event_type)
    if not decision.permits(Category.education):
        raise Forbidden(NO_BASIS)
    return decision


def decide_route_placements(session: Session, actor: Principal, route: Route, *,
                            event_type: EventTag = PlacementTag.form,
                            action: AuditAction = AuditAction.read) -> Decision:
    """The same decision for the route's placements as a whole (the form that registers one,
    the route's list): the route's own decision, asked for the placement's categories. Outside
    the route's school it is :class:`NotFound` (walls first; nothing is decided)."""
    if not is_route_school_staff(actor, route):
        raise NotFound(ROUTE_NOT_FOUND)
    decision = decide_route(session, actor, route, event_type=event_type, categories=PLACEMENT_CATEGORIES,
                            action=action)
    if not decision.permits(Category.education):
        raise Forbidden(NO_BASIS)
    return decision


def require_manager(actor: Principal, placement: Placement) -> None:
    """The route's school may change the placement while the route is open and the placement
    is not final (:class:`NotFound` outside, :class:`Conflict` when closed or final)."""
    require_route_manager(actor, placement.route)
    if placement.status in FINAL:
        raise Conflict(FINAL_MESSAGE)
