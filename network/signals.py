"""Blinker signals: the one module where features announce what happened, so that others can
react without the announcing feature importing them (``consent`` never imports ``referrals``).

Each signal is named by a :class:`~network.events.DomainEvent` member: the same name partners
subscribe to when the event is a webhook (network.webhooks), and that the announcing feature's
``tags`` module maps to the audit tags recording it (``AUDITED_AS``).

Receivers run synchronously inside the sender's transaction (they get ``session``): they may
add rows but must not commit.
"""

from __future__ import annotations

from blinker import NamedSignal, Namespace

from network.events import DomainEvent, require_member

_signals = Namespace()


def _signal(event: DomainEvent) -> NamedSignal:
    require_member(event, DomainEvent, "a signal's name")
    return _signals.signal(event)


#: sent by :func:`consent.service.withdraw_consent` right after a consent was withdrawn, with
#: ``consent`` (the row), ``session``, ``actor`` and ``keyring``; referrals wipe hand-over packets on it
consent_withdrawn = _signal(DomainEvent.consent_withdrawn)

#: sent after a consent was granted, with ``consent``, ``session`` and ``actor``
consent_granted = _signal(DomainEvent.consent_granted)

#: sent by the expiry job for each consent that reached its end date (``consent``, ``session``)
consent_expired = _signal(DomainEvent.consent_expired)

#: sent when a referral reaches its receiver (a draft is sent), with ``referral``, ``session``
#: and ``keyring``; webhooks announce ``referral.created`` to both organisations on it
referral_sent = _signal(DomainEvent.referral_sent)

#: sent after a referral changed (a transition, the warm hand-over, an assignment, a message),
#: with ``referral``, ``session``, ``keyring`` and ``organisation_ids``: the organisations the
#: change is for (both sides, or only the own one for a draft or an internal note)
referral_updated = _signal(DomainEvent.referral_updated)

#: sent after a placement was registered (``placement_created``), its fields changed
#: (``placement_updated``) or its status moved (``placement_status_changed``), with
#: ``placement``, ``session`` and ``keyring``; webhooks announce them to the placement's school
placement_created = _signal(DomainEvent.placement_created)
placement_updated = _signal(DomainEvent.placement_updated)
placement_status_changed = _signal(DomainEvent.placement_status_changed)

#: sent after a contact of the stageprotocol was recorded (``contact``, ``placement``,
#: ``session``, ``keyring``) and after the praktijkopleider submitted an assessment
#: (``assessment``, ``session``, ``keyring``); webhooks announce them to the placement's school
placement_contact_recorded = _signal(DomainEvent.placement_contact_recorded)
placement_assessment_submitted = _signal(DomainEvent.placement_assessment_submitted)

#: sent when parties of a version of an agreement are asked to sign: all signing parties when
#: it is offered in parallel; in a sequential signing the first when it is offered and each
#: next one when the one before has signed. With ``version``, ``agreement``, ``party_keys``
#: (whose turn it is), ``session`` and ``keyring``
agreement_awaiting_signature = _signal(DomainEvent.agreement_awaiting_signature)

#: sent after an entry of the sociale kaart was created or changed (content or capacity), with
#: ``service`` and ``session``
socialmap_service_changed = _signal(DomainEvent.socialmap_service_changed)

#: sent by :func:`network.audit_chain.seal` for each checkpoint it signs, with ``checkpoint``
#: (the row), ``session`` and ``keyring``; webhooks announce it as ``audit.checkpoint``
audit_checkpoint = _signal(DomainEvent.audit_checkpoint)
