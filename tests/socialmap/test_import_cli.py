"""``schakel socialmap import-hsds``: the HSDS 3.0 import from the command line, on the
official Open Referral examples (see hsds_conformance). A dry run reports and writes nothing;
--apply writes and audits in one transaction; a second --apply finds everything unchanged; a
bad file is one line on the terminal and nothing in the database."""

from __future__ import annotations

import copy
import json
import uuid

import pytest
from sqlalchemy import func, select

from network.audit import AuditEvent
from network.models import Organisation
from socialmap.models import Category, Contact, OrganisationProfile, Service, ServiceChange, ServiceLocation
from tests.factories import OrganisationFactory, RegionFactory
from tests.socialmap.hsds_conformance import CONFORMANCE, example, require_conformance

SERVICE_ID = "ac148810-d857-441c-9679-408f346de14b"  # the one service of every official example
SERVICE_UUID = uuid.UUID(SERVICE_ID)
ORG_ID = "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610"
#: the official examples that hold a service (the others hold taxonomies or organisations only)
WITH_SERVICES = ["service_full.json", "organization_full.json", "service_at_location_full.json",
                 "service_list.json", "service_at_location_list.json"]


def _tables(session) -> dict[str, int]:
    return {model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (Service, Organisation, OrganisationProfile, Contact, ServiceLocation, ServiceChange,
                          Category, AuditEvent)}


def _run(app, path, region, *extra):
    return app.test_cli_runner().invoke(args=["socialmap", "import-hsds", str(path), "--region", region, *extra])


def _write(tmp_path, document, name="hsds.json"):
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _official_examples():
    require_conformance()


@pytest.fixture
def region(session):
    region = RegionFactory(code="waalrand")
    OrganisationFactory(region=region, name="Gemeente Waalstede")
    return region


@pytest.mark.parametrize("name", WITH_SERVICES)
def test_dry_run_reports_what_would_change_and_writes_nothing(app, session, region, name):
    before = _tables(session)
    result = _run(app, CONFORMANCE / "examples" / name, "waalrand")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"organisatie {ORG_ID} 'Example Organization Inc.': nieuw (nieuw in regio waalrand)" in lines
    assert f"dienst {SERVICE_ID} 'Community Counselling': nieuw (bij Example Organization Inc.)" in lines
    assert ("Diensten: 1 nieuw, 0 bijgewerkt, 0 ongewijzigd, 0 geweigerd; "
            "organisaties: 1 nieuw, 0 bijgewerkt, 0 ongewijzigd, 0 geweigerd.") in lines
    assert lines[-1].startswith("Proefdraai: er is niets opgeslagen.")
    session.expire_all()
    assert _tables(session) == before


@pytest.mark.parametrize("name", WITH_SERVICES)
def test_apply_writes_and_audits_and_a_second_apply_changes_nothing(app, session, region, name):
    before = _tables(session)
    result = _run(app, CONFORMANCE / "examples" / name, "waalrand", "--apply")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "Wordt opgeslagen in regio waalrand."
    session.expire_all()
    service = session.scalar(select(Service).where(Service.uuid == SERVICE_UUID))
    assert service is not None and service.name == "Community Counselling"
    assert service.organisation.name == "Example Organization Inc." and service.organisation.region_id == region.id
    assert str(session.get(OrganisationProfile, service.organisation_id).uuid) == ORG_ID
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.event_type for e in events][-3:] == ["organisation:create", "socialmap:service:create",
                                                   "socialmap:import:hsds"]
    summary = events[-1]
    assert (summary.channel, summary.account_name, summary.object_type) == (
        "cli", "schakel socialmap import-hsds", "region")
    detail = json.loads(summary.detail)
    assert detail["services_created"] == 1 and detail["organisations_created"] == 1
    assert detail["source"].startswith(f"{name} (sha256 ")
    written = _tables(session)
    assert written["Service"] == before["Service"] + 1 and written["Organisation"] == before["Organisation"] + 1

    again = _run(app, CONFORMANCE / "examples" / name, "waalrand", "--apply")
    assert again.exit_code == 0, again.output
    lines = again.output.splitlines()
    assert (f"organisatie {ORG_ID} 'Example Organization Inc.': "
            f"ongewijzigd (al in de hub (id {service.organisation_id}))") in lines
    assert f"dienst {SERVICE_ID} 'Community Counselling': ongewijzigd" in lines
    assert ("Diensten: 0 nieuw, 0 bijgewerkt, 1 ongewijzigd, 0 geweigerd; "
            "organisaties: 0 nieuw, 0 bijgewerkt, 1 ongewijzigd, 0 geweigerd.") in lines
    session.expire_all()
    after = _tables(session)
    # only the run itself is audited: no entry, organisation, history row or event of a change
    assert after == {**written, "AuditEvent": written["AuditEvent"] + 1}
    last = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
    assert last.event_type == "socialmap:import:hsds" and json.loads(last.detail)["services_unchanged"] == 1


