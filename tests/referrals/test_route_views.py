"""The route pages: they render (200), keep the input on error (400 with Dutch messages),
and refuse outsiders (403 without the permission, 404 outside the walls)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from network import clock
from network.db import db
from network.notifications import Notification
from referrals.checkins import record_exit
from referrals.intake import record_intake
from referrals.models import CheckIn, Intake, Route, RoutePhase, RouteStatus
from referrals.route_service import add_months, open_route
from tests.conftest import csrf_from, post_form
from tests.factories import login
from tests.referrals._world import route_actors, route_world  # noqa: F401  (fixtures)


@pytest.fixture
def route(session, route_world, route_actors):
    made = open_route(session, route_actors["mentor"], route_world["student"], {})
    session.commit()
    return made


@pytest.fixture
def exited(session, route_actors, route):
    exit_date = add_months(clock.today(), -4)
    route.start_date = add_months(exit_date, -12)
    record_exit(session, route_actors["mentor"], route, exit_date)
    session.commit()
    return route


def test_open_a_route_from_the_student_page(client, session, route_world):
    login(client, route_world["mentor"])
    student = route_world["student"]
    page = client.get(f"/leerlingen/{student.id}").get_data(as_text=True)
    assert f"/trajecten/nieuw/{student.id}" in page
    form = client.get(f"/trajecten/nieuw/{student.id}")
    assert form.status_code == 200 and "Transitieroute openen" in form.get_data(as_text=True)
    response = post_form(client, f"/trajecten/nieuw/{student.id}",
                         {"expected_exit_date": student.expected_exit_date.isoformat(),
                          "responsible_account_id": str(route_world["zorg"].id)})
    assert response.status_code == 302
    route = session.scalar(select(Route).where(Route.student_id == student.id))
    assert response.headers["Location"].endswith(f"/trajecten/{route.id}")
    assert route.responsible_account_id == route_world["zorg"].id
    again = client.get(f"/trajecten/nieuw/{student.id}")  # a second time: to the existing route
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/trajecten/{route.id}")


def test_open_form_keeps_input_on_error(client, session, route_world):
    login(client, route_world["mentor"])
    student = route_world["student"]
    response = post_form(client, f"/trajecten/nieuw/{student.id}",
                         {"expected_exit_date": "2026-13-45", "start_date": "2020-01-01",
                          "responsible_account_id": str(route_world["zorg"].id)})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Vul een geldige datum in" in html and 'value="2020-01-01"' in html
    assert session.scalar(select(Route.id)) is None


def test_pages_render(client, session, route_world, route_actors, keyring, exited):
    record_intake(session, route_actors["mentor"], keyring, exited, {"held_on": clock.today(), "summary": "Jobcoach"})
    session.commit()
    intake_id = session.scalar(select(Intake.id))
    check_in_id = exited.check_ins[0].id
    login(client, route_world["mentor"])
    for url in ("/trajecten", "/trajecten?status=followup", f"/trajecten/{exited.id}",
                f"/trajecten/{exited.id}/tijdlijn", f"/trajecten/{exited.id}/gesprek",
                f"/trajecten/{exited.id}/gesprek/{intake_id}", f"/trajecten/nazorg/{check_in_id}",
                f"/trajecten/nazorg/{check_in_id}/rmc"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert route_world["student"].first_name in response.get_data(as_text=True), url
    listing = client.get("/trajecten").get_data(as_text=True)
    assert "Nazorg" in listing and exited.check_ins[0].due_date.strftime("%d-%m-%Y") in listing
    assert 'aria-current="page"' in listing


def test_update_form_keeps_input_on_error(client, session, route_world, route):
    login(client, route_world["mentor"])
    future = (clock.today() + dt.timedelta(days=5)).isoformat()
    response = post_form(client, f"/trajecten/{route.id}", {
        "phase": "plan", "responsible_account_id": str(route_world["mentor"].id),
        "expected_exit_date": route.expected_exit_date.isoformat(), "reached_gesprek": future,
        "version": str(route.version), "planned_plan": "2030-02-03"}, post_url=f"/trajecten/{route.id}/bewerken")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Een bereikte datum kan niet in de toekomst liggen." in html
    assert f'value="{future}"' in html and 'value="2030-02-03"' in html
    db.session.expire_all()
    assert session.get(Route, route.id).phase is RoutePhase.aanmelding


def test_update_saves(client, session, route_world, route):
    login(client, route_world["mentor"])
    response = post_form(client, f"/trajecten/{route.id}", {
        "phase": "gesprek", "responsible_account_id": str(route_world["zorg"].id),
        "expected_exit_date": route.expected_exit_date.isoformat(), "version": str(route.version)},
        post_url=f"/trajecten/{route.id}/bewerken")
    assert response.status_code == 302
    db.session.expire_all()
    saved = session.get(Route, route.id)
    assert saved.phase is RoutePhase.gesprek and saved.responsible_account_id == route_world["zorg"].id


def test_stale_version_is_a_conflict(client, session, route_world, route):
    login(client, route_world["mentor"])
    response = post_form(client, f"/trajecten/{route.id}", {
        "phase": "plan", "responsible_account_id": str(route_world["mentor"].id),
        "expected_exit_date": route.expected_exit_date.isoformat(), "version": str(route.version - 1)},
        post_url=f"/trajecten/{route.id}/bewerken")
    assert response.status_code == 409 and "intussen gewijzigd" in response.get_data(as_text=True)


def test_exit_and_check_in_forms(client, session, route_world, route):
    login(client, route_world["mentor"])
    bad = post_form(client, f"/trajecten/{route.id}/uitstroom",
                    {"exit_date": (clock.today() + dt.timedelta(days=40)).isoformat(), "way_out": "diploma",
                     "destination": "werk_zonder_ondersteuning"})
    assert bad.status_code == 400 and "toekomst" in bad.get_data(as_text=True)
    route.start_date = add_months(clock.today(), -14)
    session.commit()
    exit_date = add_months(clock.today(), -4).isoformat()
    done = post_form(client, f"/trajecten/{route.id}/uitstroom", {
        "exit_date": exit_date, "way_out": "diploma", "destination": "werk_zonder_ondersteuning"})
    assert done.status_code == 302
    db.session.expire_all()
    check_in = session.scalar(select(CheckIn).where(CheckIn.route_id == route.id, CheckIn.months == 3))
    assert session.get(Route, route.id).status is RouteStatus.followup
    empty = post_form(client, f"/trajecten/nazorg/{check_in.id}", {"note": "Niet bereikt"})
    html = empty.get_data(as_text=True)
    assert empty.status_code == 400 and "Kies hoe het met de oud-leerling gaat." in html and "Niet bereikt" in html
    saved = post_form(client, f"/trajecten/nazorg/{check_in.id}", {"situation": "uitgevallen", "note": "Gestopt"})
    assert saved.status_code == 302
    assert session.scalar(select(Notification.account_id).where(Notification.kind == "checkin:rmc-alert")) == \
        route_world["rmc_staff"].id


def test_intake_form_keeps_input_on_error(client, session, route_world, route):
    login(client, route_world["mentor"])
    response = post_form(client, f"/trajecten/{route.id}/gesprek",
                         {"held_on": clock.today().isoformat(), "dream_job": "Kok", "has_cv": "ja"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'value="Kok"' in html and "Vul dit veld in." in html and 'value="ja" checked' in html
    ok = post_form(client, f"/trajecten/{route.id}/gesprek",
                   {"held_on": clock.today().isoformat(), "dream_job": "Kok", "summary": "Hulp bij solliciteren"})
    assert ok.status_code == 302
    shown = client.get(ok.headers["Location"]).get_data(as_text=True)
    assert "Kok" in shown and "Hulp bij solliciteren" in shown


def test_rmc_reads_the_alert_page(client, session, route_world, exited):
    check_in_id = exited.check_ins[0].id
    login(client, route_world["rmc_staff"])
    page = client.get(f"/trajecten/nazorg/{check_in_id}/rmc")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and route_world["student"].phone in html
    assert client.get(f"/trajecten/{exited.id}").status_code == 403  # no route_view for partners
    login(client, route_world["far_rmc_staff"])
    assert client.get(f"/trajecten/nazorg/{check_in_id}/rmc").status_code == 404


def test_walls_and_permissions(client, session, route_world, exited):
    check_in_id = exited.check_ins[0].id
    login(client, route_world["other_mentor"])
    for url in (f"/trajecten/{exited.id}", f"/trajecten/{exited.id}/tijdlijn", f"/trajecten/nazorg/{check_in_id}",
                f"/trajecten/nieuw/{route_world['entree'].id}"):
        assert client.get(url).status_code == 404, url
    login(client, route_world["partner"])
    assert client.get("/trajecten").status_code == 403
    token = csrf_from(client.get("/dashboard").get_data(as_text=True))
    assert client.post(f"/trajecten/{exited.id}/bewerken", data={"csrf_token": token}).status_code == 403
    assert client.get(f"/trajecten/nazorg/{check_in_id}").status_code == 404
