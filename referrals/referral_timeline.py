"""Writing and reading a referral's events (its timeline), with the free text encrypted."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from network.clock import utcnow
from network.crypto import Keyring
from network.permissions import Principal
from referrals.models import EventKind, Referral, ReferralEvent
from referrals.states import ReferralStatus


def add_event(session: Session, keyring: Keyring | None, referral: Referral, kind: EventKind, actor: Principal, *,
              from_status: ReferralStatus | None = None, to_status: ReferralStatus | None = None,
              reason: str | None = None, body: str | None = None, internal_to: int | None = None,
              now: dt.datetime | None = None) -> ReferralEvent:
    """Append one event to ``referral`` (in the caller's transaction). ``body`` is encrypted,
    so ``keyring`` is needed when there is one."""
    event = ReferralEvent(referral_id=referral.id, kind=kind, at=now or utcnow(), from_status=from_status,
                          to_status=to_status, reason=reason, internal_to=internal_to,
                          actor_account_id=actor.account_id, actor_name=actor.name,
                          actor_organisation_name=actor.acting.organisation_name if actor.acting else None)
    if body:
        event.body_encrypted = keyring.encrypt(body, event.body_ref())
    session.add(event)
    return event


def event_body(keyring: Keyring, event: ReferralEvent) -> str | None:
    return keyring.decrypt(event.body_encrypted, event.body_ref()) if event.body_encrypted else None


def visible_events(referral: Referral, organisation_id: int | None) -> list[ReferralEvent]:
    """The events ``organisation_id`` may see: internal notes only within their organisation."""
    return [e for e in referral.events if e.internal_to is None or e.internal_to == organisation_id]
