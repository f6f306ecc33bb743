"""The stageprotocol's pages: the placement page lists the planned contacts, the mentor records
the first-day call through the form (Dutch errors keeping what was typed), moves the visit with
a reason, the route's timeline shows the contact; the list of contacts due or late (the
zorgcoördinator's for the school) with a constant number of statements for 5 or 25 rows; the
region's figures without names; the visitekaartje as HTML and PDF, decided and audited; denials."""

from __future__ import annotations

import datetime as dt
import io

import pypdf
import pytest
from sqlalchemy import event, select

from network import clock
from network.audit import AuditEvent
from network.db import db
from network.models import SchoolLevel
from referrals.placements.lifecycle import change_status
from referrals.placements.protocol import placement_contacts
from referrals.placements.protocol_job import run_protocol
from referrals.placements.protocol_models import ContactKind, ContactStatus
from referrals.placements.protocol_reads import SCHOOL, due_contacts, overdue_by_school
from referrals.placements.service import create_placement
from referrals.route_service import open_route
from tests.conftest import post_form
from tests.factories import StudentFactory, login
from tests.referrals._placement_world import pactors, placement_data, pworld  # noqa: F401  (fixtures)
from tests.referrals._world import route_actors, route_world  # noqa: F401  (fixtures)
from tests.referrals.test_placements_views import assert_readable


def _running(session, keyring, world, actors, route, *, days_ago=20):
    start = clock.today() - dt.timedelta(days=days_ago)
    made = create_placement(session, actors["mentor"], keyring, route,
                            placement_data(world, start_date=start, end_date=start + dt.timedelta(days=120)))
    change_status(session, actors["mentor"], made, "running", on_date=start)
    session.commit()
    return made


@pytest.fixture
def running(session, keyring, pworld, pactors):
    return _running(session, keyring, pworld, pactors, pworld["route"])


def _first_call(session, placement):
    return next(c for c in placement_contacts(session, placement) if c.kind is ContactKind.first_call_student)


def test_the_placement_page_lists_the_contacts_and_the_card(client, session, pworld, running):
    login(client, pworld["mentor"])
    html = client.get(f"/trajecten/stages/{running.id}").get_data(as_text=True)
    assert "Stageprotocol: contacten" in html and "Belletje eerste dag met de leerling" in html
    assert "Bezoek op de werkplek" in html and "Evaluatie 1" in html and "Vastleggen of verplaatsen" in html
    assert f"/trajecten/stages/{running.id}/visitekaartje" in html
    assert_readable(html)


