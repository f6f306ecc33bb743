"""Follow-up (nazorg) check-ins after the exit: recording the exit (which schedules the
check-ins at 3, 6, 12, 18 and 24 months, up to the route's follow-up term), recording what a check-in found, and
the alert to the region's RMC when the young person dropped out or is lost from view.

Same conventions as :mod:`referrals.route_service`: session, actor, keyring and clock in; flush,
never commit; audited in the same transaction. The alert carries no name (it leaves the hub
by e-mail); its link leads to a page where the RMC reads the student on its legal task.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from network import clock
from network.audit import AuditAction, record
from network.clock import utcnow
from network.crypto import Keyring
from network.db import compare_and_set
from network.errors import Conflict, NotFound, ValidationFailed
from network.models import Organisation, OrganisationType, Role
from network.notifications import notify, notify_organisation, organisation_staff
from network.permissions import Principal
from referrals.followup_models import ContactAttempt, ContactMethod
from referrals.followup_terms import RMC_TERM
from referrals.models import ALERT_SITUATIONS, CheckIn, Route, RouteStatus, Situation
from referrals.route_service import (
    CHECK_IN_MONTHS,
    CHECK_IN_PATH,
    PURPOSE_RMC,
    PURPOSE_SCHOOL,
    RMC_ALERT_PATH,
    SCHOOL_BASIS,
    add_months,
    find_route,
    followup_term,
    is_route_rmc,
    is_route_school_staff,
    require_route_manager,
    wants_rmc_followup,
)
from referrals.tags import CheckinNotice, CheckinTag, RouteTag

#: the "niet bereikt" attempt that records the check-in and alerts the RMC (as "onbekend" does)
ATTEMPTS_BEFORE_ALERT = 3
#: how far ahead an exit may be recorded (issue 20: "in the future beyond a month" is refused)
EXIT_AHEAD_MONTHS = 1

# -- the exit: scheduling the check-ins --------------------------------------------------------

def record_exit(session: Session, actor: Principal, route: Route, exit_date: dt.date | None, *,
                startkwalificatie: bool | None = None, today: dt.date | None = None) -> list[CheckIn]:
    """The student left school on ``exit_date``: the route goes to follow-up and check-ins are
    scheduled at 3, 6, 12, 18 and 24 months up to the route's follow-up term (the region's term
    for the school level, :mod:`referrals.followup_terms`), assigned to the responsible
    contact. Idempotent: recording the same exit again adds nothing. Returns the new check-ins.

    :param startkwalificatie: did the student leave with one (mbo 2 or higher, havo, vwo)?
        None: not said. The RMC's legal task covers leavers not known to have one
        (:mod:`referrals.scope`), so "yes" takes the student out of it.
    """
    today = today or clock.today()
    require_route_manager(actor, route)
    _check_exit_date(route, exit_date, today)
    if (route.exit_date == exit_date and route.status is RouteStatus.followup and route.check_ins
            and route.startkwalificatie == startkwalificatie):
        return []
    if route.status is not RouteStatus.followup:
        # the term as the region agrees it at the exit; a route already in follow-up keeps its
        # own (a corrected exit date, or a term changed since, does not rewrite it)
        route.followup_months = followup_term(session, route, route.student)
    elif wants_rmc_followup(session, route, route.student):
        route.followup_months = max(route.followup_months, RMC_TERM)
    route.exit_date, route.status, route.startkwalificatie = exit_date, RouteStatus.followup, startkwalificatie
    made = _schedule_check_ins(route, exit_date)
    session.flush()
    record(session, actor, action=AuditAction.update, event_type=RouteTag.exit, object_type="route",
           object_id=route.id, student_id=route.student_id, purpose=PURPOSE_SCHOOL, basis=SCHOOL_BASIS,
           detail={"exit_date": exit_date.isoformat(), "followup_months": route.followup_months,
                   "startkwalificatie": startkwalificatie, "check_ins": sorted(c.months for c in route.check_ins)})
    return made


def exit_date_errors(route: Route, exit_date: dt.date | None, today: dt.date) -> dict[str, list[Any]]:
    """The exit date's field errors: given, not before the start, at most a month ahead (an exit
    planned for the end of the school year may be recorded a few weeks early), and fixed once
    a check-in was recorded."""
    errors: dict[str, list[Any]] = {}
    if exit_date is None:
        errors["exit_date"] = [_l("Vul de datum in waarop de leerling de school verliet.")]
    elif exit_date > add_months(today, EXIT_AHEAD_MONTHS):
        errors["exit_date"] = [_l("De uitstroomdatum ligt meer dan een maand in de toekomst. Leg de uitstroom "
                                  "vast als die dichterbij is.")]
    elif exit_date < route.start_date:
        errors["exit_date"] = [_l("De uitstroomdatum ligt vóór de start van het traject.")]
    elif route.exit_date is not None and route.exit_date != exit_date and any(c.recorded_at for c in route.check_ins):
        errors["exit_date"] = [_l("Er zijn al nazorgcontacten vastgelegd; de uitstroomdatum kan niet meer "
                                  "veranderen.")]
    return errors


def _check_exit_date(route: Route, exit_date: dt.date | None, today: dt.date) -> None:
    if errors := exit_date_errors(route, exit_date, today):
        raise ValidationFailed(errors=errors)


def _schedule_check_ins(route: Route, exit_date: dt.date) -> list[CheckIn]:
    """A check-in at each month mark up to the route's follow-up (due dates of existing ones
    moved along, open ones past the follow-up removed); returns the new ones."""
    existing = {c.months: c for c in route.check_ins}
    made = []
    for months in CHECK_IN_MONTHS:
        if months > route.followup_months:
            continue
        due = add_months(exit_date, months)
        if months in existing:
            existing[months].due_date = due  # an exit date corrected before any check-in
            continue
        check_in = CheckIn(months=months, due_date=due, assigned_account_id=route.responsible_account_id)
        route.check_ins.append(check_in)
        made.append(check_in)
    for months, check_in in existing.items():
        if months > route.followup_months and check_in.recorded_at is None:
            route.check_ins.remove(check_in)
    return made


# -- recording a check-in ----------------------------------------------------------------------


def find_check_in(session: Session, actor: Principal, check_in_id: Any) -> CheckIn:
    """A check-in within the actor's walls: the school's staff, or the region's RMC."""
    check_in = session.get(CheckIn, check_in_id) if isinstance(check_in_id, int) and 0 < check_in_id < 2**31 else None
    if check_in is None:
        raise NotFound(_l("Dit nazorgcontact bestaat niet, of u heeft er geen toegang toe."))
    find_route(session, actor, check_in.route_id, rmc=True)
    return check_in


