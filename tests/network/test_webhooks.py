"""Webhooks without the API: thin events emitted by the domain services, delivery through the
outbox to a fake receiver (a real HTTP server on 127.0.0.1) checked by a verifier written here
from the Standard Webhooks 1.0 spec (not by the hub's own signing code), retries with backoff
and exactly one delivery, the dead-letter list and its replay, secret rotation, and the guard
against private and plain-http targets."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from network import outbox, webhook_delivery
from network.audit import AuditEvent
from network.clock import utcnow
from network.config import generate_secrets, load_config, write_secrets_file
from network.db import db
from network.errors import Conflict, Forbidden, NotFound, ValidationFailed
from network.events import DomainEvent
from network.models import OrganisationType, OutboxMessage, OutboxStatus, Role
from network.oauth import client_principal
from network.permissions import Permission
from network.webhook_delivery import HttpSender, UrlPolicy
from network.webhook_subscriptions import create_subscription, delete_subscription, rotate_secret
from network.webhooks import WebhookSubscription, emit, list_dead_letters, replay_dead_letter
from tests.conftest import post_form
from tests.factories import OrganisationFactory, RegionFactory, login, make_api_client, make_member, principal_for

LOCAL = UrlPolicy(allow_http=True, allow_private=True)  # development and testing
PRODUCTION = UrlPolicy(allow_http=False, allow_private=False)
CONFIG = {"OUTBOX_MAX_ATTEMPTS": 3, "MAIL_FROM": "Schakel <noreply@hub.example>"}


# -- the reference verifier (Standard Webhooks 1.0, "Verifying webhooks") --------------------------

def reference_verify(secret: str, headers: dict[str, str], body: bytes, now: int, tolerance: int = 300) -> bool:
    """What a receiver does: the signed content is ``{webhook-id}.{webhook-timestamp}.{body}``,
    the key the base64 decoding of the secret without its ``whsec_`` prefix, the signature
    HMAC-SHA256 in base64; ``webhook-signature`` is a space-delimited list of ``v1,<sig>``, any
    of which may match; a timestamp outside the tolerance is refused."""
    msg_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(now - int(timestamp)) > tolerance:
        return False
    key = base64.b64decode(secret.split("_", 1)[1])
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest())
    for candidate in headers["webhook-signature"].split(" "):
        version, _, sig = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(expected, sig.encode()):
            return True
    return False


def test_the_reference_verifier_reproduces_the_published_test_vector():
    headers = {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
               "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}
    body = b'{"test": 2432232314}'
    assert reference_verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", headers, body, 1614265330)
    assert not reference_verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", headers, body + b" ", 1614265330)
    assert not reference_verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", headers, body, 1614265330 + 301)
    # and the hub's signing gives exactly that signature
    assert webhook_delivery.signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                      1614265330, body.decode()) == headers["webhook-signature"]


def test_a_new_secret_is_whsec_and_24_random_bytes():
    first, second = webhook_delivery.new_secret(), webhook_delivery.new_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 24


# -- the fake receiver ---------------------------------------------------------------------------

@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


class Receiver:
    """An HTTP server on 127.0.0.1 that answers each POST with the next of :attr:`statuses`
    (200 once they run out) and records what it got."""

    def __init__(self, port: int = 0):
        self.requests: list[Received] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                  body, status))
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/elders")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hooks/schakel") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    @property
    def delivered(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.status < 300]


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- helpers ---------------------------------------------------------------------------------------

@pytest.fixture
def partner(session):
    """A gemeente's partner system with the scope webhooks:manage, and a hub admin."""
    region = RegionFactory()
    gemeente = OrganisationFactory(region=region, type=OrganisationType.gemeente, name="Gemeente Teststad")
    api_client, _ = make_api_client(gemeente, ["webhooks:manage", "referrals:read"])
    admin = make_member(Role.hub_admin, OrganisationFactory(region=region, type=OrganisationType.hub))
    session.commit()
    return {"gemeente": gemeente, "client": api_client, "principal": client_principal(api_client, api_client.scope),
            "admin": principal_for(admin), "admin_account": admin}


