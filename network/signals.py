"""Blinker signals: the one module where features announce what happened, so that others can
react without the announcing feature importing them (``consent`` never imports ``referrals``).

Receivers run synchronously inside the sender's transaction (they get ``session``): they may
add rows but must not commit.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: sent by :func:`consent.service.withdraw_consent` right after a consent was withdrawn, with
#: ``consent`` (the row), ``session``, ``actor`` and ``keyring``; referrals wipe hand-over packets on it
consent_withdrawn = _signals.signal("consent-withdrawn")

#: sent after a consent was granted, with ``consent``, ``session`` and ``actor``
consent_granted = _signals.signal("consent-granted")

#: sent by the expiry job for each consent that reached its end date (``consent``, ``session``)
consent_expired = _signals.signal("consent-expired")

#: sent when a referral reaches its receiver (a draft is sent), with ``referral``, ``session``
#: and ``keyring``; webhooks announce ``referral.created`` to both organisations on it
referral_sent = _signals.signal("referral-sent")

#: sent after a referral changed (a transition, the warm hand-over, an assignment, a message),
#: with ``referral``, ``session``, ``keyring`` and ``organisation_ids``: the organisations the
#: change is for (both sides, or only the own one for a draft or an internal note)
referral_updated = _signals.signal("referral-updated")

#: sent when parties of a version of an agreement are asked to sign: all signing parties when
#: it is offered in parallel; in a sequential signing the first when it is offered and each
#: next one when the one before has signed. With ``version``, ``agreement``, ``party_keys``
#: (whose turn it is), ``session`` and ``keyring``
agreement_awaiting_signature = _signals.signal("agreement-awaiting-signature")

#: sent after an entry of the sociale kaart was created or changed (content or capacity), with
#: ``service`` and ``session``
socialmap_service_changed = _signals.signal("socialmap-service-changed")
