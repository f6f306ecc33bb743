"""The eindgesprek and exit pages of a route (issue 20), and the student's own route in the
portal: they render, keep the input with Dutch messages on error, ask about a contradiction,
catch a stale form, refuse outsiders; the student reads the route in words, decided and
audited, another student sees none of it, and the download holds it."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from consent.agreements.models import AgreementKind
from consent.agreements.service import create_agreement
from network import clock
from network.audit import AuditEvent
from network.db import db
from network.models import Role
from referrals.eindgesprek import record_eindgesprek
from referrals.exit_models import Eindgesprek, RouteExit
from referrals.route_exit import record_structured_exit
from referrals.route_service import add_months, open_route
from tests.conftest import post_form
from tests.factories import StudentFactory, login, make_member
from tests.referrals._world import route_actors, route_world  # noqa: F401  (fixtures)


@pytest.fixture
def route(session, route_world, route_actors):
    made = open_route(session, route_actors["mentor"], route_world["student"], {})
    made.start_date = add_months(clock.today(), -12)
    session.commit()
    return made


def _events(event_type: str) -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)).all()


def test_the_eindgesprek_form_keeps_input_and_records(client, session, route_world, route):
    login(client, route_world["mentor"])
    page = f"/trajecten/{route.id}/eindgesprek"
    html = client.get(page).get_data(as_text=True)
    assert "Eindgesprek met Sanne Visser" in html and route_world["gemeente"].name in html
    assert route_world["other_school"].name not in html  # schools are no partners of the hand-over
    gemeente = str(route_world["gemeente"].id)
    bad = post_form(client, page, {"held_on": clock.today().isoformat(), "alternative": "Uitzendwerk",
                                   "partners": gemeente})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "Schrijf op wat de student zelf zegt" in html and "Uitzendwerk" in html
    assert f'value="{gemeente}" checked' in html
    done = post_form(client, page, {"held_on": clock.today().isoformat(), "alternative": "Uitzendwerk",
                                    "partners": gemeente, "step": "beschut_werk", "student_words": "Ik wil koken"})
    assert done.status_code == 302
    found = session.scalar(select(Eindgesprek))
    shown = client.get(f"/trajecten/{route.id}/eindgesprek/{found.id}").get_data(as_text=True)
    assert "Ik wil koken" in shown and "Beschut werk" in shown and route_world["gemeente"].name in shown
    assert not re.search(r"\bbeschut_werk\b", shown)
    assert _events("eindgesprek:view") and _events("eindgesprek:record")
    assert "Eindgesprek van" in client.get(f"/trajecten/{route.id}").get_data(as_text=True)


def test_outsiders_get_not_found(client, session, route_world, route_actors, keyring, route):
    found = record_eindgesprek(session, route_actors["mentor"], keyring, route,
                               {"held_on": clock.today(), "student_words": "Ja"})
    session.commit()
    for who in ("other_mentor", "partner"):
        login(client, route_world[who])
        for url in (f"/trajecten/{route.id}/eindgesprek/{found.id}", f"/trajecten/{route.id}/uitstroom"):
            assert client.get(url).status_code in (403, 404)


def test_the_exit_form_prefills_the_plan_asks_about_a_contradiction_and_saves(client, session, route_world,
                                                                              route_actors, keyring, route):
    plan = create_agreement(session, route_actors["mentor"], keyring, route_world["student"], AgreementKind.plan)
    plan.latest.content_encrypted = keyring.encrypt(json.dumps({"return_ticket": {"later": "Niveau 2 in de BBL"}}),
                                                    plan.latest.content_ref())
    session.commit()
    login(client, route_world["mentor"])
    page = f"/trajecten/{route.id}/uitstroom"
    html = client.get(page).get_data(as_text=True)
    assert "Later terug naar school: Niveau 2 in de BBL" in html and _events("exit:form")
    form = {"exit_date": add_months(clock.today(), -1).isoformat(), "way_out": "tussentijds", "reason": "Werk gevonden",
            "destination": "vervolgopleiding", "startkwalificatie": "nee", "certificates": "VCA"}
    asked = post_form(client, page, form)
    html = asked.get_data(as_text=True)
    assert asked.status_code == 400 and "geen school genoemd" in html and 'name="confirm"' in html
    assert "Werk gevonden" in html and session.scalar(select(RouteExit)) is None
    done = post_form(client, page, {**form, "confirm": "true"})
    assert done.status_code == 302
    detail = client.get(f"/trajecten/{route.id}").get_data(as_text=True)
    assert "Vervolgopleiding" in detail and "Tussentijdse uitstroom" in detail and "VCA" in detail


def test_a_stale_exit_form_is_a_conflict_that_keeps_the_input(client, session, route_world, route):
    login(client, route_world["mentor"])
    page = f"/trajecten/{route.id}/uitstroom"
    response = post_form(client, page, {"exit_date": add_months(clock.today(), -1).isoformat(), "way_out": "diploma",
                                        "destination": "werkzoekend", "retourticket": "Mijn tekst",
                                        "version": str(route.version - 1)})
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and "intussen gewijzigd" in html and "Mijn tekst" in html
    assert session.scalar(select(RouteExit)) is None


def test_the_student_reads_their_route_in_words(client, session, route_world, route_actors, keyring, route):
    record_eindgesprek(session, route_actors["mentor"], keyring, route, {
        "held_on": clock.today(), "step": "sociale_onderneming", "student_words": "Ik wil bij de bakker werken"},
        partners=[route_world["gemeente"].id])
    record_structured_exit(session, route_actors["mentor"], keyring, route, {
        "exit_date": add_months(clock.today(), -1), "way_out": "entree_diploma",
        "destination": "werk_met_ondersteuning", "certificates": "Heftruck", "startkwalificatie": "nee",
        "retourticket": "Later niveau 2"})
    account = make_member(Role.student, route_world["school"])
    route_world["student"].account_id = account.id
    session.commit()
    login(client, account)
    page = client.get("/mijn-gegevens/route")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Mijn route" in html and "Transitieroute" in html
    assert "Je bent aangemeld" in html and "hier ben je nu" in html
    assert "Wat je zelf zei" in html and "Ik wil bij de bakker werken" in html and "Sociale onderneming" in html
    assert "Entreediploma" in html and "Werk met ondersteuning" in html and "Heftruck" in html
    assert "Later niveau 2" in html and route_world["gemeente"].name in html
    assert not re.search(r"\b(entree_diploma|werk_met_ondersteuning|sociale_onderneming|aanmelding)\b", html)
    reads = _events("route:student-view")
    assert len(reads) == 1 and reads[0].purpose == "inzage" and reads[0].student_id == str(route.student_id)
    data = client.get("/mijn-gegevens/download?formaat=json").get_json()
    assert data["route_exit"][0]["way_out"] == "entree_diploma" and data["route_exit"][0]["retourticket"]
    assert data["eindgesprekken"][0]["student_words"] == "Ik wil bij de bakker werken"
    assert data["route"][0]["exit_date"] and len(data["route"][0]["phases"]) == 7
    csv = client.get("/mijn-gegevens/download?formaat=csv").get_data(as_text=True)
    assert "route_exit;1;destination;werk_met_ondersteuning" in csv
    # another student sees nothing of it, and cannot ask for it
    other = make_member(Role.student, route_world["school"])
    StudentFactory(school=route_world["school"], account_id=other.id)
    session.commit()
    login(client, other)
    html = client.get("/mijn-gegevens/route").get_data(as_text=True)
    assert "nog geen route" in html and "bakker" not in html
    assert client.get(f"/mijn-gegevens/route?leerling={route.student_id}").status_code == 404


def test_the_student_reads_their_gesprek_check_ins_and_referrals_and_downloads_them(client, session, route_world,
                                                                                    route_actors, keyring, route):
    from referrals.checkins import record_check_in
    from referrals.intake import record_intake
    from referrals.models import CheckIn, Referral
    from referrals.states import ReferralStatus, ReferralType
    from tests.socialmap.conftest import add_service

    record_intake(session, route_actors["mentor"], keyring, route,
                  {"held_on": clock.today(), "dream_job": "Bakker", "summary": "Een vaste begeleider"})
    record_structured_exit(session, route_actors["mentor"], keyring, route, {
        "exit_date": add_months(clock.today(), -4), "way_out": "diploma", "destination": "werkzoekend",
        "startkwalificatie": "ja"})
    session.commit()
    first = session.scalars(select(CheckIn).where(CheckIn.route_id == route.id).order_by(CheckIn.due_date)).first()
    record_check_in(session, route_actors["mentor"], keyring, first, {"situation": "werkend", "note": "Bij de bakker"})
    second = session.scalar(select(CheckIn).where(CheckIn.route_id == route.id, CheckIn.months == 6))
    record_check_in(session, route_actors["mentor"], keyring, second, {
        "situation": "niet_bereikt", "attempt_date": clock.today(), "attempt_method": "telefoon"})  # issue 20 item 5
    service = add_service(route_world["gemeente"], "Jobcoaching jongeren")
    for status in (ReferralStatus.in_progress, ReferralStatus.draft):
        session.add(Referral(student_id=route.student_id, from_organisation_id=route_world["school"].id,
                             to_organisation_id=route_world["gemeente"].id, service_id=service.id,
                             purpose="jobcoaching", type=ReferralType.transitieroute, status=status,
                             from_name="Mentor", sent_at=clock.utcnow() if status != ReferralStatus.draft else None))
    account = make_member(Role.student, route_world["school"])
    route_world["student"].account_id = account.id
    session.commit()
    login(client, account)
    html = client.get("/mijn-gegevens/route").get_data(as_text=True)
    assert "Je gesprek over school en werk" in html and "Wat is je wensberoep?" in html and "Bakker" in html
    assert "Na 3 maanden" in html and "Werkend" in html and "Bij de bakker" in html
    assert "Jobcoaching jongeren" in html and "Ze helpen je nu." in html
    assert html.count("Jobcoaching jongeren") == 1  # the school's unsent draft is not shown
    assert not re.search(r"\b(in-progress|werkend|transitieroute)\b", html)
    data = client.get("/mijn-gegevens/download?formaat=json").get_json()
    assert data["school_naar_werk_gesprekken"][0]["dream_job"] == "Bakker"
    assert data["check_ins"][0]["situation"] == "werkend" and data["check_ins"][0]["note"] == "Bij de bakker"
    assert [a["method"] for a in data["check_ins"][1]["attempts"]] == ["telefoon"]
    assert "telefoon" in client.get("/mijn-gegevens/download?formaat=csv").get_data(as_text=True)
    assert [r["status"] for r in data["referrals"]] == ["in-progress"] and data["referrals"][0]["to"]
