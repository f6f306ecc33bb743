"""``Idempotency-Key`` on the API's POST requests (draft-ietf-httpapi-idempotency-key-header).

The first request with a key stores its response; a repeat with the same key and the same body
gets that response again (nothing is done twice), the same key with another body is 422, and a
repeat while the first is still running is 409. Keys are per actor (API client or account) and
kept for ``IDEMPOTENCY_HOURS``; the stored response is encrypted (it can hold personal data).

The header is optional. :func:`network.api.api_require` runs every authenticated POST through
:func:`run_idempotent`, so each API view gets this without doing anything. The record is
claimed, completed and released in transactions of its own (on a connection of its own), never
in the request's: the response is stored only after the request's unit of work has committed
(:func:`network.transaction.after_request_unit`), so a stored answer always describes
something that happened. A response of 500 or
more, or an exception, releases the key so a retry runs again.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from flask import Response, current_app, request
from sqlalchemy import Integer, String, Text, UniqueConstraint, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from network.clock import utcnow
from network.crypto import FieldRef, Keyring
from network.db import UTCDateTime, db
from network.errors import Conflict, DomainError, ValidationFailed
from network.scheduler import Job, register_job
from network.transaction import after_request_unit, commit

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
#: printable ASCII, not starting or ending with a space (HTTP strips those), 1-255 characters
KEY_PATTERN = r"^[!-~](?:[ -~]{0,253}[!-~])?$"
_KEY = re.compile(KEY_PATTERN)
#: the response headers replayed with the stored body
STORED_HEADERS = ("Location", "ETag", "Content-Type")
#: a first request still "running" after this long died with its worker: its key is free again
ABANDONED_AFTER = dt.timedelta(minutes=5)


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


class KeyReused(DomainError):
    """The key was used before for another request (draft section 2.7: 422)."""

    status, code, title = 422, "idempotency-key-reused", "Idempotency-Key al gebruikt"


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def parse_key(value: str) -> str:
    """The key of an ``Idempotency-Key`` header: the draft's sf-string (``"..."``) or the bare
    key most clients send; 1-255 printable ASCII characters, else 400."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = re.sub(r'\\(["\\])', r"\1", value[1:-1])
    if not _KEY.match(value):
        raise ValidationFailed("Idempotency-Key moet 1 tot 255 afdrukbare ASCII-tekens zijn, bijvoorbeeld een UUID.",
                               errors={HEADER: ["Gebruik 1 tot 255 afdrukbare ASCII-tekens."]})
    return value


def actor_of(principal) -> str | None:
    """Whose keys these are: the API client, else the account; None for anonymous requests."""
    if principal.client_id is not None:
        return f"client:{principal.client_id}"
    if principal.account_id is not None:
        return f"account:{principal.account_id}"
    return None


def fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 over the method, the path (with its query) and the body, as the record keeps it."""
    digest = hashlib.sha256(f"{method.upper()} {path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def claim(engine: Engine, keyring: Keyring, actor: str, key: str, print_: str, *, max_age: dt.timedelta,
          now: dt.datetime | None = None) -> int | StoredResponse:
    """Claim ``key`` for a request: the new record's id (committed, status None), or the stored
    response of the earlier request with this key and fingerprint. Raises :class:`KeyReused`
    (422) for another fingerprint and :class:`~network.errors.Conflict` (409) while the earlier
    request still runs. The insert comes first, so the unique (actor, key) constraint decides
    between two requests arriving at once; an expired or abandoned record is replaced."""
    now = now or utcnow()
    for _attempt in range(3):
        with Session(engine, expire_on_commit=False) as session:
            record = IdempotencyRecord(actor=actor, key=key, fingerprint=print_, created_at=now)
            session.add(record)
            try:
                commit(session)
                return record.id
            except IntegrityError:
                session.rollback()
            existing = session.scalars(select(IdempotencyRecord).where(
                IdempotencyRecord.actor == actor, IdempotencyRecord.key == key)).first()
            if existing is None:  # released by its failed request in between: claim again
                continue
            if existing.created_at < now - max_age or (
                    existing.status_code is None and existing.created_at < now - ABANDONED_AFTER):
                session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == existing.id))
                commit(session)
                continue
            if existing.fingerprint != print_:
                raise KeyReused(f"Deze Idempotency-Key is al gebruikt voor een ander verzoek; "
                                f"kies een nieuwe sleutel. ({HEADER}: {key})")
            if existing.status_code is None:
                raise Conflict("Een verzoek met deze Idempotency-Key loopt nog; probeer het zo opnieuw.",
                               headers={"Retry-After": "1"})
            return _stored(keyring, existing)
    raise Conflict("Een verzoek met deze Idempotency-Key loopt nog; probeer het zo opnieuw.",
                   headers={"Retry-After": "1"})


def _stored(keyring: Keyring, record: IdempotencyRecord) -> StoredResponse:
    data = json.loads(keyring.decrypt(record.response_encrypted, record.response_ref()))
    return StoredResponse(status=record.status_code, headers=data["headers"], body=base64.b64decode(data["body"]))


def complete(engine: Engine, keyring: Keyring, record_id: int, response: StoredResponse) -> None:
    """Store the first request's response (encrypted) on its record."""
    with Session(engine) as session:
        record = session.get(IdempotencyRecord, record_id)
        if record is None:
            return
        payload = json.dumps({"headers": response.headers, "body": base64.b64encode(response.body).decode()})
        record.status_code = response.status
        record.response_encrypted = keyring.encrypt(payload, record.response_ref())
        commit(session)


