"""Fixtures of the agreement tests: the consent world (a school, a gemeente, an RMC, a student
of 17 with an account, one of 15 with a guardian) plus a helper that fills a plan so it can be
offered for signature."""

from __future__ import annotations

import datetime as dt

import pytest

import consent.agreements  # noqa: F401  (registers the jobs)
from consent.agreements.access import find_agreement
from consent.agreements.models import AgreementKind
from consent.agreements.service import create_agreement, save_parties, save_section
from consent.service import grant_consent
from tests.consent.conftest import actors, born_years_ago, grant_data, world  # noqa: F401

CHECKS = {"contact_person": "Mevrouw Bakker (mentor)", "meetings": "Elke zes weken op school",
          "moments": [{"date": "2027-03-01", "what": "Eindstage gestart"}],
          "fallback": "Als een afspraak niet wordt nagekomen, bespreken we dat binnen een week samen.",
          "who_decides": "De zorgcoördinator", "objection": "Bij de klachtencommissie van de school."}


def party_rows(agreement, *extra_orgs, commitment="Ik doe mee.") -> list[dict]:
    rows = [{"key": p.key, "role": p.role, "commitment": f"{p.name}: {commitment}", "contact": p.contact,
             "purpose": p.purpose} for p in agreement.latest.parties]
    for org in extra_orgs:
        rows.append({"organisation_id": org.id, "role": "jobcoach", "commitment": f"{org.name} begeleidt op de "
                     "werkplek.", "purpose": "jobcoaching"})
    return rows


def ready_plan(session, keyring, world, actors, *extra_orgs):
    """A plan for the 17-year-old with the checks & balances and every party's commitment."""
    mentor = actors["mentor"]
    agreement = create_agreement(session, mentor, keyring, world["student"], AgreementKind.plan)
    session.commit()
    agreement, access = find_agreement(session, mentor, agreement.id)
    save_section(session, mentor, keyring, agreement, access, "future", {"goal": "Werken in de logistiek",
                                                                         "occupation": "Magazijnmedewerker"})
    save_section(session, mentor, keyring, agreement, access, "checks", dict(CHECKS))
    save_parties(session, mentor, keyring, agreement, access, party_rows(agreement, *extra_orgs))
    session.commit()
    return agreement


def give_plan_consent(session, keyring, world, actors, organisation=None):
    """The student consents to the gemeente reading the plan for jobcoaching."""
    organisation = organisation or world["gemeente"]
    return grant_consent(session, actors["student_account"], keyring, world["student"],
                         grant_data(world, recipient_id=organisation.id,
                                    categories=["contactgegevens", "school-naar-werk-plan"]))


@pytest.fixture
def fresh():
    return dt.datetime.now(dt.UTC)
