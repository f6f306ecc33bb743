"""Demo routes for ``schakel demo seed`` (after the core demo data and consents): students of
Regio Waalrand in various phases of their Transitieroute, with school-naar-werk-gesprekken,
and two who left school — one of them with an overdue follow-up check-in. Made through the
same services the pages use; idempotent (a student with a route is left alone)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from network.crypto import Keyring
from network.models import Account, Membership, SchoolLevel, Student
from network.permissions import Principal, permissions_for
from network.web import acting_from
from referrals.checkins import record_check_in
from referrals.intake import record_intake
from referrals.models import CheckIn, Route, RoutePhase
from referrals.route_exit import record_structured_exit
from referrals.route_service import add_months, open_route, update_route

#: (first, last name, staff e-mail, phase, months since exit or None, intake days ago or None)
DEMO_ROUTES = (
    ("Daan", "Willems", "j.devries@rocwaalrand.example", RoutePhase.eindstage, None, 120),
    ("Yasmina", "Bouzid", "f.elamrani@rocwaalrand.example", RoutePhase.gesprek, None, 10),
    ("Mohammed", "Aydin", "m.dekker@lindecollege.example", RoutePhase.plan, None, 45),
    ("Sem", "Gerritsen", "i.peters@vsodebrug.example", RoutePhase.aanmelding, None, None),
    # left school four months ago: the 3-month check-in is overdue
    ("Kevin", "Hermsen", "j.devries@rocwaalrand.example", RoutePhase.eerste_baan, 4, 300),
    # left seven months ago: working at 3 months, the 6-month check-in is overdue
    ("Jesse", "Martens", "r.jansen@lindecollege.example", RoutePhase.eerste_baan, 7, None),
)

_INTAKE = {
    "talked_with": "Student en mentor", "dream_job": "Magazijnmedewerker",
    "plans_after": "Werken bij een logistiek bedrijf in de buurt, het liefst bij het stagebedrijf.",
    "has_cv": "ja", "has_letter": "nee", "exp_interview": "nee",
    "application_support": "Oefenen met sollicitatiegesprekken.",
    "support_expected": "Een vast aanspreekpunt op het werk en hulp bij het regelen van vervoer.",
    "summary": "Wil na de opleiding aan het werk; heeft hulp nodig bij solliciteren en een jobcoach in de "
               "eerste maanden.",
    "parties_to_involve": "Gemeente Waalstede (jobcoach), Werkgeversservicepunt",
    "follow_up": "Over twee weken: cv bijwerken met de mentor.",
}


def staff_principal(session: Session, email: str) -> Principal | None:
    """The demo staff member with ``email`` acting for their first organisation (None: not seeded)."""
    account = session.scalar(select(Account).where(Account.email == email))
    membership = account and session.scalar(select(Membership).where(Membership.account_id == account.id)
                                            .order_by(Membership.id))
    if membership is None:
        return None
    acting = acting_from(membership)
    return Principal(account_id=account.id, name=account.name, acting=acting, memberships=(acting,),
                     permissions=permissions_for(acting.role), channel="cli")


def seed_demo_routes(session: Session, keyring: Keyring, today: dt.date) -> int:
    """Add the demo routes that are missing; returns how many were added. Flushes only."""
    added = 0
    phases = list(RoutePhase)
    for first, last, email, phase, months_since_exit, intake_days_ago in DEMO_ROUTES:
        student = session.scalar(select(Student).where(Student.first_name == first, Student.last_name == last))
        actor = staff_principal(session, email)
        if student is None or actor is None or actor.organisation_id != student.school_id:
            continue
        if session.scalar(select(Route.id).where(Route.student_id == student.id)) is not None:
            continue
        data = {}
        exit_date = None
        if months_since_exit is not None:
            exit_date = add_months(today, -months_since_exit)
            data = {"expected_exit_date": exit_date, "start_date": add_months(exit_date, -12)}
        route = open_route(session, actor, student, data, today=today)
        if intake_days_ago is not None:
            held = max(today - dt.timedelta(days=intake_days_ago), route.start_date)
            record_intake(session, actor, keyring, route, {"held_on": held, **_INTAKE}, today=today)
        reached = {f"reached_{p.value}": min(row.planned_date, today) for p in phases[:phases.index(phase) + 1]
                   for row in route.phases if row.phase is p and row.reached_date is None}
        if phase is not RoutePhase.aanmelding:
            update_route(session, actor, route, {"phase": phase, **reached}, today=today)
        if exit_date is not None:
            # the demo's leavers graduated: from mbo 2 on that is a startkwalificatie (so the RMC's
            # legal task does not cover them; Lisa and Yasmina are reported to the RMC instead)
            # recorded as the exit page does: with the way out, the destination and a retourticket
            with_sk = student.level in (SchoolLevel.mbo2, SchoolLevel.mbo3, SchoolLevel.mbo4)
            record_structured_exit(session, actor, keyring, route, {
                "exit_date": exit_date, "startkwalificatie": "ja" if with_sk else "nee",
                "way_out": "diploma" if with_sk else "entree_diploma", "certificates": "VCA\nHeftruck",
                "destination": "werk_met_ondersteuning",
                "retourticket": "Later alsnog een opleiding in de BBL bij de werkgever."}, today=today)
            first_check_in = session.scalar(select(CheckIn).where(CheckIn.route_id == route.id, CheckIn.months == 3))
            if months_since_exit >= 6 and first_check_in is not None:
                record_check_in(session, actor, keyring, first_check_in,
                                {"situation": "werkend", "note": "Werkt 24 uur per week in de logistiek; tevreden."})
        added += 1
    session.flush()
    return added
