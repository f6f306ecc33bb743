"""Demo data: a few instruments of the move into work on the demo routes of students who left
school (idempotent: a route that has instruments gets none added)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from network.crypto import Keyring
from network.models import Organisation, OrganisationType, Student
from referrals.demo import staff_principal
from referrals.instruments import instrument_access, record_instrument
from referrals.instruments_models import Instrument
from referrals.models import Route
from referrals.route_service import add_months

T = OrganisationType
#: (first, last name, staff e-mail, [(kind, arranged by type, months after the exit, fields)])
DEMO_INSTRUMENTS = (
    ("Jesse", "Martens", "r.jansen@lindecollege.example", (
        ("doelgroepregister", T.uwv, -2, {"register_status": "geindiceerd", "evidence": "Besluit UWV DR-2026-0107",
                                          "arranged_by_name": "Team doelgroepregister"}),
        ("jobcoach", T.gemeente, 0, {"funder": "gemeente", "hours_per_week": 4,
                                     "evidence": "Beschikking JC-2026-0412", "arranged_by_name": "Jobcoach gemeente",
                                     "note": "Eerste drie maanden intensief."}),
        ("loonkostensubsidie", T.gemeente, 0, {"evidence": "Beschikking LKS-2026-0388",
                                               "arranged_by_name": "Werkbedrijf gemeente"}),
    )),
    ("Kevin", "Hermsen", "j.devries@rocwaalrand.example", (
        ("bpv_naar_bbl", T.school, 0, {"arranged_by_name": "Stagebureau"}),
        ("no_riskpolis", T.uwv, 0, {"arranged_by_name": "UWV werkgeversdienstverlening"}),
    )),
)


def seed_demo_instruments(session: Session, keyring: Keyring, today: dt.date) -> int:
    """Add the demo instruments that are missing; returns how many were added. Flushes only."""
    added = 0
    for first, last, email, rows in DEMO_INSTRUMENTS:
        route = session.scalar(select(Route).join(Student, Student.id == Route.student_id)
                               .where(Student.first_name == first, Student.last_name == last))
        actor = staff_principal(session, email)
        if route is None or actor is None or route.exit_date is None or actor.organisation_id != route.school_id:
            continue
        if session.scalar(select(Instrument.id).where(Instrument.route_id == route.id).limit(1)) is not None:
            continue
        region_id = session.scalar(select(Organisation.region_id).where(Organisation.id == route.school_id))
        for kind, by_type, months, extra in rows:
            arranged = route.school_id if by_type is T.school else session.scalar(
                select(Organisation.id).where(Organisation.region_id == region_id, Organisation.type == by_type)
                .order_by(Organisation.id).limit(1))
            if arranged is None:
                continue
            start = min(add_months(route.exit_date, months), today)
            access = instrument_access(session, actor, route.id)
            record_instrument(session, actor, keyring, access, {
                "kind": kind, "start_date": start, "arranged_by_organisation_id": arranged, **extra}, today=today)
            added += 1
    session.flush()
    return added