def subscribe(session, keyring, principal, url, types=("socialmap.changed",)) -> tuple[WebhookSubscription, str]:
    subscription, secret = create_subscription(session, principal, keyring, LOCAL, url=url, event_types=list(types))
    session.commit()
    return subscription, secret


def deliver(keyring, now, policy=LOCAL):
    return outbox.deliver_due(lambda: Session(db.engine), keyring, outbox.RecordingBackend(), CONFIG, now,
                              webhook_sender=HttpSender(policy, timeout=5))


def row(message_id) -> OutboxMessage:
    with Session(db.engine) as s:
        found = s.get(OutboxMessage, message_id)
        s.expunge(found)
        return found


def queue_event(session, keyring, data=None) -> OutboxMessage:
    [message] = emit(session, keyring, DomainEvent.socialmap_service_changed, data or {"id": "0d6b3c2e-hsds"}, None)
    session.commit()
    return message


def later(seconds: float = 1) -> dt.datetime:
    return utcnow() + dt.timedelta(seconds=seconds)


# -- delivery --------------------------------------------------------------------------------------

def test_an_event_is_posted_signed_and_thin_and_marked_sent(session, keyring, partner, receiver):
    subscription, secret = subscribe(session, keyring, partner["principal"], receiver.url())
    message = queue_event(session, keyring, {"id": "5f0c"})
    assert (message.kind, message.recipient, message.subject, message.subscription_id) == (
        "webhook", receiver.url(), "socialmap.changed", subscription.id)
    assert "5f0c" not in message.body_encrypted  # encrypted at rest, bound to the row
    now = later()
    report = deliver(keyring, now)
    assert report.sent == 1
    [got] = receiver.requests
    assert got.path == "/hooks/schakel" and got.headers["content-type"] == "application/json"
    assert got.headers["webhook-id"] == "msg_" + message.id.hex
    assert got.headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert reference_verify(secret, got.headers, got.body, int(now.timestamp()))
    assert not reference_verify(webhook_delivery.new_secret(), got.headers, got.body, int(now.timestamp()))
    event = json.loads(got.body)
    assert event["type"] == "socialmap.changed" and event["data"] == {"id": "5f0c"}
    assert event["timestamp"].endswith("Z") and dt.datetime.fromisoformat(event["timestamp"]).tzinfo is not None
    assert row(message.id).status is OutboxStatus.sent
    assert deliver(keyring, later(3600)).sent == 0 and len(receiver.requests) == 1


def test_a_receiver_that_is_down_gets_retries_with_backoff_then_exactly_one_delivery(session, keyring, partner,
                                                                                     receiver):
    _, secret = subscribe(session, keyring, partner["principal"], receiver.url())
    message = queue_event(session, keyring)
    receiver.statuses = [503, 503]
    start = later()
    assert deliver(keyring, start).failed == 1
    first = row(message.id)
    assert (first.status, first.attempts, first.last_error) == (OutboxStatus.pending, 1, "HTTP 503")
    assert first.next_attempt_at == start + dt.timedelta(seconds=30)
    assert deliver(keyring, start + dt.timedelta(seconds=20)).failed == 0  # not due yet
    assert deliver(keyring, start + dt.timedelta(seconds=30)).failed == 1
    assert row(message.id).next_attempt_at == start + dt.timedelta(seconds=90)  # 30 s + 60 s
    back = start + dt.timedelta(seconds=90)
    assert deliver(keyring, back).sent == 1
    for moment in (back + dt.timedelta(minutes=5), back + dt.timedelta(days=2)):
        assert deliver(keyring, moment).sent == 0
    assert [r.status for r in receiver.requests] == [503, 503, 200]
    assert len(receiver.delivered) == 1
    assert {r.headers["webhook-id"] for r in receiver.requests} == {"msg_" + message.id.hex}
    assert len({r.headers["webhook-timestamp"] for r in receiver.requests}) == 3  # signed afresh each time
    for r in receiver.requests:
        assert reference_verify(secret, r.headers, r.body, int(r.headers["webhook-timestamp"]))
    final = row(message.id)
    assert final.status is OutboxStatus.sent and final.last_error is None and final.attempts == 2


