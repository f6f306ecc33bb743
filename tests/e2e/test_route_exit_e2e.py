"""In a real browser, on the demo region (issue 20): Daan's mentor holds the eindgesprek (a first
try without the student's own words keeps what was typed), records the exit — a tussentijdse
uitstroom to a vervolgopleiding without a school is asked about before it is stored — and Daan
reads his route, the eindgesprek and the exit in the portal, on a phone too. axe-core finds no
WCAG 2.1 A/AA violation on the pages."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import assert_accessible, log_in

pytestmark = pytest.mark.e2e

MENTOR = "j.devries@rocwaalrand.example"
STUDENT = "daan.willems@student.rocwaalrand.example"


def test_the_mentor_holds_the_eindgesprek_records_the_exit_and_daan_reads_it(browser, live_server, page, axe,
                                                                               demo_region):
    log_in(page, MENTOR)
    page.goto("/trajecten")
    page.get_by_role("link", name="Daan Willems").click()
    page.wait_for_load_state()
    page.get_by_role("link", name="Eindgesprek vastleggen").click()
    page.wait_for_load_state()
    assert_accessible(axe, page, "the eindgesprek form")
    page.get_by_label("Datum van het gesprek").fill(page.evaluate("new Date().toISOString().slice(0, 10)"))
    page.get_by_label(re.compile("^Wat wil de student nog leren")).fill("Zelfstandig een heftruck besturen")
    page.get_by_label("Sociale onderneming").check()
    page.locator("input[name=partners]").first.check()
    page.get_by_role("button", name="Eindgesprek vastleggen").click()
    page.wait_for_load_state()
    assert page.get_by_role("alert").get_by_text("Schrijf op wat de student zelf zegt").is_visible()
    assert page.get_by_label(re.compile("^Wat wil de student nog leren")).input_value() == \
        "Zelfstandig een heftruck besturen"
    assert_accessible(axe, page, "the eindgesprek form with its errors")
    page.get_by_label(re.compile("^In de woorden van de student")).fill("Ik wil in het magazijn blijven werken.")
    page.get_by_role("button", name="Eindgesprek vastleggen").click()
    page.wait_for_load_state()
    assert page.get_by_text("Ik wil in het magazijn blijven werken.").is_visible()
    assert_accessible(axe, page, "the eindgesprek")

    page.get_by_role("link", name="Uitstroom vastleggen", exact=True).click()
    page.wait_for_load_state()
    assert_accessible(axe, page, "the exit form")
    page.get_by_label("Datum van uitstroom").fill(page.evaluate("new Date().toISOString().slice(0, 10)"))
    page.get_by_label("Tussentijdse uitstroom (zonder diploma)").check()
    page.get_by_label(re.compile("^Reden van de tussentijdse uitstroom")).fill("Kan meteen aan het werk")
    page.get_by_label(re.compile("^Behaalde certificaten")).fill("VCA\nHeftruck")
    page.get_by_label("Vervolgopleiding", exact=True).check()
    page.get_by_role("button", name="Uitstroom vastleggen").click()
    page.wait_for_load_state()
    assert page.get_by_role("alert").get_by_text(re.compile("geen school genoemd")).is_visible()
    assert_accessible(axe, page, "the exit form asking about the contradiction")
    page.get_by_label("Ik heb dit gecontroleerd: het klopt zo").check()
    page.get_by_role("button", name="Uitstroom vastleggen").click()
    page.wait_for_load_state()
    assert page.get_by_text("De uitstroom is vastgelegd; de nazorgcontacten zijn gepland.").is_visible()
    assert page.get_by_text("VCA, Heftruck").is_visible()
    assert_accessible(axe, page, "the route with its exit")
    assert page.problems == []

    student = browser.new_context(base_url=live_server, locale="nl-NL").new_page()
    student.problems = []
    log_in(student, STUDENT)
    student.goto("/mijn-gegevens/route")
    assert student.get_by_role("heading", name="Mijn route").is_visible()
    assert student.get_by_text("Ik wil in het magazijn blijven werken.").is_visible()
    assert student.get_by_text("Vervolgopleiding").first.is_visible()
    assert_accessible(axe, student, "the student's route")
    student.set_viewport_size({"width": 375, "height": 800})
    assert student.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert_accessible(axe, student, "the student's route on a phone")
    assert student.problems == []
    student.context.close()
