"""In a real browser, on the demo region: a mentor opens Yasmina's route, sees her planned BPV,
registers a snuffelstage at a demo employer of the sociale kaart with the form (a first try
without the required fields keeps what was typed), reads the warning that the praktijkopleider
has no e-mail address, starts the placement and records the first-day call with the student
(the stageprotocol; a first try without what was agreed is refused); the praktijkopleider
assesses the placement through the personal link on a phone. axe-core finds no WCAG 2.1 A/AA violation on
the pages, at 1280 px and at 375 px (a phone), where nothing scrolls sideways either."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from network import clock
from tests.e2e.conftest import assert_accessible, log_in

pytestmark = pytest.mark.e2e

MENTOR = "j.devries@rocwaalrand.example"


def _fits(page) -> bool:
    """Nothing wider than the viewport: no sideways scrolling on a phone."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_a_mentor_registers_a_placement_at_a_demo_employer(page, axe, demo_region):
    log_in(page, MENTOR)
    page.goto("/trajecten")
    page.get_by_role("link", name="Yasmina Bouzid").click()
    page.wait_for_load_state()
    placements = page.get_by_role("region", name="Stages")
    assert placements.get_by_text("Bakkerij Van Dalen").first.is_visible()  # the demo's planned BPV
    assert placements.get_by_text("Gepland").first.is_visible()
    assert_accessible(axe, page, "route page with its placements")
    page.get_by_role("link", name="Stage toevoegen").click()
    page.wait_for_load_state()
    assert_accessible(axe, page, "register a placement")

    # a first try without the praktijkopleider and the week: refused at the fields, input kept
    page.get_by_label("Soort stage").select_option(label="Snuffelstage")
    page.get_by_label("Werkgever op de sociale kaart").select_option(label="Facilitaire leerwerkplek")
    page.get_by_label("Functie of werkzaamheden").fill("Medewerker facilitair")
    start = clock.today() + dt.timedelta(days=160)
    page.get_by_label("Startdatum").fill(start.isoformat())
    page.get_by_label("Geplande einddatum").fill((start + dt.timedelta(days=4)).isoformat())
    page.get_by_role("button", name="Stage opslaan").click()
    page.wait_for_load_state()
    summary = page.get_by_role("alert")
    assert summary.get_by_text("Vul de naam van de praktijkopleider in.").is_visible()
    assert summary.get_by_text("Vul voor minstens één dag het aantal uren in.").is_visible()
    assert page.get_by_label("Functie of werkzaamheden").input_value() == "Medewerker facilitair"
    assert_accessible(axe, page, "the form with its errors")

    page.get_by_label("Naam", exact=True).fill("Ria Janssen")
    page.get_by_label(re.compile("^Telefoonnummer")).fill("0486 545 678")
    page.get_by_label("Maandag").fill("4")
    page.get_by_label("Dinsdag").fill("4,5")
    page.get_by_label("Alleen", exact=True).check()
    page.get_by_label(re.compile("^Leerdoelen")).fill("Kennismaken met het werk in een zorgcentrum\nOp tijd komen")
    page.get_by_label(re.compile("^Werkprocessen van de functie")).fill("Vult voorraden aan\nRuimt de kantine op")
    page.get_by_role("button", name="Stage opslaan").click()
    page.wait_for_load_state()

    assert re.search(r"/trajecten/stages/\d+$", page.url), page.url
    assert page.get_by_role("heading", name=re.compile("Snuffelstage bij Zorgcentrum Bergweide")).is_visible()
    assert page.get_by_text("geen persoonlijke link voor de beoordeling").first.is_visible()
    assert page.get_by_text("2 dagen, 8,5 uur per week").first.is_visible()
    assert_accessible(axe, page, "the placement")

    page.get_by_label("De stage is begonnen").check()
    page.get_by_role("button", name="Status opslaan").click()
    page.wait_for_load_state()
    assert page.get_by_text("De status is bijgewerkt: de stage loopt.").is_visible()
    assert_accessible(axe, page, "the running placement")
    placement_url = page.url

    # the stageprotocol: the first-day call with the student, recorded the same day
    contacts = page.get_by_role("region", name="Stageprotocol: contacten")
    assert contacts.get_by_text("Bezoek op de werkplek", exact=True).is_visible()
    contacts.get_by_role("link", name=re.compile("^Vastleggen of verplaatsen ?: Belletje eerste dag met de leerling")
                         ).click()
    page.wait_for_load_state()
    assert_accessible(axe, page, "record the first-day call")
    page.get_by_role("button", name="Contact opslaan").click()  # empty: refused at the fields
    page.wait_for_load_state()
    assert page.get_by_role("alert").get_by_text("Schrijf op wat er is besproken en afgesproken.").is_visible()
    assert_accessible(axe, page, "the contact form with its errors")
    page.get_by_label("Datum van het contact").fill(clock.today().isoformat())
    page.get_by_label("De leerling", exact=True).check()
    page.get_by_label("Telefoon").check()
    page.get_by_label(re.compile("^Wat is besproken")).fill("Goed begonnen; belt bij ziekte vóór 8 uur.")
    page.get_by_role("button", name="Contact opslaan").click()
    page.wait_for_load_state()
    assert page.get_by_text("Het contact is vastgelegd.").is_visible()
    assert page.get_by_text("Goed begonnen; belt bij ziekte vóór 8 uur.").is_visible()
    assert_accessible(axe, page, "the placement with a recorded contact")

    page.set_viewport_size({"width": 375, "height": 800})  # a phone
    page.goto(placement_url)
    assert_accessible(axe, page, "the placement on a phone")
    assert _fits(page), "the placement page scrolls sideways at 375 px"
    page.get_by_role("link", name="Stage wijzigen").click()
    page.wait_for_load_state()
    assert page.get_by_label("Functie of werkzaamheden").input_value() == "Medewerker facilitair"
    assert_accessible(axe, page, "the edit form on a phone")
    assert _fits(page), "the edit form scrolls sideways at 375 px"
    # the school's list, and a demo placement with a long e-mail address, on the phone too
    page.goto("/trajecten/stages")
    assert_accessible(axe, page, "the school's placements on a phone")
    page.get_by_role("link", name="Daan Willems").first.click()
    page.wait_for_load_state()
    assert page.get_by_text("yvonne.peters@logistiekcentrum.example").is_visible()
    assert_accessible(axe, page, "Daan's eindstage on a phone")
    assert _fits(page), "a placement with a long e-mail address scrolls sideways at 375 px"
    assert page.problems == []


