"""Routes (the Transitieroute of a student): the walls, the list, opening and updating a route.
The exit and the follow-up (nazorg) check-ins it schedules are in :mod:`referrals.checkins`.

Plain functions: they take the session, the acting :class:`Principal`, the keyring and the
clock (``today``/``now``), flush but never commit, and audit every change in the same
transaction. School staff of the student's school open and keep the route (the school's
educational task is the basis); after the exit, check-ins at 3, 6 and 12 months (24 for RMC
follow-up) are assigned to the responsible contact. A check-in that finds the young person
dropped out (or lost from view) alerts the region's RMC at once, on the RMC's own legal task.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from network import clock
from network.access import Category, Decision, decide, decide_many
from network.audit import AuditAction, record
from network.db import Page, add_unless_duplicate
from network.errors import Conflict, Forbidden, NotFound, ValidationFailed
from network.events import EventTag
from network.models import (
    SCHOOL_STAFF_ROLES,
    Account,
    Membership,
    Organisation,
    OrganisationType,
    SchoolLevel,
    Student,
)
from network.permissions import Principal
from referrals.followup_terms import RMC_TERM, region_term
from referrals.models import (
    CheckIn,
    Referral,
    Route,
    RoutePhase,
    RoutePhaseDate,
    RouteStatus,
)
from referrals.states import ReferralType
from referrals.tags import RouteTag

#: the school works with its own students under its educational task (network.access)
PURPOSE_SCHOOL = "leerlingbegeleiding"
#: the RMC's follow-up of school leavers (a legal task in consent.catalogue)
PURPOSE_RMC = "rmc-nazorg"
SCHOOL_BASIS = "legal_task:onderwijstaak"
#: what a route page shows of the student: name (contact) and programme (education)
ROUTE_CATEGORIES = (Category.contact, Category.education)
#: months after the exit at which a check-in is due; 24 only for RMC follow-up
CHECK_IN_MONTHS = (3, 6, 12, 18, 24)
#: where the RMC reads an alert (a path inside the hub; the services never import flask)
RMC_ALERT_PATH = "/trajecten/nazorg/{check_in_id}/rmc"
CHECK_IN_PATH = "/trajecten/nazorg/{check_in_id}"

NOT_FOUND = _l("Dit traject bestaat niet, of u heeft er geen toegang toe.")
CONFLICT_MESSAGE = _l("Iemand anders heeft dit traject intussen gewijzigd. Uw invoer staat hieronder nog: "
                      "controleer de gegevens en sla opnieuw op.")


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus whole calendar months (the 31st becomes the month's last day)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def followup_end(route: Route) -> dt.date | None:
    return add_months(route.exit_date, route.followup_months) if route.exit_date else None


# -- walls and reads ---------------------------------------------------------------------------

def is_route_school_staff(actor: Principal, route: Route) -> bool:
    return actor.is_school_staff and actor.organisation_id == route.school_id


def is_route_rmc(session: Session, actor: Principal, route: Route) -> bool:
    """Staff of an RMC in the region of the route's school (its follow-up task is regional)."""
    acting = actor.acting
    if acting is None or acting.organisation_type is not OrganisationType.rmc:
        return False
    return session.scalar(select(Organisation.region_id).where(Organisation.id == route.school_id)) == acting.region_id


def find_route(session: Session, actor: Principal, route_id: Any, *, rmc: bool = False) -> Route:
    """The route, or :class:`NotFound` outside the actor's walls (the school's own staff; with
    ``rmc``, also the region's RMC). Loads no student data: decide before showing any."""
    route = session.get(Route, route_id) if isinstance(route_id, int) and 0 < route_id < 2**31 else None
    if route is None or not (is_route_school_staff(actor, route) or (rmc and is_route_rmc(session, actor, route))):
        raise NotFound(NOT_FOUND)
    return route


