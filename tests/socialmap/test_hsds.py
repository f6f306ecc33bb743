"""The HSDS 3.0 read API at /hsds, the full export and the import of the official examples,
checked against the official Open Referral schemas."""

from __future__ import annotations

import datetime as dt

import pytest

from network.db import db
from network.permissions import system_principal
from socialmap.exchange import export_package
from socialmap.hsds_import import import_document
from socialmap.models import Service
from tests.socialmap.hsds_conformance import example, validate, validate_page


def test_meta(client):
    body = client.get("/hsds").get_json()
    assert body["version"] == "3.0" and body["openapi_url"].endswith("openapi.json")


def test_services_page_and_detail_validate(client, region_map):
    body = client.get("/hsds/services?per_page=4").get_json()
    validate_page(body, "compiled/service_list.json")
    assert body["total_items"] == 6 and body["total_pages"] == 2 and body["size"] == 4
    assert body["first_page"] and not body["last_page"] and not body["empty"]
    second = client.get("/hsds/services?per_page=4&page=2").get_json()
    assert second["size"] == 2 and second["last_page"]
    jobcoach = region_map["services"]["jobcoach"]
    detail = client.get(f"/hsds/services/{jobcoach.uuid}").get_json()
    validate("compiled/service.json", detail)
    assert detail["contacts"] == []  # personal: never public
    assert "Lotte Verhoeven" not in str(detail)
    terms = {a["taxonomy_term"]["name"] for a in detail["attributes"]}
    assert {"Begeleiding", "Regelruimte", "Praktijkonderwijs (PrO)"} <= terms
    assert detail["metadata"] and all(m["updated_by"] != "test" for m in detail["metadata"])
    full = client.get("/hsds/services?full=true").get_json()
    validate_page(full, "compiled/service.json")


def test_services_filters(client, region_map, categories):
    jobcoach = region_map["services"]["jobcoach"]
    body = client.get(f"/hsds/services?taxonomy_term_id={categories['regelruimte'].uuid}").get_json()
    assert [s["id"] for s in body["contents"]] == [str(jobcoach.uuid)]
    body = client.get("/hsds/services?search=jobcoach").get_json()
    assert body["contents"][0]["id"] == str(jobcoach.uuid)
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert client.get(f"/hsds/services?modified_after={future}").get_json()["empty"] is True
    assert client.get("/hsds/services?modified_after=2000-01-01T00:00:00Z").get_json()["total_items"] == 6
    minimal = client.get("/hsds/services?minimal=true").get_json()
    assert set(minimal["contents"][0]) == {"id", "name", "status", "last_modified"}


@pytest.mark.parametrize("query", ["page=0", "per_page=1000", "page=x", "modified_after=gisteren",
                                   "taxonomy_term_id=geen-uuid", "full=misschien"])
def test_bad_parameters_are_400_problems(client, query):
    response = client.get(f"/hsds/services?{query}")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


