"""The referral state machine (DESIGN.md rule 2: the HL7 Gravity closed-loop model).

``draft → requested → accepted | rejected | cancelled``; ``accepted → in-progress | on-hold |
completed | failed | cancelled``; ``in-progress ↔ on-hold``; from both ``→ completed | failed |
cancelled``; any state → ``entered-in-error``. The warm hand-over is a milestone between
``accepted`` and ``in-progress``: starting the work needs a hand-over the receiver confirmed.

Pure data and functions (no database), so the service, the views, the API and the property
tests all ask the same table.
"""

from __future__ import annotations

import enum


class ReferralStatus(enum.StrEnum):
    draft = "draft"
    requested = "requested"
    accepted = "accepted"
    rejected = "rejected"
    in_progress = "in-progress"
    on_hold = "on-hold"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"
    entered_in_error = "entered-in-error"


class ReferralType(enum.StrEnum):
    """The sign-up form's three kinds (seed 001, appendix 2.2.2/2.2.3)."""

    transitieroute = "transitieroute"
    school_ex = "school_ex"
    rmc = "rmc"


class Outcome(enum.StrEnum):
    """How a completed referral ended for the student."""

    werk = "werk"
    stage = "stage"
    opleiding = "opleiding"
    andere_hulp = "andere_hulp"
    dagbesteding = "dagbesteding"
    geen_contact = "geen_contact"
    overig = "overig"


S = ReferralStatus

TRANSITIONS: dict[ReferralStatus, frozenset[ReferralStatus]] = {
    S.draft: frozenset({S.requested, S.cancelled}),
    S.requested: frozenset({S.accepted, S.rejected, S.cancelled}),
    S.accepted: frozenset({S.in_progress, S.on_hold, S.completed, S.failed, S.cancelled}),
    S.in_progress: frozenset({S.on_hold, S.completed, S.failed, S.cancelled}),
    S.on_hold: frozenset({S.in_progress, S.completed, S.failed, S.cancelled}),
    S.rejected: frozenset(),
    S.completed: frozenset(),
    S.failed: frozenset(),
    S.cancelled: frozenset(),
    S.entered_in_error: frozenset(),
}

#: closed: nothing follows but ``entered-in-error``
TERMINAL = frozenset({S.rejected, S.completed, S.failed, S.cancelled, S.entered_in_error})
#: open at the receiving organisation: counts in its inbox as work
OPEN = frozenset({S.requested, S.accepted, S.in_progress, S.on_hold})
#: a reason is required to enter these
REASON_REQUIRED = frozenset({S.rejected, S.cancelled, S.on_hold, S.failed, S.entered_in_error})

#: who may move a referral into a state: the sender (school), the receiver (partner), or both
SENDER = "sender"
RECEIVER = "receiver"
MOVED_BY: dict[ReferralStatus, frozenset[str]] = {
    S.requested: frozenset({SENDER}),
    S.accepted: frozenset({RECEIVER}),
    S.rejected: frozenset({RECEIVER}),
    S.in_progress: frozenset({RECEIVER}),
    S.on_hold: frozenset({RECEIVER}),
    S.completed: frozenset({RECEIVER}),
    S.failed: frozenset({RECEIVER}),
    S.cancelled: frozenset({SENDER, RECEIVER}),
    S.entered_in_error: frozenset({SENDER, RECEIVER}),
}


def allowed_next(status: ReferralStatus) -> frozenset[ReferralStatus]:
    """The states ``status`` may move to (``entered-in-error`` from every other state)."""
    if status is S.entered_in_error:
        return frozenset()
    return TRANSITIONS[status] | {S.entered_in_error}


def allowed_for(status: ReferralStatus, side: str) -> list[ReferralStatus]:
    """:func:`allowed_next` limited to what ``side`` (sender or receiver) may do, in order."""
    order = list(ReferralStatus)
    return sorted((s for s in allowed_next(status) if side in MOVED_BY.get(s, ())), key=order.index)