def decide_route(session: Session, actor: Principal, route: Route, *, event_type: EventTag = RouteTag.view,
                 categories: Any = ROUTE_CATEGORIES, action: AuditAction = AuditAction.read) -> Decision:
    """Decide (and audit) what ``actor`` may see of the route's student: the school under its
    educational task, the RMC under ``rmc-nazorg``. Nothing allowed is :class:`Forbidden`."""
    purpose = PURPOSE_SCHOOL if is_route_school_staff(actor, route) else PURPOSE_RMC
    decision = decide(session, actor, route.student, purpose, categories, action=action, event_type=event_type)
    if not decision.allowed:
        raise Forbidden(_l("U heeft geen grondslag om gegevens van deze leerling in te zien."))
    return decision


def require_route_manager(actor: Principal, route: Route) -> None:
    if not is_route_school_staff(actor, route):
        raise NotFound(NOT_FOUND)
    if route.status is RouteStatus.closed:
        raise Conflict(_l("Dit traject is afgesloten en kan niet meer worden gewijzigd."))


@dataclass
class RouteRow:
    route: Route
    student_name: str | None
    next_due: dt.date | None
    responsible_name: str | None


def list_routes(session: Session, actor: Principal, *, status: str | None = None, page: int = 1,
                per_page: int = 25) -> Page:
    """One page of the acting school's routes (newest first) with the next open check-in.

    Fixed statement count per page; every student shown is decided (``route:list``)."""
    if not actor.is_school_staff:
        raise Forbidden(_l("Alleen medewerkers van een school houden trajecten bij."))
    conditions = [Route.school_id == actor.organisation_id]
    if status in {s.value for s in RouteStatus}:
        conditions.append(Route.status == RouteStatus(status))
    total = session.scalar(select(func.count(Route.id)).where(*conditions)) or 0
    page = max(1, page)
    routes = list(session.scalars(select(Route).where(*conditions)
                                  .options(selectinload(Route.student), selectinload(Route.responsible))
                                  .order_by(Route.created_at.desc(), Route.id.desc())
                                  .offset((page - 1) * per_page).limit(per_page)))
    due = dict(session.execute(select(CheckIn.route_id, func.min(CheckIn.due_date)).where(
        CheckIn.route_id.in_([r.id for r in routes]), CheckIn.recorded_at.is_(None)).group_by(CheckIn.route_id)).all())
    decisions = decide_many(session, actor, [r.student for r in routes], PURPOSE_SCHOOL, [Category.contact],
                            event_type=RouteTag.list)
    rows = [RouteRow(r, r.student.full_name if decisions[r.student_id].permits(Category.contact) else None,
                     due.get(r.id), r.responsible.name if r.responsible else None) for r in routes]
    return Page(rows, total, page, per_page)


# -- open and update ---------------------------------------------------------------------------

def school_staff_accounts(session: Session, school_id: int) -> list[Account]:
    """Active accounts with a school-staff role at ``school_id``: who can be responsible."""
    return list(session.scalars(select(Account).join(Membership, Membership.account_id == Account.id).where(
        Membership.organisation_id == school_id, Membership.role.in_(list(SCHOOL_STAFF_ROLES)),
        Account.is_active.is_(True)).distinct().order_by(Account.name)))


def _check_responsible(session: Session, school_id: int, account_id: Any, errors: dict[str, list[str]]) -> None:
    if account_id is None or account_id not in {a.id for a in school_staff_accounts(session, school_id)}:
        errors.setdefault("responsible_account_id", []).append(
            _l("Kies een medewerker van de school als verantwoordelijke."))


def wants_rmc_followup(session: Session, route: Route, student: Student) -> bool:
    """Two years of follow-up for entree students and for routes with an RMC or School-ex referral."""
    if student.level is SchoolLevel.entree:
        return True
    if route.id is None:
        return False
    return session.scalar(select(Referral.id).where(
        Referral.student_id == student.id,
        Referral.type.in_([ReferralType.rmc, ReferralType.school_ex])).limit(1)) is not None


def followup_term(session: Session, route: Route, student: Student) -> int:
    """The route's follow-up term in months: the region's term for the student's school level
    (:mod:`referrals.followup_terms`), at least 24 months for RMC follow-up."""
    months = region_term(session, student)
    return max(months, RMC_TERM) if wants_rmc_followup(session, route, student) else months


