"""A placement's status steps, without HTTP: the table, the refusals (unknown, illegal, no reason,
wrong date, an older form), the route's eindstage phase, the route's timeline, and a property
test that drives random step sequences through the real service and checks the invariants."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from network import clock
from network.audit import AuditEvent
from network.errors import Conflict, NotFound, ValidationFailed
from referrals.models import RoutePhase
from referrals.placements.lifecycle import change_status
from referrals.placements.models import Placement, PlacementEvent
from referrals.placements.service import create_placement
from referrals.placements.states import (
    FINAL,
    REASON_REQUIRED,
    TRANSITIONS,
    PlacementKind,
    PlacementStatus,
    allowed_next,
)
from referrals.route_service import update_route
from referrals.route_timeline import timeline
from tests.referrals._placement_world import pactors, placement_data, pworld  # noqa: F401  (fixtures)
from tests.referrals._world import route_actors, route_world  # noqa: F401  (fixtures)

S = PlacementStatus


@pytest.fixture
def placement(session, keyring, pworld, pactors):
    made = create_placement(session, pactors["mentor"], keyring, pworld["route"], placement_data(pworld))
    session.commit()
    return made


def _audits(session, event_type: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type).order_by(AuditEvent.id)))


# -- the table ---------------------------------------------------------------------------------

def test_the_table_is_closed_and_final_means_final():
    assert set(TRANSITIONS) == set(PlacementStatus)
    assert all(TRANSITIONS[s] == frozenset() for s in FINAL)
    assert all(s not in TRANSITIONS[s] for s in PlacementStatus)
    assert S.planned not in set().union(*TRANSITIONS.values())  # nothing goes back to planned
    assert allowed_next(S.running) == [S.paused, S.ended_early, S.completed]


# -- steps ---------------------------------------------------------------------------------------

def test_start_pause_resume_complete(session, pworld, pactors, placement):
    today = clock.today()
    change_status(session, pactors["mentor"], placement, "running", on_date=today - dt.timedelta(days=3))
    change_status(session, pactors["zorg"], placement, S.paused)
    change_status(session, pactors["mentor"], placement, S.running)
    change_status(session, pactors["mentor"], placement, S.completed)
    session.commit()
    assert placement.status is S.completed and placement.end_reason is None
    assert (placement.started_on, placement.ended_on) == (today - dt.timedelta(days=3), today)
    assert [(e.from_status, e.to_status) for e in placement.events] == [
        (None, S.planned), (S.planned, S.running), (S.running, S.paused), (S.paused, S.running),
        (S.running, S.completed)]
    assert [json.loads(a.detail)["to"] for a in _audits(session, "placement:status-change")] == [
        "running", "paused", "running", "completed"]


def test_an_illegal_step_is_a_conflict_naming_the_allowed_ones_and_writes_nothing(session, pactors, placement):
    version = placement.version
    with pytest.raises(Conflict) as refused:
        change_status(session, pactors["mentor"], placement, S.completed)
    assert refused.value.extra["allowed"] == ["running", "ended_early"]
    assert "kan niet naar" in str(refused.value.detail)
    session.rollback()
    assert placement.status is S.planned and placement.version == version and len(placement.events) == 1


def test_an_unknown_status_is_a_field_error(session, pactors, placement):
    with pytest.raises(ValidationFailed) as refused:
        change_status(session, pactors["mentor"], placement, "afgebroken")
    assert list(refused.value.errors) == ["status"]


def test_ending_early_needs_a_reason_and_keeps_it(session, pactors, placement):
    for reason in (None, "", "   "):
        with pytest.raises(ValidationFailed) as refused:
            change_status(session, pactors["mentor"], placement, S.ended_early, reason=reason)
        assert [str(m) for m in refused.value.errors["reason"]] == ["Schrijf waarom de stage voortijdig stopt."]
    with pytest.raises(ValidationFailed):
        change_status(session, pactors["mentor"], placement, S.ended_early, reason="x" * 501)
    change_status(session, pactors["mentor"], placement, S.ended_early, reason=" Verhuisd naar een andere stad ")
    assert placement.end_reason == "Verhuisd naar een andere stad" and placement.ended_on == clock.today()
    assert placement.events[-1].reason == "Verhuisd naar een andere stad"


def test_a_reason_is_kept_only_when_ending_early(session, pactors, placement):
    change_status(session, pactors["mentor"], placement, S.running, reason="Zomaar")
    assert placement.end_reason is None and placement.events[-1].reason is None


def test_dates_of_a_step(session, pactors, placement):
    today = clock.today()
    with pytest.raises(ValidationFailed) as refused:
        change_status(session, pactors["mentor"], placement, S.running, on_date=today + dt.timedelta(days=1))
    assert list(refused.value.errors) == ["on_date"]
    change_status(session, pactors["mentor"], placement, S.running, on_date=today - dt.timedelta(days=5))
    with pytest.raises(ValidationFailed) as refused:
        change_status(session, pactors["mentor"], placement, S.completed, on_date=today - dt.timedelta(days=6))
    assert "vóór de dag waarop ze begon" in str(refused.value.errors["on_date"][0])


def test_outsiders_and_older_forms_are_refused(session, pactors, placement):
    for outsider in ("other_mentor", "partner", "rmc_staff"):
        with pytest.raises(NotFound):
            change_status(session, pactors[outsider], placement, S.running)
    with pytest.raises(Conflict, match="intussen gewijzigd"):
        change_status(session, pactors["mentor"], placement, S.running, expected_version=placement.version - 1)
    session.rollback()
    assert placement.status is S.planned


def test_two_status_changes_at_once_the_second_gets_the_conflict(app, session, pactors, placement):
    from sqlalchemy.orm import Session as PlainSession

    from network.db import db

    with PlainSession(db.engine) as first, PlainSession(db.engine) as second:
        mine, theirs = first.get(Placement, placement.id), second.get(Placement, placement.id)
        change_status(first, pactors["mentor"], mine, S.running)
        first.commit()
        with pytest.raises(Conflict, match="intussen gewijzigd"):
            change_status(second, pactors["zorg"], theirs, S.ended_early, reason="Gaat niet door")
        second.rollback()
    session.expire_all()
    assert session.get(Placement, placement.id).status is S.running
    assert len(_audits(session, "placement:status-change")) == 1


# -- the route -----------------------------------------------------------------------------------

def test_starting_an_eindstage_marks_the_routes_eindstage_reached(session, keyring, pworld, pactors):
    route, mentor = pworld["route"], pactors["mentor"]
    bpv = create_placement(session, mentor, keyring, route, placement_data(pworld))
    change_status(session, mentor, bpv, S.running)
    session.commit()
    row = next(p for p in route.phases if p.phase is RoutePhase.eindstage)
    assert row.reached_date is None and route.phase is RoutePhase.aanmelding  # a BPV is no eindstage
    started = clock.today() - dt.timedelta(days=2)
    eindstage = create_placement(session, mentor, keyring, route, placement_data(
        pworld, kind="eindstage", service_id=pworld["lunchroom"].id, confirm_overlap=True,
        start_date=started, end_date=started + dt.timedelta(days=60)))
    route_version = route.version
    change_status(session, mentor, eindstage, S.running, on_date=started)
    session.commit()
    assert row.reached_date == started and route.phase is RoutePhase.eindstage and route.version == route_version + 1
    [audit] = [a for a in _audits(session, "route:update") if "placement_id" in json.loads(a.detail)]
    assert json.loads(audit.detail)["fields"] == ["reached_eindstage", "phase"]


def test_an_eindstage_does_not_move_a_route_back_nor_overwrite_a_reached_date(session, keyring, pworld, pactors):
    route, mentor, today = pworld["route"], pactors["mentor"], clock.today()
    update_route(session, mentor, route, {"phase": RoutePhase.afronding,
                                          "reached_eindstage": today - dt.timedelta(days=40)})
    placement = create_placement(session, mentor, keyring, route, placement_data(pworld, kind="eindstage"))
    change_status(session, mentor, placement, S.running)
    session.commit()
    assert route.phase is RoutePhase.afronding
    row = next(p for p in route.phases if p.phase is RoutePhase.eindstage)
    assert row.reached_date == today - dt.timedelta(days=40)


def test_each_placement_and_step_is_on_the_routes_timeline(session, keyring, pworld, pactors, placement):
    mentor = pactors["mentor"]
    change_status(session, mentor, placement, S.running)
    change_status(session, mentor, placement, S.paused)
    change_status(session, mentor, placement, S.running)
    change_status(session, mentor, placement, S.ended_early, reason="Te zwaar")
    session.commit()
    entries = [e for e in timeline(session, mentor, keyring, pworld["route"]).entries if e.kind == "placement"]
    titles = sorted(str(e.title) for e in entries)
    assert titles == sorted(f"Stage {verb}: BPV (stage) bij Bakkerij Van Dalen" for verb in (
        "vastgelegd", "begonnen", "gepauzeerd", "hervat", "voortijdig beëindigd"))
    assert any(e.detail == "Te zwaar" for e in entries)
    assert all(e.link == ("placements.detail", {"placement_id": placement.id}) for e in entries)
    assert _audits(session, "route:timeline")  # the read of the timeline is decided and audited


# -- the property --------------------------------------------------------------------------------

STEPS = st.lists(st.tuples(st.sampled_from([*PlacementStatus, "onbekend"]),
                           st.sampled_from([None, "", "Gestopt op eigen verzoek"]),
                           st.integers(min_value=-3, max_value=1)), max_size=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_random_step_sequences_keep_the_invariants(session, keyring, pworld, pactors, steps):
    """Whatever is asked in whatever order: the status moves only along the table; a final
    placement never changes again; a reason is there iff it ended early; an accepted step adds
    exactly one event and one audit event, a refused one adds nothing; the row version rises with
    every accepted step only."""
    mentor, today = pactors["mentor"], clock.today()
    placement = create_placement(session, mentor, keyring, pworld["route"], placement_data(
        pworld, start_date=today - dt.timedelta(days=10), end_date=today + dt.timedelta(days=30)))
    session.commit()
    try:
        for target, reason, offset in steps:
            before = (placement.status, placement.version, len(placement.events),
                      len(_audits(session, "placement:status-change")), placement.end_reason, placement.ended_on)
            on_date = today + dt.timedelta(days=offset)
            known = target in set(PlacementStatus)
            expected = (known and PlacementStatus(target) in TRANSITIONS[placement.status]
                        and (PlacementStatus(target) not in REASON_REQUIRED or bool((reason or "").strip()))
                        and offset <= 0
                        and not (PlacementStatus(target) in FINAL and placement.started_on
                                 and on_date < placement.started_on))
            try:
                change_status(session, mentor, placement, target, reason=reason, on_date=on_date)
                session.commit()
            except (Conflict, ValidationFailed):
                session.rollback()
                assert not expected, (before, target, reason, offset)
                assert (placement.status, placement.version, len(placement.events),
                        len(_audits(session, "placement:status-change")), placement.end_reason,
                        placement.ended_on) == before
                continue
            assert expected, (before, target, reason, offset)
            assert placement.status in TRANSITIONS[before[0]] and before[0] not in FINAL
            assert placement.version == before[1] + 1 and len(placement.events) == before[2] + 1
            assert len(_audits(session, "placement:status-change")) == before[3] + 1
            assert (placement.end_reason is not None) == (placement.status is S.ended_early)
            assert (placement.ended_on is not None) == (placement.status in FINAL)
            if placement.started_on and placement.ended_on:
                assert placement.ended_on >= placement.started_on
        stored = session.scalars(select(PlacementEvent.to_status).where(PlacementEvent.placement_id == placement.id)
                                 .order_by(PlacementEvent.id)).all()
        assert stored[-1] is placement.status  # one status: the last step's
        assert all(b in TRANSITIONS[a] for a, b in zip(stored[1:], stored[2:], strict=False))
    finally:
        session.delete(placement)
        session.commit()


def test_the_eindstage_kind_is_a_member():
    assert PlacementKind("eindstage") is PlacementKind.eindstage
