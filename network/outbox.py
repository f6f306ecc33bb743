"""The outbox: e-mail and webhooks leave the hub only after the transaction that caused them commits.

Writing: :func:`enqueue_email` (and, for webhooks, :func:`enqueue` with ``kind="webhook"``, see
``network.webhooks``) adds an :class:`~network.models.OutboxMessage` (body encrypted,
bound to its row) in the caller's transaction; nothing is sent yet. If that transaction rolls
back, the message never existed.

Delivering: :func:`deliver_due` claims due pending messages one at a time and sends each through
a :class:`MailBackend`, with **one transaction per message**: the message is marked ``sent`` in
the same commit that ends its claim, so a crash before that commit leaves it pending (it is
tried again; at-least-once) and a committed ``sent`` is never sent again. A failure counts an
attempt and schedules the next one with exponential backoff (30 s, 1 min, 2 min, … capped at
one hour); after ``OUTBOX_MAX_ATTEMPTS`` the message is ``dead`` and stays for an operator.

Claiming: on PostgreSQL ``SELECT … FOR UPDATE SKIP LOCKED`` (the row lock is held while the
message is sent, so two deliverers never take the same message). SQLite ignores ``FOR UPDATE``
and serialises writers, so there the claim is a guarded ``UPDATE`` that leases the message for
:data:`SQLITE_LEASE` (committed at once, so web requests are not held up by a slow mail
server); a deliverer that dies mid-send leaves the lease to expire and the message is retried.

Who delivers:

- the web layer, right after a request commits, delivers the messages that request enqueued
  (:func:`take_committed` gives their ids; the commit point, :mod:`network.transaction`, runs
  it when the response is closed, so the answer is not held up by the mail server);
- the scheduler calls :func:`run_outbox_job` every ``OUTBOX_INTERVAL_SECONDS`` for everything
  else (retries, messages enqueued by CLI commands or jobs). It opens its own app context and
  database session and returns a :class:`DeliveryReport`.

Kinds: ``email`` goes through the mail backend; ``webhook`` is POSTed to its subscription's URL,
signed (``network.webhooks.deliver_webhook``, registered with :func:`register_deliverer`,
through a ``network.webhook_delivery`` sender;
``app.extensions["schakel.webhook_sender"]``, which tests may replace). Both share the claim,
the backoff, ``OUTBOX_MAX_ATTEMPTS`` and the ``dead`` end; the message id is the webhook's
``webhook-id``, the same on every attempt.

Backends, chosen by ``MAIL_BACKEND``: ``smtp`` (:class:`SmtpBackend`), ``mailbox`` (development:
nothing leaves; ``/dev/mailbox`` shows the outbox rows, decrypted), ``null`` (discards),
``recording`` (keeps messages in memory, for tests). :func:`get_backend` keeps one per app in
``app.extensions["schakel.mail_backend"]``, which tests may replace.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import ssl
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Protocol

from flask import current_app
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from network import metrics
from network.clock import utcnow
from network.crypto import Keyring
from network.db import db, is_sqlite
from network.models import OutboxMessage, OutboxStatus
from network.transaction import after_request_commit, commit
from network.webhook_delivery import WebhookError, get_sender, sender_from_config

log = logging.getLogger(__name__)

BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_CAP = dt.timedelta(hours=1)
#: how long a SQLite deliverer holds a claimed message before another may retry it
SQLITE_LEASE = dt.timedelta(minutes=5)

#: how a kind other than e-mail leaves: ``network.webhooks`` registers ``webhook`` when it is
#: imported (it imports this module, so this module does not import it)
_DELIVERERS: dict[str, Callable[..., None]] = {}


def register_deliverer(kind: str, deliver: Callable[..., None]) -> None:
    """``deliver(session, keyring, message, sender, at)`` sends a message of ``kind``, raising
    on failure (retried with backoff) or :class:`Undeliverable` (dead at once)."""
    _DELIVERERS[kind] = deliver


_ENQUEUED = "schakel.outbox.enqueued"
_COMMITTED = "schakel.outbox.committed"


# -- writing -----------------------------------------------------------------------------

def enqueue(session: Session, keyring: Keyring, *, kind: str, recipient: str, subject: str, body: str,
            subscription_id: int | None = None, now: dt.datetime | None = None) -> OutboxMessage:
    """Queue one message of ``kind`` (``email``, ``webhook``) in the caller's transaction; it
    leaves after commit. The body is stored encrypted, bound to the row."""
    message = OutboxMessage(id=uuid.uuid4(), kind=kind, recipient=recipient, subject=subject[:300],
                            subscription_id=subscription_id, status=OutboxStatus.pending, attempts=0,
                            next_attempt_at=now or utcnow())
    message.body_encrypted = keyring.encrypt(body, message.body_ref())
    session.add(message)
    remember_enqueued(session, message.id)
    return message


def enqueue_email(session: Session, keyring: Keyring, *, to: str, subject: str, body: str,
                  now: dt.datetime | None = None) -> OutboxMessage:
    """Queue one plain-text e-mail in the caller's transaction; it is sent after commit.

    :param body: may hold a secret link (password reset); it is stored encrypted.
    """
    return enqueue(session, keyring, kind="email", recipient=to.strip(), subject=subject, body=body, now=now)


def remember_enqueued(session: Session, message_id: uuid.UUID) -> None:
    """Hand ``message_id`` to the after-commit delivery once this transaction commits (a new
    message, or a dead one made pending again)."""
    session.info.setdefault(_ENQUEUED, []).append(message_id)


def take_committed(session: Session) -> list[uuid.UUID]:
    """The ids of messages this session enqueued in transactions that have committed since the
    last call (and forgets them). Messages of rolled-back transactions never show up here."""
    return session.info.pop(_COMMITTED, [])


def deliver_after_response(session: Session, response: Any) -> None:
    """Messages enqueued by this request's committed work go out when the response is closed
    (after it was sent), so the answer neither waits for nor reveals the mail server. Anything
    that fails here stays pending for the scheduler's outbox job. Registered with the commit
    point (:func:`network.transaction.after_request_commit`)."""
    ids = take_committed(session)
    if not ids:
        return
    app = current_app._get_current_object()

    def deliver() -> None:
        try:
            run_outbox_job(app, ids=ids)
        except Exception:  # the scheduler retries; never break the response for this
            app.logger.exception("Outbox delivery after the request failed; the outbox job retries")

    response.call_on_close(deliver)


after_request_commit(deliver_after_response)


@event.listens_for(Session, "after_commit")
def _remember_committed(session: Session) -> None:
    enqueued = session.info.pop(_ENQUEUED, None)
    if enqueued:
        session.info.setdefault(_COMMITTED, []).extend(enqueued)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_ENQUEUED, None)


# -- backends ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str
    sender: str
    message_id: str


class MailBackend(Protocol):
    def send(self, email: Email) -> None:
        """Hand the e-mail over, or raise."""


class NullBackend:
    """Discards everything (tests that do not look at mail)."""

    def send(self, email: Email) -> None:
        return None


class MailboxBackend:
    """Development: nothing leaves the machine. The message stays in the outbox table, marked
    sent, and ``/dev/mailbox`` shows it decrypted. Only the subject is logged (a body can hold
    a reset link)."""

    def send(self, email: Email) -> None:
        log.info("Development mailbox: e-mail %r to %r (see /dev/mailbox)", email.subject, email.to)


class RecordingBackend:
    """Keeps sent e-mails in :attr:`sent` (tests). ``fail_times`` makes the next N sends raise."""

    def __init__(self) -> None:
        self.sent: list[Email] = []
        self.fail_times = 0

    def send(self, email: Email) -> None:
        if self.fail_times > 0:
            self.fail_times -= 1
            raise ConnectionError("recording backend told to fail")
        self.sent.append(email)


class SmtpBackend:
    """Sends through an SMTP relay, with STARTTLS when configured (certificate checked)."""

    # B107 below: the empty default password means "no SMTP login"; a real one comes from config
    def __init__(self, host: str, port: int, user: str = "", password: str = "", starttls: bool = False,  # nosec B107
                 timeout: float = 15.0) -> None:
        self.host, self.port, self.user, self._password = host, port, user, password
        self.starttls, self.timeout = starttls, timeout

    def send(self, email: Email) -> None:
        message = EmailMessage()
        message["From"] = email.sender
        message["To"] = email.to
        message["Subject"] = email.subject
        message["Message-ID"] = email.message_id
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(email.body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self._password)
            smtp.send_message(message)


def backend_from_config(config: dict[str, Any]) -> MailBackend:
    """The backend ``MAIL_BACKEND`` names."""
    name = config["MAIL_BACKEND"]
    if name == "smtp":
        return SmtpBackend(config["SMTP_HOST"], int(config["SMTP_PORT"]), config.get("SMTP_USER") or "",
                           config.get("SMTP_PASSWORD") or "", bool(config.get("SMTP_STARTTLS")))
    if name == "mailbox":
        return MailboxBackend()
    if name == "null":
        return NullBackend()
    if name == "recording":
        return RecordingBackend()
    raise ValueError(f"unknown MAIL_BACKEND {name!r} (smtp, mailbox, null, recording)")


def get_backend(app: Any) -> MailBackend:
    """The app's backend, built once from its config (tests may put another in place)."""
    backend = app.extensions.get("schakel.mail_backend")
    if backend is None:
        backend = app.extensions["schakel.mail_backend"] = backend_from_config(app.config)
    return backend


