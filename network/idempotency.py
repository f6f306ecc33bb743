"""``Idempotency-Key`` on the API's POST requests (draft-ietf-httpapi-idempotency-key-header).

The first request with a key stores its response; a repeat with the same key and the same body
gets that response again (nothing is done twice), the same key with another body is 422, and a
repeat while the first is still running is 409. Keys are per actor (API client or account) and
kept for ``IDEMPOTENCY_HOURS``; the stored response is encrypted (it can hold personal data).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from network.crypto import FieldRef
from network.db import UTCDateTime, db, utcnow


class IdempotencyRecord(db.Model):
    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("actor", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``client:<id>`` or ``account:<id>``
    actor: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(255))
    #: SHA-256 of method, path and body
    fingerprint: Mapped[str] = mapped_column(String(64))
    #: None while the first request runs
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_encrypted: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<IdempotencyRecord {self.actor} {self.key!r}>"

    def response_ref(self) -> FieldRef:
        return FieldRef("idempotency_record", "response", str(self.id))
