"""Webhooks to partner systems (Standard Webhooks 1.0), delivered through the outbox.

A subscription belongs to one API client (network.oauth) and lists the event types it wants;
the client manages its subscriptions through :mod:`network.webhook_subscriptions`.
Events are thin (ids only): the receiver fetches the data with its own token, so consent is
checked again at that moment. Each event is an :class:`~network.models.OutboxMessage` of kind
``webhook`` written in the transaction of the change, delivered after commit with retries and
exponential backoff; a message that keeps failing ends ``dead`` on the admin's dead-letter list,
from where it can be replayed. The outbox message id is the ``webhook-id``, the same on every
attempt, so a receiver that saw it before can ignore the repeat.

Events come in through the blinker signals of :mod:`network.signals` (the features send them
where the change happens; network imports no feature): a referral sent or changed goes to the
clients of the organisations on it, a withdrawn consent to its recipient's, an offered agreement
version to the organisations that sign it (all of them at the offer, also in sequential order),
a sociale kaart change to every subscriber, a signed audit checkpoint (whole, not thin: it is
public, and the receiver keeps it as a witness) to every subscriber. Only clients that are not revoked, only active
subscriptions to that event type. Targets are guarded in :mod:`network.webhook_delivery`.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from network import signals
from network.audit import AuditAction, record
from network.audit_chain import checkpoint_json
from network.clock import utcnow
from network.crypto import FieldRef, Keyring
from network.db import UTCDateTime, db
from network.errors import Conflict, Forbidden, NotFound
from network.events import DomainEvent, require_member
from network.models import Organisation, OutboxMessage, OutboxStatus
from network.oauth import ApiClient
from network.outbox import Undeliverable, enqueue, register_deliverer, remember_enqueued
from network.permissions import Permission, Principal
from network.tags import WebhookTag
from network.webhook_delivery import WebhookError, WebhookSender, signed_headers

#: the event types a client can subscribe to, with what they announce (Dutch, for the API docs):
#: the domain events of network.signals that partners may hear of. Their values are the names
#: partners subscribe to (README, OpenAPI), so they never change
EVENT_TYPES: dict[DomainEvent, str] = {
    DomainEvent.referral_sent: "Een verwijzing van of aan uw organisatie is verstuurd.",
    DomainEvent.referral_updated: "Een verwijzing van of aan uw organisatie is gewijzigd (status, warme overdracht, "
                                  "bericht, toewijzing).",
    DomainEvent.consent_withdrawn: "Een toestemming met uw organisatie als ontvanger is ingetrokken.",
    DomainEvent.placement_created: "Een stage van een leerling van uw school is vastgelegd.",
    DomainEvent.placement_updated: "De gegevens van een stage van een leerling van uw school zijn gewijzigd.",
    DomainEvent.placement_status_changed: "Een stage van een leerling van uw school is begonnen, gepauzeerd, "
                                          "afgerond of beëindigd.",
    DomainEvent.placement_contact_recorded: "Een contact van het stageprotocol van een stage van een leerling van "
                                            "uw school is vastgelegd.",
    DomainEvent.placement_assessment_submitted: "De praktijkopleider heeft de beoordeling van een stage van een "
                                                "leerling van uw school ingevuld en ondertekend.",
    DomainEvent.agreement_awaiting_signature: "Een versie van een plan of privacyafspraak wacht op de handtekening "
                                              "van uw organisatie.",
    DomainEvent.socialmap_service_changed: "Een onderdeel van de sociale kaart is toegevoegd of gewijzigd.",
    DomainEvent.audit_checkpoint: "Schakel heeft een controlepunt van het auditlog ondertekend (het hele "
                                  "controlepunt zit in het bericht: bewaar het, dan kunt u later controleren dat "
                                  "het log niet is herschreven).",
}
#: the scopes of which a client must hold one to subscribe to an event type: the event only
#: says an id changed; reading what changed takes these (the sociale kaart is public)
EVENT_SCOPES: dict[DomainEvent, tuple[str, ...]] = {
    DomainEvent.referral_sent: ("referrals:read",),
    DomainEvent.referral_updated: ("referrals:read",),
    DomainEvent.consent_withdrawn: ("consents:read", "students:read"),
    DomainEvent.placement_created: ("referrals:read",),
    DomainEvent.placement_updated: ("referrals:read",),
    DomainEvent.placement_status_changed: ("referrals:read",),
    DomainEvent.placement_contact_recorded: ("referrals:read",),
    DomainEvent.placement_assessment_submitted: ("referrals:read",),
    DomainEvent.agreement_awaiting_signature: ("agreements:read", "agreements:sign"),
    DomainEvent.socialmap_service_changed: (),
    DomainEvent.audit_checkpoint: (),
}


class WebhookSubscription(db.Model):
    """Where a client wants which events, and the secret the hub signs them with."""

    __tablename__ = "webhook_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("api_client.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    #: space-separated event types (see EVENT_TYPES)
    event_types: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(String(200), default="")
    #: the signing secret ``whsec_<base64>``, AES-GCM encrypted, bound to this row
    secret_encrypted: Mapped[str] = mapped_column(Text)
    #: during a rotation the previous secret signs too, until ``previous_secret_until``
    previous_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    previous_secret_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    client: Mapped[ApiClient] = relationship()

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<WebhookSubscription {self.id} client={self.client_id}>"

    def secret_ref(self) -> FieldRef:
        return FieldRef("webhook_subscription", "secret", str(self.id))

    def previous_secret_ref(self) -> FieldRef:
        return FieldRef("webhook_subscription", "previous_secret", str(self.id))

    @property
    def types(self) -> list[str]:
        return self.event_types.split()


# -- events: a signal in, one outbox message per interested subscription out -----------------

def _keyring(keyring: Keyring | None) -> Keyring:
    if keyring is not None:
        return keyring
    # the sociale kaart's services carry no keyring
    return current_app.extensions["schakel.keyring"]


def subscriptions_for(session: Session, event_type: DomainEvent,
                      organisation_ids: set[int] | None) -> list[WebhookSubscription]:
    """The active subscriptions to ``event_type`` of live clients of ``organisation_ids``
    (None: of every organisation)."""
    query = (select(WebhookSubscription).join(WebhookSubscription.client)
             .where(WebhookSubscription.disabled_at.is_(None), ApiClient.revoked_at.is_(None),
                    WebhookSubscription.event_types.contains(event_type))
             .order_by(WebhookSubscription.id))
    if organisation_ids is not None:
        query = query.where(ApiClient.organisation_id.in_(organisation_ids))
    return [s for s in session.scalars(query) if event_type in s.types]


def emit(session: Session, keyring: Keyring | None, event_type: DomainEvent, data: dict[str, Any],
         organisation_ids: set[int] | None, now: dt.datetime | None = None) -> list[OutboxMessage]:
    """Queue ``event_type`` with ``data`` (ids only) for every interested subscription, in the
    caller's transaction. The body is a thin Standard Webhooks event.

    :param event_type: one of :data:`EVENT_TYPES`; anything else raises :class:`TypeError` or
        :class:`ValueError` (a typo would otherwise reach no subscriber, silently)."""
    require_member(event_type, DomainEvent, "event_type")
    if event_type not in EVENT_TYPES:
        raise ValueError(f"partners cannot subscribe to {event_type!r}: not in EVENT_TYPES")
    subscriptions = subscriptions_for(session, event_type, organisation_ids)
    if not subscriptions:
        return []
    now = now or utcnow()
    body = json.dumps({"type": event_type, "timestamp": now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
                       "data": data}, separators=(",", ":"))
    ring = _keyring(keyring)
    return [enqueue(session, ring, kind="webhook", recipient=s.url, subject=event_type, body=body,
                    subscription_id=s.id, now=now) for s in subscriptions]


@signals.referral_sent.connect
def _referral_sent(referral: Any, *, session: Session, keyring: Keyring | None = None, **_: Any) -> None:
    emit(session, keyring, DomainEvent.referral_sent, {"id": referral.id},
         {referral.from_organisation_id, referral.to_organisation_id})


@signals.referral_updated.connect
def _referral_updated(referral: Any, *, session: Session, organisation_ids: set[int],
                      keyring: Keyring | None = None, **_: Any) -> None:
    emit(session, keyring, DomainEvent.referral_updated, {"id": referral.id}, set(organisation_ids))


def _placement_event(event_type: DomainEvent) -> Callable[..., None]:
    """Thin: the placement's uuid and its route's id, to the placement's school (a partner
    reads the rest through ``GET /api/v1/placements/{id}``, decided there)."""
    def announce(placement: Any, *, session: Session, keyring: Keyring | None = None, **_: Any) -> None:
        emit(session, keyring, event_type, {"id": placement.id, "uuid": str(placement.uuid),
                                            "route_id": placement.route_id}, {placement.school_id})
    return announce


for _event in (DomainEvent.placement_created, DomainEvent.placement_updated, DomainEvent.placement_status_changed):
    getattr(signals, _event.name).connect(_placement_event(_event), weak=False)


@signals.placement_contact_recorded.connect
def _placement_contact_recorded(contact: Any, *, placement: Any, session: Session, keyring: Keyring | None = None,
                                **_: Any) -> None:
    """Thin: the contact's and its placement's ids (``GET /api/v1/placements/{id}/contacts``)."""
    emit(session, keyring, DomainEvent.placement_contact_recorded,
         {"id": contact.id, "uuid": str(contact.uuid), "placement_id": placement.id, "route_id": placement.route_id},
         {placement.school_id})


@signals.placement_assessment_submitted.connect
def _placement_assessment_submitted(assessment: Any, *, session: Session, keyring: Keyring | None = None,
                                    **_: Any) -> None:
    """Thin: the assessment's and its placement's ids (``GET …/assessments/{id}``); no link token."""
    emit(session, keyring, DomainEvent.placement_assessment_submitted,
         {"id": assessment.id, "uuid": str(assessment.uuid), "placement_id": assessment.placement_id,
          "route_id": assessment.placement.route_id}, {assessment.school_id})


@signals.consent_withdrawn.connect
def _consent_withdrawn(consent: Any, *, session: Session, keyring: Keyring | None = None, **_: Any) -> None:
    emit(session, keyring, DomainEvent.consent_withdrawn, {"id": consent.id, "student_id": str(consent.student_id)},
         {consent.recipient_id})


@signals.agreement_awaiting_signature.connect
def _agreement_awaiting_signature(version: Any, *, agreement: Any, party_keys: list[str], session: Session,
                                  keyring: Keyring | None = None, **_: Any) -> None:
    """To the organisations whose turn it is to sign (in a sequential signing: one at a time)."""
    signing = {p.organisation_id for p in version.parties
               if p.signs and p.key in party_keys and p.organisation_id is not None}
    if signing:
        emit(session, keyring, DomainEvent.agreement_awaiting_signature,
             {"id": str(agreement.id), "version": version.number}, signing)


@signals.audit_checkpoint.connect
def _audit_checkpoint(checkpoint: Any, *, session: Session, keyring: Keyring | None = None, **_: Any) -> None:
    # the one event that is not thin: the checkpoint is public, and a partner keeps it as a witness
    emit(session, keyring, DomainEvent.audit_checkpoint, checkpoint_json(checkpoint), None)


@signals.socialmap_service_changed.connect
def _socialmap_changed(service: Any, *, session: Session, keyring: Keyring | None = None, **_: Any) -> None:
    emit(session, keyring, DomainEvent.socialmap_service_changed, {"id": str(service.uuid)}, None)


# -- delivery (called by network.outbox.deliver_due for kind "webhook") ------------------------

def deliver_webhook(session: Session, keyring: Keyring, message: OutboxMessage, sender: WebhookSender,
                    at: dt.datetime) -> None:
    """POST ``message`` to its subscription's current URL, signed with its current secret (and
    the previous one during a rotation). Raises on anything but a 2xx answer; a subscription
    that was ended makes the message :class:`~network.outbox.Undeliverable`."""
    subscription = session.get(WebhookSubscription, message.subscription_id) if message.subscription_id else None
    if subscription is None or subscription.disabled_at is not None or subscription.client.revoked_at is not None:
        raise Undeliverable("Het abonnement is opgeheven.")
    body = keyring.decrypt(message.body_encrypted, message.body_ref())
    secrets_ = [keyring.decrypt(subscription.secret_encrypted, subscription.secret_ref())]
    if (subscription.previous_secret_encrypted and subscription.previous_secret_until
            and subscription.previous_secret_until > at):
        secrets_.append(keyring.decrypt(subscription.previous_secret_encrypted, subscription.previous_secret_ref()))
    headers = signed_headers(webhook_id(message), at, body, secrets_)
    status = sender.send(subscription.url, headers, body.encode())
    if not 200 <= status < 300:
        raise WebhookError(f"HTTP {status}")


register_deliverer("webhook", deliver_webhook)


def webhook_id(message: OutboxMessage) -> str:
    """The ``webhook-id``: the same on every attempt, so the receiver can drop a repeat."""
    return "msg_" + message.id.hex


# -- the dead-letter list (hub admin) ----------------------------------------------------------

def _require_outbox_view(principal: Principal) -> None:
    if not principal.has(Permission.outbox_view):
        raise Forbidden("Alleen een beheerder van de hub ziet de onbestelbare webhooks.")


@dataclass(frozen=True)
class DeadLetter:
    message: OutboxMessage
    subscription: WebhookSubscription
    client: ApiClient
    organisation: Organisation


def list_dead_letters(session: Session, principal: Principal, *, limit: int = 200) -> list[DeadLetter]:
    """Dead webhook messages of live subscriptions (what a replay can still deliver), newest first."""
    _require_outbox_view(principal)
    rows = session.execute(
        select(OutboxMessage, WebhookSubscription, ApiClient, Organisation)
        .join(WebhookSubscription, OutboxMessage.subscription_id == WebhookSubscription.id)
        .join(ApiClient, WebhookSubscription.client_id == ApiClient.id)
        .join(Organisation, ApiClient.organisation_id == Organisation.id)
        .where(OutboxMessage.kind == "webhook", OutboxMessage.status == OutboxStatus.dead,
               WebhookSubscription.disabled_at.is_(None), ApiClient.revoked_at.is_(None))
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id).limit(limit))
    return [DeadLetter(*row) for row in rows]


def replay_dead_letter(session: Session, principal: Principal, message_id: Any, *,
                       now: dt.datetime | None = None) -> OutboxMessage:
    """Send a dead webhook message again: pending, attempts back to 0, due now (same
    ``webhook-id``). Audited."""
    _require_outbox_view(principal)
    try:
        wanted = uuid.UUID(str(message_id))
    except ValueError:
        raise NotFound("Dit bericht bestaat niet.") from None
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.id == wanted, OutboxMessage.kind == "webhook")
                              ).one_or_none()
    if message is None:
        raise NotFound("Dit bericht bestaat niet.")
    if message.status is not OutboxStatus.dead:
        raise Conflict("Dit bericht staat niet (meer) op de lijst van onbestelbare berichten.")
    subscription = session.get(WebhookSubscription, message.subscription_id) if message.subscription_id else None
    if subscription is None or subscription.disabled_at is not None or subscription.client.revoked_at is not None:
        raise Conflict("Het abonnement van dit bericht is opgeheven.")
    message.status, message.attempts, message.next_attempt_at = OutboxStatus.pending, 0, now or utcnow()
    remember_enqueued(session, message.id)  # the request's after-commit delivery takes it
    record(session, principal, action=AuditAction.execute, event_type=WebhookTag.replay, object_type="outbox_message",
           object_id=message.id, detail={"subscription_id": subscription.id, "event_type": message.subject})
    return message
