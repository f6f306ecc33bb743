"""The route's part of the student's download ("alles wat Schakel over je bewaart", AVG art. 15
and 20): the route with its phases, its school-naar-werk-gesprekken, its eindgesprekken, its
exit, the follow-up check-ins, and the referrals about the student with their sign-up details
(issue 20, item 7).
Registered with :func:`consent.export.register_export_section`; the download's own decision
(action ``export``) covers it. Codes stay codes in the file (data to take elsewhere); the
student's pages show them in words.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from consent.export import register_export_section
from network.crypto import Keyring
from network.models import Student
from referrals.checkins import check_in_note
from referrals.eindgesprek import eindgesprek_answers, route_eindgesprekken
from referrals.intake import intake_answers, route_intakes
from referrals.models import CheckIn, Referral, Route
from referrals.route_exit import exit_details, route_exit
from referrals.states import ReferralStatus
from referrals.wizard_service import read_details


def _route(session: Session, student: Student) -> Route | None:
    return session.scalar(select(Route).where(Route.student_id == student.id))


def route(session: Session, keyring: Keyring, student: Student) -> list[dict[str, Any]]:
    found = _route(session, student)
    if found is None:
        return []
    return [{"school": found.school.name, "phase": found.phase, "status": found.status,
             "start_date": found.start_date, "expected_exit_date": found.expected_exit_date,
             "exit_date": found.exit_date, "startkwalificatie": found.startkwalificatie,
             "followup_months": found.followup_months,
             "phases": [{"phase": p.phase.value, "planned_date": p.planned_date.isoformat() if p.planned_date else None,
                         "reached_date": p.reached_date.isoformat() if p.reached_date else None}
                        for p in found.phases]}]


def eindgesprekken(session: Session, keyring: Keyring, student: Student) -> list[dict[str, Any]]:
    found = _route(session, student)
    if found is None:
        return []
    return [{"held_on": g.held_on, "recorded_by": g.recorded_by_name, **eindgesprek_answers(keyring, g)}
            for g in reversed(route_eindgesprekken(session, found))]


def route_exit_section(session: Session, keyring: Keyring, student: Student) -> list[dict[str, Any]]:
    found = _route(session, student)
    left = route_exit(session, found) if found is not None else None
    if left is None:
        return []
    return [{"exit_date": found.exit_date, "way_out": left.way_out, "destination": left.destination,
             "certificates": list(left.certificates), "startkwalificatie": found.startkwalificatie,
             "recorded_by": left.recorded_by_name, "updated_at": left.updated_at,
             **{key: None for key in ("reason", "next_school", "retourticket")}, **exit_details(keyring, left)}]


def intakes(session: Session, keyring: Keyring, student: Student) -> list[dict[str, Any]]:
    found = _route(session, student)
    if found is None:
        return []
    return [{"held_on": i.held_on, "recorded_by": i.recorded_by_name, **intake_answers(keyring, i)}
            for i in reversed(route_intakes(session, found))]


def check_ins(session: Session, keyring: Keyring, student: Student) -> list[dict[str, Any]]:
    rows = session.scalars(select(CheckIn).join(Route, Route.id == CheckIn.route_id)
                           .where(Route.student_id == student.id).order_by(CheckIn.due_date, CheckIn.id)
                           .options(selectinload(CheckIn.attempts)))
    return [{"months": c.months, "due_date": c.due_date, "situation": c.situation, "note": check_in_note(keyring, c),
             "recorded_at": c.recorded_at, "recorded_by": c.recorded_by_name,
             "attempts": [{"attempted_on": a.attempted_on.isoformat(), "method": a.method.value,
                           "recorded_by": a.recorded_by_name}
                          for a in c.attempts]} for c in rows]


def referrals(session: Session, keyring: Keyring, student: Student) -> list[dict[str, Any]]:
    """The referrals made about the student (not the school's unsent drafts), with the sign-up's details."""
    rows = session.scalars(select(Referral).where(
        Referral.student_id == student.id, Referral.status != ReferralStatus.draft).order_by(Referral.id))
    return [{"id": r.id, "from": r.from_organisation.name,
             "from_name": r.from_name, "to": r.to_organisation.name, "service": r.service.name if r.service else None,
             "purpose": r.purpose, "type": r.type, "status": r.status, "outcome": r.outcome,
             "categories": r.categories, "sent_at": r.sent_at, "details": read_details(keyring, r)} for r in rows]


register_export_section("route", route)
register_export_section("school_naar_werk_gesprekken", intakes)
register_export_section("eindgesprekken", eindgesprekken)
register_export_section("route_exit", route_exit_section)
register_export_section("check_ins", check_ins)
register_export_section("referrals", referrals)
