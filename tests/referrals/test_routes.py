"""Routes, the intake conversation, the exit and the follow-up check-ins (service level)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from network import clock
from network.audit import AuditEvent
from network.errors import Conflict, NotFound, ValidationFailed
from network.notifications import Notification
from referrals.checkins import check_in_note, find_check_in, record_check_in, record_exit
from referrals.intake import intake_answers, record_intake
from referrals.models import CheckIn, Intake, Route, RoutePhase, RouteStatus, Situation
from referrals.route_service import add_months, decide_route, find_route, open_route, update_route
from referrals.route_timeline import timeline
from referrals.tags import CheckinTag
from tests.referrals._world import route_actors, route_world  # noqa: F401  (fixtures)


def _audit_types(session, student_id) -> list[str]:
    return list(session.scalars(select(AuditEvent.event_type).where(AuditEvent.student_id == str(student_id))
                                .order_by(AuditEvent.id)))


@pytest.fixture
def route(session, route_world, route_actors):
    made = open_route(session, route_actors["mentor"], route_world["student"], {})
    session.commit()
    return made


def _exited(session, route, actor, months_ago=4):
    exit_date = add_months(clock.today(), -months_ago)
    route.start_date = add_months(exit_date, -12)
    record_exit(session, actor, route, exit_date)
    session.commit()
    return exit_date


# -- open ---------------------------------------------------------------------------------------

def test_two_routes_opened_at_once_make_one_and_lead_the_other_to_it(session, route_world, route_actors):
    """A double click on "Traject openen": both requests find no route for the student; the
    unique student_id refuses the second, which gets the same Conflict as any second route,
    naming the one that was opened, and leaves nothing behind."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session as PlainSession

    from network.db import db

    student, made = route_world["student"], []

    def other_request_first(*_):
        if not made:  # once, before this request's first write
            with PlainSession(db.engine) as other:
                made.append(open_route(other, route_actors["mentor"], other.get(type(student), student.id), {}).id)
                other.commit()

    event.listen(session, "before_flush", other_request_first)
    try:
        with pytest.raises(Conflict) as refused:
            open_route(session, route_actors["mentor"], student, {})
    finally:
        event.remove(session, "before_flush", other_request_first)
    assert refused.value.extra["route_id"] == made[0]
    session.commit()
    assert session.scalar(select(func.count()).select_from(Route).where(Route.student_id == student.id)) == 1
    assert _audit_types(session, student.id).count("route:create") == 1


def test_open_route_defaults(session, route_world, route_actors, route):
    student, today = route_world["student"], clock.today()
    assert route.status is RouteStatus.active and route.phase is RoutePhase.aanmelding
    assert route.start_date == min(add_months(student.expected_exit_date, -12), today)
    assert route.responsible_account_id == route_world["mentor"].id
    assert route.followup_months == 12
    assert [p.phase for p in route.phases] == list(RoutePhase)
    planned = [p.planned_date for p in route.phases]
    assert planned == sorted(planned) and planned[4] == student.expected_exit_date
    assert route.phases[0].reached_date == route.start_date
    assert "route:create" in _audit_types(session, student.id)


def test_entree_student_gets_two_years_of_followup(session, route_world, route_actors):
    made = open_route(session, route_actors["mentor"], route_world["entree"],
                      {"responsible_account_id": route_world["zorg"].id})
    assert made.followup_months == 24 and made.responsible_account_id == route_world["zorg"].id


def test_a_student_has_one_route(session, route_world, route_actors, route):
    with pytest.raises(Conflict):
        open_route(session, route_actors["zorg"], route_world["student"], {})


@pytest.mark.parametrize("who", ["other_mentor", "partner", "rmc_staff"])
def test_only_the_own_school_opens_a_route(session, route_world, route_actors, who):
    with pytest.raises(NotFound):
        open_route(session, route_actors[who], route_world["entree"], {})


def test_bad_input_is_refused_in_dutch_and_nothing_is_written(session, route_world, route_actors):
    with pytest.raises(ValidationFailed) as exc:
        open_route(session, route_actors["mentor"], route_world["entree"],
                   {"responsible_account_id": route_world["partner"].id,
                    "start_date": route_world["entree"].expected_exit_date + dt.timedelta(days=1)})
    assert "medewerker van de school" in str(exc.value.errors["responsible_account_id"][0])
    assert "na de verwachte uitstroomdatum" in str(exc.value.errors["start_date"][0])
    session.rollback()
    assert session.scalar(select(func.count(Route.id))) == 0


# -- walls ----------------------------------------------------------------------------------------