def test_the_official_examples_one_after_another(app, session, region):
    """They describe the same service and organisation: the first makes them, the others find
    them as they are (a list page's partial service leaves the rest alone)."""
    first = _run(app, CONFORMANCE / "examples" / WITH_SERVICES[0], "waalrand", "--apply")
    assert "Diensten: 1 nieuw" in first.output
    for name in WITH_SERVICES[1:]:
        result = _run(app, CONFORMANCE / "examples" / name, "waalrand", "--apply")
        assert result.exit_code == 0, result.output
        assert f"dienst {SERVICE_ID} 'Community Counselling': ongewijzigd" in result.output.splitlines(), name
    session.expire_all()
    service = session.scalar(select(Service).where(Service.uuid == SERVICE_UUID))
    assert [c.name for c in service.contacts] == ["Ann Persona"]
    assert service.locations[0].postal_code == example("service_full.json")[
        "service_at_locations"][0]["location"]["addresses"][0]["postal_code"]


def test_a_refused_service_is_reported_with_its_reasons_and_the_rest_is_written(app, session, region, tmp_path):
    good = example("service_full.json")
    bad = copy.deepcopy(good)
    bad.update(id="0a7c3c44-5e1b-4a39-9d6f-4c1f3bb2f001", name="Budgetcoaching", email="iemand@nergens",
               service_at_locations=[], contacts=[], phones=[], metadata=[])
    path = _write(tmp_path, [good, bad])
    result = _run(app, path, "waalrand", "--apply")
    assert result.exit_code == 0, result.output
    assert ("dienst 0a7c3c44-5e1b-4a39-9d6f-4c1f3bb2f001 'Budgetcoaching': geweigerd "
            "(ongeldig e-mailadres 'iemand@nergens')") in result.output.splitlines()
    assert "Diensten: 1 nieuw, 0 bijgewerkt, 0 ongewijzigd, 1 geweigerd" in result.output
    session.expire_all()
    assert session.scalars(select(Service.name)).all() == ["Community Counselling"]


def test_a_duplicate_organisation_is_linked_not_doubled(app, session, region, tmp_path):
    document = example("service_full.json")
    document["organization"]["name"] = "Gemeente Waalstede"
    document["organization"]["id"] = "5a1d3c0e-0f4e-4d49-8f55-2d4b6b2f0c01"
    result = _run(app, _write(tmp_path, document), "waalrand", "--apply")
    assert result.exit_code == 0, result.output
    existing = session.scalar(select(Organisation).where(Organisation.name == "Gemeente Waalstede"))
    assert (f"organisatie 5a1d3c0e-0f4e-4d49-8f55-2d4b6b2f0c01 'Gemeente Waalstede': bijgewerkt "
            f"(gekoppeld aan Gemeente Waalstede (id {existing.id}): (bijna) dezelfde naam; HSDS-id vastgelegd)"
            ) in result.output.splitlines()
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Organisation)) == 1
    assert session.scalar(select(Service)).organisation_id == existing.id


def _not_utf8(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"name": "Caf\u00e9"}'.encode("latin-1"))
    return path


def _schema_invalid(tmp_path):
    document = example("service_full.json")
    document["status"] = "misschien"
    return _write(tmp_path, document)


def _broken_json(tmp_path):
    path = tmp_path / "kapot.json"
    path.write_text('{"services": [', encoding="utf-8")
    return path


