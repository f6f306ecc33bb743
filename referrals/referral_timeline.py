"""Writing and reading a referral's events (its timeline), with the free text encrypted.

After a withdrawal (or whenever the receiver has no basis for the student's data any more) the
receiving partner no longer sees the school's free text of the referral: the school's messages,
the reasons it gave for a step, who it wrote was at the warm hand-over. Its own messages and
internal notes stay visible to it, and the events themselves (what happened, when, by whom)
stay on the timeline. The sender always sees everything on its own referral.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from network.clock import utcnow
from network.crypto import Keyring
from network.permissions import Principal
from referrals.models import EventKind, Referral, ReferralEvent
from referrals.states import ReferralStatus

#: what the receiver reads where the school's text was (no basis remains)
WITHHELD = _l("De school schreef hier iets over de leerling. U ziet het niet meer: u heeft geen grondslag meer "
              "voor de gegevens van deze leerling.")
#: the page's one line saying why
WITHHELD_NOTICE = _l("U heeft geen grondslag meer voor de gegevens van deze leerling (bijvoorbeeld omdat de "
                     "toestemming is ingetrokken). Daarom ziet u wat de school bij deze verwijzing over de leerling "
                     "schreef niet meer. Uw eigen berichten en notities blijven zichtbaar.")


def add_event(session: Session, keyring: Keyring | None, referral: Referral, kind: EventKind, actor: Principal, *,
              from_status: ReferralStatus | None = None, to_status: ReferralStatus | None = None,
              reason: str | None = None, body: str | None = None, internal_to: int | None = None,
              now: dt.datetime | None = None) -> ReferralEvent:
    """Append one event to ``referral`` (in the caller's transaction). ``body`` is encrypted,
    so ``keyring`` is needed when there is one."""
    event = ReferralEvent(referral_id=referral.id, kind=kind, at=now or utcnow(), from_status=from_status,
                          to_status=to_status, reason=reason, internal_to=internal_to,
                          actor_account_id=actor.account_id, actor_name=actor.name,
                          actor_organisation_name=actor.acting.organisation_name if actor.acting else None,
                          actor_organisation_id=actor.organisation_id)
    if body:
        event.body_encrypted = keyring.encrypt(body, event.body_ref())
    session.add(event)
    return event


def event_body(keyring: Keyring, event: ReferralEvent) -> str | None:
    return keyring.decrypt(event.body_encrypted, event.body_ref()) if event.body_encrypted else None


def visible_events(referral: Referral, organisation_id: int | None) -> list[ReferralEvent]:
    """The events ``organisation_id`` may see: internal notes only within their organisation."""
    return [e for e in referral.events if e.internal_to is None or e.internal_to == organisation_id]


def by_sender(referral: Referral, event: ReferralEvent | None) -> bool:
    """Written for the referring school (an event of unknown origin counts as the school's: the
    receiver's own text is always known as its own)."""
    if event is None:
        return True
    if event.actor_organisation_id == referral.to_organisation_id:
        return False
    # the hub's own jobs (reminders, escalations) act for no organisation and write no free text
    return event.actor_organisation_id is not None or event.actor_account_id is not None


@dataclass
class TimelineItem:
    event: ReferralEvent
    body: str | None
    reason: str | None
    internal: bool
    #: the school's text of this event is not shown (no basis remains)
    withheld: bool = False


def timeline(keyring: Keyring, referral: Referral, organisation_id: int | None, *,
             school_text: bool = True) -> list[TimelineItem]:
    """The events ``organisation_id`` may see, with their text decrypted; with ``school_text``
    False (a receiver without a basis) the school's messages and reasons are left out."""
    items = []
    for event in visible_events(referral, organisation_id):
        hidden = not school_text and by_sender(referral, event) and bool(event.reason or event.body_encrypted)
        items.append(TimelineItem(event, None if hidden else event_body(keyring, event),
                                  None if hidden else event.reason, event.internal_to is not None, hidden))
    return items


def _last(referral: Referral, kind: EventKind, status: ReferralStatus | None = None) -> ReferralEvent | None:
    return next((e for e in reversed(referral.events)
                 if e.kind is kind and (status is None or e.to_status is status)), None)


def school_text_fields(referral: Referral, *, school_text: bool = True) -> dict[str, str | None]:
    """The referral's own free-text fields as the viewer may see them: the reason of its current
    status and who was at the warm hand-over, left out (None) where the school wrote them and
    ``school_text`` is False."""
    if school_text:
        return {"status_reason": referral.status_reason, "handover_present": referral.handover_present}
    reason_by_school = by_sender(referral, _last(referral, EventKind.transition, referral.status))
    handover_by_school = by_sender(referral, _last(referral, EventKind.handover))
    return {"status_reason": None if reason_by_school else referral.status_reason,
            "handover_present": None if handover_by_school else referral.handover_present}
