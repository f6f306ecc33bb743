"""Follow-up that lasts two years (issue 20, item 5): check-ins at 3, 6, 12, 18 and 24 months up
to the route's term, the term per school level and region as data (defaults when the region
set none), the page where the uitstroomcoördinator sets it, and the follow-up job over two
years under a time machine (run twice: the work once)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from network import clock
from network.audit import AuditEvent
from network.clock import AMSTERDAM
from network.db import db
from network.errors import Forbidden, NotFound, ValidationFailed
from network.models import OrganisationType, Role, SchoolLevel
from network.notifications import Notification
from network.scheduler import job_by_id
from referrals.checkins import record_exit
from referrals.followup_models import FollowupTerm
from referrals.followup_terms import DEFAULT_TERMS, region_terms, set_region_term
from referrals.jobs import register_jobs
from referrals.models import CheckIn, Route, RouteStatus
from referrals.route_service import add_months, open_route
from tests.conftest import post_form
from tests.factories import OrganisationFactory, StudentFactory, login, make_member, principal_for
from tests.referrals._world import route_actors, route_world  # noqa: F401  (fixtures)


@pytest.fixture
def terms_world(session, route_world):
    """The route world plus the region's hub (its coordinator), another region's coordinator, a
    hub admin (of the other region) and students of each school level at the school."""
    hub = OrganisationFactory(region=route_world["region"], type=OrganisationType.hub, name="Hub Waalrand")
    far_hub = OrganisationFactory(region=route_world["far_rmc"].region, type=OrganisationType.hub, name="Hub Elders")
    school, later = route_world["school"], clock.today() + dt.timedelta(days=100)
    world = {**route_world, "hub": hub,
             "coordinator": make_member(Role.coordinator, hub, name="Coördinator Mulder"),
             "far_coordinator": make_member(Role.coordinator, far_hub, name="Coördinator Elders"),
             "admin": make_member(Role.hub_admin, far_hub, name="Beheerder Hub")}
    for level in (SchoolLevel.vso, SchoolLevel.pro, SchoolLevel.mbo4):
        world[level.value] = StudentFactory(school=school, level=level, expected_exit_date=later)
    session.commit()
    return world


def _actor(world, name):
    return principal_for(world[name])


def _exit(session, world, student_key, *, months_ago=0):
    mentor = principal_for(world["mentor"])
    route = open_route(session, mentor, world[student_key], {})
    exit_date = add_months(clock.today(), -months_ago)
    route.start_date = add_months(exit_date, -12)
    record_exit(session, mentor, route, exit_date)
    session.commit()
    return route


# -- the term as data ----------------------------------------------------------------------------

@pytest.mark.parametrize(("student", "months", "schedule"), [
    ("entree", 24, [3, 6, 12, 18, 24]), ("vso", 24, [3, 6, 12, 18, 24]),
    ("pro", 12, [3, 6, 12]), ("student", 12, [3, 6, 12]), ("mbo4", 12, [3, 6, 12])])
def test_defaults_when_the_region_set_nothing(session, terms_world, student, months, schedule):
    route = _exit(session, terms_world, student)
    assert route.followup_months == months
    assert [c.months for c in route.check_ins] == schedule
    assert [c.due_date for c in route.check_ins] == [add_months(route.exit_date, m) for m in schedule]


def test_the_regions_term_decides_the_schedule(session, terms_world):
    coordinator = _actor(terms_world, "coordinator")
    set_region_term(session, coordinator, None, "pro", "18")
    set_region_term(session, coordinator, None, "mbo2", 6)
    set_region_term(session, coordinator, None, "vso", "36")
    session.commit()
    assert [c.months for c in _exit(session, terms_world, "pro").check_ins] == [3, 6, 12, 18]
    assert [c.months for c in _exit(session, terms_world, "student").check_ins] == [3, 6]
    vso = _exit(session, terms_world, "vso")
    assert vso.followup_months == 36 and [c.months for c in vso.check_ins] == [3, 6, 12, 18, 24]
    # another region's term does not reach this school
    set_region_term(session, _actor(terms_world, "admin"), terms_world["far_rmc"].region_id, "mbo4", "24")
    session.commit()
    assert _exit(session, terms_world, "mbo4").followup_months == 12


def test_entree_keeps_at_least_24_months(session, terms_world):
    """wants_rmc_followup's rule stays: the region cannot shorten entree below two years."""
    set_region_term(session, _actor(terms_world, "coordinator"), None, "entree", "12")
    session.commit()
    assert _exit(session, terms_world, "entree").followup_months == 24


