"""The placement tests' world: the route world (tests.referrals._world) plus the sociale kaart's
employers of the region (an active entry, a second entry of the same company, an entry that
is closed, an active entry of a company that is no longer active), an entry of a gemeente
(not an employer), an employer of another region, the region's uitstroomcoördinator, and the
student's open route. Imported by the placement test modules."""

from __future__ import annotations

import datetime as dt

import pytest

from network import clock
from network.models import OrganisationType, Role
from referrals.route_service import open_route
from socialmap.entries import ensure_default_categories
from socialmap.models import ServiceStatus
from tests.factories import OrganisationFactory, RegionFactory, make_member, principal_for
from tests.referrals._world import route_actors, route_world  # noqa: F401  (fixtures)
from tests.socialmap.conftest import add_service


@pytest.fixture
def pworld(session, route_world, route_actors):
    ensure_default_categories(session)
    region = route_world["region"]
    bakery = OrganisationFactory(region=region, type=OrganisationType.werkgever, name="Bakkerij Van Dalen",
                                 kvk="62451879", gemeente="Waalstede")
    closed_company = OrganisationFactory(region=region, type=OrganisationType.werkgever, name="Drukkerij Gesloten",
                                         kvk="11111111", is_active=False)
    far_company = OrganisationFactory(region=RegionFactory(), type=OrganisationType.werkgever, name="Elders BV",
                                      kvk="22222222")
    hub = OrganisationFactory(region=region, type=OrganisationType.hub, name="Schakel Testrand")
    world = dict(route_world)
    world.update(
        bakery=bakery,
        bakery_entry=add_service(bakery, "Leerwerkplek bakkerij", sector="Food"),
        lunchroom=add_service(bakery, "Stage lunchroom"),
        closed_entry=add_service(bakery, "Oude stageplek", status=ServiceStatus.inactive),
        inactive_company_entry=add_service(closed_company, "Stage drukkerij"),
        gemeente_entry=add_service(route_world["gemeente"], "Jobcoaching"),
        far_entry=add_service(far_company, "Stage elders"),
        coordinator=make_member(Role.coordinator, hub),
        hub=hub,
    )
    world["route"] = open_route(session, route_actors["mentor"], route_world["student"], {})
    session.commit()
    return world


@pytest.fixture
def pactors(pworld, route_actors):
    return {**route_actors, "coordinator": principal_for(pworld["coordinator"])}


def placement_data(world, **overrides) -> dict:
    """A loaded PlacementArgs for the world's route: a BPV at the bakery, next month, three days."""
    start = clock.today() + dt.timedelta(days=30)
    data = {
        "kind": "bpv", "service_id": world["bakery_entry"].id, "function": "Medewerker bakkerij",
        "trainer_name": "Henk van Dalen", "trainer_function": "Praktijkopleider",
        "trainer_email": "henk@bakkerij.example", "trainer_phone": "0487 512 345",
        "supervisor_account_id": world["mentor"].id, "start_date": start, "end_date": start + dt.timedelta(days=90),
        "schedule": {"ma": 360, "di": 360, "do": 450}, "with_coach": False, "coach_name": None,
        "learning_goals": ["Zelfstandig deeg maken", "Op tijd komen"], "werkprocessen": ["Maakt deeg", "Bakt brood"],
        "confirm_overlap": False, "copy_werkprocessen": False,
    }
    data.update(overrides)
    if isinstance(data["kind"], str):
        from referrals.placements.states import PlacementKind

        data["kind"] = PlacementKind(data["kind"])
    return data


def form_data(world, **overrides) -> dict[str, str]:
    """The same placement as the form posts it."""
    start = clock.today() + dt.timedelta(days=30)
    data = {
        "kind": "bpv", "service_id": str(world["bakery_entry"].id), "function": "Medewerker bakkerij",
        "trainer_name": "Henk van Dalen", "trainer_function": "Praktijkopleider",
        "trainer_email": "henk@bakkerij.example", "trainer_phone": "0487 512 345",
        "supervisor_account_id": str(world["mentor"].id), "start_date": start.isoformat(),
        "end_date": (start + dt.timedelta(days=90)).isoformat(), "hours_ma": "6", "hours_di": "6",
        "hours_do": "7,5", "start_with": "alleen", "learning_goals": "Zelfstandig deeg maken\nOp tijd komen",
        "werkprocessen": "Maakt deeg\nBakt brood",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}
