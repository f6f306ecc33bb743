"""Spreadsheet export (CSV, XLSX; formula-safe) and import (preview with per-row problems,
nothing written before the confirm POST, clear Dutch answers for bad files), and the offer to
merge a probable duplicate organisation."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from network.db import db
from network.models import Organisation, OrganisationType, Role
from socialmap.models import PendingImport, Service
from tests.conftest import csrf_from
from tests.factories import OrganisationFactory, login, make_member

HEADER = ["Organisatie", "Waarvoor te benaderen", "Afdeling", "Contactpersoon", "Contactgegevens"]


def _csv(rows, header=HEADER, bom=True, sep=";") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8")


def _xlsx(rows, header=HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def coordinator(client, region_map):
    hub = OrganisationFactory(region=region_map["region"], type=OrganisationType.hub)
    account = make_member(Role.coordinator, hub)
    login(client, account)
    return account


def _upload(client, content: bytes, filename: str = "kaart.csv"):
    token = csrf_from(client.get("/sociale-kaart/import").get_data(as_text=True))
    return client.post("/sociale-kaart/import", data={"csrf_token": token, "bestand": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def _count_services() -> int:
    return db.session.scalar(select(func.count()).select_from(Service))


SEED_ROWS = [
    ["Gemeente Waalstede", "Begeleiding, Regelruimte", "Team jongeren", "Lotte Verhoeven",
     "l.verhoeven@waalstede.example, 06 12345678"],
    ["UWV Waalstede", "kennis; financiering", "Werkgeversdienstverlening", "Ahmed Bakker", "024 3654321"],
    ["MEE Waalrand", "Overleg", "Jongerenteam", "Sanne de Vries", "s.devries@mee.example"],
]


def test_csv_import_previews_then_writes_only_on_confirm(client, region_map, coordinator):
    before = _count_services()
    response = _upload(client, _csv(SEED_ROWS))
    assert response.status_code == 302
    preview_url = response.headers["Location"]
    html = client.get(preview_url).get_data(as_text=True)
    assert "3 regels gelezen" in html and "Er is nog niets opgeslagen" in html
    assert _count_services() == before  # nothing written yet
    pending = db.session.scalar(select(PendingImport))
    assert pending.status == "pending" and pending.row_count == 3 and pending.error_count == 0, pending.payload
    token = csrf_from(html)
    done = client.post(f"/sociale-kaart/import/{pending.id}/bevestigen", data={"csrf_token": token})
    assert done.status_code == 302
    db.session.expire_all()
    # the gemeente's "Team jongeren" is new (the jobcoach entry has another name), UWV and MEE too
    assert _count_services() == before + 3
    service = db.session.scalar(select(Service).where(Service.name == "Werkgeversdienstverlening"))
    assert [c.code for c in service.categories] == ["kennis", "financiering"]
    assert service.contacts[0].name == "Ahmed Bakker" and service.contacts[0].phone == "024 3654321"
    assert service.organisation == region_map["organisations"]["uwv"]
    assert db.session.get(PendingImport, pending.id).status == "confirmed"
    # a second confirm of the same upload does nothing
    again = client.post(f"/sociale-kaart/import/{pending.id}/bevestigen", data={"csrf_token": token})
    assert again.status_code == 404


def test_rows_with_problems_are_shown_and_skipped(client, region_map, coordinator):
    rows = SEED_ROWS + [
        ["UWV Waalstede", "kennis; financiering", "Werkgeversdienstverlening", "Ahmed Bakker", "024 3654321"],
        ["MEE Waalrand", "Toveren", "Extra", "Piet", "geen-adres"],
        ["Onbekende Stichting Nergens", "Overleg", "Team", "Jan", "jan@nergens.example"],
    ]
    response = _upload(client, _csv(rows))
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Dubbele regel: dezelfde organisatie en dienst als regel 3." in html
    assert "Onbekende waarde in &#39;Waarvoor te benaderen&#39;: Toveren." in html
    assert "geen e-mailadres of telefoonnummer" in html
    assert "staat nog niet in de regio" in html  # a coordinator cannot create organisations
    pending = db.session.scalar(select(PendingImport))
    assert pending.error_count == 3
    before = _count_services()
    client.post(f"/sociale-kaart/import/{pending.id}/bevestigen", data={"csrf_token": csrf_from(html)})
    db.session.expire_all()
    assert _count_services() == before + 3


def test_cancel_writes_nothing(client, region_map, coordinator):
    before = _count_services()
    response = _upload(client, _xlsx(SEED_ROWS), "kaart.xlsx")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    pending = db.session.scalar(select(PendingImport))
    assert pending.file_format == "xlsx" and pending.row_count == 3
    client.post(f"/sociale-kaart/import/{pending.id}/annuleren", data={"csrf_token": csrf_from(html)})
    db.session.expire_all()
    assert db.session.get(PendingImport, pending.id).status == "cancelled"
    assert _count_services() == before


@pytest.mark.parametrize(("content", "filename", "message"), [
    (b"", "leeg.csv", "Het bestand is leeg."),
    ("Organisatie;Waarvoor te benaderen;Afdeling;Contactpersoon;Contactgegevens\r\nCaf\u00e9;x;y;z;a@b.nl\r\n"
     .encode("cp1252"), "excel.csv", "niet in UTF-8"),
    (_csv([["a", "b"]], header=["Organisatie", "Afdeling"]), "kort.csv",
     "Deze kolommen ontbreken: Waarvoor te benaderen, Contactpersoon, Contactgegevens."),
    (b"PK\x03\x04 kapot", "kapot.xlsx", "beschadigd"),
])
def test_bad_files_get_a_clear_dutch_answer(client, region_map, coordinator, content, filename, message):
    response = _upload(client, content, filename)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(PendingImport)) == 0


def test_more_than_ten_thousand_rows_is_refused(client, region_map, coordinator):
    rows = [[f"Org {i}", "Overleg", "Team", "Jan", "jan@x.example"] for i in range(10_001)]
    response = _upload(client, _csv(rows))
    assert response.status_code == 400
    assert "meer dan 10.000 regels" in response.get_data(as_text=True)


def test_similar_organisation_is_offered_for_merge(client, region_map, coordinator):
    rows = [["Gemeente Waalstede.", "Overleg", "Leerplicht", "Jan", "jan@waalstede.example"],
            ["MEE Waalrand B.V.", "Overleg", "Nieuw team", "Els", "els@mee.example"]]
    response = _upload(client, _csv(rows))
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "lijkt op een bestaande organisatie" in html and "Koppelen aan MEE Waalrand" in html
    assert "Toch een nieuwe organisatie aanmaken" not in html  # a coordinator cannot create one
    pending = db.session.scalar(select(PendingImport))
    client.post(f"/sociale-kaart/import/{pending.id}/bevestigen", data={"csrf_token": csrf_from(html)})
    db.session.expire_all()
    mee = region_map["organisations"]["mee"]
    assert db.session.scalar(select(Service).where(Service.name == "Nieuw team")).organisation_id == mee.id
    assert db.session.scalar(select(func.count()).select_from(Organisation).where(
        Organisation.name.like("MEE%"))) == 1


def test_hub_admin_may_create_the_new_organisation_explicitly(client, region_map):
    hub = OrganisationFactory(region=region_map["region"], type=OrganisationType.hub)
    login(client, make_member(Role.hub_admin, hub))
    rows = [["MEE Waalrand B.V.", "Overleg", "Nieuw team", "Els", "els@mee.example"],
            ["Buurtwerk De Brug", "Overleg", "Jongerenwerk", "Kees", "kees@brug.example"]]
    response = _upload(client, _csv(rows, sep=","))
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Toch een nieuwe organisatie aanmaken" in html
    assert "Buurtwerk De Brug is nieuw" in html
    pending = db.session.scalar(select(PendingImport))
    names = list(__import__("json").loads(pending.payload)["organisations"])
    field = f"org-{names.index('mee waalrand b.v.')}"
    client.post(f"/sociale-kaart/import/{pending.id}/bevestigen", data={"csrf_token": csrf_from(html), field: "nieuw"})
    db.session.expire_all()
    assert db.session.scalar(select(Organisation).where(Organisation.name == "MEE Waalrand B.V.")) is not None
    assert db.session.scalar(select(Organisation).where(Organisation.name == "Buurtwerk De Brug")) is not None


def test_someone_elses_pending_import_is_not_found(client, region_map, coordinator):
    response = _upload(client, _csv(SEED_ROWS))
    url = response.headers["Location"]
    other = make_member(Role.coordinator, OrganisationFactory(region=region_map["region"], type=OrganisationType.hub))
    login(client, other)
    assert client.get(url).status_code == 404


def test_xlsx_export_round_trips_and_is_formula_safe(client, region_map, coordinator, system):
    from socialmap.entries import update_service

    service = region_map["services"]["budget"]
    update_service(db.session, system, service, {"description": "=HYPERLINK(\"http://evil\")"})
    db.session.commit()
    response = client.get("/sociale-kaart/export.xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.data), read_only=True)
    rows = [[c or "" for c in row] for row in workbook.active.iter_rows(values_only=True)]
    workbook.close()
    header = rows[0]
    assert header[:3] == ["Organisatie", "Soort organisatie", "Dienst"]
    budget = next(r for r in rows if r[2] == "Budgetcoaching")
    assert budget[header.index("Omschrijving")] == "'=HYPERLINK(\"http://evil\")"
    # the exported workbook imports again: every row updates its entry (matched by Id)
    before = _count_services()
    upload = _upload(client, response.data, "export.xlsx")
    html = client.get(upload.headers["Location"]).get_data(as_text=True)
    pending = db.session.scalar(select(PendingImport))
    assert pending.error_count == 0, html
    client.post(f"/sociale-kaart/import/{pending.id}/bevestigen", data={"csrf_token": csrf_from(html)})
    db.session.expire_all()
    assert _count_services() == before
    assert db.session.get(Service, service.id).description == "=HYPERLINK(\"http://evil\")"
