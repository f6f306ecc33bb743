"""Follow-up (nazorg) check-ins after the exit: recording the exit (which schedules the
check-ins at 3, 6, 12 and, for RMC follow-up, 24 months), recording what a check-in found, and
the alert to the region's RMC when the young person dropped out or is lost from view.

Same conventions as :mod:`referrals.route_service`: session, actor, keyring and clock in; flush,
never commit; audited in the same transaction. The alert carries no name (it leaves the hub
by e-mail); its link leads to a page where the RMC reads the student on its legal task.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from network import clock
from network.audit import AuditAction, record
from network.clock import utcnow
from network.crypto import Keyring
from network.db import compare_and_set
from network.errors import Conflict, NotFound, ValidationFailed
from network.models import Organisation, OrganisationType
from network.notifications import notify_organisation
from network.permissions import Principal
from referrals.models import ALERT_SITUATIONS, CheckIn, Route, RouteStatus, Situation
from referrals.route_service import (
    CHECK_IN_MONTHS,
    PURPOSE_RMC,
    PURPOSE_SCHOOL,
    RMC_ALERT_PATH,
    SCHOOL_BASIS,
    add_months,
    find_route,
    is_route_rmc,
    is_route_school_staff,
    require_route_manager,
    wants_rmc_followup,
)
from referrals.tags import CheckinNotice, CheckinTag, RouteTag

#: how far ahead an exit may be recorded (issue 20: "in the future beyond a month" is refused)
EXIT_AHEAD_MONTHS = 1

# -- the exit: scheduling the check-ins --------------------------------------------------------

def record_exit(session: Session, actor: Principal, route: Route, exit_date: dt.date | None, *,
                startkwalificatie: bool | None = None, today: dt.date | None = None) -> list[CheckIn]:
    """The student left school on ``exit_date``: the route goes to follow-up and check-ins are
    scheduled at 3, 6 and 12 months (and 24 for RMC follow-up), assigned to the responsible
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
    if wants_rmc_followup(session, route, route.student):
        route.followup_months = 24
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
    # once: two people recording the same check-in at the same moment cannot both do it (nor
    # alert the RMC twice)
    if not compare_and_set(session, check_in, CheckIn.recorded_at.is_(None), situation=situation, recorded_at=now,
                           recorded_by_name=actor.name):
        raise Conflict(_l("Dit nazorgcontact is al vastgelegd."))
    note = (data.get("note") or "").strip()
    check_in.note_encrypted = keyring.encrypt(note, check_in.note_ref()) if note else None
    purpose = PURPOSE_SCHOOL if is_route_school_staff(actor, route) else PURPOSE_RMC
    record(session, actor, action=AuditAction.update, event_type=CheckinTag.record, object_type="check_in",
           object_id=check_in.id, student_id=route.student_id, purpose=purpose,
           basis=SCHOOL_BASIS if purpose == PURPOSE_SCHOOL else "legal_task:rmc-nazorg",
           detail={"months": check_in.months, "situation": situation.value, "note": bool(note)})
    alerted = []
    if situation in ALERT_SITUATIONS and check_in.rmc_alerted_at is None:
        link = RMC_ALERT_PATH.format(check_in_id=check_in.id)
        school_name = session.scalar(select(Organisation.name).where(Organisation.id == route.school_id))
        for rmc in rmc_organisations(session, route):
            notify_organisation(session, keyring, rmc.id, kind=CheckinNotice.rmc_alert,
                                title=alert_title(situation, school_name), link=link, base_url=base_url, now=now)
            alerted.append(rmc.id)
        if alerted:
            check_in.rmc_alerted_at = now
            record(session, actor, action=AuditAction.execute, event_type=CheckinTag.rmc_alert,
                   object_type="check_in", object_id=check_in.id, student_id=route.student_id, purpose=PURPOSE_RMC,
                   detail={"rmc": alerted, "situation": situation.value})
    session.flush()
    return alerted


def check_in_note(keyring: Keyring, check_in: CheckIn) -> str | None:
    return keyring.decrypt(check_in.note_encrypted, check_in.note_ref()) if check_in.note_encrypted else None
