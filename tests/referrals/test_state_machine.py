"""The referral state machine as a property: a hypothesis state machine drives the REAL service
(send, transition, hand-over, confirmation, assignment, messages) from both sides with any
target status, with and without reason or outcome, and checks after every step that

- the status only moves along :data:`referrals.states.TRANSITIONS` (or to entered-in-error),
  terminal states only to entered-in-error, in-progress from accepted only after a confirmed
  hand-over;
- a reason is there where :data:`REASON_REQUIRED` says so, an outcome iff completed;
- every accepted step adds exactly one transition event and one audit event
  ``referral:<status>`` (``referral:send`` for sending), a refused one adds nothing;
- the row version goes up on every change and stays on a refusal.

Plus plain tests of :mod:`referrals.states` (the table itself).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from network import clock
from network.audit import AuditEvent
from network.errors import Conflict, Forbidden, NotFound, ValidationFailed
from referrals import service as rs
from referrals import transitions as rt
from referrals import wizard_service as ws
from referrals.models import EventKind, Referral, ReferralEvent
from referrals.states import (
    MOVED_BY,
    OPEN,
    REASON_REQUIRED,
    RECEIVER,
    SENDER,
    TERMINAL,
    TRANSITIONS,
    Outcome,
    ReferralStatus,
    allowed_for,
    allowed_next,
)
from tests.referrals.conftest import draft_data

S = ReferralStatus
SENDERS = ("mentor", "colleague")
RECEIVERS = ("jobcoach", "jobcoach2")
OUTSIDERS = ("far_coach", "rmc_staff", "far_mentor")
REASONS = st.sampled_from([None, "", "  "]) | st.just("Leerling is verhuisd naar een andere regio.")
OUTCOMES = st.sampled_from([None, "", "onzin"]) | st.sampled_from([o.value for o in Outcome])
#: where an example starts (reached through the service): the status, "+handover" = the
#: school recorded the hand-over and the receiver has not confirmed it yet
STARTS = ("draft", "requested", "accepted", "accepted+handover", "in-progress", "on-hold")
MACHINE_SETTINGS = settings(max_examples=25, stateful_step_count=15, deadline=None,
                            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _legal(previous: S, target: S) -> bool:
    return target in TRANSITIONS[previous] or (target is S.entered_in_error and previous is not S.entered_in_error)


class ReferralMachine(RuleBasedStateMachine):
    """One fresh referral (a draft of the mentor) per example; the model is a status, the
    hand-over flags and the expected numbers of transition events and audit events. The test
    runs a subclass that carries its fixtures (``session``, ``keyring``, ``rworld``, ``ractors``)
    and ``today`` as class attributes."""

    session: Any
    keyring: Any
    rworld: Any
    ractors: Any
    today: dt.date

    def __init__(self):
        super().__init__()
        self.referral = ws.save_draft(self.session, self.ractors["mentor"], self.keyring, self.rworld["student"],
                                      draft_data(self.rworld))
        self.session.commit()
        self.id = self.referral.id
        self.status = S.draft
        self.sent = False
        self.recordings = 0
        self.was_completed = False
        self.handover_recorded = False
        self.handover_confirmed = False
        self.transitions = 0
        self.audit: Counter[str] = Counter({"referral:draft": 1})
        self.version = self.referral.version

    # -- helpers ---------------------------------------------------------------------

    def _load(self) -> Referral:
        return self.session.get(Referral, self.id)

    def _visible_to(self, side: str) -> bool:
        return side == SENDER or self.status is not S.draft

    def _accepted(self, *audit_types: str, transitions: int = 0, status: S | None = None,
                  changed: bool = True) -> None:
        self.session.commit()
        referral = self._load()
        if changed:
            assert referral.version > self.version, "an accepted step must raise the row version"
        else:
            assert referral.version == self.version, "nothing changed on the row"
        self.version = referral.version
        self.transitions += transitions
        self.audit.update(audit_types)
        if status is not None:
            previous, self.status = self.status, status
            assert _legal(previous, status), (previous, status)
            if previous in TERMINAL:
                assert status is S.entered_in_error

    def _refused(self) -> None:
        self.session.rollback()
        assert self._load().version == self.version, "a refused step must not touch the row"

    # -- rules -----------------------------------------------------------------------

    @initialize(start=st.sampled_from(STARTS))
    def start_from(self, start):
        """Walk the fresh referral (through the service, checked like any step) to a
        starting point, so 15 steps explore the later states too."""
        path = STARTS.index(start)
        if path >= 1:
            self.send("mentor")
        if path >= 2:
            self.move(RECEIVER, 0, S.accepted, None, None)
        if path == 3:
            self.record_handover(SENDER)
        if path >= 4:
            self.record_handover(RECEIVER)
        if path == 5:
            self.move(RECEIVER, 1, S.on_hold, "Wacht op de uitslag van de keuring.", None)
        assert self.status.value == start.split("+")[0]

    @rule(who=st.sampled_from(SENDERS))
    def send(self, who):
        referral = self._load()
        before = self.status
        try:
            ws.send_referral(self.session, self.ractors[who], self.keyring, referral, today=self.today)
        except Conflict:
            assert before not in (S.draft, S.requested)
            return self._refused()
        if before is S.draft:
            self.sent = True
            self._accepted("referral:send", transitions=1, status=S.requested)
        else:  # a double submit: the same referral, unchanged
            assert before is S.requested
            self.session.commit()
            assert self._load().version == self.version

    @rule(side=st.sampled_from([SENDER, RECEIVER]), who=st.integers(0, 1), status=st.sampled_from(list(S)),
          reason=REASONS, outcome=OUTCOMES)
    def move_anywhere(self, side, who, status, reason, outcome):
        """Any status at all, allowed or not."""
        self.move(side, who, status, reason, outcome)

    @rule(side=st.sampled_from([SENDER, RECEIVER]), who=st.integers(0, 1), data=st.data(),
          reason=REASONS, outcome=OUTCOMES)
    def move_as_offered(self, side, who, data, reason, outcome):
        """A status the screen offers this side now (so the walk gets past 'requested')."""
        offered = allowed_for(self.status, side)
        status = data.draw(st.sampled_from(offered)) if offered else S.entered_in_error
        self.move(side, who, status, reason, outcome)

    def move(self, side, who, status, reason, outcome):
        target = status
        actor = self.ractors[(SENDERS if side == SENDER else RECEIVERS)[who]]
        referral = self._load()
        has_reason = bool((reason or "").strip())
        try:
            outcome_ok = bool(outcome) and Outcome(outcome) is not None
        except ValueError:
            outcome_ok = False
        if not self._visible_to(side):
            with pytest.raises(NotFound):
                rt.transition(self.session, actor, self.keyring, referral, target, reason=reason, outcome=outcome)
            return self._refused()
        by_table = (target is not S.requested and target in allowed_next(self.status)
                    and side in MOVED_BY.get(target, ()))
        needs_handover = target is S.in_progress and self.status is S.accepted and not self.handover_confirmed
        valid = (has_reason or target not in REASON_REQUIRED) and (outcome_ok or target is not S.completed)
        try:
            rt.transition(self.session, actor, self.keyring, referral, target, reason=reason, outcome=outcome)
        except Conflict as refused:
            assert not by_table or needs_handover, (self.status, side, target)
            if not by_table and target is not S.requested:
                assert refused.extra.get("allowed") == [s.value for s in allowed_for(self.status, side)]
            return self._refused()
        except ValidationFailed as refused:
            assert by_table and not valid, (self.status, side, target, refused.errors)
            assert set(refused.errors) <= {"reason", "outcome"}
            return self._refused()
        assert by_table and valid and not needs_handover, (self.status, side, target, reason, outcome)
        self.was_completed = self.was_completed or target is S.completed
        self._accepted(f"referral:{target.value}", transitions=1, status=target)

    @rule(side=st.sampled_from([SENDER, RECEIVER]))
    def record_handover(self, side):
        actor = self.ractors[SENDERS[0] if side == SENDER else RECEIVERS[0]]
        referral = self._load()
        try:
            # each recording differs (a correction), so the row changes every time
            self.recordings += 1
            rt.record_handover(self.session, actor, self.keyring, referral, held_on=self.today - dt.timedelta(days=1),
                               present=f"Leerling, mentor en jobcoach ({self.recordings})", today=self.today)
        except NotFound:
            assert not self._visible_to(side)
            return self._refused()
        except Conflict:
            assert self.status is not S.accepted
            return self._refused()
        assert self.status is S.accepted
        if side == RECEIVER:  # confirmed at once: the work starts
            self.handover_recorded = self.handover_confirmed = True
            self._accepted("referral:handover", "referral:in-progress", transitions=1, status=S.in_progress)
        else:
            self.handover_recorded, self.handover_confirmed = True, False
            self._accepted("referral:handover")

    @rule(who=st.sampled_from(RECEIVERS + SENDERS))
    def confirm_handover(self, who):
        referral = self._load()
        try:
            rt.confirm_handover(self.session, self.ractors[who], self.keyring, referral)
        except (NotFound, Conflict, Forbidden):
            assert who in SENDERS or self.status is not S.accepted or not self.handover_recorded \
                or not self._visible_to(RECEIVER)
            return self._refused()
        assert who in RECEIVERS and self.status is S.accepted and self.handover_recorded
        self.handover_confirmed = True
        self._accepted("referral:in-progress", transitions=1, status=S.in_progress)

    @rule(who=st.sampled_from(RECEIVERS), to=st.sampled_from(["jobcoach", "jobcoach2", "mentor", "rmc_staff"]))
    def assign(self, who, to):
        referral = self._load()
        same_owner = referral.owner_account_id == self.rworld[to].id
        try:
            rs.assign(self.session, self.ractors[who], self.keyring, referral, self.rworld[to].id)
        except NotFound:
            assert self.status is S.draft
            return self._refused()
        except Conflict:
            assert self.status in TERMINAL
            return self._refused()
        except ValidationFailed:
            assert to not in RECEIVERS
            return self._refused()
        assert self.status is not S.draft and self.status not in TERMINAL and to in RECEIVERS
        # the same owner again: an event and an audit row, but the row itself is unchanged
        self._accepted("referral:assign", changed=not same_owner)

    @rule(side=st.sampled_from([SENDER, RECEIVER]), internal=st.booleans(), text=st.sampled_from(["", "Update"]))
    def post(self, side, internal, text):
        actor = self.ractors[SENDERS[0] if side == SENDER else RECEIVERS[0]]
        referral = self._load()
        before = self.session.scalar(select(func.count()).select_from(ReferralEvent)
                                     .where(ReferralEvent.referral_id == self.id))
        try:
            rs.post_message(self.session, actor, self.keyring, referral, text, internal=internal)
        except (NotFound, Conflict, ValidationFailed):
            assert not text or not self._visible_to(side) or self.status is S.entered_in_error
            return self._refused()
        assert text and self._visible_to(side) and self.status is not S.entered_in_error
        self.session.commit()  # an event, not a change of the referral row
        after = self.session.scalar(select(func.count()).select_from(ReferralEvent)
                                    .where(ReferralEvent.referral_id == self.id))
        assert after == before + 1
        self.audit["referral:note" if internal else "referral:update"] += 1

    @rule(who=st.sampled_from(OUTSIDERS), status=st.sampled_from(list(S)))
    def outsider_moves(self, who, status):
        with pytest.raises(NotFound):
            rt.transition(self.session, self.ractors[who], self.keyring, self._load(), status, reason="x",
                          outcome="werk")
        self._refused()

    # -- invariants ------------------------------------------------------------------

    @invariant()
    def matches_the_model(self):
        referral = self._load()
        assert referral.status is self.status
        assert referral.version == self.version
        if self.status in REASON_REQUIRED:
            assert (referral.status_reason or "").strip()
        # the outcome comes with completed, and stays on a completed referral later marked
        # entered-in-error (the record of what was claimed)
        assert (referral.outcome is not None) == (self.status is S.completed or self.was_completed)
        assert (referral.closed_at is not None) == (self.status in TERMINAL)
        if self.sent:
            assert referral.sent_at is not None and referral.response_due is not None

    @invariant()
    def events_and_audit_match(self):
        moves = self.session.execute(
            select(ReferralEvent.from_status, ReferralEvent.to_status, ReferralEvent.at)
            .where(ReferralEvent.referral_id == self.id, ReferralEvent.kind == EventKind.transition)
            .order_by(ReferralEvent.id)).all()
        assert len(moves) == self.transitions
        previous = S.draft
        for from_status, to_status, _at in moves:
            assert from_status is previous and _legal(from_status, to_status), (from_status, to_status)
            previous = to_status
        assert previous is self.status
        if any(f is S.accepted and t is S.in_progress for f, t, _at in moves):
            assert self._load().handover_confirmed_at is not None
        audit = Counter(dict(self.session.execute(
            select(AuditEvent.event_type, func.count()).where(
                AuditEvent.object_type == "referral", AuditEvent.object_id == str(self.id))
            .group_by(AuditEvent.event_type)).all()))
        assert audit == self.audit

    def teardown(self):
        self.session.rollback()


def test_the_service_follows_the_state_machine(session, keyring, rworld, ractors):
    machine = type("ReferralMachineOnFixtures", (ReferralMachine,),
                   {"session": session, "keyring": keyring, "rworld": rworld, "ractors": ractors,
                    "today": clock.today()})
    run_state_machine_as_test(machine, settings=MACHINE_SETTINGS)


# -- the table ---------------------------------------------------------------------------


def test_every_state_has_a_row_and_terminal_states_lead_nowhere():
    assert set(TRANSITIONS) == set(S)
    for status in TERMINAL:
        expected = frozenset() if status is S.entered_in_error else {S.entered_in_error}
        assert allowed_next(status) == expected
    assert OPEN.isdisjoint(TERMINAL)


@pytest.mark.parametrize("status", [s for s in S if s is not S.entered_in_error])
def test_every_other_state_reaches_entered_in_error(status):
    assert S.entered_in_error in allowed_next(status)
    assert S.entered_in_error in allowed_for(status, SENDER)
    assert S.entered_in_error in allowed_for(status, RECEIVER)


def test_entered_in_error_is_final():
    assert allowed_next(S.entered_in_error) == frozenset()
    assert allowed_for(S.entered_in_error, SENDER) == allowed_for(S.entered_in_error, RECEIVER) == []


@pytest.mark.parametrize("status, side, expected", [
    (S.draft, SENDER, [S.requested, S.cancelled, S.entered_in_error]),
    (S.draft, RECEIVER, [S.cancelled, S.entered_in_error]),
    (S.requested, SENDER, [S.cancelled, S.entered_in_error]),
    (S.requested, RECEIVER, [S.accepted, S.rejected, S.cancelled, S.entered_in_error]),
    (S.accepted, SENDER, [S.cancelled, S.entered_in_error]),
    (S.accepted, RECEIVER, [S.in_progress, S.on_hold, S.completed, S.failed, S.cancelled, S.entered_in_error]),
    (S.in_progress, RECEIVER, [S.on_hold, S.completed, S.failed, S.cancelled, S.entered_in_error]),
    (S.on_hold, RECEIVER, [S.in_progress, S.completed, S.failed, S.cancelled, S.entered_in_error]),
    (S.on_hold, SENDER, [S.cancelled, S.entered_in_error]),
    (S.completed, SENDER, [S.entered_in_error]),
    (S.rejected, RECEIVER, [S.entered_in_error]),
])
def test_allowed_for_each_side(status, side, expected):
    assert allowed_for(status, side) == expected


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("side", [SENDER, RECEIVER])
def test_allowed_for_is_allowed_next_limited_to_the_side_in_state_order(status, side):
    found = allowed_for(status, side)
    assert set(found) == {s for s in allowed_next(status) if side in MOVED_BY[s]}
    assert found == sorted(found, key=list(S).index)


def test_reasons_are_required_for_the_closing_and_pausing_states():
    assert REASON_REQUIRED == {S.rejected, S.cancelled, S.on_hold, S.failed, S.entered_in_error}
    assert S.completed not in REASON_REQUIRED and S.accepted not in REASON_REQUIRED


def test_only_the_sender_sends_and_only_the_receiver_answers_and_works():
    assert MOVED_BY[S.requested] == {SENDER}
    for status in (S.accepted, S.rejected, S.in_progress, S.on_hold, S.completed, S.failed):
        assert MOVED_BY[status] == {RECEIVER}
    assert MOVED_BY[S.cancelled] == MOVED_BY[S.entered_in_error] == {SENDER, RECEIVER}