def test_connection_refused_counts_as_an_attempt_and_the_message_arrives_once_the_receiver_listens(
        session, keyring, partner):
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    _, secret = subscribe(session, keyring, partner["principal"], url)
    message = queue_event(session, keyring)
    start = later()
    assert deliver(keyring, start).failed == 1
    assert "ConnectionRefused" in row(message.id).last_error
    receiver = Receiver(port)
    try:
        assert deliver(keyring, start + dt.timedelta(seconds=30)).sent == 1
        assert deliver(keyring, start + dt.timedelta(hours=2)).sent == 0
        [got] = receiver.requests
        assert got.headers["webhook-id"] == "msg_" + message.id.hex
        assert reference_verify(secret, got.headers, got.body, int(got.headers["webhook-timestamp"]))
    finally:
        receiver.stop()


def test_a_redirect_is_not_followed(session, keyring, partner, receiver):
    subscribe(session, keyring, partner["principal"], receiver.url())
    message = queue_event(session, keyring)
    receiver.statuses = [302]
    assert deliver(keyring, later()).failed == 1
    assert row(message.id).last_error == "HTTP 302"
    assert [r.path for r in receiver.requests] == ["/hooks/schakel"]  # never /elders


def test_dead_after_max_attempts_on_the_admins_list_and_a_replay_delivers(session, keyring, partner, receiver):
    subscription, secret = subscribe(session, keyring, partner["principal"], receiver.url())
    message = queue_event(session, keyring)
    receiver.statuses = [500, 500, 500]
    moment = later()
    for _ in range(3):
        deliver(keyring, moment)
        moment += dt.timedelta(hours=1)
    dead = row(message.id)
    assert (dead.status, dead.attempts, dead.last_error) == (OutboxStatus.dead, 3, "HTTP 500")
    assert deliver(keyring, moment + dt.timedelta(days=1)).sent == 0  # a dead message is left alone
    [listed] = list_dead_letters(session, partner["admin"])
    assert listed.message.id == message.id and listed.subscription.url == receiver.url()
    assert listed.client.id == partner["client"].id and listed.organisation.name == "Gemeente Teststad"
    with pytest.raises(Forbidden):
        list_dead_letters(session, partner["principal"])
    with pytest.raises(Forbidden):
        replay_dead_letter(session, partner["principal"], message.id)

    replay_dead_letter(session, partner["admin"], message.id)
    session.commit()
    again = row(message.id)
    assert (again.status, again.attempts) == (OutboxStatus.pending, 0)
    assert session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.event_type == "webhook:replay")) == 1
    with pytest.raises(Conflict):  # no longer dead: a second click changes nothing
        replay_dead_letter(session, partner["admin"], message.id)
    session.rollback()
    assert deliver(keyring, later(5)).sent == 1
    assert list_dead_letters(session, partner["admin"]) == []
    assert len(receiver.delivered) == 1 and receiver.delivered[0].headers["webhook-id"] == "msg_" + message.id.hex
    assert reference_verify(secret, receiver.delivered[0].headers, receiver.delivered[0].body,
                            int(receiver.delivered[0].headers["webhook-timestamp"]))
    with pytest.raises(NotFound):
        replay_dead_letter(session, partner["admin"], "geen-uuid")


def test_an_ended_subscription_gets_nothing_more_not_even_what_was_queued(session, keyring, partner, receiver):
    subscription, _ = subscribe(session, keyring, partner["principal"], receiver.url())
    message = queue_event(session, keyring)
    delete_subscription(session, partner["principal"], subscription)
    session.commit()
    assert deliver(keyring, later()).dead == 1
    assert receiver.requests == []
    assert row(message.id).last_error == "Het abonnement is opgeheven."
    assert list_dead_letters(session, partner["admin"]) == []  # nothing to replay there
    assert emit(session, keyring, DomainEvent.socialmap_service_changed, {"id": "x"}, None) == []


