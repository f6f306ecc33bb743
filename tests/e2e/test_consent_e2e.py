"""In a real browser: Daan (a demo student) sees who may see what, and withdraws his consent
for Gemeente Waalstede with one button; the jobcoach's next view of his data is denied and the
denied attempt is in the audit log. axe-core finds no WCAG 2.1 A/AA violation on the portal
pages, and none breaks the Content-Security-Policy."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from network import clock
from network.demo import DEMO_PASSWORD
from tests.e2e.conftest import CHROMIUM_ARGS, assert_accessible  # noqa: F401

pytestmark = pytest.mark.e2e

STUDENT = "daan.willems@student.rocwaalrand.example"
JOBCOACH = "l.verhoeven@waalstede.example"


@pytest.fixture
def demo_consents(app):
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    from consent.demo import seed_demo_consents
    from network.db import db

    with app.app_context():
        seed_demo_consents(db.session, app.extensions["schakel.keyring"], clock.today())
        db.session.commit()


def _log_in(page, email: str) -> None:
    page.goto("/inloggen")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord", exact=True).fill(DEMO_PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()


def test_student_withdraws_and_the_partners_next_view_is_denied(app, page, browser, live_server, axe,
                                                              demo_consents):
    _log_in(page, STUDENT)
    page.goto("/mijn-gegevens/toestemmingen")
    assert page.locator("h1").inner_text() == "Wie mag wat zien"
    card = page.locator("article", has_text="Gemeente Waalstede")
    assert card.is_visible()
    assert_accessible(axe, page, "portal: who may see what")

    partner_context = browser.new_context(base_url=live_server, locale="nl-NL")
    partner = partner_context.new_page()
    _log_in(partner, JOBCOACH)
    partner.goto("/gedeeld")
    partner.get_by_role("link", name="Toestemming nr.").first.click()
    partner.wait_for_load_state()
    assert partner.get_by_text("Willems").first.is_visible()

    card.get_by_role("button", name="Intrekken").click()  # one action, no reason asked
    page.wait_for_load_state()
    assert page.get_by_text("De toestemming is ingetrokken").is_visible()
    assert page.locator("article", has_text="Gemeente Waalstede").count() == 0
    assert_accessible(axe, page, "portal after withdrawal")

    response = partner.reload()
    assert response.status == 404  # no basis any more: the page answers as for an unknown student
    assert partner.get_by_text("Willems").count() == 0
    partner_context.close()

    from network.audit import AuditEvent, AuditOutcome
    from network.db import db

    with app.app_context():
        last = db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == "consent:shared-view")
                                  .order_by(AuditEvent.id.desc())).first()
        assert last.outcome is AuditOutcome.denied and last.organisation_name == "Gemeente Waalstede"

    page.goto("/mijn-gegevens/inzage")
    assert page.get_by_text("Gemeente Waalstede").first.is_visible()
    assert_accessible(axe, page, "portal: who looked at my data")
    page.goto("/mijn-gegevens/download")
    assert_accessible(axe, page, "portal: download")
    page.set_viewport_size({"width": 375, "height": 800})  # a phone
    page.goto("/mijn-gegevens/toestemmingen")
    assert_accessible(axe, page, "portal on a phone")
    assert page.problems == []
