"""referrals.demo: the demo routes are added once, one with an overdue follow-up check-in."""

from __future__ import annotations

from sqlalchemy import func, select

from network import clock
from referrals.demo import DEMO_ROUTES, seed_demo_routes
from referrals.models import CheckIn, Intake, Route, RouteStatus


def test_seed_demo_routes_is_idempotent(app, session, keyring):
    from network.demo import seed_demo_region
    from network.passwords import make_hasher

    today = clock.today()
    seed_demo_region(session, keyring, hasher=make_hasher(1, 1024), today=today)
    session.commit()
    assert seed_demo_routes(session, keyring, today) == len(DEMO_ROUTES)
    session.commit()
    assert seed_demo_routes(session, keyring, today) == 0
    assert session.scalar(select(func.count(Route.id))) == len(DEMO_ROUTES)
    assert session.scalar(select(func.count(Route.id)).where(Route.status == RouteStatus.followup)) == 2
    assert session.scalar(select(func.count(Intake.id))) >= 3
    overdue = session.scalars(select(CheckIn).where(CheckIn.recorded_at.is_(None), CheckIn.due_date < today)).all()
    assert len(overdue) == 2  # Kevin's 3-month and Jesse's 6-month check-in
    assert session.scalar(select(func.count(CheckIn.id)).where(CheckIn.situation.is_not(None))) == 1


def test_seed_demo_instruments_is_idempotent(app, session, keyring):
    from network.demo import seed_demo_region
    from network.passwords import make_hasher
    from referrals.instruments_demo import DEMO_INSTRUMENTS, seed_demo_instruments
    from referrals.instruments_models import Instrument

    today = clock.today()
    seed_demo_region(session, keyring, hasher=make_hasher(1, 1024), today=today)
    seed_demo_routes(session, keyring, today)
    session.commit()
    expected = sum(len(rows) for _first, _last, _email, rows in DEMO_INSTRUMENTS)
    assert seed_demo_instruments(session, keyring, today) == expected
    session.commit()
    assert seed_demo_instruments(session, keyring, today) == 0
    assert session.scalar(select(func.count(Instrument.id))) == expected
