"""The outbox: enqueue in the caller's transaction, deliver after commit, retry with backoff,
give up (dead) after the configured attempts, and never send a sent message twice."""

from __future__ import annotations

import datetime as dt
import smtplib

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from network import outbox
from network.db import db
from network.models import OutboxMessage, OutboxStatus

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
CONFIG = {"OUTBOX_MAX_ATTEMPTS": 3, "MAIL_FROM": "Schakel <noreply@hub.example>"}


@pytest.fixture
def factory(app_ctx):
    return lambda: Session(db.engine)


@pytest.fixture
def backend():
    return outbox.RecordingBackend()


def _enqueue(session, keyring, body="Hallo,\nhttps://hub.example/wachtwoord-herstellen/geheim\n", now=NOW):
    message = outbox.enqueue_email(session, keyring, to="sanne@voorbeeld.nl", subject="Onderwerp", body=body, now=now)
    session.commit()
    return message.id


def _row(message_id) -> OutboxMessage:
    with Session(db.engine) as s:
        row = s.get(OutboxMessage, message_id)
        s.expunge(row)
        return row


def test_enqueue_encrypts_the_body_bound_to_the_row(session, keyring):
    message_id = _enqueue(session, keyring)
    row = _row(message_id)
    assert "geheim" not in row.body_encrypted
    assert keyring.decrypt(row.body_encrypted, row.body_ref()).endswith("geheim\n")
    assert row.status is OutboxStatus.pending and row.attempts == 0


def test_only_committed_messages_are_handed_to_after_commit_delivery(session, keyring):
    outbox.enqueue_email(session, keyring, to="a@voorbeeld.nl", subject="weg", body="x")
    session.rollback()
    assert outbox.take_committed(session) == []
    kept = outbox.enqueue_email(session, keyring, to="b@voorbeeld.nl", subject="blijft", body="y")
    assert outbox.take_committed(session) == []  # not before the commit
    session.commit()
    assert outbox.take_committed(session) == [kept.id]
    assert outbox.take_committed(session) == []


def test_deliver_sends_due_messages_once(session, keyring, factory, backend):
    first = _enqueue(session, keyring)
    later = _enqueue(session, keyring, now=NOW + dt.timedelta(hours=1))
    report = outbox.deliver_due(factory, keyring, backend, CONFIG, NOW)
    assert (report.sent, report.failed, report.ids) == (1, 0, [first])
    [email] = backend.sent
    assert email.to == "sanne@voorbeeld.nl" and email.sender == CONFIG["MAIL_FROM"] and "geheim" in email.body
    row = _row(first)
    assert row.status is OutboxStatus.sent and row.sent_at == NOW
    assert _row(later).status is OutboxStatus.pending
    assert outbox.deliver_due(factory, keyring, backend, CONFIG, NOW).sent == 0
    assert len(backend.sent) == 1


def test_failure_backs_off_then_delivers_exactly_once(session, keyring, factory, backend):
    message_id = _enqueue(session, keyring)
    backend.fail_times = 1
    report = outbox.deliver_due(factory, keyring, backend, CONFIG, NOW)
    assert (report.sent, report.failed) == (0, 1)
    row = _row(message_id)
    assert row.status is OutboxStatus.pending and row.attempts == 1
    assert row.next_attempt_at == NOW + dt.timedelta(seconds=30)
    assert row.last_error == "ConnectionError" and "geheim" not in row.last_error
    assert outbox.deliver_due(factory, keyring, backend, CONFIG, NOW + dt.timedelta(seconds=29)).sent == 0
    assert outbox.deliver_due(factory, keyring, backend, CONFIG, NOW + dt.timedelta(seconds=30)).sent == 1
    assert outbox.deliver_due(factory, keyring, backend, CONFIG, NOW + dt.timedelta(hours=2)).sent == 0
    assert len(backend.sent) == 1
    row = _row(message_id)
    assert row.status is OutboxStatus.sent and row.attempts == 1 and row.last_error is None


def test_message_is_dead_after_max_attempts(session, keyring, factory, backend):
    message_id = _enqueue(session, keyring)
    backend.fail_times = 99
    when = NOW
    for attempt in range(1, 4):
        outbox.deliver_due(factory, keyring, backend, CONFIG, when)
        row = _row(message_id)
        assert row.attempts == attempt
        when = row.next_attempt_at
    assert row.status is OutboxStatus.dead
    assert outbox.deliver_due(factory, keyring, backend, CONFIG, when + dt.timedelta(days=1)).failed == 0


