"""Who reads placements, and how: the walls (404 for another school's staff, a partner, the RMC,
a student), the one decision and its audit event for every read (the placement, the route's
and the school's lists), a decision that allows nothing (403, audited as a denial), and the
map's editors' walls around the proposals."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from network.access import Decision
from network.audit import AuditEvent
from network.errors import Conflict, Forbidden, NotFound, ValidationFailed
from network.models import OrganisationType, Role
from network.notifications import Notification
from referrals.placements.access import decide_placement, find_placement
from referrals.placements.employers import decide_proposal, find_proposal, list_proposals
from referrals.placements.models import Placement, ProposalStatus
from referrals.placements.reads import route_placements, school_placements
from referrals.placements.service import create_placement
from referrals.route_service import open_route
from tests.factories import OrganisationFactory, StudentFactory, make_member, principal_for
from tests.referrals._placement_world import pactors, placement_data, pworld  # noqa: F401  (fixtures)
from tests.referrals._world import route_actors, route_world  # noqa: F401  (fixtures)


@pytest.fixture
def placement(session, keyring, pworld, pactors):
    made = create_placement(session, pactors["mentor"], keyring, pworld["route"], placement_data(pworld))
    session.commit()
    return made


def _reads(session, event_type: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)))


def test_the_school_reads_its_placement_through_the_decision_and_it_is_audited(session, pworld, pactors, placement):
    found = find_placement(session, pactors["zorg"], placement.id)
    decision = decide_placement(session, pactors["zorg"], found)
    session.commit()
    assert decision.allowed == {"contactgegevens", "opleiding"}
    [audit] = _reads(session, "placement:view")
    assert audit.student_id == str(pworld["student"].id) and audit.outcome == "success"
    assert audit.purpose == "leerlingbegeleiding" and audit.basis == "legal_task:onderwijstaak"


@pytest.mark.parametrize("outsider", ["other_mentor", "partner", "rmc_staff", "far_rmc_staff", "coordinator"])
def test_outside_the_walls_a_placement_does_not_exist(session, pactors, placement, outsider):
    with pytest.raises(NotFound):
        find_placement(session, pactors[outsider], placement.id)
    with pytest.raises(NotFound):
        decide_placement(session, pactors[outsider], placement)
    for made_up in (0, -1, 2**31, "1", None):
        with pytest.raises(NotFound):
            find_placement(session, pactors["mentor"], made_up)


def test_the_student_and_a_partner_with_consent_do_not_see_it_either(session, keyring, pworld, pactors, placement):
    """A partner with the student's consent for another purpose still has no placement page
    (the hook for the company's staff is relation_of; nobody else is let in)."""
    from consent.catalogue import seed_catalogues
    from consent.service import grant_consent

    seed_catalogues(session)
    account = make_member(Role.student, pworld["school"])
    pworld["student"].account_id = account.id
    session.commit()
    grant_consent(session, principal_for(account), keyring, pworld["student"], {
        "recipient_id": pworld["gemeente"].id, "purpose_code": "jobcoaching", "categories": ["contactgegevens"]})
    session.commit()
    for actor in (principal_for(account), pactors["partner"]):
        with pytest.raises(NotFound):
            find_placement(session, actor, placement.id)


def test_a_decision_that_allows_nothing_is_forbidden_and_audited_as_a_denial(session, pactors, placement,
                                                                          monkeypatch):
    """Should the school's legal task not cover the student (the one decision says no), the
    placement is refused and the denial is in the audit log."""
    monkeypatch.setattr("network.access._legal_bases", lambda *args: [])
    with pytest.raises(Forbidden):
        decide_placement(session, pactors["mentor"], placement)
    session.commit()
    assert [a.outcome for a in _reads(session, "placement:view")] == ["denied"]


def test_the_routes_list_uses_the_route_pages_decision_or_decides_itself(session, pworld, pactors, placement):
    mentor, route = pactors["mentor"], pworld["route"]
    assert route_placements(session, mentor, route) == [placement]
    assert len(_reads(session, "placement:list")) == 1
    denied = Decision("leerlingbegeleiding", frozenset({"opleiding"}), frozenset(), ())
    assert route_placements(session, mentor, route, decision=denied) == []
    with pytest.raises(NotFound):
        route_placements(session, pactors["other_mentor"], route)


def test_the_schools_list_shows_its_own_placements_each_student_decided(session, keyring, pworld, pactors,
                                                                      placement):
    other = open_route(session, pactors["other_mentor"], StudentFactory(school=pworld["other_school"]), {})
    session.commit()
    theirs = create_placement(session, pactors["other_mentor"], keyring, other, placement_data(
        pworld, supervisor_account_id=pworld["other_mentor"].id))
    session.commit()
    page = school_placements(session, pactors["mentor"])
    assert [row.placement.id for row in page.items] == [placement.id] and page.total == 1
    assert page.items[0].student_name == pworld["student"].full_name
    [audit] = _reads(session, "placement:list")
    assert audit.student_id == str(pworld["student"].id)
    assert [r.placement.id for r in school_placements(session, pactors["other_mentor"]).items] == [theirs.id]
    assert school_placements(session, pactors["mentor"], status="running").total == 0
    with pytest.raises(Forbidden):
        school_placements(session, pactors["partner"])


# -- the proposals' walls and answers ----------------------------------------------------------

@pytest.fixture
def proposed(session, keyring, pworld, pactors):
    made = create_placement(session, pactors["mentor"], keyring, pworld["route"], placement_data(
        pworld, service_id=None, proposal_name="Fietsenmaker De Spaak"))
    session.commit()
    return made


def test_the_region_coordinator_adds_the_company_and_the_placement_points_at_it(session, keyring, pworld, pactors,
                                                                              proposed):
    coordinator = pactors["coordinator"]
    [proposal] = list_proposals(session, coordinator)
    spaak = OrganisationFactory(region=pworld["region"], type=OrganisationType.werkgever, name="Fietsenmaker De Spaak")
    from tests.socialmap.conftest import add_service

    entry = add_service(spaak, "Stage fietsenmaker")
    with pytest.raises(ValidationFailed):
        decide_proposal(session, coordinator, keyring, proposal, {"decision": "added",
                                                                  "service_id": pworld["gemeente_entry"].id})
    session.rollback()
    linked = decide_proposal(session, coordinator, keyring, proposal, {"decision": "added", "service_id": entry.id})
    session.commit()
    session.expire_all()
    placement = session.get(Placement, proposed.id)
    assert linked == 1 and (placement.organisation_id, placement.service_id) == (spaak.id, entry.id)
    assert placement.company_name == "Fietsenmaker De Spaak" and proposal.status is ProposalStatus.added
    told = session.scalars(select(Notification.title).where(Notification.account_id == pworld["mentor"].id)).all()
    assert told == ["Het stagebedrijf Fietsenmaker De Spaak staat nu op de sociale kaart."]
    with pytest.raises(Conflict):
        decide_proposal(session, coordinator, keyring, proposal, {"decision": "declined", "reason": "Te laat"})


def test_declining_needs_a_reason_and_leaves_the_placement_with_the_proposed_name(session, keyring, pactors,
                                                                                proposed):
    coordinator = pactors["coordinator"]
    proposal = find_proposal(session, coordinator, proposed.proposal_id)
    with pytest.raises(ValidationFailed):
        decide_proposal(session, coordinator, keyring, proposal, {"decision": "declined", "reason": None})
    session.rollback()
    decide_proposal(session, coordinator, keyring, proposal, {"decision": "declined", "reason": "Bestaat niet meer"})
    session.commit()
    assert proposal.status is ProposalStatus.declined and proposed.organisation_id is None
    assert proposed.company_name == "Fietsenmaker De Spaak"


def test_another_regions_coordinator_does_not_see_the_proposal(session, pworld, proposed):
    far_hub = OrganisationFactory(type=OrganisationType.hub)
    far = principal_for(make_member(Role.coordinator, far_hub))
    assert list_proposals(session, far) == []
    with pytest.raises(NotFound):
        find_proposal(session, far, proposed.proposal_id)
    admin = principal_for(make_member(Role.hub_admin, far_hub))
    assert find_proposal(session, admin, proposed.proposal_id).id == proposed.proposal_id


def test_two_editors_answering_at_once_the_second_gets_the_conflict(app, session, keyring, pactors, proposed):
    from sqlalchemy.orm import Session as PlainSession

    from network.db import db
    from referrals.placements.models import EmployerProposal

    coordinator = pactors["coordinator"]
    with PlainSession(db.engine) as first, PlainSession(db.engine) as second:
        mine = first.get(EmployerProposal, proposed.proposal_id)
        theirs = second.get(EmployerProposal, proposed.proposal_id)
        decide_proposal(first, coordinator, keyring, mine, {"decision": "declined", "reason": "Opgeheven"})
        first.commit()
        with pytest.raises(Conflict, match="intussen door iemand anders beantwoord"):
            decide_proposal(second, coordinator, keyring, theirs, {"decision": "declined", "reason": "Dubbel"})
        second.rollback()
    session.expire_all()
    assert session.get(EmployerProposal, proposed.proposal_id).decline_reason == "Opgeheven"
