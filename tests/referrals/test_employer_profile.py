"""A stagebedrijf as the placements know it (issue 19, item 5): the history counted from the
placements (hired afterwards from the completion), the employers' own feedback decrypted only
for school staff and the coordinator of the company's region, each read audited, and the page
at a constant number of SQL statements."""

from __future__ import annotations

import html as htmllib

import pytest
from sqlalchemy import event, select

from network.audit import AuditEvent
from network.db import db
from network.errors import Forbidden, NotFound
from network.models import OrganisationType, Role
from referrals.placements.employer_profile import employer_profile, histories
from referrals.placements.lifecycle import change_status
from referrals.placements.service import create_placement
from referrals.placements.states import PlacementKind, PlacementStatus
from tests.factories import OrganisationFactory, login, make_member
from tests.referrals._employer_world import add_assessment, add_placement, eactors, eworld  # noqa: F401
from tests.referrals._placement_world import pactors, placement_data, pworld  # noqa: F401  (fixtures)
from tests.referrals._world import route_actors, route_world  # noqa: F401  (fixtures)

S = PlacementStatus


@pytest.fixture
def history_world(session, keyring, eworld):
    bakery = eworld["bakery"]
    done = add_placement(session, eworld, bakery, S.completed, hired=True)
    add_placement(session, eworld, bakery, S.completed, hired=False)
    add_placement(session, eworld, bakery, S.completed)  # not known
    early = add_placement(session, eworld, bakery, S.ended_early)
    add_placement(session, eworld, bakery, S.running, kind=PlacementKind.eindstage)
    add_placement(session, eworld, bakery, S.paused)
    add_placement(session, eworld, bakery, S.planned)
    add_placement(session, eworld, eworld["logistics"], S.completed, hired=True)  # another company
    add_assessment(session, keyring, done, if_so="Tempo maken bij drukte", would_hire=True)
    add_assessment(session, keyring, early, if_not="Liever buiten werken", would_hire=False, days_ago=40)
    add_assessment(session, keyring, early, days_ago=50)  # no text: no feedback, no read
    session.commit()
    return eworld


def _events(session, event_type):
    return session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)).all()


def test_the_history_is_counted_from_the_placements(session, history_world):
    found = histories(session, [history_world["bakery"].id, history_world["logistics"].id])
    bakery = found[history_world["bakery"].id]
    assert (bakery.total, bakery.completed, bakery.ended_early, bakery.running, bakery.planned, bakery.hired) == (
        7, 3, 1, 2, 1, 1)
    assert bakery.live_by_kind == {"eindstage": 1, "bpv": 2} and bakery.finished == 4
    assert found[history_world["logistics"].id].hired == 1
    assert histories(session, [history_world["busy"].id]) == {}


def test_completing_a_placement_asks_whether_the_company_hired_the_student(session, keyring, eworld, eactors):
    mentor = eactors["mentor"]
    placement = create_placement(session, mentor, keyring, eworld["route"], placement_data(eworld))
    change_status(session, mentor, placement, "running", hired="ja")
    assert placement.hired is None  # asked on completion only
    change_status(session, mentor, placement, "completed", hired="ja")
    session.commit()
    assert placement.hired is True
    [audit] = [e for e in _events(session, "placement:status-change") if '"to":"completed"' in (e.detail or "")]
    assert '"hired":true' in audit.detail
    assert histories(session, [eworld["bakery"].id])[eworld["bakery"].id].hired == 1


def test_the_feedback_is_decrypted_without_names_and_every_read_is_audited(session, keyring, history_world, eactors):
    profile = employer_profile(session, eactors["mentor"], keyring, history_world["bakery"].id)
    session.commit()
    assert [(f.develop, f.possibilities, f.would_hire) for f in profile.feedback] == [
        ("Tempo maken bij drukte", None, True), (None, "Liever buiten werken", False)]
    assert all(f.month.day == 1 for f in profile.feedback)
    assert "Sanne" not in repr(profile.feedback) and "Visser" not in repr(profile.feedback)
    reads = _events(session, "placement:employer-feedback")  # one decision per student, in one statement
    assert len(reads) == 1 and {e.student_id for e in reads} == {str(history_world["student"].id)}
    assert all(e.account_id == history_world["mentor"].id and e.object_type == "student" for e in reads)
    assert reads[0].basis == "legal_task:onderwijstaak" and reads[0].purpose == "leerlingbegeleiding"
    assert [e.name for e in profile.entries] == ["Leerwerkplek bakkerij", "Stage lunchroom"]


def test_the_coordinator_sees_the_counts_but_not_the_texts_about_students(session, keyring, history_world, eactors):
    profile = employer_profile(session, eactors["coordinator"], keyring, history_world["bakery"].id)
    assert profile.feedback == [] and profile.history.total == 7
    assert _events(session, "placement:employer-feedback") == []


