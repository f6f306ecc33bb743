"""Employers proposed for a student (issue 19, item 5): from the plan (wishes, skills, support
need, read through its own decision) and the company side of the map (adaptations, free places,
praktijkopleider, history), each proposal with its reasons and a score that is their sum; for
school staff of the route only; a proposal links to the placement form with the company chosen."""

from __future__ import annotations

import html as htmllib
import re

import pytest
from sqlalchemy import select

from consent.agreements.access import find_agreement
from consent.agreements.models import AgreementKind
from consent.agreements.service import create_agreement, save_section
from network.audit import AuditEvent
from network.errors import NotFound
from network.models import Role
from referrals.placements.employer_matching import fits, propose_employers
from referrals.placements.states import PlacementKind, PlacementStatus
from tests.factories import login, make_member
from tests.referrals._employer_world import add_placement, eactors, eworld  # noqa: F401  (fixtures)
from tests.referrals._placement_world import pactors, pworld  # noqa: F401  (fixtures)
from tests.referrals._world import route_actors, route_world  # noqa: F401  (fixtures)

PLAN = {
    "future": {"occupation": "Magazijnmedewerker"},
    "jobs": {"jobs": [{"job": "Orderpicker", "company": "", "why": "Vaste taken"}]},
    "skills": {"skills": [{"skill": "Orders verzamelen", "kind": "beroep", "score": "V"},
                          {"skill": "Deeg maken", "kind": "beroep", "score": "O"}]},
    "support": {"support_need": "Een vaste begeleider en vooraf weten wat er die dag gebeurt."},
}


@pytest.fixture
def mworld(session, keyring, eworld, eactors):
    mentor = eactors["mentor"]
    plan = create_agreement(session, mentor, keyring, eworld["student"], AgreementKind.plan)
    agreement, access = find_agreement(session, mentor, plan.id)
    for code, part in PLAN.items():
        save_section(session, mentor, keyring, agreement, access, code, part)
    # the busy company's one eindstage place is taken
    add_placement(session, eworld, eworld["busy"], PlacementStatus.running, kind=PlacementKind.eindstage)
    session.commit()
    return eworld


def _texts(proposal) -> list[str]:
    return [str(r.text) for r in proposal.reasons]


def test_fits_matches_words_and_word_parts():
    assert fits("Magazijnmedewerker", "Houdt het magazijn opgeruimd")
    assert fits("Orders verzamelen", "Verzamelt orders met de handscanner")
    assert not fits("Orderpicker", "Bakt brood") and not fits("", "Orderpicker")
    assert not fits("Medewerker bakkerij", "Medewerker expeditie")  # a common word says nothing


def test_the_proposals_are_ranked_by_the_sum_of_their_reasons(session, keyring, mworld, eactors):
    found = propose_employers(session, eactors["mentor"], keyring, mworld["route"], kind=PlacementKind.eindstage)
    names = [p.organisation.name for p in found.proposals]
    assert names == ["Logistiek Centrum", "Bakkerij Van Dalen", "Drukke Drukkerij"]
    best = found.proposals[0]
    assert _texts(best) == [
        "De functie 'Orderpicker' past bij de wens 'Orderpicker'.",
        "Biedt 'Vooraf een dagplanning'; de ondersteuningsbehoefte noemt 'vooraf weten'.",
        "Biedt 'Vaste begeleider op de werkvloer'; de ondersteuningsbehoefte noemt 'vaste begeleider'.",
        "Nog 1 van de 1 plaatsen vrij voor Eindstage.",
        "Vaardigheid 'Orders verzamelen' komt terug in het werkproces 'Verzamelt orders met de handscanner'.",
        "Heeft een opgeleide praktijkopleider.",
    ]
    assert best.score == 3 + 2 + 2 + 2 + 1 + 1
    busy = found.proposals[-1]
    assert "Geen vrije plaats voor Eindstage: alle 1 zijn bezet." in _texts(busy) and busy.score == 1 - 3
    assert "Biedt geen plaatsen voor Eindstage." in _texts(found.proposals[1])
    # an adaptation the support need does not ask for is no reason; a skill scored O is none either
    assert not any("Rustige werkplek" in t or "Deeg" in t for p in found.proposals for t in _texts(p))
    assert all(p.organisation.region_id == mworld["region"].id for p in found.proposals)  # never another region


def test_a_good_history_counts_and_a_poor_one_counts_against(session, keyring, mworld, eactors):
    bakery = mworld["bakery"]
    add_placement(session, mworld, bakery, PlacementStatus.completed, hired=True)
    add_placement(session, mworld, bakery, PlacementStatus.completed)
    busy = mworld["busy"]
    for _ in range(2):
        add_placement(session, mworld, busy, PlacementStatus.ended_early)
    session.commit()
    found = propose_employers(session, eactors["mentor"], keyring, mworld["route"], kind=PlacementKind.bpv)
    by_name = {p.organisation.name: _texts(p) for p in found.proposals}
    assert "2 van de 2 stages hier zijn afgerond." in by_name["Bakkerij Van Dalen"]
    assert "1 keer kreeg een student hier daarna werk." in by_name["Bakkerij Van Dalen"]
    assert "Meer stages voortijdig beëindigd (2) dan afgerond (0)." in by_name["Drukke Drukkerij"]


