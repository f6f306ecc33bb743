"""The read-only world the authorization matrix shares (tests.conftest.shared_world): built once
for the tests that share it, and gone for any test that does not."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import func, select

from network.models import Region
from tests.conftest import _KEPT_WORLD, fresh_tables, shared_world
from tests.factories import RegionFactory


def _request(app, marked: bool = True):
    node = SimpleNamespace(get_closest_marker=lambda name: marked or None)
    return SimpleNamespace(node=node, getfixturevalue=lambda name: app)


def _regions(session) -> int:
    return session.scalar(select(func.count()).select_from(Region))


def test_the_world_is_built_once_for_the_tests_that_share_it_and_emptied_for_the_next(app, session):
    builds = []

    def build():
        builds.append(1)
        return {"region_code": RegionFactory().code}

    first = shared_world(_request(app), "probe", build)
    again = shared_world(_request(app), "probe", build)
    assert first == again and len(builds) == 1 and _regions(session) == 1

    other = shared_world(_request(app), "another", build)  # another key: empty tables, a new world
    assert len(builds) == 2 and other != first and _regions(session) == 1

    fresh_tables(_request(app))  # a test that writes, or is not marked: empty tables
    session.expire_all()
    assert _regions(session) == 0 and not _KEPT_WORLD


def test_only_a_marked_test_may_share(app):
    try:
        shared_world(_request(app, marked=False), "probe", dict)
    except AssertionError as exc:
        assert "shared_world" in str(exc)
    else:
        raise AssertionError("an unmarked test got a shared world")
