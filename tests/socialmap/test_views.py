"""The HTML pages: public vs member vs editor, the form (Dutch errors, input kept), one-click
capacity, verification, history on the page, and the export."""

from __future__ import annotations

from network.db import db
from network.models import OrganisationType, Role
from socialmap.models import CapacityStatus, Service, ServiceChange
from tests.conftest import csrf_from, post_form
from tests.factories import OrganisationFactory, login, make_member


def _detail_url(service) -> str:
    return f"/sociale-kaart/diensten/{service.uuid}"


def test_public_search_and_detail_hide_contact_persons(client, region_map):
    html = client.get("/sociale-kaart?q=jobcoach").get_data(as_text=True)
    assert "Jobcoach team jongeren" in html
    page = client.get(_detail_url(region_map["services"]["jobcoach"]))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Lotte Verhoeven" not in text and "l.verhoeven@waalstede.example" not in text
    assert "zichtbaar voor ingelogde leden" in text


def test_members_see_contact_persons(client, region_map):
    mentor = make_member(Role.mentor, OrganisationFactory(region=region_map["region"], school=True))
    login(client, mentor)
    text = client.get(_detail_url(region_map["services"]["jobcoach"])).get_data(as_text=True)
    assert "Lotte Verhoeven" in text and "l.verhoeven@waalstede.example" in text
    assert "Dienst bewerken" not in text  # a mentor of a school does not edit the gemeente's entry


def test_inactive_entries_are_not_public(client, region_map, system):
    from socialmap.entries import update_service
    from socialmap.models import ServiceStatus

    service = region_map["services"]["budget"]
    update_service(db.session, system, service, {"status": ServiceStatus.defunct})
    db.session.commit()
    assert client.get(_detail_url(service)).status_code == 404
    assert "Budgetcoaching" not in client.get("/sociale-kaart?q=budgetcoaching").get_data(as_text=True)


def test_own_staff_edit_their_entry_with_history(client, region_map):
    gemeente = region_map["organisations"]["gemeente"]
    jobcoach = region_map["services"]["jobcoach"]
    staff = make_member(Role.partner_staff, gemeente, name="Karin Jobcoach")
    login(client, staff)
    url = f"/sociale-kaart/diensten/{jobcoach.uuid}/bewerken"
    page = client.get(url)
    assert page.status_code == 200
    token = csrf_from(page.get_data(as_text=True))
    form = {"csrf_token": token, "version": str(jobcoach.version), "name": "Jobcoach team jongeren",
            "description": "Nieuwe omschrijving.", "categories": ["begeleiding", "kennis"], "status": "active",
            "capacity": "plek", "contact-0-name": "Lotte Verhoeven", "contact-0-email": "lotte@waalstede.example",
            "contact-0-id": str(jobcoach.contacts[0].id), "gemeenten": "Waalstede, Linderveen",
            "location-postal_code": "6511ab", "location-city": "Waalstede"}
    response = client.post(url, data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    service = db.session.get(Service, jobcoach.id)
    assert service.description == "Nieuwe omschrijving."
    assert [c.code for c in service.categories] == ["begeleiding", "kennis"]
    assert service.contacts[0].email == "lotte@waalstede.example"
    assert service.locations[0].postal_code == "6511 AB"
    changes = {(c.field, c.old_value, c.new_value, c.actor_name) for c in db.session.query(ServiceChange).filter_by(
        service_id=service.id, action="update")}
    assert ("description", "De jobcoach begeleidt jongeren met een ondersteuningsbehoefte op de werkplek.",
            "Nieuwe omschrijving.", "Karin Jobcoach") in changes
    assert ("email", "l.verhoeven@waalstede.example", "lotte@waalstede.example", "Karin Jobcoach") in changes
    text = client.get(_detail_url(service)).get_data(as_text=True)
    assert "Nieuwe omschrijving." in text and "Wijzigingen" in text and "Karin Jobcoach" in text


def test_the_form_keeps_input_and_speaks_dutch(client, region_map):
    gemeente = region_map["organisations"]["gemeente"]
    login(client, make_member(Role.partner_staff, gemeente))
    response = post_form(client, "/sociale-kaart/diensten/nieuw", {
        "organisation_id": str(gemeente.id), "name": "Werkfit traject", "email": "geen-adres",
        "url": "voorbeeld", "phone": "12", "minimum_age": "30", "maximum_age": "16",
        "area_postcodes": "65AB", "contact-0-email": "x@voorbeeld.nl", "location-postal_code": "1234"})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert 'value="Werkfit traject"' in text
    for message in ("Vul een geldig e-mailadres in", "Vul een geldig webadres in", "Vul een geldig telefoonnummer in",
                    "De minimumleeftijd is hoger dan de maximumleeftijd", "Gebruik postcodes of reeksen",
                    "Vul de naam van de contactpersoon in", "Vul een geldige postcode in"):
        assert message in text, message
    assert db.session.query(Service).filter_by(name="Werkfit traject").count() == 0


def test_duplicate_names_are_refused(client, region_map):
    gemeente = region_map["organisations"]["gemeente"]
    login(client, make_member(Role.partner_staff, gemeente))
    response = post_form(client, "/sociale-kaart/diensten/nieuw", {
        "organisation_id": str(gemeente.id), "name": "jobcoach team JONGEREN"})
    assert response.status_code == 400
    assert "al een dienst met deze naam" in response.get_data(as_text=True)


def test_staff_add_entries_only_for_their_own_organisation(client, region_map):
    gemeente, mee = region_map["organisations"]["gemeente"], region_map["organisations"]["mee"]
    login(client, make_member(Role.partner_staff, gemeente))
    response = post_form(client, "/sociale-kaart/diensten/nieuw", {"organisation_id": str(mee.id), "name": "X"})
    assert response.status_code == 400
    response = post_form(client, "/sociale-kaart/diensten/nieuw", {"organisation_id": str(gemeente.id),
                                                                   "name": "Werkfit traject",
                                                                   "categories": "begeleiding"})
    assert response.status_code == 302


def test_coordinator_edits_the_region_not_other_regions(client, region_map, system):
    from tests.factories import RegionFactory
    from tests.socialmap.conftest import add_service

    hub = OrganisationFactory(region=region_map["region"], type=OrganisationType.hub)
    login(client, make_member(Role.coordinator, hub))
    jobcoach = region_map["services"]["jobcoach"]
    assert client.get(f"/sociale-kaart/diensten/{jobcoach.uuid}/bewerken").status_code == 200
    elsewhere = add_service(OrganisationFactory(region=RegionFactory()), "Elders")
    assert client.get(f"/sociale-kaart/diensten/{elsewhere.uuid}/bewerken").status_code == 404


def test_one_click_capacity_update(client, region_map):
    gemeente = region_map["organisations"]["gemeente"]
    jobcoach = region_map["services"]["jobcoach"]
    login(client, make_member(Role.partner_staff, gemeente))
    response = post_form(client, _detail_url(jobcoach), {"capacity": "vol"},
                         post_url=f"/sociale-kaart/diensten/{jobcoach.uuid}/capaciteit")
    assert response.status_code == 302
    db.session.expire_all()
    service = db.session.get(Service, jobcoach.id)
    assert service.capacity is CapacityStatus.vol and service.capacity_updated_at is not None
    assert db.session.query(ServiceChange).filter_by(service_id=service.id, field="capacity").count() == 1


def test_verify_button_stamps_the_assurer(client, region_map):
    gemeente = region_map["organisations"]["gemeente"]
    jobcoach = region_map["services"]["jobcoach"]
    staff = make_member(Role.partner_staff, gemeente)
    login(client, staff)
    response = post_form(client, _detail_url(jobcoach), {},
                         post_url=f"/sociale-kaart/diensten/{jobcoach.uuid}/bevestigen")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Service, jobcoach.id).assurer_email == staff.email


