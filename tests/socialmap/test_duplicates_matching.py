"""Duplicate organisations offered for merge (the admin form), and employers matched to a
student's support needs."""

from __future__ import annotations

from sqlalchemy import func, select

from network.db import db
from network.directory import find_similar_organisations, organisation_name_key
from network.models import Organisation, OrganisationType, Role
from socialmap.matching import SupportNeeds, match_employers
from tests.conftest import csrf_from
from tests.factories import OrganisationFactory, login, make_member


def test_similar_names_and_identifiers(session, region_map):
    region = region_map["region"]
    restaurant = region_map["organisations"]["restaurant"]
    assert organisation_name_key("Restaurant De Waalkant B.V.") == "restaurant waalkant"
    found = find_similar_organisations(session, region_id=region.id, name="Restaurant de Waalkant BV")
    assert found[0] == (restaurant, "naam")
    assert find_similar_organisations(session, region_id=region.id, name="Iets heel anders", kvk="12345678") == [
        (restaurant, "kvk")]
    assert find_similar_organisations(session, region_id=region.id, name="Gemeente Waalstee")[0][0].name == \
        "Gemeente Waalstede"  # a typo
    assert find_similar_organisations(session, region_id=region.id, name="Bakkerij Jansen") == []


def test_admin_form_offers_the_existing_organisation(client, region_map):
    region = region_map["region"]
    login(client, make_member(Role.hub_admin, OrganisationFactory(region=region, type=OrganisationType.hub)))
    page = client.get("/beheer/organisaties/nieuw")
    form = {"csrf_token": csrf_from(page.get_data(as_text=True)), "region_id": str(region.id),
            "name": "MEE Waal-rand", "type": "mee"}
    offer = client.post("/beheer/organisaties/nieuw", data=form)
    html = offer.get_data(as_text=True)
    assert offer.status_code == 200 and "Bestaat deze organisatie al?" in html and "MEE Waalrand gebruiken" in html
    count = db.session.scalar(select(func.count()).select_from(Organisation))
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == count
    created = client.post("/beheer/organisaties/nieuw", data={**form, "toch_nieuw": "1"})
    assert created.status_code == 302
    assert db.session.scalar(select(Organisation).where(Organisation.name == "MEE Waal-rand")) is not None


def test_employers_ranked_by_needs_met(session, region_map):
    services = region_map["services"]
    page, matches = match_employers(session, SupportNeeds(offers=("coaching_op_de_werkvloer", "opbouw_tijd_inhoud",
                                                                  "aangepaste_werkplek")))
    assert [(m.service.name, m.score) for m in matches] == [
        (services["horeca"].name, 2), (services["magazijn"].name, 1)]
    _page, matches = match_employers(session, SupportNeeds(offers=("aangepaste_werkplek",), sector="logistiek"))
    assert [(m.service.name, m.score) for m in matches] == [(services["magazijn"].name, 2)]
    _page, matches = match_employers(session, SupportNeeds(sbb_only=True))
    assert [m.service.name for m in matches] == [services["horeca"].name]


def test_employer_page(client, region_map):
    html = client.get("/sociale-kaart/werkgevers?aanbod=coaching_op_de_werkvloer&aanbod=aangepaste_werkplek"
                      ).get_data(as_text=True)
    assert "2 werkgevers gevonden" in html and "Voldoet aan 1 van 2 wensen" in html
    assert "Leerwerkplekken keuken en bediening" in html
    assert client.get("/sociale-kaart/werkgevers").status_code == 200
