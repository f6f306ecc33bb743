"""The company side of the map's tests: the placement world (tests.referrals._placement_world)
with offers on the bakery's entry, two more employers of the region (a logistics company that
fits the student's plan, a company whose eindstage places are all taken), and helpers to add
placements and submitted assessments directly (counts need many states, not the lifecycle)."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from network import clock
from network.models import OrganisationType, Role
from network.permissions import system_principal
from referrals.placements.assessment_models import AssessmentStatus, PlacementAssessment
from referrals.placements.models import Placement
from referrals.placements.states import PlacementKind, PlacementStatus
from socialmap.employer_offer import save_offer
from tests.factories import OrganisationFactory, RegionFactory, make_member, principal_for
from tests.socialmap.conftest import add_service


def offer(places, adaptations=(), functions=None, *, trained=False, sbb=False) -> dict:
    return {"places": places, "adaptations": sorted(adaptations), "trained_trainer": trained, "trained_since": None,
            "functions": [{"name": n, "werkprocessen": w} for n, w in (functions or {}).items()],
            "bbl_possible": False, "sbb_recognised": sbb, "sbb_number": None, "banenafspraak": False,
            "loonkostensubsidie": False, "version": None}


@pytest.fixture
def eworld(session, pworld):
    region = pworld["region"]
    logistics = OrganisationFactory(region=region, type=OrganisationType.werkgever, name="Logistiek Centrum")
    busy = OrganisationFactory(region=region, type=OrganisationType.werkgever, name="Drukke Drukkerij")
    far_hub = OrganisationFactory(region=RegionFactory(), type=OrganisationType.hub)
    world = dict(pworld, logistics=logistics, busy=busy,
                 logistics_entry=add_service(logistics, "Stage orderpicken", sector="Logistiek"),
                 busy_entry=add_service(busy, "Stage drukwerk"),
                 far_coordinator=make_member(Role.coordinator, far_hub))
    actor = system_principal(channel="cli", name="test")
    save_offer(session, actor, world["bakery_entry"], offer({"bpv": 2}, ["instructie_in_stappen"],
                                                            {"Bakkerijmedewerker": ["Maakt deeg"]}, trained=True))
    save_offer(session, actor, world["logistics_entry"], offer(
        {"eindstage": 1, "bpv": 1}, ["vaste_begeleider", "dagplanning", "rustige_werkplek"],
        {"Orderpicker": ["Verzamelt orders met de handscanner", "Controleert en verpakt orders"]}, trained=True))
    save_offer(session, actor, world["busy_entry"], offer({"eindstage": 1}, [], {"Drukker": ["Bedient de pers"]},
                                                          trained=True))
    session.commit()
    return world


@pytest.fixture
def eactors(eworld, pactors):
    return {**pactors, "far_coordinator": principal_for(eworld["far_coordinator"])}


def add_placement(session, world, company, status: PlacementStatus, *, kind=PlacementKind.bpv, hired=None,
                  entry=None) -> Placement:
    today = clock.today()
    placement = Placement(
        route_id=world["route"].id, student_id=world["student"].id, school_id=world["school"].id, kind=kind,
        status=status, organisation_id=company.id, service_id=entry.id if entry else None, function="Medewerker",
        trainer_name="Praktijkopleider", start_date=today - dt.timedelta(days=100), end_date=today,
        schedule={"ma": 360}, created_by_name="Mentor", hired=hired,
        end_reason="Te druk" if status is PlacementStatus.ended_early else None)
    session.add(placement)
    session.flush()
    return placement


def add_assessment(session, keyring, placement: Placement, *, if_so="", if_not="", would_hire=None,
                   days_ago: int = 10) -> PlacementAssessment:
    now = clock.utcnow() - dt.timedelta(days=days_ago)
    assessment = PlacementAssessment(
        uuid=uuid.uuid4(), placement_id=placement.id, student_id=placement.student_id, school_id=placement.school_id,
        status=AssessmentStatus.submitted, sent_to="po@bedrijf.example", sent_by_name="Mentor",
        expires_at=now + dt.timedelta(days=30), function=placement.function, assessor_name="Praktijkopleider",
        assessed_on=now.date(), would_hire=would_hire, signed_name="Praktijkopleider", submitted_at=now)
    assessment.texts_encrypted = keyring.encrypt(json.dumps({"if_so": if_so, "if_not": if_not, "toelichting": "x"}),
                                                 assessment.text_ref())
    session.add(assessment)
    session.flush()
    return assessment
