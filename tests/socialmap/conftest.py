"""Fixtures of the sociale kaart tests: the default categories and a small region."""

from __future__ import annotations

import pytest

from network.db import db
from network.models import OrganisationType
from network.permissions import system_principal
from socialmap.entries import create_service, ensure_default_categories
from tests.factories import OrganisationFactory, RegionFactory


@pytest.fixture
def categories(session):
    result = ensure_default_categories(session)
    session.commit()
    return {c.code: c for c in result}


@pytest.fixture
def system():
    return system_principal(channel="cli", name="test")


def add_service(organisation, name: str, **data):
    """An entry made by the system principal, committed."""
    service = create_service(db.session, system_principal(channel="cli", name="test"), organisation,
                             {"name": name, **data})
    db.session.commit()
    return service


@pytest.fixture
def region_map(session, categories):
    """A small region with the entries the relevance tests look for."""
    region = RegionFactory()
    gemeente = OrganisationFactory(region=region, name="Gemeente Waalstede", gemeente="Waalstede")
    mee = OrganisationFactory(region=region, name="MEE Waalrand", type=OrganisationType.mee, gemeente="Linderveen")
    zorg = OrganisationFactory(region=region, name="Zorggroep De Linde", type=OrganisationType.zorg)
    uwv = OrganisationFactory(region=region, name="UWV Waalstede", type=OrganisationType.uwv)
    restaurant = OrganisationFactory(region=region, name="Restaurant De Waalkant", type=OrganisationType.werkgever,
                                     kvk="12345678")
    magazijn = OrganisationFactory(region=region, name="Logistiek Centrum Waalhaven",
                                   type=OrganisationType.werkgever, kvk="23456789")
    services = {
        "jobcoach": add_service(gemeente, "Jobcoach team jongeren", department="Team jongeren",
                                categories=["begeleiding", "regelruimte"], gemeenten=["Waalstede"],
                                target_groups=["entree", "pro", "vso"],
                                description="De jobcoach begeleidt jongeren met een ondersteuningsbehoefte "
                                            "op de werkplek.",
                                contacts=[{"name": "Lotte Verhoeven", "title": "Jobcoach",
                                           "email": "l.verhoeven@waalstede.example", "phone": "06 12345678"}]),
        "schuld": add_service(mee, "Schuldhulpverlening jongeren", categories=["begeleiding"],
                              description="Hulp bij geldzaken voor jongeren tot 27 jaar."),
        "budget": add_service(zorg, "Budgetcoaching", categories=["begeleiding"],
                              description="Een coach helpt bij het overzicht als er schulden zijn."),
        "uwv": add_service(uwv, "Arbeidsdeskundig onderzoek", categories=["kennis", "financiering"],
                           description="Onderzoek naar arbeidsvermogen; via het UWV een jobcoach aanvragen."),
        "horeca": add_service(restaurant, "Leerwerkplekken keuken en bediening", sector="Horeca",
                              categories=["stageplaatsen"], sbb_recognised=True,
                              offers=["coaching_op_de_werkvloer", "opbouw_tijd_inhoud"],
                              description="Stage in een restaurant met een vaste praktijkbegeleider."),
        "magazijn": add_service(magazijn, "Stageplaatsen magazijn", sector="Logistiek",
                                categories=["stageplaatsen"], offers=["aangepaste_werkplek"],
                                description="Orderpicken en inpakken in een rustige hal."),
    }
    return {"region": region, "services": services,
            "organisations": {"gemeente": gemeente, "mee": mee, "zorg": zorg, "uwv": uwv,
                              "restaurant": restaurant, "magazijn": magazijn}}