@pytest.mark.parametrize(("make", "region_code", "message"), [
    (_broken_json, "waalrand", "is geen geldige JSON: Expecting value (regel 1, kolom 15)"),
    (_not_utf8, "waalrand", "is geen UTF-8-tekst"),
    (_schema_invalid, "waalrand", "voldoet niet aan het HSDS 3.0-schema: status: 'misschien' is not one of"),
    (lambda tmp: CONFORMANCE / "examples" / "base.json", "waalrand", "is geen HSDS 3.0-bestand dat de import kent"),
    (lambda tmp: CONFORMANCE / "examples" / "organization_list.json", "waalrand", "het bestand bevat geen diensten"),
    (lambda tmp: CONFORMANCE / "examples" / "service_full.json", "nergens", "onbekende regio 'nergens'"),
])
def test_a_bad_file_is_one_line_and_nothing_is_written(app, session, region, tmp_path, make, region_code, message):
    before = _tables(session)
    result = _run(app, make(tmp_path), region_code, "--apply")
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], result.output
    session.expire_all()
    assert _tables(session) == before


def test_ids_that_belong_to_another_service_are_refused(app, session, region, tmp_path):
    """Contact and location ids are keys in the hub: a second service that claims the first
    one's location is refused, not written over it."""
    first = example("service_full.json")
    second = copy.deepcopy(first)
    second.update(id="0a7c3c44-5e1b-4a39-9d6f-4c1f3bb2f002", name="Tweede dienst", contacts=[], metadata=[])
    for place in second["service_at_locations"]:
        place["contacts"] = []
    result = _run(app, _write(tmp_path, [first, second]), "waalrand", "--apply")
    assert result.exit_code == 0, result.output
    location = first["service_at_locations"][0]["id"]
    assert (f"dienst 0a7c3c44-5e1b-4a39-9d6f-4c1f3bb2f002 'Tweede dienst': geweigerd "
            f"(locatie {location} hoort al bij een andere dienst)") in result.output.splitlines()
    session.expire_all()
    assert session.scalars(select(Service.name)).all() == ["Community Counselling"]


def test_an_error_halfway_rolls_back_the_whole_file(app, session, region, tmp_path, monkeypatch):
    """One transaction: a database failure at the second service leaves the first unwritten too,
    and the operator reads one line, not a traceback."""
    from sqlalchemy.exc import OperationalError

    import socialmap.hsds_import

    real, calls = socialmap.hsds_import.create_service, []

    def failing_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OperationalError("INSERT INTO socialmap_service ...", {}, Exception("disk I/O error"))
        return real(*args, **kwargs)

    monkeypatch.setattr(socialmap.hsds_import, "create_service", failing_second)
    first = example("service_full.json")
    second = copy.deepcopy(first)
    second.update(id="0a7c3c44-5e1b-4a39-9d6f-4c1f3bb2f002", name="Tweede dienst", contacts=[], metadata=[],
                  service_at_locations=[])
    before = _tables(session)
    result = _run(app, _write(tmp_path, [first, second]), "waalrand", "--apply")
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert lines == ["Error: import afgebroken, er is niets opgeslagen: disk I/O error"]
    session.expire_all()
    assert _tables(session) == before


def test_a_failing_commit_is_reported_and_nothing_is_written(app, session, region, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from network.db import db

    def refuse(*args, **kwargs):
        raise OperationalError("COMMIT", {}, Exception("database is locked"))

    before = _tables(session)
    monkeypatch.setattr(db.session, "commit", refuse)
    result = _run(app, CONFORMANCE / "examples" / "service_full.json", "waalrand", "--apply")
    monkeypatch.undo()
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        "Error: import-hsds afgebroken, er is niets opgeslagen: database is locked")
    session.expire_all()
    assert _tables(session) == before


def test_the_command_checks_against_the_official_schemas():
    """socialmap/data/hsds-3.0 holds the official schema files, byte for byte."""
    from socialmap.hsds_schema import SCHEMAS

    vendored = sorted(SCHEMAS.glob("*.json"))
    assert len(vendored) == 20
    for path in vendored:
        assert path.read_bytes() == (CONFORMANCE / path.name).read_bytes(), path.name
