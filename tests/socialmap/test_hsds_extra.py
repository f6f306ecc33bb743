"""HSDS additions: postcode/proximity, total_items with search plus filters, the streamed
full export (CLI and the coordinators' download) validated against the official schemas."""

from __future__ import annotations

import json

from network.db import db
from network.models import OrganisationType, Role
from socialmap.entries import update_service
from tests.factories import OrganisationFactory, login, make_member
from tests.socialmap.hsds_conformance import validate, validate_page


def test_postcode_filter(client, region_map, system):
    services = region_map["services"]
    update_service(db.session, system, services["jobcoach"], {"area_postcodes": "6511-6519, 6600"})
    update_service(db.session, system, services["schuld"], {"area_postcodes": "7000"})
    db.session.commit()
    names = lambda body: {s["name"] for s in body["contents"]}  # noqa: E731
    inside = client.get("/hsds/services?postcode=6512 AB&per_page=50").get_json()
    assert "Jobcoach team jongeren" in names(inside) and "Schuldhulpverlening jongeren" not in names(inside)
    assert inside["total_items"] == 5  # the four without postcodes stay
    outside = client.get("/hsds/services?postcode=7000&proximity=5000").get_json()
    assert "Jobcoach team jongeren" not in names(outside) and "Schuldhulpverlening jongeren" in names(outside)
    bad = client.get("/hsds/services?postcode=abc")
    assert bad.status_code == 400 and bad.mimetype == "application/problem+json"
    assert client.get("/hsds/services?proximity=100").status_code == 400


def test_total_items_counts_search_and_filters_together(client, region_map):
    from socialmap.vocab import term_id

    everything = client.get("/hsds/services?search=stage").get_json()
    assert everything["total_items"] == 2
    term = term_id("aanbod-werkgever", "aangepaste_werkplek")
    filtered = client.get(f"/hsds/services?search=stage&taxonomy_term_id={term}&per_page=1").get_json()
    assert filtered["total_items"] == 1 and filtered["total_pages"] == 1
    assert [s["name"] for s in filtered["contents"]] == ["Stageplaatsen magazijn"]


def _check_package(package: dict, services: int) -> None:
    assert len(package["services"]) == services
    validate("compiled/service_package.json", package["services"])
    validate("compiled/organization_package.json", package["organizations"])
    validate("compiled/service_at_location_package.json", package["service_at_locations"])
    assert package["taxonomies"] and package["taxonomy_terms"]


def test_cli_export_streams_a_valid_package(app, region_map, tmp_path):
    output = tmp_path / "hsds.json"
    result = app.test_cli_runner().invoke(args=["socialmap", "export-hsds", "--output", str(output)])
    assert result.exit_code == 0, result.output
    package = json.loads(output.read_text(encoding="utf-8"))
    _check_package(package, 6)
    assert "Lotte Verhoeven" not in output.read_text(encoding="utf-8")  # no persons without --personal
    personal = app.test_cli_runner().invoke(args=["socialmap", "export-hsds", "--output", "-", "--personal"])
    assert personal.exit_code == 0, personal.output
    _check_package(json.loads(personal.output), 6)
    assert "Lotte Verhoeven" in personal.output


def test_download_for_coordinators(client, region_map):
    hub = OrganisationFactory(region=region_map["region"], type=OrganisationType.hub)
    login(client, make_member(Role.coordinator, hub))
    response = client.get("/sociale-kaart/export-hsds.json")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    package = json.loads(response.get_data(as_text=True))
    _check_package(package, 6)
    assert "Lotte Verhoeven" in json.dumps(package)
    validate_page(client.get("/hsds/services?postcode=6511").get_json(), "compiled/service_list.json")


def test_the_packed_hsds_schemas_are_the_official_ones_unchanged():
    """hsds-3.0.tar.xz (what a clean clone validates against) holds exactly the files of the
    team's copy in ../shared, byte for byte, where that copy is present."""
    import hashlib
    import tarfile

    import pytest

    from tests.socialmap.hsds_conformance import PACKED, SHARED

    if not (SHARED / "openapi.json").exists():
        pytest.skip(f"no {SHARED} to compare the packed copy with")
    with tarfile.open(PACKED) as archive:
        packed = {m.name.removeprefix("hsds-3.0/"): hashlib.sha256(archive.extractfile(m).read()).hexdigest()
                  for m in archive.getmembers() if m.isfile()}
    shared = {str(p.relative_to(SHARED)): hashlib.sha256(p.read_bytes()).hexdigest()
              for p in SHARED.rglob("*") if p.is_file()}
    assert packed == shared