def default_phase_dates(start: dt.date, exit_date: dt.date) -> dict[RoutePhase, dt.date]:
    """Planned dates spread over the route: sign-up at the start, the conversation a month in,
    the plan after two months, the final internship halfway, finishing at the expected exit,
    a first job three months and lasting work a year after it."""
    span = max((exit_date - start).days, 0)
    return {
        RoutePhase.aanmelding: start,
        RoutePhase.gesprek: min(add_months(start, 1), exit_date) if span else start,
        RoutePhase.plan: min(add_months(start, 2), exit_date) if span else start,
        RoutePhase.eindstage: start + dt.timedelta(days=span // 2),
        RoutePhase.afronding: exit_date,
        RoutePhase.eerste_baan: add_months(exit_date, 3),
        RoutePhase.duurzaam_werk: add_months(exit_date, 12),
    }


def open_route(session: Session, actor: Principal, student: Student, data: dict[str, Any], *,
               today: dt.date | None = None) -> Route:
    """Open the Transitieroute of ``student`` (school staff of the student's school).

    :param data: loaded :class:`~referrals.route_schemas.OpenRouteArgs`: ``expected_exit_date``
        (default: the student's), ``start_date`` (default: a year before the expected exit, not
        after today), ``responsible_account_id`` (default: the actor).
    :raises Conflict: the student already has a route (``route_id`` names it).
    """
    today = today or clock.today()
    if not (actor.is_school_staff and actor.organisation_id == student.school_id):
        raise NotFound(_l("Deze leerling bestaat niet, of u heeft er geen toegang toe."))

    def existing() -> int | None:
        return session.scalar(select(Route.id).where(Route.student_id == student.id))

    if (route_id := existing()) is not None:
        raise Conflict(_l("Deze leerling heeft al een traject."), route_id=route_id)
    errors: dict[str, list[str]] = {}
    exit_date = data.get("expected_exit_date") or student.expected_exit_date
    if exit_date is None:
        errors.setdefault("expected_exit_date", []).append(_l("Vul de verwachte uitstroomdatum in."))
    start = data.get("start_date") or (min(add_months(exit_date, -12), today) if exit_date else today)
    if exit_date is not None and start > exit_date:
        errors.setdefault("start_date", []).append(_l("De startdatum ligt na de verwachte uitstroomdatum."))
    if exit_date is not None and exit_date > add_months(today, 60):
        errors.setdefault("expected_exit_date", []).append(
            _l("De verwachte uitstroomdatum ligt meer dan vijf jaar vooruit. Controleer de datum."))
    responsible = data.get("responsible_account_id") or actor.account_id
    _check_responsible(session, student.school_id, responsible, errors)
    if errors:
        raise ValidationFailed(errors=errors)
    route = Route(student=student, school_id=student.school_id, responsible_account_id=responsible,
                  phase=RoutePhase.aanmelding, status=RouteStatus.active, start_date=start,
                  expected_exit_date=exit_date, followup_months=12)
    planned = default_phase_dates(start, exit_date)
    route.phases = [RoutePhaseDate(phase=phase, position=i, planned_date=planned[phase],
                                   reached_date=start if phase is RoutePhase.aanmelding else None)
                    for i, phase in enumerate(RoutePhase)]
    route.followup_months = followup_term(session, route, student)
    # flushed: the route id goes into the audit event. Refused when a route opened at the same
    # moment (a double click) was stored first (the unique student_id)
    if not add_unless_duplicate(session, route):
        raise Conflict(_l("Deze leerling heeft al een traject."), route_id=existing())
    record(session, actor, action=AuditAction.create, event_type=RouteTag.create, object_type="route",
           object_id=route.id, student_id=student.id, purpose=PURPOSE_SCHOOL, basis=SCHOOL_BASIS,
           detail={"expected_exit_date": exit_date.isoformat(), "followup_months": route.followup_months,
                   "responsible_account_id": responsible})
    return route


def update_route(session: Session, actor: Principal, route: Route, data: dict[str, Any], *,
                 expected_version: int | None = None, today: dt.date | None = None) -> list[str]:
    """Change the phase, the planned/reached date per phase, the responsible contact, the
    expected exit and whether a doelgroepregister application runs as a step of the route
    (``doelgroepregister_open``: UWV's legal task covers the student while it does). Returns
    the changed fields (none: nothing is written).

    :param data: loaded :class:`~referrals.route_schemas.UpdateRouteArgs`; ``planned_<phase>``
        and ``reached_<phase>`` per phase. Moving to a phase stamps its reached date (today)
        when none is given.
    :raises Conflict: the route is closed, or someone saved in between (``expected_version``).
    """
    today = today or clock.today()
    require_route_manager(actor, route)
    if expected_version is not None and route.version != expected_version:
        raise Conflict(CONFLICT_MESSAGE)
    data = _with_phase(data)
    _check_route_update(session, route, data, today)
    changed = _apply_route_fields(route, data)
    by_phase = {p.phase: p for p in route.phases}
    changed += _apply_phase_dates(route, by_phase, data)
    current = by_phase.get(route.phase) or next(p for p in route.phases if p.phase is route.phase)
    if "phase" in changed and current.reached_date is None:
        current.reached_date = today
        changed.append(f"reached_{route.phase.value}")
    if not changed:
        return changed
    try:
        session.flush()  # the row-version check runs here: a concurrent save makes it fail
    except StaleDataError as exc:
        raise Conflict(CONFLICT_MESSAGE) from exc
    record(session, actor, action=AuditAction.update, event_type=RouteTag.update, object_type="route",
           object_id=route.id, student_id=route.student_id, purpose=PURPOSE_SCHOOL, basis=SCHOOL_BASIS,
           detail={"fields": sorted(changed), "phase": route.phase.value})
    return changed


def _with_phase(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` with the phase as a :class:`RoutePhase` (an unknown one is a field error)."""
    data = dict(data)
    if data.get("phase") is not None:
        try:
            data["phase"] = RoutePhase(data["phase"])
        except ValueError:
            raise ValidationFailed(errors={"phase": [_l("Kies een fase.")]}) from None
    return data


def _check_route_update(session: Session, route: Route, data: dict[str, Any], today: dt.date) -> None:
    """The responsible contact is school staff, no phase is reached in the future and the expected
    exit is not before the start; else :class:`ValidationFailed` with every field's message."""
    errors: dict[str, list[str]] = {}
    if "responsible_account_id" in data:
        _check_responsible(session, route.school_id, data["responsible_account_id"], errors)
    for phase in RoutePhase:
        reached = data.get(f"reached_{phase.value}")
        if reached is not None and reached > today:
            errors.setdefault(f"reached_{phase.value}", []).append(
                _l("Een bereikte datum kan niet in de toekomst liggen."))
    if data.get("expected_exit_date") and data["expected_exit_date"] < route.start_date:
        errors.setdefault("expected_exit_date", []).append(_l("De verwachte uitstroomdatum ligt vóór de start."))
    if errors:
        raise ValidationFailed(errors=errors)


def _apply_route_fields(route: Route, data: dict[str, Any]) -> list[str]:
    """Set the phase, the responsible contact, the expected exit and the doelgroepregister step
    where given; returns the changed."""
    changed: list[str] = []
    for name in ("phase", "responsible_account_id", "expected_exit_date", "doelgroepregister_open"):
        if name in data and data[name] is not None and getattr(route, name) != data[name]:
            setattr(route, name, data[name])
            changed.append(name)
    return changed


def _apply_phase_dates(route: Route, by_phase: dict[RoutePhase, RoutePhaseDate], data: dict[str, Any]) -> list[str]:
    """Set the planned and reached date of each phase given (a missing phase row is added);
    returns the changed ``planned_<phase>``/``reached_<phase>`` keys."""
    changed: list[str] = []
    for phase in RoutePhase:
        row = by_phase.get(phase)
        if row is None:
            row = RoutePhaseDate(phase=phase, position=list(RoutePhase).index(phase))
            route.phases.append(row)
        for kind in ("planned", "reached"):
            key = f"{kind}_{phase.value}"
            if key in data and getattr(row, f"{kind}_date") != data[key]:
                setattr(row, f"{kind}_date", data[key])
                changed.append(key)
    return changed

