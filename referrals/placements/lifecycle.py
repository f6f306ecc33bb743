"""A placement's status steps (:data:`referrals.placements.states.TRANSITIONS`) and what they
move on the route.

One function, :func:`change_status`: it refuses an unknown status (a field error), a step the
table does not allow (a :class:`Conflict` naming the allowed ones: 409 with ``allowed`` on an
API), a missing reason for ending early, a date in the future or before the start, and a form
from an older version; it writes the step, its event and its audit event together. Starting a
placement of kind eindstage marks the route's eindstage phase reached (on the day it started)
where it was not yet, and moves a route that is not that far yet to the eindstage phase.
Starting (or resuming) plans the stageprotocol's contacts, pausing or ending cancels the open
ones (:mod:`.protocol`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from network import clock
from network.audit import AuditAction, record
from network.clock import utcnow
from network.errors import Conflict, ValidationFailed
from network.permissions import Principal
from network.signals import placement_status_changed
from referrals.models import Route, RoutePhase, RoutePhaseDate
from referrals.placements.models import Placement, PlacementEvent, PlacementEventKind
from referrals.placements.protocol import cancel_open, plan_contacts
from referrals.placements.service import CONFLICT_MESSAGE
from referrals.placements.states import (
    ENDS,
    REASON_REQUIRED,
    STATUS_LABELS,
    TRANSITIONS,
    PlacementKind,
    PlacementStatus,
    allowed_next,
)
from referrals.route_service import PURPOSE_SCHOOL, SCHOOL_BASIS, require_route_manager
from referrals.tags import PlacementTag, RouteTag

S = PlacementStatus
MAX_REASON = 500


def _target(value: Any) -> PlacementStatus:
    try:
        return PlacementStatus(value)
    except ValueError:
        raise ValidationFailed(errors={"status": [_l("Kies wat er met de stage is gebeurd.")]}) from None


def _hired(value: bool | str | None) -> bool | None:
    if isinstance(value, bool) or value is None:
        return value
    return {"ja": True, "nee": False}.get(value.strip().lower())


def _check_step(placement: Placement, target: PlacementStatus, reason: str | None, on_date: dt.date,
                today: dt.date) -> None:
    if target not in TRANSITIONS[placement.status]:
        allowed = allowed_next(placement.status)
        raise Conflict(_l("Een stage met de status '%(status)s' kan niet naar '%(target)s'.",
                          status=STATUS_LABELS[placement.status], target=STATUS_LABELS[target]),
                       allowed=[s.value for s in allowed])
    errors: dict[str, list[str]] = {}
    if target in REASON_REQUIRED and not reason:
        errors["reason"] = [_l("Schrijf waarom de stage voortijdig stopt.")]
    elif reason and len(reason) > MAX_REASON:
        errors["reason"] = [_l("Houd de reden korter dan 500 tekens.")]
    if on_date > today:
        errors["on_date"] = [_l("De datum kan niet in de toekomst liggen.")]
    elif target in ENDS and placement.started_on and on_date < placement.started_on:
        errors["on_date"] = [_l("De stage kan niet eindigen vóór de dag waarop ze begon.")]
    if errors:
        raise ValidationFailed(errors=errors)


def change_status(session: Session, actor: Principal, placement: Placement, status: Any, *,
                  reason: str | None = None, on_date: dt.date | None = None, expected_version: int | None = None,
                  today: dt.date | None = None, hired: bool | str | None = None) -> PlacementEvent:
    """Move ``placement`` to ``status`` (school staff of the route's school, route not closed).

    :param reason: required to end early, and kept only then.
    :param hired: on completion only: did the company hire the student afterwards (``True``/
        ``"ja"``, ``False``/``"nee"``; None or empty: not known). Kept only with ``completed``.
    :param on_date: the day it happened (default today): the actual start when a planned
        placement starts, the actual end when it is completed or ended early.
    :raises ValidationFailed: an unknown status, a missing reason, a wrong date.
    :raises Conflict: a step the lifecycle does not allow (``allowed`` lists those it does), a
        closed route, or a change made in between (``expected_version``, the row version).
    """
    today = today or clock.today()
    on_date = on_date or today
    require_route_manager(actor, placement.route)
    target = _target(status)
    if expected_version is not None and placement.version != expected_version:
        raise Conflict(CONFLICT_MESSAGE)
    reason = (reason or "").strip() or None
    _check_step(placement, target, reason, on_date, today)
    previous = placement.status
    # one write: no lazy load in between may flush half of it (the row-version check is below)
    with session.no_autoflush:
        placement.status, placement.status_changed_at = target, utcnow()
        placement.end_reason = reason if target in REASON_REQUIRED else None
        if target is S.running and previous is S.planned:
            placement.started_on = on_date
        if target in ENDS:
            placement.ended_on = on_date
        placement.hired = _hired(hired) if target is S.completed else None
        event = PlacementEvent(kind=PlacementEventKind.transition, from_status=previous, to_status=target,
                               on_date=on_date, reason=placement.end_reason, actor_account_id=actor.account_id,
                               actor_name=actor.name)
        placement.events.append(event)
        route_changes = []
        if target is S.running and previous is S.planned and placement.kind is PlacementKind.eindstage:
            route_changes = mark_eindstage(placement.route, on_date)
    try:
        session.flush()  # the row-version checks (placement and route) run here
    except StaleDataError as exc:
        raise Conflict(CONFLICT_MESSAGE) from exc
    # the stageprotocol: a start (or a restart) plans the contacts, a pause or an end cancels the open ones
    if target is S.running:
        plan_contacts(session, placement, today=today)
    else:
        cancel_open(session, placement)
    record(session, actor, action=AuditAction.update, event_type=PlacementTag.status_change,
           object_type="placement", object_id=placement.id, student_id=placement.student_id, purpose=PURPOSE_SCHOOL,
           basis=SCHOOL_BASIS, detail={"from": previous.value, "to": target.value, "on_date": on_date.isoformat(),
                                           **({"hired": placement.hired} if placement.hired is not None else {})})
    if route_changes:
        record(session, actor, action=AuditAction.update, event_type=RouteTag.update, object_type="route",
               object_id=placement.route_id, student_id=placement.student_id, purpose=PURPOSE_SCHOOL,
               basis=SCHOOL_BASIS, detail={"fields": route_changes, "phase": placement.route.phase.value,
                                           "placement_id": placement.id})
    placement_status_changed.send(placement, session=session)
    return event


def mark_eindstage(route: Route, on_date: dt.date) -> list[str]:
    """The eindstage began on ``on_date``: the phase's reached date where it has none, and the
    route's phase when it is not that far yet (a later phase stays). Returns what changed."""
    changed = []
    order = list(RoutePhase)
    row = next((p for p in route.phases if p.phase is RoutePhase.eindstage), None)
    if row is None:
        row = RoutePhaseDate(phase=RoutePhase.eindstage, position=order.index(RoutePhase.eindstage))
        route.phases.append(row)
    if row.reached_date is None:
        row.reached_date = on_date
        changed.append("reached_eindstage")
    if order.index(route.phase) < order.index(RoutePhase.eindstage):
        route.phase = RoutePhase.eindstage
        changed.append("phase")
    return changed
