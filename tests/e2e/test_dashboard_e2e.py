"""In a real browser: a zorgcoördinator of the demo region logs in through the login form,
sees what to do next on the dashboard, opens the students list and the registration form
(with validation errors), and switches to English. axe-core finds no WCAG 2.1 A/AA violation
on any of these pages, and no page breaks the Content-Security-Policy."""

from __future__ import annotations

import re

import pytest

from network.demo import DEMO_PASSWORD
from tests.e2e.conftest import assert_accessible, log_in

pytestmark = pytest.mark.e2e

ZORGCOORDINATOR = "f.elamrani@rocwaalrand.example"
SCREENSHOT = "/tmp/schakel-e2e-dashboard.png"


def test_school_staff_journey_is_accessible(page, axe, demo_region):
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "nl"
    assert_accessible(axe, page, "start page")

    page.goto("/inloggen")
    assert_accessible(axe, page, "login page")
    log_in(page, ZORGCOORDINATOR, "een-verkeerd-wachtwoord")
    assert "/inloggen" in page.url
    assert page.get_by_text("E-mailadres of wachtwoord klopt niet").is_visible()
    assert_accessible(axe, page, "login page with a failed login")

    log_in(page, ZORGCOORDINATOR, DEMO_PASSWORD)
    assert page.url.endswith("/dashboard"), page.url
    assert page.locator("h1").inner_text() == "Overzicht"
    assert page.get_by_text("Welkom, Fatima El Amrani.").is_visible()
    assert page.get_by_text("U werkt als zorgcoördinator bij ROC Waalrand.").is_visible()
    main = page.locator("main")
    assert main.get_by_role("link", name="Leerling registreren").is_visible()
    assert main.get_by_role("link", name="Leerlingen", exact=True).is_visible()
    assert main.get_by_role("link", name="Organisaties in de regio").is_visible()
    # school staff do not manage accounts, so the dashboard does not offer it
    assert main.get_by_role("link", name=re.compile("Account")).count() == 0
    page.screenshot(path=SCREENSHOT, full_page=True)
    assert_accessible(axe, page, "dashboard")

    main.get_by_role("link", name="Leerlingen", exact=True).click()
    page.wait_for_load_state()
    assert page.url.endswith("/leerlingen")
    assert page.get_by_role("link", name=re.compile("Willems, Daan")).is_visible()
    assert page.get_by_role("link", name=re.compile("Bouzid, Yasmina")).is_visible()
    # other schools' students are behind the wall
    assert page.get_by_text("Gerritsen").count() == 0
    assert_accessible(axe, page, "students list")

    page.goto("/dashboard")
    page.locator("main").get_by_role("link", name="Leerling registreren").click()
    page.wait_for_load_state()
    assert page.url.endswith("/leerlingen/nieuw")
    assert_accessible(axe, page, "registration form")
    # Submit what a hurried user would: a name and a bad date; let the server judge (the
    # browser's own required-field check is switched off to reach the server's messages).
    page.get_by_label("Voornaam").fill("Iris")
    page.get_by_label("Geboortedatum").fill("2099-01-01")
    page.eval_on_selector("main form[method=post]", "form => { form.noValidate = true; }")
    page.locator("main form[method=post] button[type=submit]").last.click()
    page.wait_for_load_state()
    summary = page.locator(".error-summary")
    assert summary.is_visible()
    assert page.get_by_label("Voornaam").input_value() == "Iris"  # nothing typed is lost
    assert page.locator("[aria-invalid=true]").count() >= 2
    assert_accessible(axe, page, "registration form with validation errors")

    page.goto("/dashboard")
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Overview"
    assert page.locator("main").get_by_role("link", name="Register a student").is_visible()
    assert_accessible(axe, page, "dashboard in English")
    page.goto("/leerlingen/nieuw")
    assert page.locator("html").get_attribute("lang") == "en"
    assert_accessible(axe, page, "registration form in English")

    assert page.problems == [], "browser console errors (CSP violations?):\n" + "\n".join(page.problems)


def test_hub_admin_sets_up_two_step_verification_and_gets_the_admin_dashboard(app, page, axe, demo_region):
    admin = "t.bos@schakel-waalrand.example"
    log_in(page, admin, DEMO_PASSWORD)
    assert "/account/tweestapsverificatie" in page.url, page.url
    assert_accessible(axe, page, "TOTP set-up page")

    # What a demo user without an authenticator app does: ask the CLI for the code.
    result = app.test_cli_runner().invoke(args=["demo", "totp", admin])
    assert result.exit_code == 0, result.output
    page.get_by_label(re.compile("Code")).fill(result.output.strip().splitlines()[0])
    page.get_by_role("button", name="Tweestapsverificatie aanzetten").click()
    page.wait_for_load_state()
    assert page.url.endswith("/dashboard"), page.url
    main = page.locator("main")
    assert page.get_by_text("U werkt als beheerder van de hub bij Schakel Waalrand.").is_visible()
    for name in ("Organisaties", "Organisatie toevoegen", "Accounts", "Account toevoegen"):
        assert main.get_by_role("link", name=name, exact=True).is_visible(), name
    assert main.get_by_role("link", name="Leerling registreren").count() == 0
    # no scheduler runs beside the tests: the admin is told, with what to do
    assert main.get_by_role("heading", name="Het werk op de achtergrond loopt achter").is_visible()
    assert_accessible(axe, page, "hub admin dashboard (with the scheduler's warning)")
    for name in ("Organisaties", "Accounts"):
        page.locator("main").get_by_role("link", name=name, exact=True).click()
        page.wait_for_load_state()
        assert page.locator("h1").is_visible()
        assert_accessible(axe, page, f"{name} (admin)")
        page.go_back()
        page.wait_for_load_state()

    # a partner system of the gemeente gets an API client; its secret is shown once
    main.get_by_role("link", name="Organisaties", exact=True).click()
    page.get_by_role("link", name="Gemeente Waalstede").click()
    page.get_by_role("link", name="API-clients van deze organisatie").click()
    page.wait_for_load_state()
    assert_accessible(axe, page, "API clients (admin)")
    page.get_by_role("button", name="Client toevoegen").click()
    assert page.get_by_text("Kies een of meer bekende scopes.").first.is_visible()
    assert_accessible(axe, page, "API clients with a field error")
    page.get_by_label("Naam").fill("Zaaksysteem jongerenloket")
    page.get_by_label(re.compile("referrals:read")).check()
    page.get_by_role("button", name="Client toevoegen").click()
    page.wait_for_load_state()
    assert page.get_by_text("Kopieer het geheim nu").is_visible()
    assert_accessible(axe, page, "API client secret")
    assert page.problems == [], "\n".join(page.problems)


def test_partner_staff_dashboard_offers_only_what_they_may_open(page, axe, demo_region):
    log_in(page, "l.verhoeven@waalstede.example", DEMO_PASSWORD)
    assert page.url.endswith("/dashboard"), page.url
    main = page.locator("main")
    assert main.get_by_role("link", name="Organisaties in de regio").is_visible()
    assert main.get_by_role("link", name=re.compile("Leerling")).count() == 0
    assert main.get_by_role("link", name=re.compile("Account")).count() == 0
    assert_accessible(axe, page, "partner staff dashboard")
