"""A small region for the route tests: a school with staff and students, another school, the
region's RMC, a gemeente, and an RMC of another region. Imported by the route test modules
(kept out of conftest.py, which the referral tests share)."""

from __future__ import annotations

import datetime as dt

import pytest

import consent  # noqa: F401  (registers the consent basis provider: the RMC's legal task)
from consent.catalogue import seed_catalogues
from network import clock
from network.models import OrganisationType, Role, SchoolLevel
from tests.factories import OrganisationFactory, RegionFactory, StudentFactory, make_member, principal_for


@pytest.fixture
def route_world(session):
    seed_catalogues(session)
    session.commit()
    region, far = RegionFactory(), RegionFactory()
    school = OrganisationFactory(region=region, school=True, name="ROC Waalrand")
    other_school = OrganisationFactory(region=region, school=True)
    rmc = OrganisationFactory(region=region, type=OrganisationType.rmc, name="RMC Waalrand")
    far_rmc = OrganisationFactory(region=far, type=OrganisationType.rmc, name="RMC Elders")
    gemeente = OrganisationFactory(region=region, type=OrganisationType.gemeente)
    today = clock.today()
    world = {
        "region": region, "school": school, "other_school": other_school, "rmc": rmc, "far_rmc": far_rmc,
        "gemeente": gemeente,
        "mentor": make_member(Role.mentor, school),
        "zorg": make_member(Role.zorgcoordinator, school),
        "other_mentor": make_member(Role.mentor, other_school),
        "partner": make_member(Role.partner_staff, gemeente),
        "rmc_staff": make_member(Role.partner_staff, rmc),
        "far_rmc_staff": make_member(Role.partner_staff, far_rmc),
        "student": StudentFactory(school=school, level=SchoolLevel.mbo2, first_name="Sanne", last_name="Visser",
                                  expected_exit_date=today + dt.timedelta(days=200)),
        "entree": StudentFactory(school=school, level=SchoolLevel.entree,
                                 expected_exit_date=today + dt.timedelta(days=100)),
    }
    return world


@pytest.fixture
def route_actors(route_world):
    return {name: principal_for(route_world[name]) for name in
            ("mentor", "zorg", "other_mentor", "partner", "rmc_staff", "far_rmc_staff")}
