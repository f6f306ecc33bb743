"""The referral service without HTTP: draft, send with a packet, the state machine with the warm
hand-over, assignment, messages, withdrawal mid-referral, and the bad inputs."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from consent.service import withdraw_consent
from network.audit import AuditEvent
from network.errors import Conflict, NotFound, ValidationFailed
from network.models import OutboxMessage
from network.notifications import Notification
from referrals import service as rs
from referrals import transitions as rt
from referrals import wizard_service as ws
from referrals.models import EventKind, HandoverPacket, Referral, ReferralEvent
from referrals.packet import read_packet
from referrals.states import ReferralStatus as S
from tests.referrals.conftest import draft_data, signup


def _sent(session, keyring, rworld, ractors, **overrides):
    referral = ws.save_draft(session, ractors["mentor"], keyring, rworld["student"], draft_data(rworld, **overrides))
    ws.send_referral(session, ractors["mentor"], keyring, referral, today=dt.date(2026, 11, 23))
    session.commit()
    return referral


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def test_draft_send_accept_handover_complete(session, keyring, rworld, ractors):
    referral = _sent(session, keyring, rworld, ractors)
    assert referral.status is S.requested
    # 5 working days after Monday 23 November 2026
    assert referral.response_due == dt.date(2026, 11, 30)
    packet = session.scalar(select(HandoverPacket).where(HandoverPacket.referral_id == referral.id))
    assert packet.basis == f"consent:{rworld['consent'].id}"
    assert "Jobzoeker" not in packet.content_encrypted  # encrypted at rest
    assert count(session, Notification, Notification.account_id == rworld["jobcoach"].id) == 1
    view = read_packet(session, ractors["jobcoach"], keyring, referral)
    assert view.state == "open"
    assert view.content["contactgegevens"]["name"] == "Sanne Jobzoeker"
    assert view.content["ondersteuningsbehoefte"]["life_domains"]["gezondheid"]["explanation"] == "Snel overprikkeld"
    assert "leefgebieden" not in view.content  # not shared: financien stays at school
    rt.transition(session, ractors["jobcoach"], keyring, referral, S.accepted)
    assert referral.owner_account_id == rworld["jobcoach"].id
    with pytest.raises(Conflict):
        rt.transition(session, ractors["jobcoach"], keyring, referral, S.in_progress)  # no hand-over yet
    rt.record_handover(session, ractors["jobcoach"], keyring, referral, held_on=dt.date(2026, 11, 20),
                       present="Sanne, mentor Jansen, jobcoach Bakker", today=dt.date(2026, 11, 23))
    assert referral.status is S.in_progress and referral.handover_confirmed_at is not None
    rt.transition(session, ractors["jobcoach"], keyring, referral, S.completed, outcome="werk")
    session.commit()
    assert referral.status is S.completed and referral.outcome.value == "werk" and referral.closed_at
    kinds = [e.kind for e in referral.events]
    assert kinds.count(EventKind.transition) == 4  # →requested →accepted →in-progress →completed
    types = set(session.scalars(select(AuditEvent.event_type).where(AuditEvent.object_id == str(referral.id))))
    assert {"referral:send", "referral:accepted", "referral:handover", "referral:in-progress",
            "referral:completed"} <= types


def test_school_recorded_handover_waits_for_receiver(session, keyring, rworld, ractors):
    referral = _sent(session, keyring, rworld, ractors)
    rt.transition(session, ractors["jobcoach"], keyring, referral, S.accepted)
    rt.record_handover(session, ractors["mentor"], keyring, referral, held_on=dt.date(2026, 11, 20),
                       present="Sanne, mentor", today=dt.date(2026, 11, 23))
    assert referral.status is S.accepted and referral.handover_confirmed_at is None
    rt.confirm_handover(session, ractors["jobcoach"], keyring, referral)
    assert referral.status is S.in_progress


def test_withdrawal_mid_referral_wipes_the_packet_and_tells_both_sides(session, keyring, rworld, ractors):
    referral = _sent(session, keyring, rworld, ractors)
    rt.transition(session, ractors["jobcoach"], keyring, referral, S.accepted)
    session.commit()
    withdraw_consent(session, ractors["student_account"], keyring, rworld["consent"])
    session.commit()
    view = read_packet(session, ractors["jobcoach"], keyring, referral)
    assert view.state == "withdrawn" and view.content == {}
    packet = session.scalar(select(HandoverPacket).where(HandoverPacket.referral_id == referral.id))
    assert packet.content_encrypted is None and packet.withdrawn_reason == "withdrawn"
    titles = set(session.scalars(select(Notification.account_id)
                                 .where(Notification.kind == "referral:packet-withdrawn")))
    assert {rworld["jobcoach"].id, rworld["mentor"].id} <= titles
    assert count(session, ReferralEvent, ReferralEvent.kind == EventKind.packet_withdrawn) == 1


@pytest.mark.parametrize("overrides, field", [
    ({"details": signup(reason="  ")}, "reason"),
    ({"categories": ["contactgegevens", "justitie"]}, "categories"),  # no basis for justice
    ({"categories": []}, "categories"),
    ({"purpose": "rmc-nazorg"}, "categories"),  # the consent is for jobcoaching only
])
def test_send_refuses_bad_input_and_writes_nothing(session, keyring, rworld, ractors, overrides, field):
    referral = ws.save_draft(session, ractors["mentor"], keyring, rworld["student"], draft_data(rworld, **overrides))
    session.commit()
    before = (count(session, HandoverPacket), count(session, OutboxMessage), count(session, Notification))
    with pytest.raises(ValidationFailed) as caught:
        ws.send_referral(session, ractors["mentor"], keyring, referral, today=dt.date(2026, 11, 23))
    session.rollback()
    assert field in caught.value.errors
    assert (count(session, HandoverPacket), count(session, OutboxMessage), count(session, Notification)) == before
    assert session.get(Referral, referral.id).status is S.draft


def test_refuses_inactive_service_own_organisation_and_past_due(session, keyring, rworld, ractors):
    with pytest.raises(ValidationFailed) as caught:
        ws.save_draft(session, ractors["mentor"], keyring, rworld["student"],
                      draft_data(rworld, service_id=rworld["own_service"].id))
    assert "service_id" in caught.value.errors
    session.rollback()
    referral = ws.save_draft(session, ractors["mentor"], keyring, rworld["student"],
                             draft_data(rworld, service_id=rworld["inactive"].id))
    with pytest.raises(ValidationFailed) as caught:
        ws.send_referral(session, ractors["mentor"], keyring, referral, today=dt.date(2026, 11, 23))
    assert "service_id" in caught.value.errors
    session.rollback()
    referral = ws.save_draft(session, ractors["mentor"], keyring, rworld["student"], draft_data(rworld))
    with pytest.raises(ValidationFailed) as caught:
        ws.send_referral(session, ractors["mentor"], keyring, referral, today=dt.date(2026, 11, 23),
                         response_due=dt.date(2026, 11, 1))
    assert "response_due" in caught.value.errors


def test_double_submit_is_one_referral(session, keyring, rworld, ractors):
    data = draft_data(rworld, client_token="token-1")
    first = ws.save_draft(session, ractors["mentor"], keyring, rworld["student"], data)
    ws.send_referral(session, ractors["mentor"], keyring, first, today=dt.date(2026, 11, 23))
    session.commit()
    again = ws.save_draft(session, ractors["mentor"], keyring, rworld["student"], data)
    assert again.id == first.id
    assert ws.send_referral(session, ractors["mentor"], keyring, again).id == first.id
    session.commit()
    assert count(session, Referral) == 1 and count(session, HandoverPacket) == 1


def test_terminal_states_refuse_and_list_allowed(session, keyring, rworld, ractors):
    referral = _sent(session, keyring, rworld, ractors)
    with pytest.raises(ValidationFailed):
        rt.transition(session, ractors["jobcoach"], keyring, referral, S.rejected)  # reason required
    rt.transition(session, ractors["jobcoach"], keyring, referral, S.rejected, reason="Geen plek; probeer MEE")
    session.commit()
    with pytest.raises(Conflict) as caught:
        rt.transition(session, ractors["jobcoach"], keyring, referral, S.accepted)
    assert caught.value.extra["allowed"] == ["entered-in-error"]


def test_stale_version_is_a_conflict(session, keyring, rworld, ractors):
    referral = _sent(session, keyring, rworld, ractors)
    stale = referral.version
    rt.transition(session, ractors["jobcoach"], keyring, referral, S.accepted, expected_version=stale)
    session.commit()
    with pytest.raises(Conflict):
        rt.transition(session, ractors["jobcoach2"], keyring, referral, S.on_hold, reason="wacht",
                      expected_version=stale)


def test_tenant_walls(session, keyring, rworld, ractors):
    referral = _sent(session, keyring, rworld, ractors)
    for name in ("far_coach", "far_mentor", "rmc_staff", "coordinator"):
        with pytest.raises(NotFound):
            rs.get_referral(session, ractors[name], referral.id)
    with pytest.raises(NotFound):
        rt.transition(session, ractors["far_coach"], keyring, referral, S.accepted)
    with pytest.raises(NotFound):
        ws.save_draft(session, ractors["far_mentor"], keyring, rworld["student"], draft_data(rworld))
    # the school cannot accept its own referral; the receiver cannot see a draft
    with pytest.raises(Conflict):
        rt.transition(session, ractors["mentor"], keyring, referral, S.accepted)
    draft = ws.save_draft(session, ractors["mentor"], keyring, rworld["student"], draft_data(rworld))
    with pytest.raises(NotFound):
        rs.get_referral(session, ractors["jobcoach"], draft.id)


def test_internal_notes_stay_inside(session, keyring, rworld, ractors):
    from referrals.referral_timeline import visible_events

    referral = _sent(session, keyring, rworld, ractors)
    rs.post_message(session, ractors["jobcoach"], keyring, referral, "Intern: bel eerst de mentor", internal=True)
    rs.post_message(session, ractors["jobcoach"], keyring, referral, "We nemen contact op met Sanne")
    session.commit()
    school_view = [e.kind for e in visible_events(referral, rworld["school"].id)]
    partner_view = [e.kind for e in visible_events(referral, rworld["gemeente"].id)]
    assert EventKind.note not in school_view and EventKind.update in school_view
    assert EventKind.note in partner_view


def test_assign_only_to_colleagues(session, keyring, rworld, ractors):
    referral = _sent(session, keyring, rworld, ractors)
    rs.assign(session, ractors["jobcoach"], keyring, referral, rworld["jobcoach2"].id)
    assert referral.owner_account_id == rworld["jobcoach2"].id
    with pytest.raises(ValidationFailed):
        rs.assign(session, ractors["jobcoach"], keyring, referral, rworld["far_coach"].id)
