"""A small world for the deadline, notification and dashboard tests: region "Testrand" with a
school, a gemeente (two jobcoaches), a hub with the uitstroomcoördinator, and another region
with its own coordinator and gemeente. Referrals are made with the model directly (not through
the referral service), in the states a test needs. Imported by those test modules."""

from __future__ import annotations

import datetime as dt

import pytest

from network.db import db
from network.models import OrganisationType, Role
from referrals.models import Referral
from referrals.states import ReferralStatus, ReferralType
from tests.factories import OrganisationFactory, RegionFactory, StudentFactory, make_member
from tests.socialmap.conftest import add_service

UTC = dt.UTC
STUDENT_NAMES = ("Sanne", "Jobzoeker", "Noor", "Vergeetmeniet")


@pytest.fixture
def sla(session):
    region, far = RegionFactory(name="Testrand"), RegionFactory(name="Elders")
    school = OrganisationFactory(region=region, school=True, name="ROC Testrand")
    gemeente = OrganisationFactory(region=region, type=OrganisationType.gemeente, name="Gemeente Teststad")
    uwv = OrganisationFactory(region=region, type=OrganisationType.uwv, name="UWV Testrand")
    hub = OrganisationFactory(region=region, type=OrganisationType.hub, name="Hub Testrand")
    far_hub = OrganisationFactory(region=far, type=OrganisationType.hub, name="Hub Elders")
    far_gemeente = OrganisationFactory(region=far, type=OrganisationType.gemeente, name="Gemeente Elders")
    world = {
        "region": region, "far": far, "school": school, "gemeente": gemeente, "uwv": uwv, "hub": hub,
        "far_gemeente": far_gemeente,
        "mentor": make_member(Role.mentor, school, name="Mentor Jansen"),
        "jobcoach": make_member(Role.partner_staff, gemeente, name="Jobcoach Bakker"),
        "jobcoach2": make_member(Role.partner_staff, gemeente, name="Jobcoach Visser"),
        "uwv_staff": make_member(Role.partner_staff, uwv, name="Adviseur UWV"),
        "coordinator": make_member(Role.coordinator, hub, name="Coördinator Mulder"),
        "far_coordinator": make_member(Role.coordinator, far_hub, name="Coördinator Elders"),
        "far_coach": make_member(Role.partner_staff, far_gemeente, name="Jobcoach Elders"),
        "admin": make_member(Role.hub_admin, hub, name="Beheerder Hub"),
        "student": StudentFactory(school=school, first_name="Sanne", last_name="Jobzoeker"),
        "student2": StudentFactory(school=school, first_name="Noor", last_name="Vergeetmeniet"),
        "service": add_service(gemeente, "Jobcoaching jongeren"),
        "uwv_service": add_service(uwv, "Arbeidsdeskundig onderzoek", response_days=10),
        "far_service": add_service(far_gemeente, "Jobcoaching elders"),
    }
    far_school = OrganisationFactory(region=far, school=True, name="ROC Elders")
    world["far_school"] = far_school
    world["far_student"] = StudentFactory(school=far_school, first_name="Noor", last_name="Vergeetmeniet")
    return world


def make_referral(world, *, status=ReferralStatus.requested, sent_at=None, response_due=None, to="gemeente",
                  service="service", student="student", school="school", **fields) -> Referral:
    """A referral straight in the table, in ``status``."""
    sent_at = sent_at or dt.datetime(2026, 12, 24, 9, 0, tzinfo=UTC)
    referral = Referral(student_id=world[student].id, from_organisation_id=world[school].id,
                        to_organisation_id=world[to].id, service_id=world[service].id, purpose="jobcoaching",
                        type=ReferralType.transitieroute, status=status, from_name="Mentor Jansen, mentor",
                        sent_at=sent_at, response_due=response_due, status_changed_at=fields.pop("status_changed_at",
                                                                                                 sent_at),
                        created_at=sent_at, **fields)
    db.session.add(referral)
    db.session.commit()
    return referral