def test_another_schools_staff_see_no_texts_about_our_students(session, keyring, history_world):
    from tests.factories import principal_for

    other = principal_for(history_world["other_mentor"])
    profile = employer_profile(session, other, keyring, history_world["bakery"].id)
    assert profile.feedback == [] and profile.history.total == 7


@pytest.mark.parametrize("who, error", [("partner", Forbidden), ("far_coordinator", NotFound)])
def test_partners_and_other_regions_get_nothing(session, keyring, history_world, eactors, who, error):
    with pytest.raises(error):
        employer_profile(session, eactors[who], keyring, history_world["bakery"].id)
    assert _events(session, "placement:employer-feedback") == []


def test_only_an_employer_of_the_own_region_has_a_page(session, keyring, history_world, eactors):
    for made_up in (history_world["school"].id, history_world["gemeente"].id, 0, 2**31, "1", None):
        with pytest.raises(NotFound):
            employer_profile(session, eactors["mentor"], keyring, made_up)
    far = OrganisationFactory(type=OrganisationType.werkgever)
    with pytest.raises(NotFound):
        employer_profile(session, eactors["mentor"], keyring, far.id)


def test_the_page_shows_counts_and_feedback_without_names_or_codes(client, session, history_world):
    login(client, history_world["mentor"])
    response = client.get(f"/stagebedrijven/{history_world['bakery'].id}")
    page = htmllib.unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert "Stagegeschiedenis" in page and "Daarna aangenomen" in page and "Tempo maken bij drukte" in page
    assert "Liever buiten werken" in page and "Instructies in kleine stappen, met plaatjes" in page
    assert "Sanne" not in page and "Visser" not in page
    assert "instructie_in_stappen" not in page and "ended_early" not in page


@pytest.mark.parametrize("who, status", [("partner", 403), ("student", 403), ("far_coordinator", 404)])
def test_the_page_is_refused_to_others(client, session, history_world, who, status):
    account = make_member(Role.student, history_world["school"]) if who == "student" else history_world[who]
    session.commit()
    login(client, account)
    response = client.get(f"/stagebedrijven/{history_world['bakery'].id}")
    assert response.status_code == status and "Tempo maken" not in response.get_data(as_text=True)


def _statements(work) -> int:
    count = 0

    def on_execute(*_args):
        nonlocal count
        count += 1

    event.listen(db.engine, "before_cursor_execute", on_execute)
    try:
        work()
    finally:
        event.remove(db.engine, "before_cursor_execute", on_execute)
    return count


def test_the_page_costs_the_same_for_one_or_many_placements_and_assessments(client, session, keyring, eworld):
    login(client, eworld["mentor"])
    url = f"/stagebedrijven/{eworld['bakery'].id}"
    client.get(url)  # warm up (the login's first request)
    first = add_placement(session, eworld, eworld["bakery"], S.completed, hired=True)
    add_assessment(session, keyring, first, if_so="Eerste")
    session.commit()
    small = _statements(lambda: client.get(url))
    for index in range(6):
        placement = add_placement(session, eworld, eworld["bakery"], S.completed, hired=index % 2 == 0)
        add_assessment(session, keyring, placement, if_so=f"Les {index}")
    session.commit()
    large = _statements(lambda: client.get(url))
    assert small == large, (small, large)
    assert small <= 12, small  # 11 measured: session and login, the company, counts, entries + offers, feedback, audit
    assert "Les 5" in client.get(url).get_data(as_text=True)


def test_the_status_form_records_hired_on_completion(client, session, keyring, eworld, eactors):
    from tests.conftest import post_form

    placement = create_placement(session, eactors["mentor"], keyring, eworld["route"], placement_data(eworld))
    change_status(session, eactors["mentor"], placement, "running")
    session.commit()
    login(client, eworld["mentor"])
    page = client.get(f"/trajecten/stages/{placement.id}").get_data(as_text=True)
    assert "heeft het bedrijf de student daarna aangenomen?" in page
    bad = post_form(client, f"/trajecten/stages/{placement.id}", {
        "status": "completed", "hired": "misschien", "version": str(placement.version)},
        post_url=f"/trajecten/stages/{placement.id}/status")
    assert bad.status_code == 400 and "Kies ja, nee of weet ik niet." in bad.get_data(as_text=True)
    done = post_form(client, f"/trajecten/stages/{placement.id}", {
        "status": "completed", "hired": "nee", "version": str(placement.version)},
        post_url=f"/trajecten/stages/{placement.id}/status")
    assert done.status_code == 302
    session.expire_all()
    assert placement.status is PlacementStatus.completed and placement.hired is False
    shown = client.get(f"/trajecten/stages/{placement.id}").get_data(as_text=True)
    assert "Daarna aangenomen door het bedrijf" in shown