def test_organisation_page_lists_its_entries(client, region_map):
    org = region_map["organisations"]["restaurant"]
    text = client.get(f"/sociale-kaart/organisaties/{org.id}").get_data(as_text=True)
    assert "Leerwerkplekken keuken en bediening" in text


def test_csv_export_is_excel_friendly_and_formula_safe(client, region_map, system):
    from socialmap.entries import update_service

    update_service(db.session, system, region_map["services"]["magazijn"], {"department": "=HYPERLINK(\"x\")"})
    db.session.commit()
    login(client, make_member(Role.mentor, OrganisationFactory(region=region_map["region"], school=True)))
    response = client.get("/sociale-kaart/export.csv")
    data = response.get_data()
    assert data.startswith("\ufeff".encode())
    text = data.decode("utf-8-sig")
    header = text.splitlines()[0]
    assert header.startswith("Organisatie;Soort organisatie;Dienst;Waarvoor te benaderen;Afdeling;Contactpersoon")
    assert "'=HYPERLINK" in text and ";=HYPERLINK" not in text
    assert "Lotte Verhoeven" in text


def test_category_catalogue_is_editable_by_the_hub_admin(client, region_map):
    hub = OrganisationFactory(region=region_map["region"], type=OrganisationType.hub)
    login(client, make_member(Role.hub_admin, hub))
    response = post_form(client, "/sociale-kaart/categorieen", {"code": "kennis", "name": "Kennis en advies",
                                                                "position": "3", "is_active": "1"})
    assert response.status_code == 302
    # the rename re-indexes the entries in that category
    from socialmap.search import SearchQuery, search_services

    found = search_services(db.session, SearchQuery(text="advies")).page.items
    assert "Arbeidsdeskundig onderzoek" in [s.name for s in found]
    response = post_form(client, "/sociale-kaart/categorieen", {"code": "Fout!", "name": ""})
    assert response.status_code == 400