def rmc_organisations(session: Session, route: Route) -> list[Organisation]:
    """The active RMC organisation(s) of the region of the route's school."""
    region = select(Organisation.region_id).where(Organisation.id == route.school_id).scalar_subquery()
    return list(session.scalars(select(Organisation).where(
        Organisation.type == OrganisationType.rmc, Organisation.is_active.is_(True),
        Organisation.region_id == region).order_by(Organisation.id)))


def alert_title(situation: Situation, school_name: str) -> str:
    """The RMC alert's title: never the student's name (it leaves the hub by e-mail)."""
    if situation is Situation.uitgevallen:
        return f"Nazorg: een oud-leerling van {school_name} is uitgevallen — neem contact op"
    if situation is Situation.niet_bereikt:
        return (f"Nazorg: een oud-leerling van {school_name} is na {ATTEMPTS_BEFORE_ALERT} pogingen niet bereikt "
                "— neem contact op")
    return f"Nazorg: van een oud-leerling van {school_name} is niet bekend hoe het gaat — neem contact op"


def record_check_in(session: Session, actor: Principal, keyring: Keyring, check_in: CheckIn, data: dict[str, Any],
                    *, base_url: str = "", now: dt.datetime | None = None) -> list[int]:
    """Record what a follow-up check-in found (``situation``, optional ``note``, encrypted).

    School staff of the route's school, or the region's RMC, record it. ``uitgevallen`` and
    ``onbekend`` alert the region's RMC at once (once per check-in, ``rmc_alerted_at``).
    Returns the ids of the RMC organisations alerted.
    """
    now = now or utcnow()
    route = check_in.route
    if not (is_route_school_staff(actor, route) or is_route_rmc(session, actor, route)):
        raise NotFound(_l("Dit nazorgcontact bestaat niet, of u heeft er geen toegang toe."))
    if route.status is not RouteStatus.followup:
        raise Conflict(_l("Dit traject is niet (meer) in de nazorg; er kan geen contact worden vastgelegd."))
    if check_in.recorded_at is not None:
        raise Conflict(_l("Dit nazorgcontact is al vastgelegd."))
    try:
        situation = Situation(data.get("situation"))
    except ValueError:
        raise ValidationFailed(errors={"situation": [_l("Kies hoe het met de oud-leerling gaat.")]}) from None
    note = (data.get("note") or "").strip()
    if situation is Situation.niet_bereikt:
        if _add_attempt(session, actor, keyring, check_in, data, note, now) < ATTEMPTS_BEFORE_ALERT:
            return []
    # once: two people recording the same check-in at the same moment cannot both do it (nor
    # alert the RMC twice)
    if not compare_and_set(session, check_in, CheckIn.recorded_at.is_(None), situation=situation, recorded_at=now,
                           recorded_by_name=actor.name):
        raise Conflict(_l("Dit nazorgcontact is al vastgelegd."))
    if note:
        check_in.note_encrypted = keyring.encrypt(note, check_in.note_ref())
    check_in.wants_back = bool(data.get("wants_back"))
    purpose = PURPOSE_SCHOOL if is_route_school_staff(actor, route) else PURPOSE_RMC
    record(session, actor, action=AuditAction.update, event_type=CheckinTag.record, object_type="check_in",
           object_id=check_in.id, student_id=route.student_id, purpose=purpose,
           basis=_basis(purpose), detail={"months": check_in.months, "situation": situation.value, "note": bool(note),
                                          "wants_back": check_in.wants_back})
    if check_in.wants_back:
        _tell_school(session, keyring, check_in, base_url=base_url, now=now)
    alerted = []
    if (situation in ALERT_SITUATIONS or situation is Situation.niet_bereikt) and check_in.rmc_alerted_at is None:
        alerted = _alert_rmc(session, actor, keyring, check_in, situation, base_url=base_url, now=now)
    session.flush()
    return alerted