def test_unknown_ids_are_404_problems(client):
    response = client.get("/hsds/services/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_organizations_validate(client, region_map):
    body = client.get("/hsds/organizations").get_json()
    validate_page(body, "compiled/organization_list.json")
    assert body["total_items"] == 6
    full = client.get("/hsds/organizations?full_service=true").get_json()
    validate_page(full, "compiled/organization.json")
    org_id = body["contents"][0]["id"]
    detail = client.get(f"/hsds/organizations/{org_id}").get_json()
    validate("compiled/organization.json", detail)
    assert detail["services"]


def test_service_at_locations_validate(client, region_map, system):
    from socialmap.entries import update_service

    update_service(db.session, system, region_map["services"]["horeca"], {"locations": [
        {"name": "Restaurant", "address": "Kade 1", "postal_code": "6511 AB", "city": "Waalstede"}]})
    db.session.commit()
    body = client.get("/hsds/service_at_locations").get_json()
    validate_page(body, "compiled/service_at_location_list.json")
    assert body["total_items"] == 1
    detail = client.get(f"/hsds/service_at_locations/{body['contents'][0]['id']}").get_json()
    validate("compiled/service_at_location.json", detail)


def test_taxonomies_publish_the_dutch_vocabularies(client, categories):
    body = client.get("/hsds/taxonomies").get_json()
    validate_page(body, "taxonomy.json")
    names = {t["name"] for t in body["contents"]}
    assert {"Waarvoor te benaderen", "Doelgroep", "Aanbod werkgever", "Capaciteit"} <= names
    waarvoor = next(t for t in body["contents"] if t["name"] == "Waarvoor te benaderen")
    assert client.get(f"/hsds/taxonomies/{waarvoor['id']}").status_code == 200
    terms = client.get(f"/hsds/taxonomy_terms?taxonomy_id={waarvoor['id']}&per_page=100").get_json()
    validate_page(terms, "taxonomy_term.json")
    assert {t["code"] for t in terms["contents"]} == {"overleg", "begeleiding", "kennis", "werkgeversnetwerk",
                                                       "regelruimte", "financiering", "stageplaatsen"}
    one = client.get(f"/hsds/taxonomy_terms/{terms['contents'][0]['id']}").get_json()
    validate("taxonomy_term.json", one)


def test_ndjson_streams_every_service(client, region_map):
    import json

    response = client.get("/hsds/services?format=ndjson")
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert len(lines) == 6
    for line in lines:
        validate("compiled/service.json", line)


def test_full_export_validates_against_the_package_schemas(session, region_map):
    package = export_package(db.session, include_personal=True)
    validate("compiled/service_package.json", package["services"])
    validate("compiled/organization_package.json", package["organizations"])
    validate("compiled/service_at_location_package.json", package["service_at_locations"])
    contacts = [c for s in package["services"] for c in s["contacts"]]
    assert contacts and contacts[0]["name"] == "Lotte Verhoeven"  # the internal export keeps them


_MODELLED = ("id", "name", "alternate_name", "description", "url", "email", "status", "eligibility_description",
             "minimum_age", "maximum_age", "assured_date", "assurer_email", "last_modified")


@pytest.mark.parametrize("name", ["service_full.json", "organization_full.json", "service_at_location_full.json"])
def test_official_examples_import_and_round_trip(session, categories, name):
    from tests.factories import RegionFactory

    document = example(name)
    region = RegionFactory()
    report = import_document(db.session, system_principal(), region, document)
    db.session.commit()
    assert not report.errors, report.errors
    assert report.created
    package = export_package(db.session, include_personal=True)
    validate("compiled/service_package.json", package["services"])
    validate("compiled/organization_package.json", package["organizations"])
    exported = {s["id"]: s for s in package["services"]}
    source = document["service"] if name == "service_at_location_full.json" else (
        document["services"][0] if name == "organization_full.json" else document)
    out = exported[source["id"]]
    for key in _MODELLED:
        if key in source:
            assert out.get(key) == source[key] or key == "last_modified" and out[key][:19] == source[key][:19], key
    org = document if name == "organization_full.json" else source.get("organization")
    if org:
        assert out["organization_id"] == org["id"]
    for sal in source.get("service_at_locations") or ([{k: v for k, v in document.items() if k != "service"}]
                                                       if name == "service_at_location_full.json" else []):
        got = next(x for x in out["service_at_locations"] if x["id"] == sal["id"])
        assert got["location_id"] == sal["location"]["id"]
        assert got["location"]["addresses"][0]["postal_code"] == sal["location"]["addresses"][0]["postal_code"]
    for contact in source.get("contacts") or []:
        got = next(c for c in out["contacts"] if c["id"] == contact["id"])
        assert (got["name"], got.get("title"), got.get("email")) == (contact["name"], contact.get("title"),
                                                                     contact.get("email"))
    if source.get("phones"):
        assert out["phones"][0] == {"id": source["phones"][0]["id"], "service_id": source["id"],
                                    "number": source["phones"][0]["number"]}
    for entry in source.get("metadata") or []:
        assert any(m["id"] == entry["id"] and m["replacement_value"] == entry["replacement_value"]
                   for m in out["metadata"])
    # a second import finds every service as it is: nothing doubled, nothing changed
    again = import_document(db.session, system_principal(), region, document)
    assert again.unchanged and not again.created and not again.updated
    assert db.session.query(Service).count() == len(exported)


def test_import_links_duplicate_organisations(session, categories, region_map):
    document = example("service_full.json")
    document["organization"]["name"] = "MEE Waalrand"  # already in the region: linked, not doubled
    report = import_document(db.session, system_principal(), region_map["region"], document)
    assert report.organisations_linked == ["MEE Waalrand"] and not report.organisations_created


def test_import_reports_bad_services_and_writes_nothing_of_them(session, categories):
    from tests.factories import RegionFactory

    document = example("service_full.json")
    document["status"] = "misschien"
    document["email"] = "geen-adres"
    report = import_document(db.session, system_principal(), RegionFactory(), document)
    assert next(iter(report.errors.values())) == ["onbekende status 'misschien'", "ongeldig e-mailadres 'geen-adres'"]
    assert db.session.query(Service).count() == 0
