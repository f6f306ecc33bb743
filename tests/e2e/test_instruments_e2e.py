"""In a real browser, on the demo region: a mentor opens Kevin's route (he left school four months
ago), reads the section "Instrumenten naar werk" with the demo's no-riskpolis and BPV job, records
a jobcoach (a first try with 50 hours a week and the end before the start is refused at the
fields, keeping what was typed) and sets an end date. axe-core finds no WCAG 2.1 A/AA violation on
the pages, at 1280 px and at 375 px (a phone), where nothing scrolls sideways either."""

from __future__ import annotations

import datetime as dt

import pytest

from network import clock
from tests.e2e.conftest import assert_accessible, log_in

pytestmark = pytest.mark.e2e

MENTOR = "j.devries@rocwaalrand.example"


def test_a_mentor_records_a_jobcoach_on_kevins_route(page, axe, demo_region):
    log_in(page, MENTOR)
    page.goto("/trajecten")
    page.get_by_role("link", name="Kevin Hermsen").click()
    page.wait_for_load_state()
    section = page.get_by_role("region", name="Instrumenten naar werk")
    assert section.get_by_text("No-riskpolis").first.is_visible()
    assert section.get_by_text("BPV-plek omgezet in een baan (BOL naar BBL)").first.is_visible()
    assert_accessible(axe, page, "route page with its instruments")
    section.get_by_role("link", name="Instrument vastleggen").click()
    page.wait_for_load_state()
    assert_accessible(axe, page, "the instruments page")

    today = clock.today()
    page.get_by_label("Instrument", exact=True).select_option(label="Jobcoach")
    page.get_by_label("Gemeente", exact=True).check()
    page.get_by_label("Uren jobcoaching per week").fill("50")
    page.get_by_label("Startdatum").fill(today.isoformat())
    page.locator("#f-end_date").fill((today - dt.timedelta(days=3)).isoformat())
    page.get_by_label("Geregeld door (organisatie)").select_option(label="Gemeente Waalstede")
    page.get_by_label("Kenmerk en datum van het besluit").fill("Beschikking JC-2026-77")
    page.get_by_role("button", name="Instrument vastleggen").click()
    page.wait_for_load_state()
    summary = page.get_by_role("alert")
    assert summary.get_by_text("Vul het aantal uur jobcoaching per week in: van 1 tot en met 40.").is_visible()
    assert summary.get_by_text("De einddatum ligt vóór de startdatum.").is_visible()
    assert page.get_by_label("Kenmerk en datum van het besluit").input_value() == "Beschikking JC-2026-77"
    assert_accessible(axe, page, "the instrument form with its errors")

    page.get_by_label("Uren jobcoaching per week").fill("6")
    page.locator("#f-end_date").fill("")
    page.get_by_role("button", name="Instrument vastleggen").click()
    page.wait_for_load_state()
    table = page.get_by_role("table", name="Instrumenten naar werk, het nieuwste eerst")
    assert table.get_by_text("Jobcoach (betaald door Gemeente, 6 uur per week)").is_visible()
    assert_accessible(axe, page, "the instruments with the jobcoach")

    page.get_by_label("Einddatum: Jobcoach").fill((today + dt.timedelta(days=90)).isoformat())
    page.get_by_role("button", name="Einddatum opslaan — Jobcoach").click()
    page.wait_for_load_state()
    assert page.get_by_text("De einddatum is vastgelegd.").is_visible()

    page.set_viewport_size({"width": 375, "height": 800})
    # nothing scrolls sideways: the table scrolls in its own box, its hidden button labels with it
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert_accessible(axe, page, "the instruments page on a phone")