def test_the_praktijkopleider_assesses_on_a_phone_without_an_account(app, page, axe, demo_region):
    """The employer's assessment (item 4): the stagebegeleider's link opened on a 375-px phone
    without logging in, a first try without the signature refused at the fields, then sent; the
    mentor reads the result. axe on each page."""
    from sqlalchemy import select

    from network.db import db
    from referrals.placements.assessment import send_link
    from referrals.placements.models import Placement
    from tests.factories import principal_for

    with app.app_context():
        placement = next(p for p in db.session.scalars(select(Placement).where(Placement.trainer_email.is_not(None))
                                                       .order_by(Placement.id)) if p.werkprocessen)
        assert placement is not None
        mentor = principal_for(placement.supervisor)
        _assessment, link = send_link(db.session, mentor, app.extensions["schakel.keyring"], placement,
                                      base_url="")
        placement_id, first_name = placement.id, placement.route.student.first_name
        db.session.commit()
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(link)
    assert page.get_by_role("heading", name="Beoordelingsformulier werkontwikkeling").is_visible()
    assert page.get_by_text(first_name).first.is_visible()
    assert_accessible(axe, page, "the praktijkopleider's form on a phone")
    assert _fits(page), "the assessment form scrolls sideways at 375 px"
    for radio in page.locator('input[type=radio][value="independent"]').all():
        radio.check()
    for radio in page.locator('input[type=radio][value="own_initiative"]').all():
        radio.check()
    page.locator("#f-hire-ja").check()
    page.locator("#f-develop-ja").check()
    page.get_by_label(re.compile("^Zo ja")).fill("Meer tempo bij drukte.")
    page.get_by_role("button", name="Beoordeling versturen").click()
    page.wait_for_load_state()
    summary = page.get_by_role("alert")
    assert summary.get_by_text("Bevestig dat dit uw beoordeling is.").is_visible()
    assert page.get_by_label(re.compile("^Zo ja")).input_value() == "Meer tempo bij drukte."
    assert_accessible(axe, page, "the assessment form with its errors")
    page.get_by_label("Ik bevestig dat dit mijn beoordeling is.").check()
    page.get_by_label(re.compile("^Uw naam")).fill("Henk van Dalen")
    page.get_by_role("button", name="Beoordeling versturen").click()
    page.wait_for_load_state()
    assert page.get_by_text("Dank u wel. Uw beoordeling is ontvangen").is_visible()
    assert_accessible(axe, page, "the thanks")
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, MENTOR)
    page.goto(f"/trajecten/stages/{placement_id}")
    page.get_by_role("link", name=re.compile("^Beoordeling van")).first.click()
    page.wait_for_load_state()
    assert page.get_by_text("Meer tempo bij drukte.").is_visible()
    assert_accessible(axe, page, "the assessment's result")


STUDENT = "daan.willems@student.rocwaalrand.example"


def _link_from_outbox(app, placement_id: int) -> str:
    """The personal link as the praktijkopleider receives it: from the e-mail in the outbox."""
    from sqlalchemy import select

    from network.db import db
    from network.models import OutboxMessage
    from referrals.placements.models import Placement

    with app.app_context():
        placement = db.session.get(Placement, placement_id)
        mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == placement.trainer_email)
                                  .order_by(OutboxMessage.id.desc())).first()
        body = app.extensions["schakel.keyring"].decrypt(mail.body_encrypted, mail.body_ref())
    return re.search(r"(/stagebeoordeling/\S+)", body).group(1)