def test_the_mentor_records_the_first_day_call(client, session, pworld, running):
    login(client, pworld["mentor"])
    call = _first_call(session, running)
    url = f"/trajecten/stages/{running.id}/contacten/vastleggen?contact={call.id}"
    future = (clock.today() + dt.timedelta(days=2)).isoformat()
    refused = post_form(client, url, {"contact": str(call.id), "done_on": future, "with_whom": "student",
                                      "how": "duif", "agreed": "", "follow_up": "Bellen op vrijdag"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "Een contact kan niet in de toekomst hebben plaatsgevonden." in html
    assert "Kies hoe het contact plaatsvond." in html and "Schrijf op wat er is besproken en afgesproken." in html
    assert "Bellen op vrijdag" in html  # what was typed stays
    response = post_form(client, url, {"contact": str(call.id), "done_on": running.start_date.isoformat(),
                                       "with_whom": "student", "how": "phone",
                                       "agreed": "Goed begonnen, belt bij ziekte om 7 uur."})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(type(call), call.id).status is ContactStatus.done
    page = client.get(f"/trajecten/stages/{running.id}").get_data(as_text=True)
    assert "Goed begonnen, belt bij ziekte om 7 uur." in page and "Telefoon" in page
    timeline = client.get(f"/trajecten/{pworld['route'].id}/tijdlijn").get_data(as_text=True)
    assert "Stagecontact: Belletje eerste dag met de leerling (Telefoon)" in timeline


def test_moving_the_visit_needs_a_reason(client, session, pworld, running):
    login(client, pworld["mentor"])
    visit = next(c for c in placement_contacts(session, running) if c.kind is ContactKind.visit)
    page = f"/trajecten/stages/{running.id}/contacten/vastleggen?contact={visit.id}"
    post = f"/trajecten/stages/{running.id}/contacten/{visit.id}/verplaatsen"
    new_day = (clock.today() + dt.timedelta(days=3)).isoformat()
    refused = post_form(client, page, {"due_date": new_day, "move_reason": ""}, post_url=post)
    assert refused.status_code == 400
    assert "Schrijf waarom het contact eerder of later plaatsvindt." in refused.get_data(as_text=True)
    done = post_form(client, page, {"due_date": new_day, "move_reason": "Gaat goed, later langs"}, post_url=post)
    assert done.status_code == 302


def test_denials(client, session, pworld, running):
    call = _first_call(session, running)
    for who in ("other_mentor", "partner"):
        login(client, pworld[who])
        assert client.get(f"/trajecten/stages/{running.id}/visitekaartje").status_code in (403, 404)
        assert client.get(f"/trajecten/stages/{running.id}/contacten/vastleggen?contact={call.id}").status_code \
            in (403, 404)


def test_the_visitekaartje_html_and_pdf(client, session, pworld, running):
    login(client, pworld["mentor"])
    html = client.get(f"/trajecten/stages/{running.id}/visitekaartje").get_data(as_text=True)
    assert "Visitekaartje stage" in html and "Henk van Dalen" in html and "0487 512 345" in html
    assert pworld["mentor"].name in html and pworld["zorg"].name in html and "agreements-print.css" in html
    response = client.get(f"/trajecten/stages/{running.id}/visitekaartje.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) == 1
    assert "Visitekaartje stage" in text and "Henk van Dalen" in text and "Sanne Visser" in text
    assert "Zorgco" in text and "0487 512 345" in text
    cards = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "placement:card")).all()
    assert len(cards) >= 2  # the page and the PDF, each decided


# -- the lists ----------------------------------------------------------------------------------------

@pytest.fixture
def many(session, keyring, pworld, pactors):
    """Ten students of the school with a running placement each: three contacts late each, and
    two evaluations due within the fortnight."""
    made = []
    for n in range(10):
        student = StudentFactory(school=pworld["school"], level=SchoolLevel.mbo2, first_name=f"Leerling{n}",
                                 last_name="Lijst", expected_exit_date=clock.today() + dt.timedelta(days=300))
        route = open_route(session, pactors["mentor"], student, {})
        made.append(_running(session, keyring, pworld, pactors, route, days_ago=20 + n))
    return made


def _statements(work) -> int:
    count = 0

    def on_execute(*_args):
        nonlocal count
        count += 1

    engine = db.engine
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    return count


def test_the_list_costs_the_same_for_5_or_25_rows(app, session, pworld, pactors, many):
    small = _statements(lambda: due_contacts(db.session, pactors["mentor"], page=1, per_page=5))
    db.session.rollback()
    large = _statements(lambda: due_contacts(db.session, pactors["mentor"], page=1, per_page=25))
    db.session.rollback()
    assert small == large, (small, large)
    result = due_contacts(db.session, pactors["mentor"], per_page=25)
    assert result.total == 32 and len(result.items) == 25 and all(row.late for row in result.items)
    assert small <= 8, small


def test_the_list_pages_mine_and_the_schools(client, session, pworld, pactors, many):
    login(client, pworld["mentor"])
    html = client.get("/trajecten/stagecontacten").get_data(as_text=True)
    assert "32 contacten." in html and "Te laat" in html and "Leerling0 Lijst" in html and "Volgende pagina" in html
    assert_readable(html)
    # the zorgcoördinator has no placements of their own, but sees the school's
    assert due_contacts(session, pactors["zorg"]).total == 0
    assert due_contacts(session, pactors["zorg"], scope=SCHOOL).total == 32
    assert due_contacts(session, pactors["mentor"], scope=SCHOOL).total == 32  # a mentor: still their own


def test_the_regions_figures_have_no_names(client, session, keyring, pworld, pactors, many):
    run_protocol(session, keyring, today=clock.today(), now=dt.datetime.now(dt.UTC))
    session.commit()
    (row,) = overdue_by_school(session, pworld["region"].id)
    assert (row.school, row.placements, row.contacts) == ("ROC Waalrand", 10, 30)
    login(client, pworld["coordinator"])
    html = client.get("/regio/").get_data(as_text=True)
    assert "Stages: contacten van het stageprotocol te laat" in html and "ROC Waalrand" in html
    assert "Leerling0" not in html and "Lijst" not in html


def test_the_demo_placements_have_contacts_done_late_and_cancelled(app, session):
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    from referrals.placements.protocol_models import PlacementContact

    contacts = session.scalars(select(PlacementContact)).all()
    today = clock.today()
    assert sum(c.status is ContactStatus.done for c in contacts) == 6
    assert any(c.status is ContactStatus.planned and c.due_date < today for c in contacts)  # late
    assert any(c.status is ContactStatus.planned and c.due_date >= today for c in contacts)  # still to come
    assert any(c.status is ContactStatus.cancelled for c in contacts)  # Mohammed's paused BPV
    again = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert again.exit_code == 0 and len(session.scalars(select(PlacementContact)).all()) == len(contacts)
    # Kevin's completed eindstage carries the praktijkopleider's signed assessment, once
    from referrals.placements.assessment_models import AssessmentStatus, PlacementAssessment

    [assessment] = session.scalars(select(PlacementAssessment)).all()
    assert assessment.status is AssessmentStatus.submitted and assessment.signed_name == "Gert Groen"
    assert assessment.placement.route.student.first_name == "Kevin" and assessment.would_hire is True
    # Daan wrote his begeleidingsformulier and shares it with his SLB'er, BPV-docent and praktijkopleider, once
    from referrals.placements.guidance_models import GuidanceForm

    [form] = session.scalars(select(GuidanceForm)).all()
    assert form.shared_with == ["slb", "bpv_docent", "praktijkopleider"] and form.written_by_name == "Daan Willems"
