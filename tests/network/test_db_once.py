"""The two helpers of network.db for things that must happen once: ``add_unless_duplicate``
(an insert a unique index may refuse) and ``compare_and_set`` (a state change only while its
condition holds). The services' races are tested where they are (consent, agreements, routes,
check-ins); this is the mechanism itself, on both engines."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from network.db import add_unless_duplicate, compare_and_set, db
from network.models import Organisation, OrganisationType, Region
from tests.factories import RegionFactory


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_a_duplicate_is_refused_and_leaves_the_session_usable(session):
    RegionFactory(code="waalrand")
    session.commit()
    assert add_unless_duplicate(session, Region(name="Nog een", code="waalrand")) is False  # unique code
    assert add_unless_duplicate(session, Region(name="Rivierenland", code="rivierenland")) is True
    session.commit()
    assert sorted(session.scalars(select(Region.code))) == ["rivierenland", "waalrand"]


def test_any_other_integrity_error_is_raised_not_taken_for_a_duplicate(session):
    orphan = Organisation(region_id=999_999, name="Nergens", type=OrganisationType.gemeente)  # no such region
    with pytest.raises(IntegrityError):
        add_unless_duplicate(session, orphan)
    session.rollback()
    assert _count(session, Organisation) == 0


def test_compare_and_set_writes_only_while_the_condition_holds(session):
    region = RegionFactory(name="Waalrand")
    session.commit()
    assert region.name == "Waalrand"  # read by this request
    with db.engine.begin() as conn:  # another request renames it in between
        conn.execute(update(Region.__table__).where(Region.id == region.id).values(name="Rivierenland"))
    assert compare_and_set(session, region, Region.name == "Waalrand", name="Gelderland") is False
    assert region.name == "Rivierenland"  # the instance follows the database
    assert compare_and_set(session, region, Region.name == "Rivierenland", name="Gelderland") is True
    assert region.name == "Gelderland" and region not in session.dirty
    session.commit()
    assert session.scalar(select(Region.name).where(Region.id == region.id)) == "Gelderland"
