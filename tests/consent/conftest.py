"""Fixtures of the consent tests: a region with a school, partners and students of 15, 16 and 17."""

from __future__ import annotations

import datetime as dt

import pytest

import consent  # noqa: F401  (registers the basis provider and jobs)
from consent.catalogue import seed_catalogues
from network import clock
from network.db import db
from network.models import OrganisationType, Role
from tests.factories import (
    AccountFactory,
    OrganisationFactory,
    RegionFactory,
    StudentFactory,
    make_member,
    principal_for,
)


def born_years_ago(years: int, today: dt.date | None = None, days: int = 10) -> dt.date:
    """A date of birth making the student ``years`` old today (birthday ``days`` ago)."""
    today = today or clock.today()
    day = today - dt.timedelta(days=days)
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


@pytest.fixture
def world(session):
    seed_catalogues(session)
    session.commit()
    region, far = RegionFactory(), RegionFactory()
    school = OrganisationFactory(region=region, school=True, email="zorg@roc.example")
    gemeente = OrganisationFactory(region=region, type=OrganisationType.gemeente, email="jongeren@gemeente.example")
    rmc = OrganisationFactory(region=region, type=OrganisationType.rmc, name="RMC Waalrand")
    employer = OrganisationFactory(region=region, type=OrganisationType.werkgever, name="Bakkerij Van Dalen")
    far_gemeente = OrganisationFactory(region=far, type=OrganisationType.gemeente)
    far_rmc = OrganisationFactory(region=far, type=OrganisationType.rmc, name="RMC Elders")
    mentor = make_member(Role.mentor, school)
    partner = make_member(Role.partner_staff, gemeente)
    rmc_staff = make_member(Role.partner_staff, rmc)
    far_rmc_staff = make_member(Role.partner_staff, far_rmc)
    student_account = make_member(Role.student, school)
    student = StudentFactory(school=school, account_id=student_account.id, date_of_birth=born_years_ago(17),
                             expected_exit_date=clock.today() + dt.timedelta(days=200), bsn="111222333")
    young = StudentFactory(school=school, date_of_birth=born_years_ago(15), parent_email="ouder@example.org")
    guardian = AccountFactory(name="Ouder Jansen", email="ouder@example.org")
    db.session.refresh(student)
    return {"region": region, "far": far, "school": school, "gemeente": gemeente, "rmc": rmc, "employer": employer,
            "far_gemeente": far_gemeente, "far_rmc": far_rmc, "mentor": mentor, "partner": partner,
            "rmc_staff": rmc_staff, "far_rmc_staff": far_rmc_staff, "student_account": student_account,
            "student": student, "young": young, "guardian": guardian}


@pytest.fixture
def actors(world):
    return {name: principal_for(world[name]) for name in
            ("mentor", "partner", "rmc_staff", "far_rmc_staff", "student_account", "guardian")}


def grant_data(world, **overrides):
    data = {"recipient_id": world["gemeente"].id, "purpose_code": "jobcoaching",
            "categories": ["contactgegevens", "opleiding"], "explicit": []}
    data.update(overrides)
    return data
