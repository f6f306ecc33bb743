"""The referral state machine (HL7 Gravity closed loop, see :mod:`referrals.states`) and the
warm hand-over, the recorded milestone between accepted and in-progress.

Plain functions like those of :mod:`referrals.service`: they flush but never commit, audit
every change in the same transaction, and answer an illegal step with :class:`Conflict` (409)
listing the allowed transitions.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from network import clock
from network.audit import AuditAction, record
from network.clock import utcnow
from network.crypto import Keyring
from network.errors import Conflict, Forbidden, NotFound, ValidationFailed
from network.permissions import Principal
from referrals.models import EventKind, Referral
from referrals.referral_timeline import add_event
from referrals.service import NOT_FOUND, announce, can_view_referral, check_version, side_of, tell_other_side
from referrals.states import (
    MOVED_BY,
    REASON_REQUIRED,
    RECEIVER,
    TERMINAL,
    Outcome,
    ReferralStatus,
    allowed_for,
    allowed_next,
)
from referrals.tags import TRANSITION_NOTICES, TRANSITION_TAGS, ReferralNotice, ReferralTag

S = ReferralStatus



# -- the state machine -------------------------------------------------------------------------

def transition(session: Session, actor: Principal, keyring: Keyring, referral: Referral, to: ReferralStatus | str, *,
               reason: str | None = None, outcome: Outcome | str | None = None, expected_version: int | None = None,
               now: dt.datetime | None = None, base_url: str = "") -> Referral:
    """Move ``referral`` to ``to`` if the state machine and the actor's side allow it.

    A reason is required for rejected, cancelled, on-hold, failed and entered-in-error; an
    outcome for completed. Starting the work (accepted → in-progress) needs the warm hand-over
    confirmed by the receiver. Illegal moves raise :class:`Conflict` listing what is allowed.
    """
    now = now or utcnow()
    side = side_of(actor, referral)
    if side is None or not can_view_referral(actor, referral):
        raise NotFound(NOT_FOUND)
    target = _target_status(to)
    allowed = _check_step(referral, side, target, expected_version)
    errors: dict[str, list[str]] = {}
    reason = _checked_reason(target, reason, errors)
    chosen_outcome = _checked_outcome(target, outcome, errors)
    _check_handover_confirmed(referral, target, allowed)
    if errors:
        raise ValidationFailed(errors=errors)
    previous = _move(referral, actor, side, target, reason, chosen_outcome, now)
    add_event(session, keyring, referral, EventKind.transition, actor, from_status=previous, to_status=target,
              reason=reason, now=now)
    detail = {"from": previous.value, "to": target.value}
    if chosen_outcome:
        detail["outcome"] = chosen_outcome.value
    record(session, actor, action=AuditAction.update, event_type=TRANSITION_TAGS[target], object_type="referral",
           object_id=referral.id, student_id=referral.student_id, purpose=referral.purpose, detail=detail)
    if previous is not S.draft:  # the receiver never saw a draft: nothing to tell
        tell_other_side(session, keyring, referral, side, kind=TRANSITION_NOTICES[target], base_url=base_url,
                        now=now, title=f"Verwijzing nr. {referral.id}: {_STATUS_WORDS.get(target, target.value)}")
    announce(session, keyring, referral, own_only_for=actor if previous is S.draft else None)
    return referral


def _target_status(to: ReferralStatus | str) -> ReferralStatus:
    """The status asked for; an unknown one is a field error."""
    try:
        return ReferralStatus(to)
    except ValueError:
        raise ValidationFailed(errors={"status": [str(_l("Onbekende status."))]}) from None


def _check_step(referral: Referral, side: str, target: ReferralStatus,
                expected_version: int | None) -> list[ReferralStatus]:
    """The state machine's word on the step, as a :class:`Conflict`: sending goes through the
    wizard, the version must be current, and the status and the side must allow ``target``.
    Returns what ``side`` may do from the current status."""
    if target is S.requested:
        raise Conflict(_l("Versturen gaat via de verwijswizard."),
                       allowed=[s.value for s in allowed_for(referral.status, side)])
    check_version(referral, expected_version)
    allowed = allowed_for(referral.status, side)
    if target not in allowed_next(referral.status) or side not in MOVED_BY.get(target, ()):
        raise Conflict(_l("Deze stap kan niet vanuit de status '%(status)s'.", status=referral.status.value),
                       allowed=[s.value for s in allowed])
    return allowed


def _checked_reason(target: ReferralStatus, reason: str | None, errors: dict[str, list[str]]) -> str | None:
    """The stripped reason (None when empty); required for some targets, at most 500 characters."""
    reason = (reason or "").strip() or None
    if target in REASON_REQUIRED and not reason:
        errors["reason"] = [str(_l("Geef een reden op."))]
    if reason and len(reason) > 500:
        errors["reason"] = [str(_l("De reden is te lang (hoogstens 500 tekens)."))]
    return reason


def _checked_outcome(target: ReferralStatus, outcome: Outcome | str | None,
                     errors: dict[str, list[str]]) -> Outcome | None:
    """The outcome a completed referral needs (None for any other target)."""
    if target is not S.completed:
        return None
    try:
        chosen_outcome = Outcome(outcome) if outcome else None
    except ValueError:
        chosen_outcome = None
    if chosen_outcome is None:
        errors["outcome"] = [str(_l("Kies de uitkomst."))]
    return chosen_outcome


def _check_handover_confirmed(referral: Referral, target: ReferralStatus, allowed: list[ReferralStatus]) -> None:
    """The work starts (accepted → in-progress) only after the confirmed warm hand-over."""
    if target is S.in_progress and referral.status is S.accepted and referral.handover_confirmed_at is None:
        raise Conflict(_l("Leg eerst de warme overdracht vast (en laat de ontvanger die bevestigen)."),
                       allowed=[s.value for s in allowed if s is not S.in_progress])


def _move(referral: Referral, actor: Principal, side: str, target: ReferralStatus, reason: str | None,
          chosen_outcome: Outcome | None, now: dt.datetime) -> ReferralStatus:
    """Set the new status with the stamps it brings (answered, outcome, closed, the receiver's
    owner on accepting). Returns the previous status."""
    previous = referral.status
    referral.status, referral.status_reason, referral.status_changed_at = target, reason, now
    if previous is S.requested and target in (S.accepted, S.rejected):
        referral.answered_at = now
    if target is S.completed:
        referral.outcome = chosen_outcome
    if target in TERMINAL:
        referral.closed_at = now
    if target in (S.accepted,) and referral.owner_account_id is None and side == RECEIVER:
        referral.owner_account_id = actor.account_id
    return previous


_STATUS_WORDS = {
    S.accepted: "geaccepteerd", S.rejected: "afgewezen", S.in_progress: "begeleiding gestart",
    S.on_hold: "gepauzeerd", S.completed: "afgerond", S.failed: "mislukt", S.cancelled: "ingetrokken",
    S.entered_in_error: "ten onrechte ingevoerd",
}


# -- the warm hand-over ------------------------------------------------------------------------

def record_handover(session: Session, actor: Principal, keyring: Keyring, referral: Referral, *, held_on: dt.date,
                    present: str, expected_version: int | None = None, today: dt.date | None = None,
                    now: dt.datetime | None = None, base_url: str = "") -> Referral:
    """Record the overdrachtsgesprek (date, who was there). Recorded by the receiver it is
    confirmed at once and the work starts (accepted → in-progress); recorded by the school it
    waits for the receiver's confirmation (:func:`confirm_handover`)."""

    today, now = today or clock.today(), now or utcnow()
    side = side_of(actor, referral)
    if side is None or not can_view_referral(actor, referral):
        raise NotFound(NOT_FOUND)
    check_version(referral, expected_version)
    if referral.status is not S.accepted:
        raise Conflict(_l("De warme overdracht volgt op een geaccepteerde verwijzing."),
                       allowed=[s.value for s in allowed_for(referral.status, side)])
    errors: dict[str, list[str]] = {}
    present = (present or "").strip()
    if not present:
        errors["present"] = [str(_l("Vul in wie er bij het gesprek waren."))]
    elif len(present) > 500:
        errors["present"] = [str(_l("Hoogstens 500 tekens."))]
    if held_on is None:
        errors["held_on"] = [str(_l("Vul de datum van het gesprek in."))]
    elif held_on > today:
        errors["held_on"] = [str(_l("Het gesprek kan niet in de toekomst liggen."))]
    if errors:
        raise ValidationFailed(errors=errors)
    referral.handover_on, referral.handover_present, referral.handover_recorded_by_name = held_on, present, actor.name
    add_event(session, keyring, referral, EventKind.handover, actor, now=now,
              reason=f"{held_on.isoformat()}: {present}"[:500])
    record(session, actor, action=AuditAction.update, event_type=ReferralTag.handover, object_type="referral",
           object_id=referral.id, student_id=referral.student_id, purpose=referral.purpose,
           detail={"held_on": held_on.isoformat()})
    if side == RECEIVER:
        _confirm(session, actor, keyring, referral, now)
    else:
        referral.handover_confirmed_at = referral.handover_confirmed_by_name = None
        tell_other_side(session, keyring, referral, side, kind=ReferralNotice.handover, base_url=base_url, now=now,
                         title=f"Verwijzing nr. {referral.id}: bevestig de warme overdracht")
    announce(session, keyring, referral)
    return referral


