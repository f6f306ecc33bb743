"""In a real browser, on the demo region: the mentor drafts Daan's school-naar-werk-plan (goal,
checks & balances, the gemeente's jobcoach as a party, everyone's own commitment) and offers
it; Daan, the jobcoach and the mentor each sign with their password; the plan becomes active
and verifies on the public page; the mentor edits it and version 2 asks for signatures again.
axe-core finds no WCAG 2.1 A/AA violation on any page of the journey."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete

from tests.e2e.conftest import assert_accessible, log_in

pytestmark = pytest.mark.e2e

MENTOR = "j.devries@rocwaalrand.example"
JOBCOACH = "l.verhoeven@waalstede.example"
STUDENT = "daan.willems@student.rocwaalrand.example"


def _clear_demo_agreements(app) -> None:
    """Daan has a signed demo plan; this journey drafts one from the start."""
    from consent.agreements.models import Agreement
    from network.db import db

    with app.app_context():
        db.session.execute(delete(Agreement))
        db.session.commit()


def _verify_code(app) -> str:
    from sqlalchemy import select

    from consent.agreements.models import Agreement
    from network.db import db

    with app.app_context():
        return db.session.scalar(select(Agreement.verify_code))


def _save(page) -> None:
    page.get_by_role("button", name="Opslaan", exact=True).click()
    page.wait_for_load_state()


def _sign(page, axe, agreement_path: str, link_name, what: str) -> None:
    """Open the plan, follow the signing link, confirm with the password and sign."""
    from network.demo import DEMO_PASSWORD

    page.goto(agreement_path)
    page.get_by_role("link", name=link_name).first.click()
    page.wait_for_load_state()
    assert_accessible(axe, page, f"sign page ({what})")
    password = page.get_by_label("Uw wachtwoord")
    if password.count():
        password.fill(DEMO_PASSWORD)
    page.get_by_label(re.compile("^Ik heb deze versie gelezen")).check()
    page.get_by_role("button", name=re.compile("^Onderteken versie")).click()
    page.wait_for_load_state()
    assert not page.problems, page.problems


def test_plan_is_drafted_signed_by_three_parties_and_asks_again_after_an_edit(app, page, browser, live_server, axe,
                                                                             demo_region):
    _clear_demo_agreements(app)
    log_in(page, MENTOR)
    page.goto("/leerlingen?q=Willems")
    page.get_by_role("link", name="Willems, Daan").first.click()
    page.wait_for_load_state()
    page.get_by_role("link", name="School-naar-werk-plan", exact=True).click()
    page.wait_for_load_state()
    assert_accessible(axe, page, "new agreement")
    page.get_by_label("School-naar-werk-plan").check()
    page.get_by_role("button", name="Aanmaken").click()
    page.wait_for_load_state()
    match = re.search(r"/plannen/([0-9a-f-]{36})", page.url)
    assert match, page.url
    plan_path = f"/plannen/{match.group(1)}"
    assert_accessible(axe, page, "plan overview (draft)")

    # the goal, then the checks & balances: offering without the fall-back strategy is refused first
    page.goto(f"{plan_path}/onderdeel/future")
    page.get_by_label("Wat is jouw doel?").fill("Een vaste baan in een magazijn, met een jobcoach in het begin.")
    page.get_by_label(re.compile("^Toekomstig beroep")).fill("Magazijnmedewerker")
    assert_accessible(axe, page, "section form")
    _save(page)

    page.goto(f"{plan_path}/aanbieden")
    page.get_by_role("button", name="Ter ondertekening aanbieden").click()
    page.wait_for_load_state()
    assert page.get_by_text(re.compile("Terugvalstrategie")).first.is_visible()
    assert_accessible(axe, page, "offer refused")

    page.goto(f"{plan_path}/onderdeel/checks")
    page.get_by_label(re.compile("^Contactpersoon")).fill("Joost de Vries (mentor)")
    page.get_by_label(re.compile("^Terugvalstrategie")).fill("Binnen een week een gesprek met alle partijen.")
    page.get_by_label(re.compile("^Wie beslist dan")).fill("Daan met zijn mentor")
    page.get_by_label(re.compile("^Hoe maak je bezwaar")).fill("Bij de klachtencommissie van de school.")
    _save(page)

    # the parties: the gemeente's jobcoach joins; every party writes its own commitment
    page.goto(f"{plan_path}/partijen")
    assert_accessible(axe, page, "parties form")
    commitments = page.get_by_label(re.compile("^Toezegging in eigen woorden"))
    commitments.nth(0).fill("Ik ga elke week naar mijn stage en zeg het als het niet goed gaat.")
    commitments.nth(1).fill("De mentor begeleidt de eindstage en houdt het plan bij.")
    page.locator("select[name='parties-2-organisation_id']").select_option(label="Gemeente Waalstede")
    page.locator("input[name='parties-2-role']").fill("jobcoach gemeente")
    page.locator("select[name='parties-2-purpose']").select_option("jobcoaching")
    commitments.nth(2).fill("De jobcoach begeleidt Daan op de werkplek, eerst wekelijks.")
    _save(page)

    page.goto(f"{plan_path}/aanbieden")
    assert_accessible(axe, page, "offer form")
    page.get_by_role("button", name="Ter ondertekening aanbieden").click()
    page.wait_for_load_state()
    assert page.get_by_text("Wacht op handtekeningen").first.is_visible()

    # Daan signs his own plan
    daan_context = browser.new_context(base_url=live_server, locale="nl-NL")
    daan = daan_context.new_page()
    daan.problems = []
    log_in(daan, STUDENT)
    daan.goto("/plannen")
    assert_accessible(axe, daan, "the student's list of plans")
    _sign(daan, axe, plan_path, re.compile("Lees en onderteken versie 1"), "student")
    daan_context.close()

    # the jobcoach signs for the gemeente
    coach_context = browser.new_context(base_url=live_server, locale="nl-NL")
    coach = coach_context.new_page()
    coach.problems = []
    log_in(coach, JOBCOACH)
    _sign(coach, axe, plan_path, re.compile("Ondertekenen namens Gemeente Waalstede"), "jobcoach")
    coach_context.close()

    # the mentor signs for the school: the plan is active and verifies for anyone
    _sign(page, axe, plan_path, re.compile("Ondertekenen namens ROC Waalrand"), "mentor")
    page.goto(plan_path)
    assert page.get_by_text("Geldt: door alle partijen ondertekend").first.is_visible()
    assert_accessible(axe, page, "plan overview (active)")
    page.goto(f"{plan_path}/versies/1")
    assert_accessible(axe, page, "version 1")
    page.goto(f"{plan_path}/versies/1/afdruk")
    assert_accessible(axe, page, "print view")
    code = _verify_code(app)
    assert code in page.content()  # the printed plan carries its verification code

    visitor_context = browser.new_context(base_url=live_server, locale="nl-NL")
    visitor = visitor_context.new_page()
    visitor.goto(f"/controle/{code}")
    assert visitor.get_by_text(re.compile("geldig", re.IGNORECASE)).first.is_visible()
    assert "Willems" not in visitor.content()
    assert_accessible(axe, visitor, "public verification")
    visitor_context.close()

    # the mentor edits the goal: version 2 is made and must be signed again; version 1 still holds
    page.goto(f"{plan_path}/onderdeel/future")
    page.get_by_label("Wat is jouw doel?").fill("Een vaste baan als orderpicker bij Logistiek Centrum Waalhaven.")
    _save(page)
    page.goto(f"{plan_path}/verschil?van=1&naar=2")
    assert page.get_by_text("orderpicker").first.is_visible()
    assert_accessible(axe, page, "difference between versions")
    page.goto(f"{plan_path}/aanbieden")
    page.get_by_role("button", name="Ter ondertekening aanbieden").click()
    page.wait_for_load_state()
    page.goto(plan_path)
    content = page.content()
    assert "Versie 2" in content and "Ter ondertekening" in content
    assert page.get_by_text("Geldt: door alle partijen ondertekend").first.is_visible()  # version 1 still holds
    assert not page.problems, page.problems
