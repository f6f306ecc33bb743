"""Sending one webhook: the Standard Webhooks 1.0 signature, the guard against server-side
request forgery, and the HTTP POST itself.

The guard runs twice: when a client subscribes a URL (:func:`check_url`, Dutch field errors)
and again at every delivery (:class:`HttpSender`), because what a host name resolves to can
change after it was checked. At delivery the connection goes to the very address that was
checked (the socket is pinned to it; TLS still verifies the certificate for the host name), so
a resolver that answers differently the second time cannot steer the request inside.

No redirects are followed (``http.client`` never does): a 3xx is a failed attempt like any
other answer outside 2xx. No proxy from the environment is used.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import secrets
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

#: the POST gives up after this many seconds (connect and each read)
TIMEOUT_SECONDS = 10.0
USER_AGENT = "Schakel-Webhooks/1.0"
SECRET_PREFIX = "whsec_"  # nosec B105 # the marker before each secret, not a secret


class WebhookError(Exception):
    """A delivery attempt that failed; the message (Dutch, short, no secrets) is kept as the
    outbox message's ``last_error``."""


@dataclass(frozen=True)
class UrlPolicy:
    """Which targets are allowed: https only and public addresses only, unless configured."""

    allow_http: bool = False
    allow_private: bool = False

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> UrlPolicy:
        return cls(allow_http=bool(config.get("WEBHOOK_ALLOW_HTTP")),
                   allow_private=bool(config.get("WEBHOOK_ALLOW_PRIVATE")))


# -- the secret and the signature (https://www.standardwebhooks.com/, spec 1.0) -------------

def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` and 24 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def signature(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """``v1,<base64 HMAC-SHA256>`` over ``{msg_id}.{timestamp}.{body}``, keyed with the
    base64-decoded part of ``secret`` after ``whsec_``."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signed_headers(msg_id: str, at: dt.datetime, body: str, secrets_: Iterable[str]) -> dict[str, str]:
    """The request headers of one attempt; every secret signs (during a rotation, two)."""
    timestamp = int(at.timestamp())
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, msg_id, timestamp, body) for s in secrets_),
    }


# -- the guard -------------------------------------------------------------------------------

def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (tests replace this function)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def is_public(address: str) -> bool:
    """False for private, loopback, link-local, multicast, reserved, unspecified and other
    non-global addresses (an IPv4 address mapped into IPv6 counts as itself)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
                or ip.is_unspecified) and ip.is_global


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str


def _parse(url: str, policy: UrlPolicy) -> tuple[Target | None, list[str]]:
    url = (url or "").strip()
    if not url or len(url) > 500:
        return None, ["Geef een URL van hoogstens 500 tekens."]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None, ["Dit is geen geldige URL."]
    if parts.scheme not in ("https", "http"):
        return None, ["De URL moet met https:// beginnen."]
    if parts.scheme == "http" and not policy.allow_http:
        return None, ["Alleen https:// is toegestaan (geen http://)."]
    if not parts.hostname:
        return None, ["De URL mist een hostnaam."]
    if parts.username is not None or parts.password is not None:
        return None, ["Zet geen gebruikersnaam of wachtwoord in de URL."]
    if parts.fragment:
        return None, ["Een URL voor webhooks heeft geen #-deel."]
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path), []


def _addresses(target: Target, policy: UrlPolicy) -> tuple[list[str], str | None]:
    """The addresses to connect to, or the reason (Dutch) there are none allowed."""
    try:
        addresses = resolve(target.host, target.port)
    except (OSError, UnicodeError):
        return [], "De hostnaam van de URL is niet te vinden."
    if not addresses:
        return [], "De hostnaam van de URL is niet te vinden."
    refused = [a for a in addresses if not is_public(a)]
    if refused and not policy.allow_private:
        return [], (f"De URL wijst naar een intern, lokaal of gereserveerd adres ({refused[0]}); "
                    "dat is niet toegestaan.")
    return addresses, None


def check_url(url: str, policy: UrlPolicy) -> list[str]:
    """The Dutch problems with ``url`` as a webhook target (empty: fine). Where private
    addresses are allowed (development, testing) the host is not looked up: nothing to refuse."""
    target, problems = _parse(url, policy)
    if target is None or policy.allow_private:
        return problems
    _, problem = _addresses(target, policy)
    return [problem] if problem else []


# -- sending ---------------------------------------------------------------------------------

class WebhookSender(Protocol):
    def send(self, url: str, headers: dict[str, str], body: bytes) -> int:
        """POST ``body`` to ``url``; the HTTP status, or raise :class:`WebhookError`/OSError."""


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class HttpSender:
    """POSTs with the guard of ``policy`` applied again, to the checked address."""

    def __init__(self, policy: UrlPolicy, timeout: float = TIMEOUT_SECONDS):
        self.policy, self.timeout = policy, timeout

    def send(self, url: str, headers: dict[str, str], body: bytes) -> int:
        target, problems = _parse(url, self.policy)
        if target is None:
            raise WebhookError(f"URL geweigerd: {problems[0]}")
        addresses, problem = _addresses(target, self.policy)
        if problem:
            raise WebhookError(f"URL geweigerd: {problem}")
        connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
        last_error: OSError | None = None
        for address in addresses:
            connection = connection_class(target.host, target.port, address, self.timeout)
            try:
                try:
                    connection.connect()
                except OSError as exc:  # refused, unreachable, timed out, bad certificate
                    last_error = exc  # try the host's next address; nothing was sent yet
                    continue
                connection.request("POST", target.path, body=body, headers=headers)
                response = connection.getresponse()
                response.read(64 * 1024)  # the answer does not matter, only its status
                return response.status
            finally:
                connection.close()
        if last_error is None:  # not reached: _addresses gives an address or a problem (no assert: python -O)
            raise WebhookError("URL geweigerd: De hostnaam van de URL is niet te vinden.")
        raise last_error


def sender_from_config(config: dict[str, Any]) -> WebhookSender:
    return HttpSender(UrlPolicy.from_config(config))


def get_sender(app: Any) -> WebhookSender:
    """The app's sender, built once from its config (tests may put another in place)."""
    sender = app.extensions.get("schakel.webhook_sender")
    if sender is None:
        sender = app.extensions["schakel.webhook_sender"] = sender_from_config(app.config)
    return sender