# -- delivering --------------------------------------------------------------------------

@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    ids: list[uuid.UUID] = field(default_factory=list)


def backoff(attempts: int) -> dt.timedelta:
    """The wait before the next attempt after ``attempts`` failures: 30 s · 2^(attempts-1), capped."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


class Undeliverable(Exception):
    """The message can never be delivered (its webhook subscription was ended): ``dead`` at
    once, whatever the number of attempts."""


def _short_error(exc: Exception) -> str:
    """What went wrong, briefly, without the message or credentials."""
    if isinstance(exc, (WebhookError, Undeliverable)):
        return str(exc)[:200]
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{type(exc).__name__} {exc.smtp_code}: {text}"[:200]
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"[:200]
    return type(exc).__name__


def _due(now: dt.datetime, ids: Iterable[uuid.UUID] | None):
    condition = [OutboxMessage.status == OutboxStatus.pending, OutboxMessage.next_attempt_at <= now]
    if ids is not None:
        condition.append(OutboxMessage.id.in_(list(ids)))
    return condition


def _claim(session: Session, now: dt.datetime, ids: list[uuid.UUID] | None) -> OutboxMessage | None:
    query = select(OutboxMessage).where(*_due(now, ids)).order_by(OutboxMessage.next_attempt_at,
                                                                    OutboxMessage.id).limit(1)
    if not is_sqlite(session):
        return session.execute(query.with_for_update(skip_locked=True)).scalar_one_or_none()
    while True:
        message = session.execute(query).scalar_one_or_none()
        if message is None:
            return None
        # SQLite: take a lease with a guarded UPDATE; another deliverer may have been first.
        leased = session.execute(
            update(OutboxMessage).where(OutboxMessage.id == message.id, *_due(now, None))
            .values(next_attempt_at=now + SQLITE_LEASE).execution_options(synchronize_session=False)).rowcount
        commit(session)
        if leased == 1:
            session.refresh(message)
            return message


def _outcome(message: OutboxMessage) -> str:
    """An attempt's outcome for the monitoring: sent, failed (tried again later) or dead."""
    return "failed" if message.status == OutboxStatus.pending else str(message.status)