def test_a_changed_term_does_not_rewrite_a_route_in_follow_up(session, terms_world):
    route = _exit(session, terms_world, "student", months_ago=2)
    assert route.followup_months == 12
    set_region_term(session, _actor(terms_world, "coordinator"), None, "mbo2", "24")
    session.commit()
    assert record_exit(session, principal_for(terms_world["mentor"]), route, route.exit_date) == []
    session.commit()
    db.session.expire_all()
    route = session.get(Route, route.id)
    assert route.followup_months == 12 and [c.months for c in route.check_ins] == [3, 6, 12]
    # a route that had not left yet takes the new term at its exit
    assert _exit(session, terms_world, "entree").followup_months == 24


@pytest.mark.parametrize("months", ["", "abc", "5", "37", "12.5", "-12", None])
def test_bad_months_are_refused_with_a_dutch_message_and_nothing_written(session, terms_world, months):
    with pytest.raises(ValidationFailed) as exc:
        set_region_term(session, _actor(terms_world, "coordinator"), None, "pro", months)
    assert "hele maanden" in str(exc.value.errors["months"][0])
    session.rollback()
    assert session.scalar(select(func.count(FollowupTerm.id))) == 0


def test_an_unknown_level_is_refused(session, terms_world):
    with pytest.raises(ValidationFailed) as exc:
        set_region_term(session, _actor(terms_world, "coordinator"), None, "havo", "12")
    assert "schoolsoort" in str(exc.value.errors["level"][0])


def test_walls_of_the_term(session, terms_world):
    region_id = terms_world["region"].id
    with pytest.raises(NotFound):
        set_region_term(session, _actor(terms_world, "far_coordinator"), region_id, "pro", "24")
    with pytest.raises(NotFound):
        region_terms(session, _actor(terms_world, "far_coordinator"), region_id)
    for name in ("mentor", "rmc_staff"):
        with pytest.raises(Forbidden):
            set_region_term(session, _actor(terms_world, name), region_id, "pro", "24")
    assert session.scalar(select(func.count(FollowupTerm.id))) == 0
    # the hub admin may set any region's term; audited with what it was before
    assert set_region_term(session, _actor(terms_world, "admin"), region_id, "pro", "24") is not None
    assert set_region_term(session, _actor(terms_world, "admin"), region_id, "pro", "24") is None  # unchanged
    session.commit()
    _region, rows = region_terms(session, _actor(terms_world, "coordinator"), None)
    pro = next(r for r in rows if r.level is SchoolLevel.pro)
    assert (pro.months, pro.is_set, pro.default, pro.updated_by) == (24, True, 12, "Beheerder Hub")
    assert {r.level: r.months for r in rows if not r.is_set} == {
        level: months for level, months in DEFAULT_TERMS.items() if level is not SchoolLevel.pro}
    audits = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "route:followup-term")).all()
    assert len(audits) == 1 and audits[0].object_id == str(region_id) \
        and json.loads(audits[0].detail) == {"before": 12, "level": "pro", "months": 24}


# -- the page ------------------------------------------------------------------------------------

def test_the_coordinator_sets_a_term_on_the_page(client, session, terms_world):
    login(client, terms_world["coordinator"])
    page = client.get("/regio/nazorgtermijn")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Praktijkonderwijs (PrO)" in html and "24 maanden" in html and "houden hun termijn" in html
    assert "mbo2" not in html.replace('value="mbo2"', "").replace("f-mbo2-", "")  # no code shown
    saved = post_form(client, "/regio/nazorgtermijn", {"level": "pro", "months": "18"})
    assert saved.status_code == 302
    assert session.scalar(select(FollowupTerm.months).where(FollowupTerm.level == SchoolLevel.pro)) == 18
    assert "ingesteld door Coördinator Mulder" in client.get("/regio/nazorgtermijn").get_data(as_text=True)
    assert "Nazorgtermijn per schoolsoort instellen" in client.get("/regio/").get_data(as_text=True)


