"""Event names as data (Warehouse's ``EventTag``): what happened is an enum member, never a free
string, so a misspelt name fails at import and every event of a feature is listed in one module.

Three kinds of names:

- :class:`EventTag`, the ``event_type`` of an audit event (:func:`network.audit.record` takes
  nothing else). It has no members: each feature subclasses it in its own ``tags`` module
  (``network/tags.py`` for the hub's own, ``consent/tags.py``, ``referrals/tags.py``,
  ``socialmap/tags.py``), one enum per first part of the name. The values are in the
  hash-chained log, so a value once written never changes (stored events must still verify and
  still be found by their name): the older values keep their spelling, new ones take the shape
  ``object:verb`` or ``feature:object:verb`` with words joined by ``-``.
- :class:`NotificationKind`, the ``kind`` of a notification (:func:`network.notifications.notify`
  takes nothing else), subclassed the same way by the features that notify.
- :class:`DomainEvent`, what one feature announces to the others: each blinker signal of
  :mod:`network.signals` is named by a member, and the members partners can subscribe to are the
  webhook event types (:data:`network.webhooks.EVENT_TYPES`). One hub-wide enum, as the signals
  are declared in one module.

One event can have two names: a withdrawn consent is the domain event ``consent.withdrawn``
(signal and webhook) and the audit event ``consent:withdraw``, because the audit name was in the
log before the two met. Each feature's ``tags`` module says which audit tags record each of its
domain events (``AUDITED_AS``), so the names of one event are side by side in one place.
"""

from __future__ import annotations

import enum


class EventTag(enum.StrEnum):
    """The base of the audit event tags; a member compares equal to its string (the stored value)."""


class NotificationKind(enum.StrEnum):
    """The base of the notification kinds; a member compares equal to its string (the stored value)."""


class DomainEvent(enum.StrEnum):
    """What happened, announced by one feature to the others (a blinker signal of the same name)
    and, where :data:`network.webhooks.EVENT_TYPES` lists it, to partner systems as a webhook.
    Those values are a public API (README, OpenAPI): never change one."""

    consent_granted = "consent.granted"
    consent_withdrawn = "consent.withdrawn"
    consent_expired = "consent.expired"
    #: a draft referral was sent: for the receiver (and the partners' systems) it was created
    referral_sent = "referral.created"
    referral_updated = "referral.updated"
    #: a placement (internship) was registered on a student's route, changed, or changed status
    placement_created = "placement.created"
    placement_updated = "placement.updated"
    placement_status_changed = "placement.status_changed"
    #: a contact of a placement's stageprotocol was recorded; the employer submitted an assessment
    placement_contact_recorded = "placement.contact_recorded"
    placement_assessment_submitted = "placement.assessment_submitted"
    agreement_awaiting_signature = "agreement.awaiting_signature"
    socialmap_service_changed = "socialmap.changed"
    #: the audit log's sealer signed a checkpoint (not itself an audit event: it is the log's seal)
    audit_checkpoint = "audit.checkpoint"


def require_member(value: object, base: type[enum.StrEnum], what: str) -> None:
    """Raise :class:`TypeError` unless ``value`` is a member of an enum derived from ``base``:
    a plain string, even one equal to a member's value, is refused, so no name is ever typed
    out twice."""
    if not isinstance(value, base):
        raise TypeError(f"{what} must be a member of an enum derived from {base.__name__}, "
                        f"not {type(value).__name__} {value!r}")