def deliver_due(session_factory: Callable[[], Session], keyring: Keyring, backend: MailBackend,
                config: dict[str, Any], now: dt.datetime | None = None, *,
                ids: Iterable[uuid.UUID] | None = None, limit: int = 500,
                webhook_sender: Any = None) -> DeliveryReport:
    """Send due pending messages (only ``ids`` when given), one transaction per message.

    :param session_factory: makes a fresh session for each message (not the request's).
    :param now: the clock (tests pin it); defaults to the current time. Unpinned, a webhook's
        ``webhook-timestamp`` is the moment of its own attempt, not of the start of the batch.
    :param webhook_sender: POSTs webhooks (``network.webhook_delivery``); by default one built
        from ``config`` (the URL guard of ``WEBHOOK_ALLOW_HTTP``/``WEBHOOK_ALLOW_PRIVATE``).
    """
    pinned = now is not None
    now = now or utcnow()
    wanted = list(ids) if ids is not None else None
    max_attempts = int(config["OUTBOX_MAX_ATTEMPTS"])
    report = DeliveryReport()
    for _ in range(limit):
        session = session_factory()
        try:
            message = _claim(session, now, wanted)
            if message is None:
                session.rollback()
                break
            try:
                if message.kind == "webhook":
                    if webhook_sender is None:
                        webhook_sender = sender_from_config(config)
                    _DELIVERERS["webhook"](session, keyring, message, webhook_sender, now if pinned else utcnow())
                else:
                    email = Email(to=message.recipient, subject=message.subject,
                                  body=keyring.decrypt(message.body_encrypted, message.body_ref()),
                                  sender=config["MAIL_FROM"], message_id=make_msgid(idstring=message.id.hex))
                    backend.send(email)
            except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried
                message.attempts += 1
                message.last_error = _short_error(exc)
                if isinstance(exc, Undeliverable) or message.attempts >= max_attempts:
                    message.status = OutboxStatus.dead
                    report.dead += 1
                    log.error("Outbox message %r is dead after %r attempts: %r",
                              str(message.id), message.attempts, message.last_error)
                else:
                    message.next_attempt_at = now + backoff(message.attempts)
                    report.failed += 1
                    log.warning("Outbox message %r failed (attempt %r): %r",
                                str(message.id), message.attempts, message.last_error)
            else:
                message.status = OutboxStatus.sent
                message.sent_at = now
                message.last_error = None
                report.sent += 1
                report.ids.append(message.id)
            kind, outcome = message.kind, _outcome(message)
            commit(session)
            metrics.count_delivery(kind, outcome)  # once the attempt is on record
        except Exception:
            session.rollback()
            raise
        finally:
            session.close()
    return report


def run_outbox_job(app: Any, now: dt.datetime | None = None, *,
                   ids: Iterable[uuid.UUID] | None = None) -> DeliveryReport:
    """The scheduler's entry point (and the web layer's after-commit delivery): deliver due
    messages of ``app`` in its own app context, with its own sessions, through its backend."""

    with app.app_context():
        return deliver_due(lambda: Session(db.engine), app.extensions["schakel.keyring"], get_backend(app),
                           app.config, now, ids=ids, webhook_sender=get_sender(app))