def test_bad_input_on_the_page_keeps_what_was_typed(client, session, terms_world):
    login(client, terms_world["coordinator"])
    response = post_form(client, "/regio/nazorgtermijn", {"level": "pro", "months": "40"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Vul een aantal hele maanden in, van 6 tot en met 36." in html
    assert 'id="f-pro-months" name="months" value="40"' in html and 'href="#f-pro-months"' in html
    assert session.scalar(select(func.count(FollowupTerm.id))) == 0


def test_walls_on_the_page(client, session, terms_world):
    region_id = terms_world["region"].id
    login(client, terms_world["far_coordinator"])
    assert client.get(f"/regio/nazorgtermijn?regio={region_id}").status_code == 404
    assert post_form(client, f"/regio/nazorgtermijn?regio={region_id}",
                     {"level": "pro", "months": "24"}).status_code == 404
    login(client, terms_world["mentor"])
    assert client.get("/regio/nazorgtermijn").status_code == 403
    assert post_form(client, "/regio/nazorgtermijn", {"level": "pro", "months": "24"}).status_code == 403
    assert session.scalar(select(func.count(FollowupTerm.id))) == 0
    login(client, terms_world["admin"])
    assert client.get(f"/regio/nazorgtermijn?regio={region_id}").status_code == 200
    assert post_form(client, f"/regio/nazorgtermijn?regio={region_id}",
                     {"level": "pro", "months": "24"}).status_code == 302
    assert session.scalar(select(FollowupTerm.region_id)) == region_id


# -- two years under a time machine --------------------------------------------------------------

def _at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(9), AMSTERDAM)


def test_two_years_of_follow_up_per_school_type(app, session, terms_world, time_machine):
    """The job over two years: a VSO leaver is reminded at 3, 6, 12, 18 and 24 months and the
    route closes after the last one's grace period; an mbo leaver (12 months) closes after a
    year; a PrO leaver in a region that agreed 18 months gets the 18-month check-in. Every run
    is repeated: the second does nothing."""
    register_jobs()
    job = job_by_id("referrals.followup")
    set_region_term(session, _actor(terms_world, "coordinator"), None, "pro", "18")
    session.commit()
    vso, mbo, pro = (_exit(session, terms_world, key) for key in ("vso", "student", "pro"))
    exit_date = vso.exit_date
    reminded: list[tuple[int, int]] = []
    closed_on: dict[int, dt.date] = {}
    day = exit_date
    while day <= add_months(exit_date, 26):
        time_machine.move_to(_at(day), tick=False)
        job.run(app)
        assert job.run(app) == "reminded 0, closed 0"  # twice: the work once
        db.session.expire_all()
        for route in session.scalars(select(Route).where(Route.status == RouteStatus.closed)):
            closed_on.setdefault(route.id, day)
        day += dt.timedelta(days=7)
    reminded = sorted(session.execute(select(CheckIn.route_id, CheckIn.months)
                                      .where(CheckIn.reminded_at.is_not(None))).all())
    assert [m for r, m in reminded if r == vso.id] == [3, 6, 12, 18, 24]
    assert [m for r, m in reminded if r == mbo.id] == [3, 6, 12]
    assert [m for r, m in reminded if r == pro.id] == [3, 6, 12, 18]
    assert session.scalar(select(func.count(Notification.id)).where(Notification.kind == "checkin:due")) == 12
    # open check-ins: each route closes 30 days (the grace) after its end, within the week's step
    for route, months in ((vso, 24), (mbo, 12), (pro, 18)):
        end = add_months(exit_date, months) + dt.timedelta(days=30)
        assert end <= closed_on[route.id] < end + dt.timedelta(days=7)
    eighteen = session.scalar(select(CheckIn).where(CheckIn.route_id == vso.id, CheckIn.months == 18))
    assert eighteen.due_date == add_months(exit_date, 18)