def release(engine: Engine, record_id: int) -> None:
    """Forget a claim whose request failed, so a retry runs again."""
    with Session(engine) as session:
        session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))
        commit(session)


def purge_expired(session: Session, *, hours: int, now: dt.datetime | None = None) -> int:
    """Delete the records older than ``hours``; returns how many."""
    cutoff = (now or utcnow()) - dt.timedelta(hours=hours)
    return session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff)).rowcount


def run_idempotent(principal, view, args: tuple, kwargs: dict[str, Any]):
    """Run an API view for a POST request, honouring its ``Idempotency-Key`` (if any)."""

    header = request.headers.get(HEADER)
    actor = actor_of(principal)
    if header is None or actor is None or request.method != "POST":
        return view(*args, **kwargs)
    key = parse_key(header)
    path = request.path + (f"?{request.query_string.decode('latin-1')}" if request.query_string else "")
    print_ = fingerprint(request.method, path, request.get_data(cache=True))
    engine, keyring = db.engine, current_app.extensions["schakel.keyring"]
    claimed = claim(engine, keyring, actor, key, print_,
                    max_age=dt.timedelta(hours=current_app.config["IDEMPOTENCY_HOURS"]))
    if isinstance(claimed, StoredResponse):
        replay = Response(claimed.body, status=claimed.status)
        for name, value in claimed.headers.items():
            replay.headers[name] = value
        replay.headers[REPLAYED_HEADER] = "true"
        return replay
    try:
        response = view(*args, **kwargs)
        if not isinstance(response, Response):
            response = current_app.make_response(response)
    except Exception:
        # the error handler answers, and the unit of work is rolled back: a retry runs again
        after_request_unit(lambda committed: _release_quietly(engine, claimed))
        raise
    if response.status_code >= 500 or response.direct_passthrough or response.is_streamed:
        after_request_unit(lambda committed: _release_quietly(engine, claimed))
        return response
    headers = {name: response.headers[name] for name in STORED_HEADERS if name in response.headers}
    stored = StoredResponse(status=response.status_code, body=response.get_data(), headers=headers)

    def store(committed: bool) -> None:
        """Once the request's work is committed (or, for a 4xx answer, rolled back: it did
        nothing), keep the answer for a retry; a failed commit frees the key instead."""
        if not committed and stored.status < 400:
            _release_quietly(engine, claimed)
            return
        try:
            complete(engine, keyring, claimed, stored)
        except Exception:  # the view's work is committed: answer it, and let a retry run again
            log.exception("storing the response of idempotency record %r failed", claimed)
            _release_quietly(engine, claimed)

    after_request_unit(store)
    return response


def _release_quietly(engine: Engine, record_id: int) -> None:
    try:
        release(engine, record_id)
    except Exception:
        log.exception("releasing idempotency record %r failed; it is free again after %s", record_id, ABANDONED_AFTER)


def purge_job(app) -> str:
    """``idempotency.purge``: drop the stored responses older than ``IDEMPOTENCY_HOURS``."""
    deleted = purge_expired(db.session, hours=app.config["IDEMPOTENCY_HOURS"])
    return f"deleted {deleted} idempotency records"


def _register_jobs() -> None:

    register_job(Job("idempotency.purge", purge_job, 3600, "Opgeslagen antwoorden van Idempotency-Key opruimen"))


_register_jobs()
