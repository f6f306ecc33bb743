"""Reading the hand-over packet, and wiping it when the consent it rests on ends.

The receiver reads the packet through :func:`network.access.decide` on every request: only the
categories the decision allows now are shown, so a withdrawal counts from the next request.
A withdrawn or expired consent that the packet was shared on also wipes the packet's content
(the receiver keeps the referral itself, with "toestemming ingetrokken" and no data), and both
sides are told (:func:`on_consent_ended`, connected to the consent signals).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from network.access import Category, Decision, decide
from network.audit import AuditAction, record
from network.clock import utcnow
from network.crypto import Keyring
from network.errors import NotFound
from network.models import Role
from network.notifications import notify, notify_organisation
from network.permissions import Principal, system_principal
from network.signals import consent_expired, consent_withdrawn
from referrals.models import EventKind, HandoverPacket, Referral
from referrals.referral_timeline import add_event
from referrals.service import NOT_FOUND, RECEIVER, side_of
from referrals.tags import ReferralNotice, ReferralTag


@dataclass
class PacketView:
    """What the viewer may see of a packet now."""

    #: ``open``, ``withdrawn`` (the consent ended: no data), ``denied`` (no basis now), ``none``
    state: str
    content: dict[str, Any] = field(default_factory=dict)
    allowed: frozenset[Category] = frozenset()
    shared: list[str] = field(default_factory=list)
    decision: Decision | None = None
    withdrawn_at: dt.datetime | None = None
    withdrawn_reason: str | None = None
    #: a basis for the student's data remains (always for the sender): without one the receiver
    #: no longer sees the school's free text of the referral (:mod:`referrals.referral_timeline`)
    basis_remains: bool = True


def read_packet(session: Session, actor: Principal, keyring: Keyring, referral: Referral) -> PacketView:
    """The packet as ``actor`` may see it now. The receiver's read is decided and audited; the
    sender sees what was shared (their own data, under the school's task) the same way.

    A wiped packet has no content, but the receiver's page still shows the school's free text
    of the referral where a basis remains (a legal task, another consent): so the receiver's
    view of a wiped packet (or of none) is decided and audited too, and ``basis_remains`` says
    what it found."""
    side = side_of(actor, referral)
    if side is None:
        raise NotFound(NOT_FOUND)
    packet = referral.packet
    purpose = referral.purpose if side == RECEIVER else "verwijzing"
    if packet is None or packet.content_encrypted is None:
        remains = True
        if side == RECEIVER:
            asked = (packet.category_list if packet is not None else referral.category_list) or [Category.contact]
            remains = bool(decide(session, actor, referral.student, purpose, [Category(c) for c in asked],
                                  event_type=ReferralTag.packet).allowed)
        if packet is None:
            return PacketView(state="none", basis_remains=remains)
        return PacketView(state="withdrawn", shared=packet.category_list, withdrawn_at=packet.withdrawn_at,
                          withdrawn_reason=packet.withdrawn_reason, basis_remains=remains)
    shared = packet.category_list
    decision = decide(session, actor, referral.student, purpose, [Category(c) for c in shared],
                      event_type=ReferralTag.packet)
    if not decision.allowed:
        return PacketView(state="denied", shared=shared, decision=decision, basis_remains=False)
    content = json.loads(keyring.decrypt(packet.content_encrypted, packet.content_ref()))
    visible = {key: value for key, value in content.items()
               if key in ("referrer", "categories") or (key in {c.value for c in decision.allowed})}
    return PacketView(state="open", content=visible, allowed=decision.allowed, shared=shared, decision=decision)


def wipe_packets(session: Session, keyring: Keyring, *, consent_id: int, student_id: Any, recipient_id: int,
                 reason: str, now: dt.datetime | None = None) -> int:
    """Wipe the content of every packet shared with ``recipient_id`` on consent ``consent_id``,
    tell both sides, and note it on the referral. Returns the number of packets wiped."""
    now = now or utcnow()
    ref = f"consent:{consent_id}"
    packets = session.scalars(select(HandoverPacket).where(
        HandoverPacket.student_id == student_id, HandoverPacket.recipient_id == recipient_id,
        HandoverPacket.content_encrypted.is_not(None))).all()
    actor = system_principal("job", name="Schakel")
    wiped = 0
    for packet in packets:
        if ref not in packet.basis_refs:
            continue
        packet.content_encrypted, packet.withdrawn_at, packet.withdrawn_reason = None, now, reason
        referral = packet.referral
        add_event(session, keyring, referral, EventKind.packet_withdrawn, actor, reason=reason, now=now)
        record(session, actor, action=AuditAction.delete, event_type=ReferralTag.packet_wiped, object_type="referral",
               object_id=referral.id, student_id=student_id, purpose=referral.purpose, basis=ref,
               detail={"reason": reason})
        title = (f"Verwijzing nr. {referral.id}: de toestemming is "
                 f"{'ingetrokken' if reason == 'withdrawn' else 'verlopen'}; de gedeelde gegevens zijn verwijderd")
        notify_organisation(session, keyring, referral.to_organisation_id, roles=[Role.partner_staff],
                            kind=ReferralNotice.packet_withdrawn, title=title, link=f"/inbox/{referral.id}", now=now)
        if referral.from_account_id:
            notify(session, keyring, [referral.from_account_id], kind=ReferralNotice.packet_withdrawn, title=title,
                   link=f"/verwijzingen/{referral.id}", now=now)
        wiped += 1
    return wiped


def on_consent_ended(consent, session: Session, reason: str, keyring: Keyring | None = None, **_extra: Any) -> int:
    """Receiver of :data:`network.signals.consent_withdrawn` / ``consent_expired``."""
    if keyring is None:
        # lazy on purpose: a service module does not import flask (STYLE.md 4); only a signal sent
        # without a keyring (the consent expiry job, inside its app context) needs the app's
        from flask import current_app

        keyring = current_app.extensions["schakel.keyring"]
    return wipe_packets(session, keyring, consent_id=consent.id, student_id=consent.student_id,
                        recipient_id=consent.recipient_id, reason=reason)


def _on_withdrawn(consent, session: Session, **extra: Any) -> None:
    on_consent_ended(consent, session, "withdrawn", **{k: v for k, v in extra.items() if k == "keyring"})


def _on_expired(consent, session: Session, **extra: Any) -> None:
    on_consent_ended(consent, session, "expired", **{k: v for k, v in extra.items() if k == "keyring"})


def connect_signals() -> None:

    consent_withdrawn.connect(_on_withdrawn)
    consent_expired.connect(_on_expired)


