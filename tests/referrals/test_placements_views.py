"""The placement pages: the route page's section, registering through the form (Dutch field
errors that keep what was typed, the overlap confirmation, the warning without an e-mail
address), the placement page without a code or ISO date, the status form, a concurrent edit
(409, input kept, the second save goes through), the school's list and the editors' answers."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from network import clock
from referrals.placements.lifecycle import change_status
from referrals.placements.models import Placement, ProposalStatus
from referrals.placements.service import create_placement, update_placement
from referrals.placements.states import PlacementStatus
from tests.conftest import post_form
from tests.factories import login
from tests.referrals._placement_world import form_data, pactors, placement_data, pworld  # noqa: F401  (fixtures)
from tests.referrals._world import route_actors, route_world  # noqa: F401  (fixtures)

ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def visible_text(html: str) -> str:
    """The page as a person reads it: no tags (and so no attribute values), no script."""
    body = html.split("<main", 1)[-1]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def assert_readable(html: str) -> None:
    text = visible_text(html)
    assert not ISO_DATE.search(text), ISO_DATE.search(text)
    for raw in ("planned", "running", "paused", "ended_early", "completed", " bpv "):
        assert raw not in text, raw


@pytest.fixture
def placement(session, keyring, pworld, pactors):
    made = create_placement(session, pactors["mentor"], keyring, pworld["route"], placement_data(pworld))
    session.commit()
    return made


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(Placement))


def test_the_route_page_shows_the_placements_and_offers_to_add_one(client, session, pworld, placement):
    login(client, pworld["mentor"])
    html = client.get(f"/trajecten/{pworld['route'].id}").get_data(as_text=True)
    assert "Stages" in html and f"/trajecten/{pworld['route'].id}/stages/nieuw" in html
    assert "Stage toevoegen" in html and "BPV (stage)" in html and "Bakkerij Van Dalen" in html
    assert "Gepland" in html and f"/trajecten/stages/{placement.id}" in html
    assert_readable(html)


def test_a_mentor_registers_a_placement_with_the_form(client, session, pworld):
    login(client, pworld["mentor"])
    url = f"/trajecten/{pworld['route'].id}/stages/nieuw"
    form = client.get(url)
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and "Stage vastleggen" in html
    assert f'<option value="{pworld["mentor"].id}" selected>' in html  # the route's responsible contact
    assert "Leerwerkplek bakkerij" in html and "Stage lunchroom" in html
    assert "Oude stageplek" not in html and "Stage drukkerij" not in html and "Jobcoaching" not in html
    response = post_form(client, url, form_data(pworld))
    made = session.scalar(select(Placement))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/trajecten/stages/{made.id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "De stage is vastgelegd." in page and "Zelfstandig deeg maken" in page and "Maakt deeg" in page
    assert "3 dagen, 19,5 uur per week" in page and "Maandag 6 uur" in page and "Donderdag 7,5 uur" in page
    assert "Uw inzage is vastgelegd." in page
    assert_readable(page)


def test_form_errors_are_dutch_and_keep_what_was_typed(client, session, pworld):
    login(client, pworld["mentor"])
    url = f"/trajecten/{pworld['route'].id}/stages/nieuw"
    start = clock.today()
    response = post_form(client, url, form_data(
        pworld, trainer_name="", hours_ma="elf", hours_di=None, hours_do=None, start_date=start.isoformat(),
        end_date=(start - dt.timedelta(days=1)).isoformat(), trainer_function="Chef bakker",
        learning_goals="Brood bakken\nKlanten helpen"))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    for message in ("Vul de naam van de praktijkopleider in.", "Vul een aantal uren in, zoals 6 of 7,5",
                    "De einddatum ligt vóór de startdatum."):
        assert message in html, message
    assert 'value="Chef bakker"' in html and 'value="elf"' in html and "Brood bakken\nKlanten helpen" in html
    assert f'value="{start.isoformat()}"' in html
    assert _count(session) == 0


def test_an_employer_that_is_not_one_is_refused_in_the_form(client, session, pworld):
    login(client, pworld["mentor"])
    url = f"/trajecten/{pworld['route'].id}/stages/nieuw"
    response = post_form(client, url, form_data(pworld, service_id=str(pworld["closed_entry"].id)))
    assert response.status_code == 400
    assert "Deze werkgever staat niet (meer) actief op de sociale kaart." in response.get_data(as_text=True)
    assert _count(session) == 0


def test_without_an_e_mail_address_it_is_saved_with_a_warning(client, session, pworld):
    login(client, pworld["mentor"])
    response = post_form(client, f"/trajecten/{pworld['route'].id}/stages/nieuw",
                         form_data(pworld, trainer_email=None), follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and _count(session) == 1
    assert "geen persoonlijke link voor de beoordeling sturen" in html


def test_overlapping_dates_ask_for_a_confirmation_in_the_form(client, session, pworld, placement):
    login(client, pworld["mentor"])
    url = f"/trajecten/{pworld['route'].id}/stages/nieuw"
    data = form_data(pworld, service_id=str(pworld["lunchroom"].id))
    refused = post_form(client, url, data)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Ja, deze stages lopen echt tegelijk" in html
    assert "BPV (stage), Bakkerij Van Dalen" in html and _count(session) == 1
    confirmed = post_form(client, url, {**data, "confirm_overlap": "true"})
    assert confirmed.status_code == 302 and _count(session) == 2


def test_a_proposed_company_is_registered_from_the_form(client, session, pworld):
    login(client, pworld["mentor"])
    response = post_form(client, f"/trajecten/{pworld['route'].id}/stages/nieuw", form_data(
        pworld, service_id=None, proposal_name="Fietsenmaker De Spaak", proposal_kvk="1234"))
    assert response.status_code == 400 and "Een KvK-nummer heeft 8 cijfers." in response.get_data(as_text=True)
    response = post_form(client, f"/trajecten/{pworld['route'].id}/stages/nieuw", form_data(
        pworld, service_id=None, proposal_name="Fietsenmaker De Spaak", proposal_kvk="12345678"),
        follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Fietsenmaker De Spaak" in html and "voorgesteld voor de sociale kaart" in html


def test_the_edit_form_and_a_concurrent_edit(client, session, keyring, pworld, pactors, placement):
    login(client, pworld["mentor"])
    url = f"/trajecten/stages/{placement.id}/bewerken"
    form = client.get(url).get_data(as_text=True)
    assert 'value="Henk van Dalen"' in form and f'name="version" value="{placement.version}"' in form
    stale_version = placement.version
    # a colleague saves first
    update_placement(session, pactors["zorg"], keyring, placement, placement_data(pworld, function="Broodbakker"))
    session.commit()
    mine = form_data(pworld, function="Banketbakker", version=str(stale_version))
    response = post_form(client, url, mine)
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and "Iemand anders heeft deze stage intussen gewijzigd" in html
    assert 'value="Banketbakker"' in html and f'name="version" value="{placement.version}"' in html
    again = post_form(client, url, {**mine, "version": str(placement.version)})
    assert again.status_code == 302
    session.expire_all()
    assert session.get(Placement, placement.id).function == "Banketbakker"


def test_the_status_form(client, session, pworld, placement):
    login(client, pworld["mentor"])
    page_url, url = f"/trajecten/stages/{placement.id}", f"/trajecten/stages/{placement.id}/status"
    page = client.get(page_url).get_data(as_text=True)
    assert "De stage is begonnen" in page and "De stage gaat niet door" in page and "De stage is afgerond" not in page
    started = post_form(client, page_url, {"status": "running", "version": str(placement.version)}, post_url=url)
    assert started.status_code == 302
    session.expire_all()
    version = session.get(Placement, placement.id).version
    refused = post_form(client, page_url, {"status": "ended_early", "reason": "", "on_date": "31-02-2026",
                                           "version": str(version)}, post_url=url)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Vul een geldige datum in" in html and 'value="31-02-2026"' in html
    refused = post_form(client, page_url, {"status": "ended_early", "reason": "", "version": str(version)},
                        post_url=url)
    assert refused.status_code == 400 and "Schrijf waarom de stage voortijdig stopt." in refused.get_data(as_text=True)
    illegal = post_form(client, page_url, {"status": "planned", "version": str(version)}, post_url=url)
    assert illegal.status_code == 409 and "kan niet naar" in illegal.get_data(as_text=True)
    ended = post_form(client, page_url, {"status": "ended_early", "reason": "Verhuisd", "version": str(version)},
                      post_url=url, follow_redirects=True)
    html = ended.get_data(as_text=True)
    assert "De stage is beëindigd." in html and "Verhuisd" in html and "Voortijdig beëindigd" in html
    assert "Status bijwerken" not in html and "Stage wijzigen" not in html
    assert client.get(f"/trajecten/stages/{placement.id}/bewerken").status_code == 409
    assert_readable(html)


def test_the_schools_list(client, session, pworld, placement):
    login(client, pworld["mentor"])
    html = client.get("/trajecten/stages").get_data(as_text=True)
    assert pworld["student"].full_name in html and "Bakkerij Van Dalen" in html and "1 stage." in html
    assert "0 stages." in client.get("/trajecten/stages?status=completed").get_data(as_text=True)
    login(client, pworld["other_mentor"])
    assert pworld["student"].full_name not in client.get("/trajecten/stages").get_data(as_text=True)
    assert client.get(f"/trajecten/stages/{placement.id}").status_code == 404
    login(client, pworld["partner"])
    assert client.get("/trajecten/stages").status_code == 403


def test_the_uitstroomcoordinator_answers_a_proposal(client, session, keyring, pworld, pactors):
    made = create_placement(session, pactors["mentor"], keyring, pworld["route"], placement_data(
        pworld, service_id=None, proposal_name="Fietsenmaker De Spaak"))
    session.commit()
    login(client, pworld["coordinator"])
    page = client.get("/stagebedrijven/voorstellen")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Fietsenmaker De Spaak" in html and pworld["student"].last_name not in html
    url = f"/stagebedrijven/voorstellen/{made.proposal_id}"
    refused = post_form(client, "/stagebedrijven/voorstellen", {"decision": "declined"}, post_url=url)
    assert refused.status_code == 400 and "Schrijf waarom het bedrijf niet op de kaart komt." in \
        refused.get_data(as_text=True)
    done = post_form(client, "/stagebedrijven/voorstellen", {"decision": "declined", "reason": "Opgeheven"},
                     post_url=url, follow_redirects=True)
    assert "Afgewezen: Opgeheven" in done.get_data(as_text=True)
    session.expire_all()
    assert session.get(Placement, made.id).proposal.status is ProposalStatus.declined


def test_a_final_placement_page_offers_no_change(client, session, pworld, pactors, placement):
    change_status(session, pactors["mentor"], placement, PlacementStatus.running)
    change_status(session, pactors["mentor"], placement, PlacementStatus.completed)
    session.commit()
    login(client, pworld["mentor"])
    html = client.get(f"/trajecten/stages/{placement.id}").get_data(as_text=True)
    assert "Deze stage is afgelopen en kan niet meer worden gewijzigd." in html and "Afgerond" in html


def test_the_week_as_typed(app):
    from marshmallow import ValidationError

    from referrals.placements.schemas import PlacementArgs

    def load(**hours):
        with app.test_request_context():
            return PlacementArgs().load({"kind": "bpv", "function": "x", "trainer_name": "y",
                                         "supervisor_account_id": "1", "start_date": "2026-01-05",
                                         "end_date": "2026-02-05", "start_with": "alleen", **hours})

    assert load(hours_ma="6", hours_di="7,5", hours_wo="7.25", hours_do="0", hours_vr="")["schedule"] == {
        "ma": 360, "di": 450, "wo": 435}
    for wrong in ("13", "-1", "zes", "6,555", "6:30"):
        with pytest.raises(ValidationError) as refused:
            load(hours_ma=wrong)
        assert "hours_ma" in refused.value.messages, wrong
