"""In a real browser: the uitstroomcoördinator of the demo region updates an entry's capacity
(one click) and its contact person (with a validation error first); a mentor then finds the
entry by search and sees the new details. axe-core finds no WCAG 2.1 A/AA violation on the
search, detail, edit form (with the error shown) and freshness dashboard pages."""

from __future__ import annotations

import pytest

from network.demo import DEMO_PASSWORD
from tests.e2e.conftest import assert_accessible

pytestmark = pytest.mark.e2e

COORDINATOR = "e.mulder@schakel-waalrand.example"
MENTOR = "j.devries@rocwaalrand.example"


@pytest.fixture
def demo_region(app, monkeypatch):
    # the coordinator's second factor is tested elsewhere (tests/network); here it is the map
    monkeypatch.setitem(app.config, "MFA_REQUIRED_ROLES", [])
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output


def _log_in(page, email: str) -> None:
    page.goto("/inloggen")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord", exact=True).fill(DEMO_PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()
    assert "/inloggen" not in page.url, page.url


def test_coordinator_updates_and_mentor_finds(browser, live_server, page, axe, demo_region):
    _log_in(page, COORDINATOR)
    page.goto("/sociale-kaart?q=jobcoach")
    assert_accessible(axe, page, "search page")
    page.locator("main ol.cards").get_by_role("link", name="Jobcoach team jongeren").first.click()
    page.wait_for_load_state()
    assert_accessible(axe, page, "detail page")
    page.get_by_role("button", name="Wachtlijst").click()
    page.wait_for_load_state()
    assert page.get_by_text("Capaciteit bijgewerkt: Wachtlijst.").is_visible()

    page.get_by_role("link", name="Dienst bewerken").click()
    page.wait_for_load_state()
    page.locator("#f-contact-0-email").fill("geen-e-mailadres")
    page.get_by_role("button", name="Opslaan").click()
    page.wait_for_load_state()
    assert page.locator("#f-contact-0-email-error").is_visible()
    assert page.locator("#f-contact-0-email").input_value() == "geen-e-mailadres"  # input kept
    assert_accessible(axe, page, "edit form with a validation error")
    page.locator("#f-contact-0-name").fill("Noor Willems")
    page.locator("#f-contact-0-email").fill("n.willems@waalstede.example")
    page.get_by_role("button", name="Opslaan").click()
    page.wait_for_load_state()
    assert page.get_by_text("De wijzigingen zijn opgeslagen.").is_visible(), page.locator("main").inner_text()[:1500]

    page.goto("/sociale-kaart/actualiteit")
    assert page.locator("h1").is_visible()
    assert_accessible(axe, page, "freshness dashboard")
    assert not page.problems, page.problems

    mentor = browser.new_context(base_url=live_server, locale="nl-NL")
    other = mentor.new_page()
    try:
        _log_in(other, MENTOR)
        other.goto("/sociale-kaart")
        other.get_by_label("Zoekwoorden").fill("jobcoach jongeren")
        other.locator("main form[role=search] button[type=submit]").click()
        other.wait_for_load_state()
        other.locator("main ol.cards").get_by_role("link", name="Jobcoach team jongeren").first.click()
        other.wait_for_load_state()
        main = other.locator("main")
        assert main.get_by_text("Noor Willems").first.is_visible()
        assert main.get_by_text("n.willems@waalstede.example").first.is_visible()
        assert main.get_by_text("Wachtlijst").first.is_visible()
        assert_accessible(axe, other, "detail page for a mentor")
    finally:
        mentor.close()
