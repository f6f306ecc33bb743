"""Webhooks to partner systems (Standard Webhooks 1.0), delivered through the outbox.

A subscription belongs to one API client (network.oauth) and lists the event types it wants.
Events are thin (ids only): the receiver fetches the data with its own token, so consent is
checked again at that moment. Each event is an :class:`~network.models.OutboxMessage` of kind
``webhook`` written in the transaction of the change, delivered after commit with retries and
exponential backoff; a message that keeps failing ends ``dead`` on the admin's dead-letter list,
from where it can be replayed. The outbox message id is the ``webhook-id``, the same on every
attempt, so a receiver that saw it before can ignore the repeat.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from network.crypto import FieldRef
from network.db import UTCDateTime, db, utcnow
from network.oauth import ApiClient


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
