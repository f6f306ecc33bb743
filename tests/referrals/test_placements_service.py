"""Registering and editing placements, without HTTP: the happy path, every refused input (with
its Dutch field error and nothing written), the proposal of a new company, the plan's goals,
the werkprocessen copied from an earlier placement, and concurrent edits."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from consent.agreements.access import find_agreement
from consent.agreements.models import AgreementKind
from consent.agreements.service import create_agreement, save_section
from network import clock
from network.audit import AuditEvent
from network.errors import Conflict, NotFound, ValidationFailed
from network.notifications import Notification
from referrals.models import RouteStatus
from referrals.placements.lifecycle import change_status
from referrals.placements.models import EmployerProposal, Placement, PlacementEvent, ProposalStatus
from referrals.placements.service import (
    create_placement,
    earlier_werkprocessen,
    learning_goals,
    plan_internship,
    update_placement,
)
from referrals.placements.states import PlacementKind, PlacementStatus
from tests.referrals._placement_world import pactors, placement_data, pworld  # noqa: F401  (fixtures)
from tests.referrals._world import route_actors, route_world  # noqa: F401  (fixtures)


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _events(session, event_type: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)))


def _refused(session, pworld, pactors, **overrides) -> dict[str, list[str]]:
    """Create with ``overrides``: refused with field errors, and nothing written."""
    before = (_count(session, Placement), _count(session, EmployerProposal), len(_events(session, "placement:create")))
    with pytest.raises(ValidationFailed) as refused:
        create_placement(session, pactors["mentor"], session.info.get("keyring"), pworld["route"],
                         placement_data(pworld, **overrides))
    session.rollback()
    assert (_count(session, Placement), _count(session, EmployerProposal),
            len(_events(session, "placement:create"))) == before
    return {field: [str(m) for m in messages] for field, messages in refused.value.errors.items()}


@pytest.fixture(autouse=True)
def _keyring_in_session(session, keyring):
    session.info["keyring"] = keyring


# -- create -----------------------------------------------------------------------------------

def test_a_placement_is_registered_with_everything_it_needs(session, keyring, pworld, pactors):
    made = create_placement(session, pactors["mentor"], keyring, pworld["route"], placement_data(pworld))
    session.commit()
    assert made.status is PlacementStatus.planned and made.kind is PlacementKind.bpv
    assert (made.organisation_id, made.service_id, made.proposal_id) == (pworld["bakery"].id,
                                                                         pworld["bakery_entry"].id, None)
    assert made.student_id == pworld["student"].id and made.school_id == pworld["school"].id
    assert made.supervisor_account_id == pworld["mentor"].id and made.minutes_per_week == 1170
    assert made.werkprocessen == ["Maakt deeg", "Bakt brood"] and made.can_send_assessment_link
    # the learning goals are encrypted at rest, bound to the row
    assert "deeg" not in made.learning_goals_encrypted
    assert learning_goals(keyring, made) == ["Zelfstandig deeg maken", "Op tijd komen"]
    assert [e.to_status for e in made.events] == [PlacementStatus.planned]
    [audit] = _events(session, "placement:create")
    assert audit.student_id == str(pworld["student"].id) and audit.object_id == str(made.id)
    assert audit.basis == "legal_task:onderwijstaak"
    assert "deeg" not in (audit.detail or "")  # no free text in the log


def test_a_praktijkopleider_without_e_mail_is_saved_and_the_link_is_known_to_be_impossible(
        session, keyring, pworld, pactors):
    made = create_placement(session, pactors["mentor"], keyring, pworld["route"],
                            placement_data(pworld, trainer_email=None))
    assert made.id and not made.can_send_assessment_link


def test_a_praktijkopleider_nobody_can_reach_is_refused(session, pworld, pactors):
    errors = _refused(session, pworld, pactors, trainer_email=None, trainer_phone=None)
    assert errors == {"trainer_phone": ["Vul een telefoonnummer of e-mailadres van de praktijkopleider in: de school "
                                        "moet hem of haar kunnen bereiken."]}


@pytest.mark.parametrize(("entry", "message"), [
    ("gemeente_entry", "Kies een werkgever van de sociale kaart in uw regio."),
    ("far_entry", "Kies een werkgever van de sociale kaart in uw regio."),
    ("closed_entry", "Deze werkgever staat niet (meer) actief op de sociale kaart."),
    ("inactive_company_entry", "Deze werkgever staat niet (meer) actief op de sociale kaart."),
])
def test_the_company_must_be_an_active_employer_of_the_region(session, pworld, pactors, entry, message):
    errors = _refused(session, pworld, pactors, service_id=pworld[entry].id)
    assert list(errors) == ["service_id"] and errors["service_id"][0].startswith(message)


def test_an_unknown_entry_is_no_employer(session, pworld, pactors):
    assert list(_refused(session, pworld, pactors, service_id=2**31 - 1)) == ["service_id"]


def test_a_company_must_be_chosen_once(session, pworld, pactors):
    assert "niet allebei" in _refused(session, pworld, pactors, proposal_name="Fietsenmaker De Spaak")["service_id"][0]
    assert "stel een nieuw bedrijf voor" in _refused(session, pworld, pactors, service_id=None)["service_id"][0]


def test_the_end_before_the_start_is_refused(session, pworld, pactors):
    start = clock.today()
    errors = _refused(session, pworld, pactors, start_date=start, end_date=start - dt.timedelta(days=1))
    assert errors == {"end_date": ["De einddatum ligt vóór de startdatum."]}
    errors = _refused(session, pworld, pactors, start_date=start, end_date=start + dt.timedelta(days=5 * 366))
    assert list(errors) == ["end_date"]


def test_every_error_comes_at_once(session, pworld, pactors):
    errors = _refused(session, pworld, pactors, supervisor_account_id=pworld["other_mentor"].id, schedule={},
                      trainer_email=None, trainer_phone=None, service_id=pworld["gemeente_entry"].id,
                      with_coach=True)
    assert set(errors) == {"supervisor_account_id", "hours_ma", "trainer_phone", "service_id", "coach_name"}


def test_overlapping_dates_need_a_confirmation(session, keyring, pworld, pactors):
    first = create_placement(session, pactors["mentor"], keyring, pworld["route"], placement_data(pworld))
    session.commit()
    later = placement_data(pworld, service_id=pworld["lunchroom"].id,
                           start_date=first.end_date - dt.timedelta(days=10),
                           end_date=first.end_date + dt.timedelta(days=30))
    errors = _refused(session, pworld, pactors, **{k: v for k, v in later.items() if k != "kind"})
    assert list(errors) == ["confirm_overlap"] and "overlappen" in errors["confirm_overlap"][0]
    confirmed = create_placement(session, pactors["mentor"], keyring, pworld["route"],
                                 {**later, "confirm_overlap": True})
    assert confirmed.id
    # a placement that is over no longer counts
    change_status(session, pactors["mentor"], first, "running", on_date=clock.today())
    change_status(session, pactors["mentor"], first, "ended_early", reason="Gestopt", on_date=clock.today())
    change_status(session, pactors["mentor"], confirmed, "ended_early", reason="Gaat niet door")
    session.commit()
    assert create_placement(session, pactors["mentor"], keyring, pworld["route"], placement_data(pworld)).id


def test_the_stagebegeleider_is_staff_of_the_school(session, pworld, pactors):
    errors = _refused(session, pworld, pactors, supervisor_account_id=pworld["other_mentor"].id)
    assert errors == {"supervisor_account_id": ["Kies een medewerker van de school als stagebegeleider."]}


def test_only_the_school_of_the_route_registers_and_not_on_a_closed_route(session, keyring, pworld, pactors):
    for outsider in ("other_mentor", "partner", "rmc_staff"):
        with pytest.raises(NotFound):
            create_placement(session, pactors[outsider], keyring, pworld["route"], placement_data(pworld))
    pworld["route"].status = RouteStatus.closed
    session.commit()
    with pytest.raises(Conflict):
        create_placement(session, pactors["mentor"], keyring, pworld["route"], placement_data(pworld))
    session.rollback()
    assert _count(session, Placement) == 0


# -- a company not on the map ----------------------------------------------------------------

def test_a_new_company_is_proposed_to_the_uitstroomcoordinator_once(session, keyring, pworld, pactors):
    data = placement_data(pworld, service_id=None, proposal_name="Fietsenmaker De Spaak", proposal_kvk="12345678",
                          proposal_gemeente="Waalstede")
    made = create_placement(session, pactors["mentor"], keyring, pworld["route"], data)
    session.commit()
    assert made.organisation_id is None and made.company_name == "Fietsenmaker De Spaak"
    proposal = made.proposal
    assert proposal.status is ProposalStatus.pending and proposal.region_id == pworld["region"].id
    [note] = session.scalars(select(Notification).where(Notification.account_id == pworld["coordinator"].id))
    assert "Fietsenmaker De Spaak" in note.title and pworld["student"].last_name not in note.title
    # a second placement at the same company reuses the pending proposal and tells nobody again
    other = create_placement(session, pactors["zorg"], keyring, pworld["route"],
                             {**data, "proposal_name": "fietsenmaker de spaak", "confirm_overlap": True})
    session.commit()
    assert other.proposal_id == proposal.id and _count(session, EmployerProposal) == 1
    assert _count(session, Notification) == 1


# -- update -----------------------------------------------------------------------------------

def test_an_edit_saves_what_changed_and_is_audited(session, keyring, pworld, pactors):
    made = create_placement(session, pactors["mentor"], keyring, pworld["route"], placement_data(pworld))
    session.commit()
    version = made.version
    changed = update_placement(session, pactors["zorg"], keyring, made, placement_data(
        pworld, function="Bakker", learning_goals=["Brood bakken"], trainer_email=None),
        expected_version=version)
    session.commit()
    assert sorted(changed) == ["function", "learning_goals", "trainer_email"]
    assert made.version == version + 1 and learning_goals(keyring, made) == ["Brood bakken"]
    [audit] = _events(session, "placement:update")
    assert json.loads(audit.detail)["fields"] == ["function", "learning_goals", "trainer_email"]
    assert update_placement(session, pactors["zorg"], keyring, made, placement_data(
        pworld, function="Bakker", learning_goals=["Brood bakken"], trainer_email=None)) == []


def test_an_edit_from_an_older_form_is_a_conflict(session, keyring, pworld, pactors):
    made = create_placement(session, pactors["mentor"], keyring, pworld["route"], placement_data(pworld))
    session.commit()
    with pytest.raises(Conflict, match="intussen gewijzigd"):
        update_placement(session, pactors["mentor"], keyring, made, placement_data(pworld, function="Bakker"),
                         expected_version=made.version - 1)


def test_two_people_saving_at_once_the_second_gets_the_conflict(app, session, keyring, pworld, pactors):
    """Two requests load the same version; the first saves; the second's flush finds the row
    changed (version_id_col) and gets the conflict message, and nothing of it is written."""
    from sqlalchemy.orm import Session as PlainSession

    from network.db import db

    made = create_placement(session, pactors["mentor"], keyring, pworld["route"], placement_data(pworld))
    session.commit()
    with PlainSession(db.engine) as first, PlainSession(db.engine) as second:
        mine, theirs = first.get(Placement, made.id), second.get(Placement, made.id)
        assert mine.version == theirs.version
        update_placement(first, pactors["mentor"], keyring, mine, placement_data(pworld, function="Eerste"),
                         expected_version=mine.version)
        first.commit()
        with pytest.raises(Conflict, match="intussen gewijzigd"):
            update_placement(second, pactors["zorg"], keyring, theirs, placement_data(pworld, function="Tweede"),
                             expected_version=theirs.version)
        second.rollback()
    session.expire_all()
    assert session.get(Placement, made.id).function == "Eerste"
    assert [json.loads(a.detail)["fields"] for a in _events(session, "placement:update")] == [["function"]]


def test_a_final_placement_is_read_only(session, keyring, pworld, pactors):
    made = create_placement(session, pactors["mentor"], keyring, pworld["route"], placement_data(pworld))
    change_status(session, pactors["mentor"], made, "ended_early", reason="Gaat niet door")
    session.commit()
    with pytest.raises(Conflict, match="kan niet meer worden gewijzigd"):
        update_placement(session, pactors["mentor"], keyring, made, placement_data(pworld, function="Bakker"))


# -- filling in one step ----------------------------------------------------------------------

def test_werkprocessen_are_copied_from_the_schools_earlier_placement_at_the_company_in_the_function(
        session, keyring, pworld, pactors):
    earlier = create_placement(session, pactors["mentor"], keyring, pworld["route"], placement_data(
        pworld, function="Medewerker Bakkerij ", werkprocessen=["Maakt deeg", "Bakt brood", "Maakt schoon"]))
    change_status(session, pactors["mentor"], earlier, "ended_early", reason="Verhuisd")
    session.commit()
    assert earlier_werkprocessen(session, pactors["mentor"], pworld["bakery"].id, "medewerker bakkerij") == [
        "Maakt deeg", "Bakt brood", "Maakt schoon"]
    assert earlier_werkprocessen(session, pactors["mentor"], pworld["bakery"].id, "Bakker") == []
    assert earlier_werkprocessen(session, pactors["other_mentor"], pworld["bakery"].id, "Medewerker bakkerij") == []
    made = create_placement(session, pactors["mentor"], keyring, pworld["route"], placement_data(
        pworld, service_id=pworld["lunchroom"].id, werkprocessen=["Bakt brood", "Bedient de kassa"],
        copy_werkprocessen=True))
    assert made.werkprocessen == ["Maakt deeg", "Bakt brood", "Maakt schoon", "Bedient de kassa"]


def test_copying_with_nothing_to_copy_says_so(session, pworld, pactors):
    errors = _refused(session, pworld, pactors, copy_werkprocessen=True)
    assert list(errors) == ["copy_werkprocessen"]


def test_the_plans_eindstage_goals_prefill_the_placement_and_the_read_is_audited(session, keyring, pworld, pactors):
    mentor, student = pactors["mentor"], pworld["student"]
    assert plan_internship(session, mentor, keyring, student) is None  # no plan yet: nothing read
    plan = create_agreement(session, mentor, keyring, student, AgreementKind.plan)
    agreement, access = find_agreement(session, mentor, plan.id)
    save_section(session, mentor, keyring, agreement, access, "internship", {
        "company": "Bakkerij Van Dalen", "role": "Medewerker bakkerij", "workplace_mentor": "Henk van Dalen",
        "goal_1": "Zelfstandig deeg maken", "goal_2": "", "goal_3": "Op tijd komen"})
    session.commit()
    found = plan_internship(session, mentor, keyring, student)
    assert found.goals == ["Zelfstandig deeg maken", "Op tijd komen"] and found.role == "Medewerker bakkerij"
    assert [e.outcome for e in _events(session, "placement:plan-goals")] == ["success"]
    assert plan_internship(session, pactors["other_mentor"], keyring, student) is None  # another school: no read
    made = create_placement(session, mentor, keyring, pworld["route"], placement_data(
        pworld, learning_goals=found.goals, goals_agreement_id=found.agreement_id,
        goals_agreement_version=found.version))
    assert (made.goals_agreement_id, made.goals_agreement_version) == (plan.id, found.version)
    assert _count(session, PlacementEvent) == 1