def test_backoff_doubles_and_is_capped():
    assert [outbox.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert outbox.backoff(30) == dt.timedelta(hours=1)


def test_a_claimed_message_is_not_sent_by_a_second_deliverer(session, keyring, factory, backend):
    message_id = _enqueue(session, keyring)
    holder = Session(db.engine)
    try:
        claimed = outbox._claim(holder, NOW, None)  # a deliverer busy sending it
        assert claimed.id == message_id
        assert outbox.deliver_due(factory, keyring, backend, CONFIG, NOW).sent == 0
    finally:
        holder.rollback()  # that deliverer crashed before marking it sent
        holder.close()
    # nothing is lost: it is delivered once its claim (lock or SQLite lease) is gone
    assert outbox.deliver_due(factory, keyring, backend, CONFIG, NOW + outbox.SQLITE_LEASE).sent == 1
    assert len(backend.sent) == 1


def test_only_the_given_ids_are_delivered(session, keyring, factory, backend):
    mine = _enqueue(session, keyring)
    _enqueue(session, keyring)
    report = outbox.deliver_due(factory, keyring, backend, CONFIG, NOW, ids=[mine])
    assert report.ids == [mine] and len(backend.sent) == 1


def test_run_outbox_job_uses_the_app_backend(app, session, keyring, monkeypatch, backend):
    monkeypatch.setitem(app.extensions, "schakel.mail_backend", backend)
    _enqueue(session, keyring)
    report = outbox.run_outbox_job(app, NOW + dt.timedelta(seconds=1))
    assert report.sent == 1 and len(backend.sent) == 1


def test_backend_from_config():
    assert isinstance(outbox.backend_from_config({"MAIL_BACKEND": "null"}), outbox.NullBackend)
    assert isinstance(outbox.backend_from_config({"MAIL_BACKEND": "mailbox"}), outbox.MailboxBackend)
    assert isinstance(outbox.backend_from_config({"MAIL_BACKEND": "recording"}), outbox.RecordingBackend)
    smtp = outbox.backend_from_config({"MAIL_BACKEND": "smtp", "SMTP_HOST": "mail.example", "SMTP_PORT": "587",
                                       "SMTP_USER": "u", "SMTP_PASSWORD": "p", "SMTP_STARTTLS": True})
    assert (smtp.host, smtp.port, smtp.starttls) == ("mail.example", 587, True)
    with pytest.raises(ValueError):
        outbox.backend_from_config({"MAIL_BACKEND": "duif"})


class FakeSMTP:
    instances: list[FakeSMTP] = []

    def __init__(self, host, port, timeout):
        self.host, self.port, self.calls, self.messages = host, port, [], []
        FakeSMTP.instances.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self, context=None):
        self.calls.append("starttls")

    def login(self, user, password):
        self.calls.append(("login", user))

    def send_message(self, message):
        self.messages.append(message)


def test_smtp_backend_uses_starttls_login_and_plain_text(monkeypatch):
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    FakeSMTP.instances.clear()
    backend = outbox.SmtpBackend("mail.example", 587, "hub", "s3cret", starttls=True)
    backend.send(outbox.Email(to="a@voorbeeld.nl", subject="Onderwerp", body="Tekst",
                              sender="Schakel <noreply@hub.example>", message_id="<1@hub.example>"))
    [smtp] = FakeSMTP.instances
    assert smtp.calls == ["starttls", ("login", "hub")]
    [message] = smtp.messages
    assert message["To"] == "a@voorbeeld.nl" and message["Subject"] == "Onderwerp"
    assert message.get_content().strip() == "Tekst"


def test_smtp_errors_are_recorded_briefly(session, keyring, factory):
    class Refusing:
        def send(self, email):
            raise smtplib.SMTPRecipientsRefused({email.to: (550, b"no such user")})

    class Down:
        def send(self, email):
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    first = _enqueue(session, keyring)
    outbox.deliver_due(factory, keyring, Refusing(), CONFIG, NOW)
    assert _row(first).last_error == "SMTPRecipientsRefused"
    outbox.deliver_due(factory, keyring, Down(), CONFIG, NOW + dt.timedelta(minutes=1))
    assert _row(first).last_error.startswith("SMTPServerDisconnected")
    assert len(_row(first).last_error) <= 200


def test_messages_listed_in_order(session, keyring, factory, backend):
    ids = [_enqueue(session, keyring, now=NOW + dt.timedelta(seconds=n)) for n in range(3)]
    outbox.deliver_due(factory, keyring, backend, CONFIG, NOW + dt.timedelta(minutes=1))
    sent = session.execute(select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.sent)
                           .order_by(OutboxMessage.sent_at, OutboxMessage.next_attempt_at)).scalars().all()
    assert sorted(sent) == sorted(ids) and len(backend.sent) == 3