def test_the_student_shares_the_form_with_the_praktijkopleider_only(app, browser, live_server, page, axe,
                                                                     demo_region):
    """Issue 19's journey from the begeleidingsformulier on: Daan (whose eindstage is running)
    rewrites his form and shares it with his praktijkopleider only; his mentor can no longer read
    it but sends the assessment link; the praktijkopleider opens it on a 375-px phone, reads the
    form and submits; the mentor reads the result and copies the scores into Daan's plan. axe on
    each page."""
    from sqlalchemy import select

    from network.db import db
    from network.models import Student
    from referrals.placements.models import Placement
    from referrals.placements.states import PlacementStatus

    with app.app_context():
        daan = db.session.scalar(select(Student).where(Student.first_name == "Daan"))
        placement_id = db.session.scalar(select(Placement.id).where(
            Placement.student_id == daan.id, Placement.status == PlacementStatus.running))
    student = browser.new_context(base_url=live_server, locale="nl-NL").new_page()
    student.problems = []
    log_in(student, STUDENT)
    student.goto("/mijn-gegevens/begeleidingsformulier")
    assert student.get_by_role("heading", name="Mijn begeleidingsformulier").is_visible()
    assert_accessible(axe, student, "the student's begeleidingsformulier")
    tips = student.get_by_label("Tips voor de stagebegeleider en collega's:")
    tips.fill("Geef mij één opdracht tegelijk. Vraag of ik hem even herhaal.")
    student.get_by_role("button", name="Formulier opslaan").click()
    student.wait_for_load_state()
    assert student.get_by_text("Je begeleidingsformulier is opgeslagen.").is_visible()
    for label in ("je SLB'er of mentor", "je BPV-docent (je stagebegeleider van school)"):
        student.get_by_label(label).uncheck()
    student.get_by_label("je praktijkopleider op je stageplek").check()
    student.get_by_role("button", name="Keuze opslaan").click()
    student.wait_for_load_state()
    assert student.get_by_text("Dit mag je formulier nu lezen: praktijkopleider.").is_visible()
    student.set_viewport_size({"width": 375, "height": 800})
    assert _fits(student), "the begeleidingsformulier scrolls sideways at 375 px"
    assert_accessible(axe, student, "the begeleidingsformulier on a phone")
    assert student.problems == []
    student.context.close()

    log_in(page, MENTOR)
    page.goto(f"/trajecten/stages/{placement_id}")
    assert page.get_by_text("U kunt het niet lezen").is_visible()
    page.get_by_role("button", name="Link voor de beoordeling versturen").click()
    page.wait_for_load_state()
    assert page.get_by_text("De link voor de beoordeling is verstuurd").is_visible()
    assert page.goto(f"/trajecten/stages/{placement_id}/begeleidingsformulier").status == 403
    assert page.get_by_text("niet met u gedeeld").is_visible() and not page.get_by_text("opdracht tegelijk").count()
    assert_accessible(axe, page, "the refused begeleidingsformulier")
    link = _link_from_outbox(app, placement_id)

    trainer = browser.new_context(base_url=live_server, locale="nl-NL").new_page()
    trainer.problems = []
    trainer.set_viewport_size({"width": 375, "height": 800})
    trainer.goto(link)
    assert trainer.get_by_role("heading", name="Begeleidingsformulier van Daan").is_visible()
    assert trainer.get_by_text("Geef mij één opdracht tegelijk. Vraag of ik hem even herhaal.").is_visible()
    assert _fits(trainer), "the assessment page with the form scrolls sideways at 375 px"
    assert_accessible(axe, trainer, "the praktijkopleider's page with the begeleidingsformulier")
    for radio in trainer.locator('input[type=radio][value="guided"]').all():
        radio.check()
    for radio in trainer.locator('input[type=radio][value="when_directed"]').all():
        radio.check()
    trainer.locator("#f-hire-ja").check()
    trainer.locator("#f-develop-ja").check()
    trainer.get_by_label(re.compile("^Zo ja")).fill("Zelfstandig orders controleren.")
    trainer.get_by_label("Ik bevestig dat dit mijn beoordeling is.").check()
    trainer.get_by_label(re.compile("^Uw naam")).fill("Yvonne Peters")
    trainer.get_by_role("button", name="Beoordeling versturen").click()
    trainer.wait_for_load_state()
    assert trainer.get_by_text("Dank u wel. Uw beoordeling is ontvangen").is_visible()
    assert trainer.problems == []
    trainer.context.close()

    page.goto(f"/trajecten/stages/{placement_id}")
    page.get_by_role("link", name=re.compile("^Beoordeling van .* door Yvonne Peters")).click()
    page.wait_for_load_state()
    assert page.get_by_text("Zelfstandig orders controleren.").is_visible()
    page.get_by_role("button", name="Scores overnemen in het plan").click()
    page.wait_for_load_state()
    assert page.get_by_text(re.compile("De scores staan in de vaardigheden van het plan")).is_visible()
    assert_accessible(axe, page, "the assessment's result after the copy into the plan")
    assert page.problems == []