def test_another_school_gets_not_found(session, route_actors, route):
    with pytest.raises(NotFound):
        find_route(session, route_actors["other_mentor"], route.id)
    with pytest.raises(NotFound):
        update_route(session, route_actors["other_mentor"], route, {"phase": "plan"})


def test_partner_cannot_edit_a_route(session, route_actors, route):
    for who in ("partner", "rmc_staff"):
        with pytest.raises(NotFound):
            update_route(session, route_actors[who], route, {"phase": "plan"})
        with pytest.raises(NotFound):
            record_exit(session, route_actors[who], route, clock.today())


# -- update ---------------------------------------------------------------------------------------

def test_update_moves_the_phase_and_stamps_reached(session, route_world, route_actors, route):
    planned = clock.today() + dt.timedelta(days=40)
    changed = update_route(session, route_actors["mentor"], route,
                           {"phase": "plan", "planned_eindstage": planned, "responsible_account_id":
                            route_world["zorg"].id}, expected_version=route.version)
    session.commit()
    assert route.phase is RoutePhase.plan
    by_phase = {p.phase: p for p in route.phases}
    assert by_phase[RoutePhase.plan].reached_date == clock.today()
    assert by_phase[RoutePhase.eindstage].planned_date == planned
    assert {"phase", "planned_eindstage", "responsible_account_id", "reached_plan"} <= set(changed)
    assert "route:update" in _audit_types(session, route.student_id)


def test_update_refuses_bad_dates_and_stale_versions(session, route_world, route_actors, route):
    with pytest.raises(ValidationFailed) as exc:
        update_route(session, route_actors["mentor"], route, {"phase": "plan",
                                                              "reached_gesprek": clock.today() + dt.timedelta(days=1)})
    assert "toekomst" in str(exc.value.errors["reached_gesprek"][0])
    session.rollback()
    assert session.get(Route, route.id).phase is RoutePhase.aanmelding
    with pytest.raises(Conflict):
        update_route(session, route_actors["mentor"], route, {"phase": "plan"}, expected_version=route.version - 1)


# -- exit and check-ins ---------------------------------------------------------------------------

def test_exit_schedules_check_ins_once(session, route_world, route_actors, route):
    exit_date = _exited(session, route, route_actors["mentor"])
    assert route.status is RouteStatus.followup and route.exit_date == exit_date
    assert [(c.months, c.due_date) for c in route.check_ins] == [(m, add_months(exit_date, m)) for m in (3, 6, 12)]
    assert {c.assigned_account_id for c in route.check_ins} == {route_world["mentor"].id}
    assert record_exit(session, route_actors["mentor"], route, exit_date) == []  # idempotent
    session.commit()
    assert session.scalar(select(func.count(CheckIn.id))) == 3


def test_exit_of_an_entree_student_adds_24_months(session, route_world, route_actors):
    made = open_route(session, route_actors["mentor"], route_world["entree"], {})
    _exited(session, made, route_actors["mentor"], months_ago=1)
    assert [c.months for c in made.check_ins] == [3, 6, 12, 18, 24]  # 18 added (issue 20)


def test_exit_more_than_a_month_ahead_is_refused_within_a_month_it_is_planned(session, route_actors, route):
    """Issue 20: an exit "in the future beyond a month" is refused; one a few weeks ahead (the end
    of the school year) may be recorded and schedules the check-ins from that day."""
    with pytest.raises(ValidationFailed) as exc:
        record_exit(session, route_actors["mentor"], route, add_months(clock.today(), 1) + dt.timedelta(days=1))
    assert "meer dan een maand in de toekomst" in str(exc.value.errors["exit_date"][0])
    assert route.exit_date is None and not route.check_ins
    ahead = clock.today() + dt.timedelta(days=20)
    record_exit(session, route_actors["mentor"], route, ahead)
    assert route.exit_date == ahead and route.check_ins[0].due_date == add_months(ahead, 3)


def test_dropout_alerts_the_rmc_once_without_the_name(session, route_world, route_actors, keyring, route):
    _exited(session, route, route_actors["mentor"])
    first = route.check_ins[0]
    alerted = record_check_in(session, route_actors["mentor"], keyring, first,
                              {"situation": "uitgevallen", "note": "Gestopt met werken; niet bereikbaar."})
    session.commit()
    assert alerted == [route_world["rmc"].id]
    assert first.situation is Situation.uitgevallen and first.rmc_alerted_at is not None
    assert first.note_encrypted and "Gestopt" not in first.note_encrypted
    assert check_in_note(keyring, first) == "Gestopt met werken; niet bereikbaar."
    notes = session.scalars(select(Notification).where(Notification.kind == "checkin:rmc-alert")).all()
    assert [n.account_id for n in notes] == [route_world["rmc_staff"].id]  # not the RMC of another region
    assert "ROC Waalrand" in notes[0].title and "uitgevallen" in notes[0].title
    assert route_world["student"].first_name not in notes[0].title
    assert route_world["student"].last_name not in notes[0].title
    assert notes[0].link == f"/trajecten/nazorg/{first.id}/rmc"
    with pytest.raises(Conflict):  # recorded once; the alert went out once
        record_check_in(session, route_actors["mentor"], keyring, first, {"situation": "onbekend"})
    session.rollback()
    assert session.scalar(select(func.count(Notification.id)).where(Notification.kind == "checkin:rmc-alert")) == 1


