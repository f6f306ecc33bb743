"""The student pages: list with search and pagination, sign-up, detail and edit."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select, update

from network.audit import AuditEvent
from network.db import db
from network.models import Role, Student
from tests.conftest import post_form
from tests.factories import OrganisationFactory, RegionFactory, StudentFactory, login, make_member

BSN = "111222333"
FORM = {"first_name": "Sanne", "last_name": "Jansen", "date_of_birth": "2007-05-14", "level": "mbo2",
        "email": "sanne@example.org", "postcode": "6511 AB", "city": "Nijmegen", "programme": "Logistiek",
        "expected_exit_date": "2027-07-01", "bsn": BSN}


@pytest.fixture
def school(session):
    return OrganisationFactory(region=RegionFactory(), school=True, name="ROC Waalrand")


@pytest.fixture
def mentor(client, school):
    account = make_member(Role.mentor, school)
    login(client, account)
    return account


def events(event_type):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)
                              .order_by(AuditEvent.id)).all()


def test_register_then_detail(client, mentor, school, keyring):
    response = post_form(client, "/leerlingen/nieuw", FORM)
    assert response.status_code == 302
    student = db.session.scalar(select(Student))
    assert response.headers["Location"].endswith(f"/leerlingen/{student.id}")
    assert BSN not in response.headers["Location"]
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Sanne Jansen" in html
    assert BSN not in html and student.masked_bsn(keyring) in html
    assert "De leerling is geregistreerd." in html
    assert page.headers["Cache-Control"] == "no-store"
    assert len(events("student:create")) == 1 and len(events("student:view")) == 1


def test_register_errors_keep_input_in_dutch(client, mentor):
    response = post_form(client, "/leerlingen/nieuw", {**FORM, "postcode": "12", "bsn": "123", "email": "x"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Vul een geldige postcode in" in html and "Dit is geen geldig BSN" in html
    assert 'value="Sanne"' in html and 'value="Logistiek"' in html and 'value="123"' in html
    assert 'aria-invalid="true"' in html and "Controleer de volgende velden" in html
    assert db.session.scalar(select(Student)) is None


def test_duplicate_bsn_is_field_error(client, mentor, school):
    StudentFactory(school=school, bsn=BSN)
    response = post_form(client, "/leerlingen/nieuw", FORM)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "al een leerling met dit BSN" in html
    assert 'value="Jansen"' in html


def test_post_without_csrf_is_refused(client, mentor):
    assert client.post("/leerlingen/nieuw", data=FORM).status_code == 400
    assert db.session.scalar(select(Student)) is None


def test_list_search_and_pagination(client, mentor, school):
    for n in range(30):
        StudentFactory(school=school, first_name="Piet", last_name=f"Achternaam {n:02d}")
    StudentFactory(school=school, first_name="Aylin", last_name="Kaya")
    StudentFactory(school=OrganisationFactory(school=True), first_name="Aylin", last_name="Elders")
    html = client.get("/leerlingen").get_data(as_text=True)
    assert "31 leerlingen." in html and "Pagina 1 van 2" in html and "Achternaam 00" in html
    assert "Kaya" not in html and "Elders" not in html
    html = client.get("/leerlingen?pagina=2").get_data(as_text=True)
    assert "Kaya" in html and "Achternaam 00" not in html
    html = client.get("/leerlingen?q=aylin").get_data(as_text=True)
    assert "Kaya" in html and "Elders" not in html and "1 leerling gevonden" in html
    listed = events("student:list")  # one decision per student shown, on each page
    assert len(listed) == 25 + 6 + 1
    assert all(e.basis == "legal_task:onderwijstaak" and e.student_id for e in listed)


def test_detail_of_other_school_is_404(client, mentor):
    other = StudentFactory()
    assert client.get(f"/leerlingen/{other.id}").status_code == 404
    assert client.get(f"/leerlingen/{other.id}/bewerken").status_code == 404
    assert events("student:view") == []


def test_edit_round_trip(client, mentor, school, keyring):
    student = StudentFactory(school=school, bsn=BSN, city="Nijmegen")
    url = f"/leerlingen/{student.id}/bewerken"
    page = client.get(url).get_data(as_text=True)
    assert 'name="version" value="1"' in page and BSN not in page
    assert student.masked_bsn(keyring) in page
    assert len(events("student:edit")) == 1
    response = post_form(client, url, {**FORM, "city": "Arnhem", "bsn": "", "version": "1"})
    assert response.status_code == 302
    db.session.expire_all()
    student = db.session.get(Student, student.id)
    assert student.city == "Arnhem" and student.version == 2 and student.get_bsn(keyring) == BSN
    (updated,) = events("student:update")
    assert "city" in json.loads(updated.detail)["fields"]


def test_stale_version_keeps_input(client, mentor, school):
    student = StudentFactory(school=school, city="Nijmegen", phone="06 12345678")
    url = f"/leerlingen/{student.id}/bewerken"
    form_page = client.get(url)  # the editor opens the form (version 1)
    with db.engine.begin() as conn:  # a colleague saves first
        conn.execute(update(Student.__table__).where(Student.id == student.id).values(phone="06 99999999", version=2))
    token = re.search(r'name="csrf_token" value="([^"]+)"', form_page.get_data(as_text=True)).group(1)
    response = client.post(url, data={**FORM, "city": "Arnhem", "bsn": "", "version": "1", "csrf_token": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Iemand anders heeft deze leerling intussen gewijzigd" in html
    assert 'value="Arnhem"' in html and 'name="version" value="2"' in html
    db.session.expire_all()
    assert db.session.get(Student, student.id).city == "Nijmegen"
    # saving again, now on the current version, works
    response = client.post(url, data={**FORM, "city": "Arnhem", "bsn": "", "version": "2", "csrf_token": token})
    assert response.status_code == 302


def test_edit_remove_bsn(client, mentor, school):
    student = StudentFactory(school=school, bsn=BSN)
    url = f"/leerlingen/{student.id}/bewerken"
    assert post_form(client, url, {**FORM, "bsn": "", "remove_bsn": "1", "version": "1"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Student, student.id).bsn_encrypted is None


def test_invalid_edit_rerenders(client, mentor, school):
    student = StudentFactory(school=school)
    response = post_form(client, f"/leerlingen/{student.id}/bewerken", {**FORM, "date_of_birth": "", "version": "1"})
    assert response.status_code == 400 and "Vul dit veld in." in response.get_data(as_text=True)


def test_nav_shows_students_for_school_staff(client, mentor):
    html = client.get("/leerlingen").get_data(as_text=True)
    assert 'href="/leerlingen" aria-current="page"' in html
    assert "/beheer/organisaties" in html and "/beheer/accounts" not in html