def test_rotation_signs_with_both_secrets_for_24_hours(session, keyring, partner, receiver):
    subscription, old = subscribe(session, keyring, partner["principal"], receiver.url())
    rotated_at = utcnow()
    new = rotate_secret(session, partner["principal"], keyring, subscription, now=rotated_at)
    session.commit()
    assert new != old and new.startswith("whsec_")
    assert subscription.previous_secret_until == rotated_at + dt.timedelta(hours=24)
    assert old not in (subscription.secret_encrypted + subscription.previous_secret_encrypted)

    queue_event(session, keyring)
    within = rotated_at + dt.timedelta(hours=23)
    deliver(keyring, within)
    got = receiver.requests[-1]
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert reference_verify(secret, got.headers, got.body, int(within.timestamp()))

    queue_event(session, keyring)
    after = rotated_at + dt.timedelta(hours=25)
    deliver(keyring, after)
    got = receiver.requests[-1]
    assert len(got.headers["webhook-signature"].split(" ")) == 1
    assert reference_verify(new, got.headers, got.body, int(after.timestamp()))
    assert not reference_verify(old, got.headers, got.body, int(after.timestamp()))


# -- the guard against server-side request forgery -------------------------------------------------

@pytest.mark.parametrize("url", ["https://127.0.0.1/hook", "https://10.1.2.3/hook", "https://169.254.169.254/latest",
                                 "https://192.168.1.10/", "https://[::1]/hook", "https://[::ffff:127.0.0.1]/hook",
                                 "https://0.0.0.0/", "https://224.0.0.1/", "https://100.64.0.1/"])
def test_production_refuses_private_loopback_link_local_and_reserved_addresses(session, keyring, partner, url):
    with pytest.raises(ValidationFailed) as refused:
        create_subscription(session, partner["principal"], keyring, PRODUCTION, url=url,
                            event_types=["socialmap.changed"])
    [message] = refused.value.errors["url"]
    assert "intern, lokaal of gereserveerd adres" in message and "niet toegestaan" in message
    assert session.scalar(select(func.count()).select_from(WebhookSubscription)) == 0


@pytest.mark.parametrize("url, words", [
    ("http://hooks.partner.example/x", "Alleen https://"),
    ("ftp://hooks.partner.example/x", "moet met https:// beginnen"),
    ("https://gebruiker:wachtwoord@hooks.partner.example/x", "gebruikersnaam of wachtwoord"),
    ("https:///alleen-een-pad", "hostnaam"),
    ("", "hoogstens 500 tekens"),
])
def test_production_refuses_plain_http_and_malformed_urls_in_dutch(session, keyring, partner, monkeypatch, url,
                                                                    words):
    monkeypatch.setattr(webhook_delivery, "resolve", lambda host, port: ["93.184.215.14"])
    with pytest.raises(ValidationFailed) as refused:
        create_subscription(session, partner["principal"], keyring, PRODUCTION, url=url,
                            event_types=["socialmap.changed"])
    assert words in refused.value.errors["url"][0]


def test_a_host_name_is_checked_by_what_it_resolves_to(session, keyring, partner, monkeypatch):
    answers = {"hooks.partner.example": ["93.184.215.14"], "intern.partner.example": ["93.184.215.14", "10.0.0.8"]}
    monkeypatch.setattr(webhook_delivery, "resolve", lambda host, port: answers[host])
    subscription, _ = create_subscription(session, partner["principal"], keyring, PRODUCTION,
                                          url="https://hooks.partner.example/schakel",
                                          event_types=["socialmap.changed"])
    assert subscription.url == "https://hooks.partner.example/schakel"
    with pytest.raises(ValidationFailed) as refused:
        create_subscription(session, partner["principal"], keyring, PRODUCTION,
                            url="https://intern.partner.example/schakel", event_types=["socialmap.changed"])
    assert "10.0.0.8" in refused.value.errors["url"][0]

    def unknown(host, port):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(webhook_delivery, "resolve", unknown)
    with pytest.raises(ValidationFailed) as refused:
        create_subscription(session, partner["principal"], keyring, PRODUCTION,
                            url="https://weg.partner.example/schakel", event_types=["socialmap.changed"])
    assert refused.value.errors["url"] == ["De hostnaam van de URL is niet te vinden."]