def test_wanting_back_to_school_tells_the_school_without_the_name(session, route_world, route_actors, keyring, route,
                                                                   client):
    """The retourticket (issue 20, item 2): "wil terug naar school" on a check-in notifies the
    school's zorgcoördinator (and the check-in's responsible contact), named nowhere; a check-in
    without it tells nobody."""
    from tests.conftest import csrf_from
    from tests.factories import login

    _exited(session, route, route_actors["mentor"])
    first, second = route.check_ins[0], route.check_ins[1]
    record_check_in(session, route_actors["mentor"], keyring, first, {"situation": "werkend"})
    session.commit()
    assert first.wants_back is False
    assert session.scalar(select(func.count(Notification.id)).where(Notification.kind == "checkin:wants-back")) == 0
    login(client, route_world["mentor"])
    page = client.get(f"/trajecten/nazorg/{second.id}")
    response = client.post(f"/trajecten/nazorg/{second.id}", data={
        "situation": "werkend", "wants_back": "ja", "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert response.status_code in (302, 303)
    session.expire_all()
    assert session.get(type(second), second.id).wants_back is True
    notes = session.scalars(select(Notification).where(Notification.kind == "checkin:wants-back")).all()
    assert route_world["zorg"].id in {n.account_id for n in notes}
    assert all("retourticket" in n.title and route_world["student"].first_name not in n.title for n in notes)
    assert notes[0].link == f"/trajecten/nazorg/{second.id}"
    html = client.get(f"/trajecten/nazorg/{second.id}").get_data(as_text=True)
    assert "Wil terug naar school (retourticket): de school is ingelicht." in html


def test_a_check_in_recorded_by_two_at_once_is_recorded_once_and_alerts_once(session, route_world, route_actors,
                                                                              keyring, route):
    """The mentor and the RMC both record the same check-in at the same moment: both read it
    unrecorded. The one that writes second is told so and writes nothing: no second audit event,
    no second alert to the RMC, the first one's situation stays."""
    from sqlalchemy import update

    from network.db import db

    _exited(session, route, route_actors["mentor"])
    first = route.check_ins[0]
    assert first.recorded_at is None  # this request has read it
    with db.engine.begin() as conn:  # the other request records it in between
        conn.execute(update(CheckIn.__table__).where(CheckIn.id == first.id).values(
            situation=Situation.werkend, recorded_at=dt.datetime.now(dt.UTC), recorded_by_name="RMC"))
    with pytest.raises(Conflict):
        record_check_in(session, route_actors["mentor"], keyring, first, {"situation": "uitgevallen"})
    session.rollback()
    assert first.situation is Situation.werkend and first.recorded_by_name == "RMC"
    assert not session.scalar(select(func.count(Notification.id)).where(Notification.kind == "checkin:rmc-alert"))
    assert "checkin:record" not in _audit_types(session, route_world["student"].id)


def test_working_alerts_nobody(session, route_actors, keyring, route):
    _exited(session, route, route_actors["mentor"])
    assert record_check_in(session, route_actors["mentor"], keyring, route.check_ins[0], {"situation": "werkend"}) == []
    assert route.check_ins[0].rmc_alerted_at is None


def test_bad_situation_is_refused(session, route_actors, keyring, route):
    _exited(session, route, route_actors["mentor"])
    with pytest.raises(ValidationFailed) as exc:
        record_check_in(session, route_actors["mentor"], keyring, route.check_ins[0], {"situation": "weg"})
    assert "Kies" in str(exc.value.errors["situation"][0])


def test_the_rmc_reads_the_student_on_its_legal_task(session, route_world, route_actors, keyring, route):
    _exited(session, route, route_actors["mentor"])
    check_in = route.check_ins[0]
    found = find_check_in(session, route_actors["rmc_staff"], check_in.id)
    decision = decide_route(session, route_actors["rmc_staff"], found.route, event_type=CheckinTag.rmc_view)
    assert decision.purpose == "rmc-nazorg"
    assert {c.value for c in decision.allowed} == {"contactgegevens", "opleiding"}
    assert decision.basis_label == "legal_task:rmc-nazorg"
    session.commit()
    assert session.scalar(select(AuditEvent).where(AuditEvent.event_type == "checkin:rmc-view")).basis == \
        "legal_task:rmc-nazorg"
    for who in ("far_rmc_staff", "partner", "other_mentor"):
        with pytest.raises(NotFound):
            find_check_in(session, route_actors[who], check_in.id)


# -- intake and timeline ------------------------------------------------------------------------------

def test_intake_is_stored_encrypted_and_reached(session, route_actors, keyring, route):
    held = clock.today() - dt.timedelta(days=2)
    intake = record_intake(session, route_actors["mentor"], keyring, route,
                           {"held_on": held, "dream_job": "Hovenier", "summary": "Jobcoach nodig", "has_cv": "ja"})
    session.commit()
    assert "Hovenier" not in intake.content_encrypted
    assert intake_answers(keyring, intake) == {"dream_job": "Hovenier", "summary": "Jobcoach nodig", "has_cv": "ja"}
    assert route.phase is RoutePhase.gesprek
    assert {p.phase: p.reached_date for p in route.phases}[RoutePhase.gesprek] == held
    assert "intake:record" in _audit_types(session, route.student_id)


def test_intake_bad_input(session, route_actors, keyring, route):
    with pytest.raises(ValidationFailed) as exc:
        record_intake(session, route_actors["mentor"], keyring, route,
                      {"held_on": clock.today() + dt.timedelta(days=1), "summary": "x"})
    assert "toekomst" in str(exc.value.errors["held_on"][0])
    with pytest.raises(ValidationFailed):
        record_intake(session, route_actors["mentor"], keyring, route, {"held_on": clock.today()})
    session.rollback()
    assert session.scalar(select(func.count(Intake.id))) == 0


def _referral_with_events(session, route_world, route, mentor):
    from network.permissions import system_principal
    from referrals.models import EventKind, Referral
    from referrals.referral_timeline import add_event
    from referrals.states import ReferralStatus, ReferralType
    from socialmap.entries import create_service
    from tests.factories import principal_for

    service = create_service(session, system_principal(), route_world["gemeente"], {"name": "Jobcoaching"})
    referral = Referral(student_id=route.student_id, route_id=route.id, from_organisation_id=route.school_id,
                        from_name="Mentor", to_organisation_id=route_world["gemeente"].id, service_id=service.id,
                        purpose="jobcoaching", type=ReferralType.transitieroute, status=ReferralStatus.accepted)
    session.add(referral)
    session.flush()
    partner = principal_for(route_world["partner"])
    add_event(session, None, referral, EventKind.created, mentor)
    add_event(session, None, referral, EventKind.transition, partner, from_status=ReferralStatus.requested,
              to_status=ReferralStatus.accepted)
    session.commit()
    return referral, partner


def test_timeline_merges_everything_newest_first(session, app, route_world, route_actors, keyring, route):
    from referrals.models import EventKind
    from referrals.referral_timeline import add_event

    record_intake(session, route_actors["mentor"], keyring, route, {"held_on": clock.today(), "summary": "Plan maken"})
    referral, partner = _referral_with_events(session, route_world, route, route_actors["mentor"])
    add_event(session, keyring, referral, EventKind.note, partner, body="Intern: geheim",
              internal_to=route_world["gemeente"].id)
    session.commit()
    result = timeline(session, route_actors["mentor"], keyring, route)
    kinds = [e.kind for e in result.entries]
    assert {"route:create", "intake", "phase", "referral:created", "referral:transition"} <= set(kinds)
    assert "referral:note" not in kinds  # the gemeente's internal note
    assert [e.at for e in result.entries] == sorted((e.at for e in result.entries), reverse=True)
    session.commit()
    assert "route:timeline" in _audit_types(session, route.student_id)


def test_timeline_shows_consents_and_check_ins(session, route_world, route_actors, keyring, route):
    from consent.service import grant_consent, withdraw_consent

    consent = grant_consent(session, route_actors["mentor"], keyring, route_world["student"], {
        "recipient_id": route_world["gemeente"].id, "purpose_code": "jobcoaching",
        "categories": ["contactgegevens"], "channel": "paper"})
    withdraw_consent(session, route_actors["mentor"], keyring, consent)
    session.commit()
    _exited(session, route, route_actors["mentor"])
    record_check_in(session, route_actors["mentor"], keyring, route.check_ins[0], {"situation": "onbekend"})
    session.commit()
    kinds = [e.kind for e in timeline(session, route_actors["mentor"], keyring, route).entries]
    assert {"consent:grant", "consent:withdraw", "exit", "checkin", "checkin:rmc-alert"} <= set(kinds)
