"""The demo sociale kaart: ~40 entries over every organisation type, employers included;
idempotent; and the common Dutch questions find something."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from network.db import db
from network.demo import seed_demo_region
from network.models import Organisation
from network.passwords import make_hasher
from socialmap.demo import ENTRIES, seed_demo_socialmap
from socialmap.models import Service
from socialmap.search import SearchQuery, search_services


def test_demo_map(app, session, keyring):
    today = dt.date(2026, 11, 22)
    seed_demo_region(session, keyring, hasher=make_hasher(1, 1024), today=today)
    assert seed_demo_socialmap(session, today) == len(ENTRIES) >= 38
    session.commit()
    assert seed_demo_socialmap(session, today) == 0
    types = set(session.scalars(select(Organisation.type).join(Service, Service.organisation_id == Organisation.id)))
    all_types = set(session.scalars(select(Organisation.type)))
    assert types == all_types  # every organisation type of the demo region has entries
    assert session.scalar(select(func.count()).select_from(Service)) == len(ENTRIES)
    def found(text):
        return [s.name for s in search_services(db.session, SearchQuery(text=text)).page.items]

    assert found("jobcoach")[0] == "Jobcoach team jongeren"
    assert found("stage horeca")[0] == "Stage lunchroom: keuken en bediening"
    debts = found("schulden")
    assert len(debts) >= 3 and all("schuld" in name.lower() for name in debts[:3]), debts