def test_delivery_checks_the_address_again(session, keyring, partner, receiver, monkeypatch):
    """A name that resolved to a public address when subscribing, and to the hub's own network
    at delivery (DNS rebinding), is not called."""
    monkeypatch.setattr(webhook_delivery, "resolve", lambda host, port: ["93.184.215.14"])
    create_subscription(session, partner["principal"], keyring, PRODUCTION,
                        url=f"https://hooks.partner.example:{receiver.port}/x", event_types=["socialmap.changed"])
    session.commit()
    message = queue_event(session, keyring)
    monkeypatch.setattr(webhook_delivery, "resolve", lambda host, port: ["127.0.0.1"])
    assert deliver(keyring, later(), PRODUCTION).failed == 1
    assert receiver.requests == []
    assert row(message.id).last_error.startswith("URL geweigerd: De URL wijst naar een intern")


def test_delivery_refuses_plain_http_in_production(session, keyring, partner, receiver):
    subscribe(session, keyring, partner["principal"], receiver.url())  # subscribed where http was allowed
    message = queue_event(session, keyring)
    assert deliver(keyring, later(), PRODUCTION).failed == 1
    assert receiver.requests == [] and "Alleen https://" in row(message.id).last_error


def test_the_defaults_are_strict_in_production_and_open_in_development(tmp_path, monkeypatch):
    for name in ("SCHAKEL_ENV", "SCHAKEL_BASE_URL", "MAIL_BACKEND", "SCHAKEL_CONFIG", "WEBHOOK_ALLOW_HTTP",
                 "WEBHOOK_ALLOW_PRIVATE", "DATABASE_URL", "SCHAKEL_SECRETS_FILE"):
        monkeypatch.delenv(name, raising=False)
    development = load_config(str(tmp_path / "dev"))
    assert development["WEBHOOK_ALLOW_HTTP"] is True and development["WEBHOOK_ALLOW_PRIVATE"] is True
    path = tmp_path / "s.json"
    write_secrets_file(path, generate_secrets())
    monkeypatch.setenv("SCHAKEL_ENV", "production")
    monkeypatch.setenv("SCHAKEL_SECRETS_FILE", str(path))
    monkeypatch.setenv("SCHAKEL_BASE_URL", "https://hub.example")
    monkeypatch.setenv("MAIL_BACKEND", "smtp")
    production = load_config(str(tmp_path))
    assert production["WEBHOOK_ALLOW_HTTP"] is False and production["WEBHOOK_ALLOW_PRIVATE"] is False
    assert UrlPolicy.from_config(production) == PRODUCTION
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE", "true")  # an operator's explicit choice
    assert load_config(str(tmp_path))["WEBHOOK_ALLOW_PRIVATE"] is True


def test_subscription_input_is_checked(session, keyring, partner):
    with pytest.raises(ValidationFailed) as refused:
        create_subscription(session, partner["principal"], keyring, LOCAL, url="https://hooks.example/x",
                            event_types=["referral.deleted"], description="x" * 201)
    assert "Onbekend soort gebeurtenis: referral.deleted" in refused.value.errors["event_types"][0]
    assert refused.value.errors["description"] == ["Hoogstens 200 tekens."]
    with pytest.raises(ValidationFailed) as refused:
        create_subscription(session, partner["principal"], keyring, LOCAL, url="https://hooks.example/x",
                            event_types=[])
    assert refused.value.errors["event_types"] == ["Kies minstens één soort gebeurtenis."]