def confirm_handover(session: Session, actor: Principal, keyring: Keyring, referral: Referral, *,
                     expected_version: int | None = None, now: dt.datetime | None = None,
                     base_url: str = "") -> Referral:
    """The receiver confirms a hand-over the school recorded; the work starts."""
    now = now or utcnow()
    side = side_of(actor, referral)
    if side is None or not can_view_referral(actor, referral):
        raise NotFound(NOT_FOUND)
    if side != RECEIVER:
        raise Forbidden(_l("Alleen de ontvangende organisatie bevestigt de warme overdracht."))
    check_version(referral, expected_version)
    if referral.status is not S.accepted or referral.handover_on is None:
        raise Conflict(_l("Er is geen warme overdracht om te bevestigen."),
                       allowed=[s.value for s in allowed_for(referral.status, side)])
    _confirm(session, actor, keyring, referral, now)
    tell_other_side(session, keyring, referral, side, kind=ReferralNotice.in_progress, base_url=base_url, now=now,
                     title=f"Verwijzing nr. {referral.id}: warme overdracht bevestigd, begeleiding gestart")
    announce(session, keyring, referral)
    return referral


def _confirm(session: Session, actor: Principal, keyring: Keyring, referral: Referral, now: dt.datetime) -> None:
    referral.handover_confirmed_at, referral.handover_confirmed_by_name = now, actor.name
    add_event(session, keyring, referral, EventKind.handover_confirmed, actor, now=now)
    previous = referral.status
    referral.status, referral.status_reason, referral.status_changed_at = S.in_progress, None, now
    if referral.owner_account_id is None:
        referral.owner_account_id = actor.account_id
    add_event(session, keyring, referral, EventKind.transition, actor, from_status=previous, to_status=S.in_progress,
              now=now)
    record(session, actor, action=AuditAction.update, event_type=ReferralTag.in_progress, object_type="referral",
           object_id=referral.id, student_id=referral.student_id, purpose=referral.purpose,
           detail={"from": previous.value, "to": S.in_progress.value, "handover_confirmed": True})

