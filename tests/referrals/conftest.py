"""Fixtures of the referral tests: a region with a school (mentor, student), a gemeente with a
jobcoach service (two jobcoaches), the student's consent for jobcoaching, an RMC and a school
and gemeente in another region (for the tenant walls)."""

from __future__ import annotations

import datetime as dt

import pytest

import consent  # noqa: F401  (registers the basis provider and jobs)
import referrals  # noqa: F401  (connects the consent signals)
from consent.catalogue import seed_catalogues
from consent.service import grant_consent
from network import clock
from network.db import db
from network.models import OrganisationType, Role
from socialmap.entries import ensure_default_categories
from socialmap.models import ServiceStatus
from tests.factories import OrganisationFactory, RegionFactory, StudentFactory, make_member, principal_for
from tests.socialmap.conftest import add_service


def born_years_ago(years: int) -> dt.date:
    day = clock.today() - dt.timedelta(days=10)
    return day.replace(year=day.year - years) if not (day.month == 2 and day.day == 29) else day.replace(
        year=day.year - years, day=28)


@pytest.fixture
def rworld(session, keyring):
    return build_rworld(session, keyring)


def build_rworld(session, keyring) -> dict:
    """The referral world (see the module docstring), committed; usable on any app's session."""
    seed_catalogues(session)
    ensure_default_categories(session)
    session.commit()
    region, far = RegionFactory(), RegionFactory()
    school = OrganisationFactory(region=region, school=True, name="ROC Testrand", email="zorg@roc.example")
    gemeente = OrganisationFactory(region=region, type=OrganisationType.gemeente, name="Gemeente Teststad",
                                   email="jongeren@teststad.example")
    rmc = OrganisationFactory(region=region, type=OrganisationType.rmc, name="RMC Testrand")
    hub = OrganisationFactory(region=region, type=OrganisationType.hub, name="Hub Testrand")
    far_school = OrganisationFactory(region=far, school=True, name="ROC Elders")
    far_gemeente = OrganisationFactory(region=far, type=OrganisationType.gemeente, name="Gemeente Elders")
    mentor = make_member(Role.mentor, school, name="Mentor Jansen")
    colleague = make_member(Role.zorgcoordinator, school, name="Zorg Pieters")
    jobcoach = make_member(Role.partner_staff, gemeente, name="Jobcoach Bakker")
    jobcoach2 = make_member(Role.partner_staff, gemeente, name="Jobcoach Visser")
    rmc_staff = make_member(Role.partner_staff, rmc, name="RMC Smit")
    coordinator = make_member(Role.coordinator, hub, name="Coördinator Mulder")
    far_mentor = make_member(Role.mentor, far_school, name="Mentor Elders")
    far_coach = make_member(Role.partner_staff, far_gemeente, name="Jobcoach Elders")
    student_account = make_member(Role.student, school, name="Sanne Student")
    student = StudentFactory(school=school, account_id=student_account.id, date_of_birth=born_years_ago(17),
                             first_name="Sanne", last_name="Jobzoeker", bsn="111222333",
                             expected_exit_date=clock.today() + dt.timedelta(days=200))
    other_student = StudentFactory(school=school, date_of_birth=born_years_ago(18), first_name="Noor",
                                   last_name="Zonderbasis")
    service = add_service(gemeente, "Jobcoaching jongeren", description="Jobcoach voor jongeren met een beperking",
                          response_days=5)
    inactive = add_service(gemeente, "Oude regeling", status=ServiceStatus.inactive)
    own_service = add_service(school, "Stagebureau", is_internal=True)
    far_service = add_service(far_gemeente, "Jobcoaching elders")
    db.session.refresh(student)
    consent_row = grant_consent(session, principal_for(student_account), keyring, student, {
        "recipient_id": gemeente.id, "purpose_code": "jobcoaching",
        "categories": ["contactgegevens", "opleiding", "ondersteuningsbehoefte"],
        "explicit": ["ondersteuningsbehoefte"]})
    session.commit()
    return {"region": region, "far": far, "school": school, "gemeente": gemeente, "rmc": rmc, "hub": hub,
            "far_school": far_school, "far_gemeente": far_gemeente, "mentor": mentor, "colleague": colleague,
            "jobcoach": jobcoach, "jobcoach2": jobcoach2, "rmc_staff": rmc_staff, "coordinator": coordinator,
            "far_mentor": far_mentor, "far_coach": far_coach, "student_account": student_account,
            "student": student, "other_student": other_student, "service": service, "inactive": inactive,
            "own_service": own_service, "far_service": far_service, "consent": consent_row}


@pytest.fixture
def ractors(rworld):
    return {name: principal_for(rworld[name]) for name in
            ("mentor", "colleague", "jobcoach", "jobcoach2", "rmc_staff", "coordinator", "far_mentor", "far_coach",
             "student_account")}


def signup(**overrides):
    """A filled-in sign-up form (the wizard's ``details``)."""
    details = {"reason": "Sanne zoekt na haar eindstage werk in de logistiek en heeft begeleiding nodig.",
               "school_situation": {"study_progress": "Op schema", "behaviour_care": "", "study_choice": ""},
               "life_domains": {"gezondheid": {"problem": True, "explanation": "Snel overprikkeld"},
                                "financien": {"problem": True, "explanation": "Kleine schuld"}},
               "background": {"barriers": "Autisme (ASS)", "last_diploma": "Entree"},
               "care_workers": [{"name": "K. de Wit", "function": "Ambulant begeleider", "organisation": "MEE",
                                 "contact": "06 11111111"}]}
    details.update(overrides)
    return details


def draft_data(rworld, **overrides):
    data = {"service_id": rworld["service"].id, "purpose": "jobcoaching", "type": "transitieroute",
            "categories": ["contactgegevens", "opleiding", "ondersteuningsbehoefte"], "details": signup()}
    data.update(overrides)
    return data