def test_only_an_api_client_with_the_scope_manages_subscriptions(session, keyring, partner):
    person = principal_for(make_member(Role.partner_staff, partner["gemeente"]))
    assert person.has(Permission.webhook_manage)  # the role has it; only a client uses it
    for principal in (person, client_principal(partner["client"], "referrals:read")):
        with pytest.raises(Forbidden):
            create_subscription(session, principal, keyring, LOCAL, url="https://hooks.example/x",
                                event_types=["socialmap.changed"])


# -- the admin's dead-letter page ------------------------------------------------------------------

class FakeSender:
    def __init__(self, status: int = 200):
        self.status, self.sent = status, []

    def send(self, url, headers, body):
        self.sent.append((url, headers, body))
        return self.status


def _dead_message(session, keyring, partner, url="https://hooks.partner.example/schakel") -> OutboxMessage:
    subscribe(session, keyring, partner["principal"], url)
    message = queue_event(session, keyring)
    message.status, message.attempts, message.last_error = OutboxStatus.dead, 8, "HTTP 503"
    session.commit()
    return message


def test_the_dead_letter_page_lists_and_replays(app, client, session, keyring, partner, monkeypatch):
    sender = FakeSender()
    monkeypatch.setitem(app.extensions, "schakel.webhook_sender", sender)
    message = _dead_message(session, keyring, partner)
    login(client, partner["admin_account"])
    page = client.get("/beheer/webhooks/onbestelbaar")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for text in ("https://hooks.partner.example/schakel", "Gemeente Teststad", "socialmap.changed", "HTTP 503",
                 '<th scope="col">', '<th scope="row">', "Opnieuw versturen", str(message.id)):
        assert text in html
    response = post_form(client, "/beheer/webhooks/onbestelbaar", {"message_id": str(message.id)},
                         post_url="/beheer/webhooks/onbestelbaar/opnieuw")
    assert response.status_code == 302
    response.close()  # the response is sent: the after-commit delivery runs
    assert row(message.id).status is OutboxStatus.sent
    [(url, headers, _)] = sender.sent
    assert url == "https://hooks.partner.example/schakel" and headers["webhook-id"] == "msg_" + message.id.hex
    assert "Er zijn geen onbestelbare meldingen." in client.get("/beheer/webhooks/onbestelbaar").get_data(as_text=True)


def test_the_dead_letter_page_refuses_others_and_empty_or_forged_posts(app, client, session, keyring, partner):
    message = _dead_message(session, keyring, partner)
    login(client, partner["admin_account"])
    response = post_form(client, "/beheer/webhooks/onbestelbaar", {}, post_url="/beheer/webhooks/onbestelbaar/opnieuw")
    assert response.status_code == 400 and "Kies het bericht" in response.get_data(as_text=True)
    response = client.post("/beheer/webhooks/onbestelbaar/opnieuw", data={"message_id": str(message.id)})
    assert response.status_code == 400  # no CSRF token
    assert row(message.id).status is OutboxStatus.dead
    login(client, make_member(Role.partner_staff, partner["gemeente"]))
    assert client.get("/beheer/webhooks/onbestelbaar").status_code == 403


def test_an_event_type_needs_a_scope_to_read_what_changed(session, keyring, partner, receiver):
    """The partner holds referrals:read but not consents:read or agreements:*: it may follow
    referrals and the (public) sociale kaart, not withdrawals or agreements it could not fetch."""
    subscribe(session, keyring, partner["principal"], receiver.url(), types=("referral.updated", "socialmap.changed"))
    with pytest.raises(ValidationFailed) as refused:
        subscribe(session, keyring, partner["principal"], receiver.url(),
                  types=("consent.withdrawn", "agreement.awaiting_signature"))
    messages = refused.value.errors["event_types"]
    assert len(messages) == 2 and "consents:read of students:read" in messages[0]