def test_the_plan_and_the_route_are_read_through_their_decisions(session, keyring, mworld, eactors):
    propose_employers(session, eactors["mentor"], keyring, mworld["route"])
    session.commit()
    events = session.scalars(select(AuditEvent).where(AuditEvent.event_type.in_(
        ["placement:employer-match", "placement:employer-match-plan"]))).all()
    assert sorted(e.event_type for e in events) == ["placement:employer-match", "placement:employer-match-plan"]
    assert all(e.student_id == str(mworld["student"].id) and e.outcome == "success" for e in events)


def test_without_a_plan_only_the_company_side_counts(session, keyring, eworld, eactors):
    found = propose_employers(session, eactors["mentor"], keyring, eworld["route"], kind=PlacementKind.eindstage)
    assert found.plan is None
    texts = [t for p in found.proposals for t in _texts(p)]
    assert texts and not any("wens" in t or "ondersteuningsbehoefte" in t for t in texts)


@pytest.mark.parametrize("who", ["other_mentor", "partner", "rmc_staff", "coordinator"])
def test_outside_the_routes_school_there_are_no_proposals(session, keyring, mworld, eactors, who):
    with pytest.raises(NotFound):
        propose_employers(session, eactors[who], keyring, mworld["route"])
    assert session.scalars(select(AuditEvent).where(AuditEvent.event_type == "placement:employer-match-plan")
                           ).all() == []


def test_the_page_shows_the_reasons_and_links_to_the_placement_form(client, session, mworld):
    login(client, mworld["mentor"])
    route = mworld["route"]
    response = client.get(f"/trajecten/{route.id}/stagebedrijven?soort=eindstage")
    page = htmllib.unescape(response.get_data(as_text=True))
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert response.status_code == 200
    assert "De functie 'Orderpicker' past bij de wens 'Orderpicker'. (+3)" in text and "Score: 11" in text
    assert page.index("Logistiek Centrum") < page.index("Drukke Drukkerij")
    entry = mworld["logistics_entry"]
    link = f"/trajecten/{route.id}/stages/nieuw?service_id={entry.id}&kind=eindstage"
    assert link in page and "Stage registreren bij dit bedrijf" in page
    form = client.get(link).get_data(as_text=True)
    assert f'<option value="{entry.id}" selected>' in form
    assert '<option value="eindstage" selected>' in form or 'value="eindstage" checked' in form


@pytest.mark.parametrize("who, status", [("other_mentor", 404), ("partner", 403), ("student", 403)])
def test_the_page_is_refused_to_others(client, session, mworld, who, status):
    account = make_member(Role.student, mworld["school"]) if who == "student" else mworld[who]
    session.commit()
    login(client, account)
    response = client.get(f"/trajecten/{mworld['route'].id}/stagebedrijven")
    assert response.status_code == status and "Logistiek Centrum" not in response.get_data(as_text=True)


def test_the_demo_employers_carry_the_company_side_and_daan_gets_proposals(app, session, keyring):
    """``schakel demo seed``: the demo employers have places, adaptations and functions; Groenrijk
    counts Kevin as hired after his eindstage; Daan's plan (orderpicker, a fixed supervisor,
    knowing the day in advance) puts Logistiek Centrum Waalhaven first, with its reasons."""
    from network.models import Account, Organisation, Student
    from referrals.models import Route
    from referrals.placements.employer_profile import histories
    from socialmap.models import Service
    from tests.factories import principal_for

    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    waalhaven = session.scalar(select(Service).where(Service.name == "Stage orderpicken"))
    assert waalhaven.employer_offer.places == {"snuffelstage": 1, "bpv": 2, "eindstage": 2}
    groenrijk = session.scalar(select(Organisation).where(Organisation.name == "Hoveniersbedrijf Groenrijk"))
    assert histories(session, [groenrijk.id])[groenrijk.id].hired == 1
    daan = session.scalar(select(Student).where(Student.first_name == "Daan"))
    route = session.scalar(select(Route).where(Route.student_id == daan.id))
    mentor = session.scalar(select(Account).where(Account.email == "j.devries@rocwaalrand.example"))
    found = propose_employers(session, principal_for(mentor), keyring, route, kind=PlacementKind.eindstage)
    assert found.plan is not None and found.proposals[0].organisation.name == "Logistiek Centrum Waalhaven"
    assert "De functie 'Orderpicker' past bij de wens 'Orderpicker'." in _texts(found.proposals[0])