def _tell_school(session: Session, keyring: Keyring, check_in: CheckIn, *, base_url: str, now: dt.datetime) -> None:
    """The retourticket: the school's zorgcoördinators and decanen (and the route's responsible
    contact) hear that a former student wants to come back; no name in the message (it may leave
    the hub by e-mail), the link leads to the check-in, where the school's own decision applies."""
    route = check_in.route
    title = f"Nazorg: een oud-leerling van {route.school.name} wil terug naar school (retourticket)"
    link = CHECK_IN_PATH.format(check_in_id=check_in.id)
    accounts = set(organisation_staff(session, route.school_id, roles=[Role.zorgcoordinator, Role.decaan]))
    if check_in.assigned_account_id is not None:
        accounts.add(check_in.assigned_account_id)
    notify(session, keyring, sorted(accounts), kind=CheckinNotice.wants_back, title=title, link=link,
           base_url=base_url, now=now)


def _basis(purpose: str) -> str:
    return SCHOOL_BASIS if purpose == PURPOSE_SCHOOL else "legal_task:rmc-nazorg"


def attempt_errors(check_in: CheckIn, data: dict[str, Any], today: dt.date) -> dict[str, list[Any]]:
    """A "niet bereikt" attempt's field errors: the day (not in the future, not before the
    exit) and how it was tried."""
    errors: dict[str, list[Any]] = {}
    day = data.get("attempt_date")
    if not isinstance(day, dt.date):
        errors["attempt_date"] = [_l("Vul de datum van de contactpoging in.")]
    elif day > today:
        errors["attempt_date"] = [_l("De datum van de contactpoging ligt in de toekomst.")]
    elif check_in.route.exit_date and day < check_in.route.exit_date:
        errors["attempt_date"] = [_l("De datum van de contactpoging ligt vóór de uitstroom.")]
    try:
        ContactMethod(data.get("attempt_method"))
    except ValueError:
        errors["attempt_method"] = [_l("Kies hoe u contact probeerde te krijgen.")]
    return errors


def _add_attempt(session: Session, actor: Principal, keyring: Keyring, check_in: CheckIn, data: dict[str, Any],
                 note: str, now: dt.datetime) -> int:
    """Record a "niet bereikt" attempt on the open check-in; returns how many there are now."""
    if errors := attempt_errors(check_in, data, clock.today()):
        raise ValidationFailed(errors=errors)
    route = check_in.route
    attempt = ContactAttempt(attempted_on=data["attempt_date"], method=ContactMethod(data["attempt_method"]),
                             recorded_by_name=actor.name, created_at=now)
    check_in.attempts.append(attempt)
    if note:  # the latest note stays with the check-in until it is recorded
        check_in.note_encrypted = keyring.encrypt(note, check_in.note_ref())
    session.flush()
    count = session.scalar(select(func.count(ContactAttempt.id)).where(ContactAttempt.check_in_id == check_in.id))
    purpose = PURPOSE_SCHOOL if is_route_school_staff(actor, route) else PURPOSE_RMC
    record(session, actor, action=AuditAction.update, event_type=CheckinTag.attempt, object_type="check_in",
           object_id=check_in.id, student_id=route.student_id, purpose=purpose, basis=_basis(purpose),
           detail={"months": check_in.months, "attempt": count, "method": attempt.method.value,
                   "attempted_on": attempt.attempted_on.isoformat(), "note": bool(note)})
    return count


def _alert_rmc(session: Session, actor: Principal, keyring: Keyring, check_in: CheckIn, situation: Situation, *,
               base_url: str, now: dt.datetime) -> list[int]:
    """Notify the region's RMC(s) once (``rmc_alerted_at``); returns the ids alerted."""
    route = check_in.route
    link = RMC_ALERT_PATH.format(check_in_id=check_in.id)
    school_name = session.scalar(select(Organisation.name).where(Organisation.id == route.school_id))
    alerted = []
    for rmc in rmc_organisations(session, route):
        notify_organisation(session, keyring, rmc.id, kind=CheckinNotice.rmc_alert,
                            title=alert_title(situation, school_name), link=link, base_url=base_url, now=now)
        alerted.append(rmc.id)
    if alerted:
        check_in.rmc_alerted_at = now
        record(session, actor, action=AuditAction.execute, event_type=CheckinTag.rmc_alert,
               object_type="check_in", object_id=check_in.id, student_id=route.student_id, purpose=PURPOSE_RMC,
               detail={"rmc": alerted, "situation": situation.value})
    return alerted


def check_in_note(keyring: Keyring, check_in: CheckIn) -> str | None:
    return keyring.decrypt(check_in.note_encrypted, check_in.note_ref()) if check_in.note_encrypted else None
