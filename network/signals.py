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
