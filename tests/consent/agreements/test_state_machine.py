"""The agreement's life as a state machine over the real services (hypothesis): edit, offer,
sign by anyone for any party and any version, decline, end, in random order. A small model
predicts which steps must be accepted; the database must agree, and after every step:

- at most one version is active, and it carries a valid signature of every party that signs,
  all on the same hash, and verifies;
- a superseded, declined or ended version never becomes active (or awaiting) again;
- version numbers rise by one; signatures exist only on versions that were offered;
- an accepted step leaves its documented events (edit 1, or 2 when it withdraws an offer:
  ``withdrawn`` + ``edited``; offer 1; sign 1, or 2 with ``activated``; decline 1; end 1; an
  edit that changes nothing 0); a refused step leaves none and changes nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from consent.agreements.access import find_agreement
from consent.agreements.integrity import verify_agreement
from consent.agreements.lifecycle import end_agreement, offer_for_signature
from consent.agreements.models import (
    AgreementEvent,
    AgreementKind,
    AgreementStatus,
    SignatureMethod,
    SigningOrder,
    VersionStatus,
)
from consent.agreements.service import create_agreement, save_parties, save_section
from consent.agreements.signatures import decline_version, sign_version
from network.errors import DomainError
from tests.consent.agreements._signed import utcnow
from tests.consent.agreements.conftest import CHECKS, give_plan_consent, party_rows

PARTIES = ("student", "school", "gemeente")
ACTORS = ("student_account", "mentor", "partner", "rmc_staff")
#: who signs for which party
SIGNER = {"student": "student_account", "school": "mentor", "gemeente": "partner"}
CLOSED = {VersionStatus.superseded, VersionStatus.declined, VersionStatus.ended}
GOOD_SIGNERS = st.sampled_from([("student", "school"), ("student", "school", "gemeente"),
                                ("gemeente", "student", "school"), ("school", "gemeente", "student")])


@dataclass
class ModelVersion:
    number: int
    status: VersionStatus = VersionStatus.draft
    order: SigningOrder = SigningOrder.parallel
    signers: list[str] = field(default_factory=list)
    reacted: list[str] = field(default_factory=list)


class AgreementMachine(RuleBasedStateMachine):
    env: dict = {}
    #: what the examples did, over all of them (the test checks the machine reached every kind of step)
    seen: Counter = Counter()

    def __init__(self):
        super().__init__()
        env = self.env
        self.session, self.keyring = env["session"], env["keyring"]
        self.world, self.actors = env["world"], env["actors"]
        self.keys = {"student": "student", "school": f"org-{self.world['school'].id}",
                     "gemeente": f"org-{self.world['gemeente'].id}"}
        mentor = self.actors["mentor"]
        agreement = create_agreement(self.session, mentor, self.keyring, self.world["student"], AgreementKind.plan)
        self.session.commit()
        agreement, access = find_agreement(self.session, mentor, agreement.id)
        save_section(self.session, mentor, self.keyring, agreement, access, "checks", dict(CHECKS))
        save_section(self.session, mentor, self.keyring, agreement, access, "future", {"goal": "A"})
        save_parties(self.session, mentor, self.keyring, agreement, access,
                     party_rows(agreement, self.world["gemeente"]))
        self.session.commit()
        self.agreement_id = agreement.id
        self.goal = "A"
        self.ended = False
        self.versions = [ModelVersion(1)]
        self.closed: set[int] = set()
        self.steps = 0

    def teardown(self):
        self.session.rollback()
        if not self.ended:  # the student may have one open plan: end this one for the next example
            mentor = self.actors["mentor"]
            agreement, access = find_agreement(self.session, mentor, self.agreement_id)
            end_agreement(self.session, mentor, agreement, access, reason="Einde van het voorbeeld")
            self.session.commit()

    # -- running a step -------------------------------------------------------------------------

    def _events(self) -> int:
        return self.session.scalar(select(func.count()).select_from(AgreementEvent).where(
            AgreementEvent.agreement_id == self.agreement_id))

    def _state(self):
        self.session.expire_all()
        agreement, _access = find_agreement(self.session, self.actors["mentor"], self.agreement_id)
        return ([(v.number, v.status, v.content_hash, len(v.signatures)) for v in agreement.versions],
                agreement.status, agreement.row_version, self._events())

    def _step(self, actor_name, call, *, accepted: bool, events: int):
        """Run ``call(actor, agreement, access)`` as ``actor_name``; check it was accepted as predicted,
        with ``events`` new events, or refused with none and nothing changed (after a commit)."""
        self.steps += 1
        before = self._state()
        actor = self.actors[actor_name]
        try:
            agreement, access = find_agreement(self.session, actor, self.agreement_id)
            call(actor, agreement, access)
        except DomainError as error:
            self.seen[f"refused {type(error).__name__}"] += 1
            assert not accepted, f"refused but should be accepted: {error!r} {error.errors}"
            self.session.commit()  # even a commit after the refusal writes nothing of it
            after = self._state()
            assert after == before, (before, after)
            return False
        self.session.commit()
        self.seen[f"accepted with {events} events"] += 1
        assert accepted, "accepted but should be refused"
        assert self._events() - before[3] == events
        return True

    def _latest(self) -> ModelVersion:
        return self.versions[-1]

    # -- rules -----------------------------------------------------------------------------------

    @rule(change=st.sampled_from(["new", "new", "same"]))
    def edit(self, change):
        """Save the "future" section with a new goal, or with the goal it has (nothing changes)."""
        goal = f"Doel {len(self.versions)}-{self.seen['edits']}" if change == "new" else self.goal
        self.seen["edits"] += 1
        latest = self._latest()
        accepted = not self.ended
        changes = accepted and goal != self.goal
        events = 0
        if changes:
            events = 2 if latest.status is VersionStatus.awaiting else 1
        self._step("mentor", lambda actor, agreement, access: save_section(
            self.session, actor, self.keyring, agreement, access, "future", {"goal": goal}),
            accepted=accepted, events=events)
        if not changes:
            return
        self.goal = goal
        if latest.status is not VersionStatus.draft:
            if latest.status is VersionStatus.awaiting:
                latest.status = VersionStatus.superseded
                self.closed.add(latest.number)
            self.versions.append(ModelVersion(latest.number + 1))

    def _offer(self, order, signers):
        latest = self._latest()
        accepted = (not self.ended and latest.status in (VersionStatus.draft, VersionStatus.declined)
                    and len(signers) >= 2 and "student" in signers)
        self._step("mentor", lambda actor, agreement, access: offer_for_signature(
            self.session, actor, self.keyring, agreement, access, order=order,
            signers=[self.keys[p] for p in signers]), accepted=accepted, events=1)
        if accepted:
            if latest.status is VersionStatus.declined:  # offered again as it is: a new version
                latest = ModelVersion(latest.number + 1)
                self.versions.append(latest)
            latest.status, latest.order, latest.signers = VersionStatus.awaiting, order, list(signers)

    @initialize(order=st.sampled_from(SigningOrder), signers=GOOD_SIGNERS,
                start=st.sampled_from(["active", "offered", "draft"]))
    def begin(self, order, signers, start):
        """Start from version 1 as a draft, offered for signature, or already signed by all."""
        if start != "draft":
            self._offer(order, list(signers))
        while start == "active" and self._eligible():
            self.sign_as_an_eligible_party(0)

    @precondition(lambda self: self._latest().status in (VersionStatus.draft, VersionStatus.declined))
    @rule(order=st.sampled_from(SigningOrder), signers=GOOD_SIGNERS)
    def offer(self, order, signers):
        self._offer(order, list(signers))

    @rule(order=st.sampled_from(SigningOrder), signers=st.lists(st.sampled_from(PARTIES), unique=True, max_size=3))
    def offer_any_signers(self, order, signers):
        """Any choice of signers, at any moment: refused unless two sign, the student among them."""
        self._offer(order, signers)

    def _may_react(self, actor_name, party, number) -> bool:
        version = next((v for v in self.versions if v.number == number), None)
        if self.ended or version is None or version.status is not VersionStatus.awaiting:
            return False
        if party not in version.signers or party in version.reacted or SIGNER[party] != actor_name:
            return False
        if version.order is SigningOrder.sequential:
            return version.signers.index(party) == len(version.reacted)
        return True

    def _eligible(self) -> list[str]:
        latest = self._latest()
        return [p for p in latest.signers if self._may_react(SIGNER[p], p, latest.number)]

    def _sign(self, actor_name, party, number):
        accepted = self._may_react(actor_name, party, number)
        version = next((v for v in self.versions if v.number == number), None)
        completes = accepted and len(version.reacted) + 1 == len(version.signers)
        self._step(actor_name, lambda actor, agreement, access: sign_version(
            self.session, actor, self.keyring, agreement, access, number, self.keys[party],
            authenticated_at=utcnow(), method=SignatureMethod.password),
            accepted=accepted, events=2 if completes else 1)
        if accepted:
            version.reacted.append(party)
            if completes:
                self.seen["activated"] += 1
                for other in self.versions:
                    if other.status is VersionStatus.active:
                        self.seen["superseded an active version"] += 1
                        other.status = VersionStatus.superseded
                        self.closed.add(other.number)
                version.status = VersionStatus.active

    @precondition(lambda self: self._eligible())
    @rule(pick=st.integers(0, 5))
    def sign_as_an_eligible_party(self, pick):
        eligible = self._eligible()
        party = eligible[pick % len(eligible)]
        self._sign(SIGNER[party], party, self._latest().number)

    @rule(order=st.sampled_from(SigningOrder), signers=GOOD_SIGNERS)
    def edit_and_offer_again(self, order, signers):
        """The usual amendment: the mentor changes the plan and asks for signatures again."""
        self.edit("new")
        self._offer(order, list(signers))

    # signing is what moves an agreement on: twice the chance of the other rules
    @precondition(lambda self: self._eligible())
    @rule(pick=st.integers(0, 5))
    def sign_as_an_eligible_party_again(self, pick):
        self.sign_as_an_eligible_party(pick)

    def _out_of_turn(self) -> list[str]:
        latest = self._latest()
        if latest.status is not VersionStatus.awaiting:
            return []
        return [p for p in latest.signers if p not in latest.reacted and p not in self._eligible()]

    @precondition(lambda self: self._out_of_turn())
    @rule(pick=st.integers(0, 5), declines=st.booleans())
    def react_before_its_turn(self, pick, declines):
        """The rightful signer of a party whose turn has not come (a sequential order)."""
        waiting = self._out_of_turn()
        party = waiting[pick % len(waiting)]
        if declines:
            self._decline(SIGNER[party], party)
        else:
            self._sign(SIGNER[party], party, self._latest().number)

    @rule(actor_name=st.sampled_from(ACTORS), party=st.sampled_from(PARTIES), back=st.integers(0, 2),
          declines=st.booleans())
    def sign_or_decline_as_anyone(self, actor_name, party, back, declines):
        if declines:
            self._decline(actor_name, party)
        else:
            self._sign(actor_name, party, max(1, self._latest().number - back))

    @precondition(lambda self: self._eligible())
    @rule(now=st.integers(0, 2))
    def decline_as_an_eligible_party(self, now):
        if not now:
            party = self._eligible()[0]
            self._decline(SIGNER[party], party)

    def _decline(self, actor_name, party):
        number = self._latest().number
        accepted = self._may_react(actor_name, party, number)
        self._step(actor_name, lambda actor, agreement, access: decline_version(
            self.session, actor, self.keyring, agreement, access, number, self.keys[party],
            reason="Dit klopt niet"), accepted=accepted, events=1)
        if accepted:
            self.seen["declined"] += 1
            self._latest().status = VersionStatus.declined
            self._latest().reacted.append(party)
            self.closed.add(number)

    # an ended agreement refuses everything: end late in an example, to see more of the rest first
    @precondition(lambda self: self.steps >= 8)
    @rule()
    def end(self):
        accepted = not self.ended
        self._step("mentor", lambda actor, agreement, access: end_agreement(
            self.session, actor, agreement, access, reason="Route afgerond"), accepted=accepted, events=1)
        if accepted:
            self.ended = True
            for version in self.versions:
                if version.status is VersionStatus.active:
                    version.status = VersionStatus.ended
                elif version.status in (VersionStatus.awaiting, VersionStatus.draft):
                    version.status = VersionStatus.superseded
                if version.status in CLOSED:
                    self.closed.add(version.number)

    # -- invariants --------------------------------------------------------------------------------

    @invariant()
    def database_matches_the_model_and_the_rules(self):
        self.session.expire_all()
        agreement, _access = find_agreement(self.session, self.actors["mentor"], self.agreement_id)
        stored = agreement.versions
        assert [v.number for v in stored] == list(range(1, len(stored) + 1))
        assert [(v.number, v.status) for v in stored] == [(m.number, m.status) for m in self.versions]
        active = [v for v in stored if v.status is VersionStatus.active]
        assert len(active) <= 1
        for version in stored:
            if version.number in self.closed:
                assert version.status in CLOSED, version
            if version.signatures:
                assert version.content_hash is not None and version.status is not VersionStatus.draft
        reports = {r.number: r for r in verify_agreement(self.session, self.keyring, agreement)}
        for version in active + [v for v in stored if v.status is VersionStatus.ended]:
            signing = {p.key for p in version.parties if p.signs}
            signed = {s.party_key for s in version.signatures if not s.declined}
            assert signing and signed == signing
            assert {s.version_hash for s in version.signatures} == {version.content_hash}
            assert reports[version.number].complete, reports[version.number]
        assert all(r.ok for r in reports.values()), reports
        if self.ended:
            assert agreement.status is AgreementStatus.ended
        elif active:
            assert agreement.status is AgreementStatus.active


def test_agreement_lifecycle_state_machine(session, keyring, world, actors):
    give_plan_consent(session, keyring, world, actors)
    session.commit()
    seen = Counter()
    machine = type("Machine", (AgreementMachine,), {"env": {"session": session, "keyring": keyring, "world": world,
                                                            "actors": actors}, "seen": seen})
    run_state_machine_as_test(machine, settings=settings(
        max_examples=25, stateful_step_count=12, deadline=None, derandomize=True,
        suppress_health_check=[HealthCheck.too_slow]))
    # the examples reached every kind of step: activations, refusals of each sort, two-event edits
    assert seen["activated"] and seen["declined"] and seen["accepted with 2 events"], seen
    assert seen["refused Conflict"] and seen["refused Forbidden"] and seen["refused NotFound"], seen
    assert seen["refused ValidationFailed"], seen


def test_a_scripted_run_through_amendments_refusals_and_the_end(session, keyring, world, actors):
    """The path random examples reach least often, step by step with the same model and
    invariants: an active plan amended and signed again (the old version superseded), a
    refusal, an offer of the refused text as a new version, then the end."""
    give_plan_consent(session, keyring, world, actors)
    session.commit()
    seen = Counter()
    machine = type("Machine", (AgreementMachine,), {"env": {"session": session, "keyring": keyring, "world": world,
                                                            "actors": actors}, "seen": seen})()
    everyone = ("student", "school", "gemeente")
    steps = [
        lambda: machine.begin(SigningOrder.sequential, everyone, "active"),
        lambda: machine.edit_and_offer_again(SigningOrder.sequential, ("gemeente", "student", "school")),
        lambda: machine.react_before_its_turn(0, False),  # the student before the gemeente: refused
        lambda: machine.sign_or_decline_as_anyone("partner", "gemeente", 1, False),  # version 1: refused
        lambda: machine.sign_as_an_eligible_party(0),
        lambda: machine.sign_as_an_eligible_party(0),
        lambda: machine.sign_as_an_eligible_party(0),  # version 2 holds, version 1 superseded
        lambda: machine.edit_and_offer_again(SigningOrder.parallel, everyone),
        lambda: machine.sign_as_an_eligible_party(2),
        lambda: machine.decline_as_an_eligible_party(0),
        lambda: machine.offer(SigningOrder.parallel, ("student", "school")),  # version 4: the refused text
        lambda: machine.sign_as_an_eligible_party(0),
        lambda: machine.edit("same"),
        lambda: machine.sign_as_an_eligible_party(0),  # version 4 holds, version 2 superseded
        lambda: machine.end(),
        lambda: machine.sign_or_decline_as_anyone("mentor", "school", 0, False),
    ]
    for step in steps:
        step()
        machine.database_matches_the_model_and_the_rules()
    assert [(v.number, v.status) for v in machine.versions] == [
        (1, VersionStatus.superseded), (2, VersionStatus.superseded), (3, VersionStatus.declined),
        (4, VersionStatus.ended)]
    assert seen["superseded an active version"] == 2 and seen["declined"] == 1
    assert seen["refused Conflict"] >= 3
