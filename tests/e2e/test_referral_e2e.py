"""In a real browser, on the demo region: a mentor refers Daan to the gemeente's jobcoach with
the wizard; the jobcoach accepts, records the warm hand-over and completes with an outcome;
the mentor sees the outcome. Then Daan withdraws his consent and the jobcoach's next view of
the referral shows that, and no data. axe-core finds no WCAG 2.1 A/AA violation on any page."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import assert_accessible, log_in

pytestmark = pytest.mark.e2e

MENTOR = "j.devries@rocwaalrand.example"
JOBCOACH = "l.verhoeven@waalstede.example"
STUDENT = "daan.willems@student.rocwaalrand.example"


def _next(page) -> None:
    page.get_by_role("button", name="Opslaan en verder").click()
    page.wait_for_load_state()


def test_mentor_refers_and_the_jobcoach_accepts_hands_over_and_completes(app, page, browser, live_server, axe,
                                                                          demo_region):
    log_in(page, MENTOR)
    page.goto("/leerlingen?q=Willems")
    page.get_by_role("link", name="Willems, Daan").first.click()
    page.wait_for_load_state()
    page.get_by_role("link", name="Verwijzen", exact=True).click()
    page.wait_for_load_state()

    # step 2: the service, found on the sociale kaart
    page.get_by_label("Zoekwoorden").fill("jobcoach")
    page.get_by_role("button", name="Zoeken").click()
    page.wait_for_load_state()
    assert_accessible(axe, page, "wizard: find the service")
    page.get_by_label(re.compile("Jobcoach team jongeren")).first.check()
    page.locator("main form button[type=submit]", has_text=re.compile("Verder|Opslaan en verder")).last.click()
    page.wait_for_load_state()

    # step 3: the sign-up form; sending without a reason is refused at the field, input kept
    page.get_by_label("Doel van de verwijzing").select_option("jobcoaching")
    page.get_by_label(re.compile("^Transitieroute")).check()
    assert_accessible(axe, page, "wizard: sign-up form")
    page.get_by_label(re.compile("^Reden van de verwijzing")).fill(
        "Daan rondt zijn eindstage af en zoekt werk in de logistiek; hij heeft een jobcoach nodig.")
    _next(page)

    # step 4: the data categories with a basis for the gemeente (Daan's consent)
    assert_accessible(axe, page, "wizard: data categories")
    contact = page.get_by_label(re.compile("^Contactgegevens"))
    if not contact.is_checked():
        contact.check()
    _next(page)

    # step 5: the preview shows exactly what the jobcoach will see
    assert page.get_by_text("Willems").first.is_visible()
    assert_accessible(axe, page, "wizard: preview")
    page.get_by_role("button", name="Versturen").click()
    page.wait_for_load_state()
    match = re.search(r"/verwijzingen/(\d+)", page.url)
    assert match, page.url
    referral_id = match.group(1)
    assert_accessible(axe, page, "sent referral")

    coach_context = browser.new_context(base_url=live_server, locale="nl-NL")
    coach = coach_context.new_page()
    log_in(coach, JOBCOACH)
    coach.goto("/inbox")
    assert_accessible(axe, coach, "inbox")
    coach.goto(f"/inbox/{referral_id}")
    assert coach.get_by_text("Willems").first.is_visible()
    assert_accessible(axe, coach, "referral in the inbox")
    coach.get_by_role("button", name="Accepteren").click()
    coach.wait_for_load_state()

    coach.get_by_label("Datum van het gesprek").fill("2026-11-20")
    coach.get_by_label(re.compile("^Wie waren erbij")).fill("Daan, mentor De Vries en jobcoach Verhoeven")
    coach.get_by_role("button", name="Overdracht vastleggen en begeleiding starten").click()
    coach.wait_for_load_state()
    assert_accessible(axe, coach, "referral in progress")

    coach.get_by_label("Werk", exact=True).check()
    coach.get_by_role("button", name="Afronden met een uitkomst").click()
    coach.wait_for_load_state()
    assert coach.get_by_text("Afgerond").first.is_visible()
    coach_context.close()

    page.goto(f"/verwijzingen/{referral_id}")
    assert page.get_by_text("Afgerond").first.is_visible()
    assert page.get_by_text("Werk").first.is_visible()
    assert page.problems == []


def test_student_withdraws_and_the_jobcoach_sees_no_data(app, page, browser, live_server, axe, demo_region):
    from sqlalchemy import select

    from network.db import db
    from network.models import Organisation
    from referrals.models import Referral
    from referrals.states import ReferralStatus

    with app.app_context():
        gemeente = db.session.scalar(select(Organisation.id).where(Organisation.name == "Gemeente Waalstede"))
        referral_id = db.session.scalar(select(Referral.id).where(Referral.to_organisation_id == gemeente,
                                                                   Referral.status == ReferralStatus.in_progress))
    assert referral_id

    coach_context = browser.new_context(base_url=live_server, locale="nl-NL")
    coach = coach_context.new_page()
    log_in(coach, JOBCOACH)
    coach.goto(f"/inbox/{referral_id}")
    assert coach.get_by_text("Willems").first.is_visible()

    log_in(page, STUDENT)
    page.goto("/mijn-gegevens/toestemmingen")
    page.locator("article", has_text="Gemeente Waalstede").get_by_role("button", name="Intrekken").click()
    page.wait_for_load_state()
    assert page.get_by_text("De toestemming is ingetrokken").is_visible()

    coach.reload()
    assert coach.get_by_text("toestemming ingetrokken").first.is_visible()
    assert coach.get_by_text("Willems").count() == 0
    assert_accessible(axe, coach, "referral after the withdrawal")
    coach_context.close()
    assert page.problems == []


def test_route_dashboard_and_notification_pages_are_accessible(app, page, browser, live_server, axe, demo_region):
    """axe over the pages the journeys above do not pass: routes (list, route, intake form, timeline,
    a due check-in), the school's lists, notifications, and the coordinator's dashboard."""
    from sqlalchemy import select

    from network.db import db
    from referrals.models import CheckIn, Route

    with app.app_context():
        route_id = db.session.scalar(select(Route.id).order_by(Route.id))
        check_in_id = db.session.scalar(select(CheckIn.id).where(CheckIn.recorded_at.is_(None))
                                        .order_by(CheckIn.due_date))
    log_in(page, MENTOR)
    for path, what in (("/trajecten", "routes"), (f"/trajecten/{route_id}", "route"),
                       (f"/trajecten/{route_id}/gesprek", "intake form"),
                       (f"/trajecten/{route_id}/tijdlijn", "timeline"),
                       (f"/trajecten/nazorg/{check_in_id}", "check-in"), ("/verwijzingen", "sent referrals"),
                       ("/verwijzingen/concepten", "drafts"), ("/meldingen/", "notifications")):
        response = page.goto(path)
        assert response.status == 200, (path, response.status)
        assert_accessible(axe, page, what)

    coordinator = "e.mulder@schakel-waalrand.example"
    coordinator_context = browser.new_context(base_url=live_server, locale="nl-NL")
    other = coordinator_context.new_page()
    log_in(other, coordinator)
    result = app.test_cli_runner().invoke(args=["demo", "totp", coordinator])
    assert result.exit_code == 0, result.output
    other.get_by_label(re.compile("Code")).fill(result.output.strip().splitlines()[0])
    other.get_by_role("button", name="Tweestapsverificatie aanzetten").click()
    other.wait_for_load_state()
    response = other.goto("/regio/")
    assert response.status == 200
    assert other.locator("main svg[role=img]").count() >= 1  # the charts, with the tables as text
    assert_accessible(axe, other, "region dashboard")
    response = other.goto("/regio/achterstallig")
    assert response.status == 200
    assert_accessible(axe, other, "overdue referrals")
    coordinator_context.close()
    assert page.problems == []
