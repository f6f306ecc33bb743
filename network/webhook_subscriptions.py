"""Managing webhook subscriptions: the partner system (an API client with ``webhooks:manage``)
subscribes its URL to event types, changes or ends a subscription and rotates its signing
secret, through the API (:mod:`network.webhook_api`). Every change is audited.

The model, the events and their delivery live in :mod:`network.webhooks`; a target URL is
checked by :mod:`network.webhook_delivery`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from network.audit import AuditAction, record
from network.clock import utcnow
from network.crypto import Keyring
from network.errors import Forbidden, NotFound, PreconditionFailed, ValidationFailed
from network.oauth import ApiClient
from network.permissions import Permission, Principal
from network.tags import WebhookTag
from network.webhook_delivery import UrlPolicy, check_url, new_secret
from network.webhooks import EVENT_SCOPES, EVENT_TYPES, WebhookSubscription

#: a rotated-out secret keeps signing this long, so the receiver can switch without a gap
ROTATION_OVERLAP = dt.timedelta(hours=24)
#: active subscriptions per client
MAX_SUBSCRIPTIONS = 20
NOT_FOUND = "Dit webhook-abonnement bestaat niet."

def require_client(principal: Principal) -> int:
    if principal.client_id is None or not principal.has(Permission.webhook_manage):
        raise Forbidden("Alleen een partnersysteem (API-client met de scope webhooks:manage) beheert "
                        "webhook-abonnementen.")
    return principal.client_id


def _checked(session: Session, policy: UrlPolicy, data: dict[str, Any], client_id: int) -> dict[str, Any]:
    """The subscription fields in ``data`` (url, event_types, description), checked; raises
    :class:`ValidationFailed` with Dutch field errors. An event type the client could not act
    on (it holds none of :data:`EVENT_SCOPES`) is refused."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    if "url" in data:
        problems = check_url(data["url"], policy)
        if problems:
            errors["url"] = problems
        values["url"] = (data["url"] or "").strip()
    if "event_types" in data:
        wanted = list(dict.fromkeys(data["event_types"] or []))
        unknown = [t for t in wanted if t not in EVENT_TYPES]
        if unknown:
            errors["event_types"] = [f"Onbekend soort gebeurtenis: {', '.join(unknown)}. Kies uit: "
                                     f"{', '.join(EVENT_TYPES)}."]
        elif not wanted:
            errors["event_types"] = ["Kies minstens één soort gebeurtenis."]
        else:
            held = set(session.get(ApiClient, client_id).scopes)
            unreadable = [t for t in wanted if EVENT_SCOPES[t] and not held.intersection(EVENT_SCOPES[t])]
            if unreadable:
                errors["event_types"] = [f"{t}: uw client mist de scope {' of '.join(EVENT_SCOPES[t])} om te lezen "
                                         "wat er veranderde." for t in unreadable]
        values["event_types"] = " ".join(sorted(wanted))
    if "description" in data:
        description = (data["description"] or "").strip()
        if len(description) > 200:
            errors["description"] = ["Hoogstens 200 tekens."]
        values["description"] = description
    if errors:
        raise ValidationFailed(errors=errors)
    return values


def create_subscription(session: Session, principal: Principal, keyring: Keyring, policy: UrlPolicy, *,
                        url: str, event_types: list[str], description: str = "") -> tuple[WebhookSubscription, str]:
    """Subscribe ``url`` of the acting client to ``event_types``; returns the subscription and
    its signing secret (shown this once; stored encrypted, bound to the row)."""
    client_id = require_client(principal)
    values = _checked(session, policy, {"url": url, "event_types": event_types, "description": description},
                      client_id)
    if len(list_subscriptions(session, principal)) >= MAX_SUBSCRIPTIONS:
        raise ValidationFailed(errors={"url": [f"Een client heeft hoogstens {MAX_SUBSCRIPTIONS} abonnementen."]})
    # B106 below: secret_encrypted is a placeholder, filled once the row has the id the encryption is bound to
    subscription = WebhookSubscription(client_id=client_id, secret_encrypted="", **values)  # nosec B106
    session.add(subscription)
    session.flush()  # for the id the secret's encryption is bound to
    secret = new_secret()
    subscription.secret_encrypted = keyring.encrypt(secret, subscription.secret_ref())
    session.flush()
    record(session, principal, action=AuditAction.create, event_type=WebhookTag.subscribe,
           object_type="webhook_subscription", object_id=subscription.id,
           detail={"event_types": subscription.types})
    return subscription, secret


def get_subscription(session: Session, principal: Principal, subscription_id: Any) -> WebhookSubscription:
    """One active subscription of the acting client; any other id is 404."""
    client_id = require_client(principal)
    try:
        wanted = int(subscription_id)
    except (TypeError, ValueError):
        wanted = 0
    # an id beyond a database integer (SQLite: 64-bit, PostgreSQL: 32-bit) does not exist either
    subscription = session.get(WebhookSubscription, wanted) if 0 < wanted < 2**31 else None
    if subscription is None or subscription.client_id != client_id or subscription.disabled_at is not None:
        raise NotFound(NOT_FOUND)
    return subscription


def list_subscriptions(session: Session, principal: Principal) -> list[WebhookSubscription]:
    """The acting client's active subscriptions, oldest first."""
    client_id = require_client(principal)
    return list(session.scalars(select(WebhookSubscription).where(
        WebhookSubscription.client_id == client_id, WebhookSubscription.disabled_at.is_(None))
        .order_by(WebhookSubscription.id)))


def _check_version(subscription: WebhookSubscription, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != subscription.version:
        raise PreconditionFailed("Het abonnement is intussen gewijzigd; haal het opnieuw op.",
                                 current_version=subscription.version)


def update_subscription(session: Session, principal: Principal, policy: UrlPolicy, subscription: WebhookSubscription,
                        data: dict[str, Any], *, expected_version: int | None = None) -> WebhookSubscription:
    """Change the URL, the event types or the description (keys absent from ``data`` stay)."""
    client_id = require_client(principal)
    _check_version(subscription, expected_version)
    values = _checked(session, policy, data, client_id)
    changed = sorted(name for name, value in values.items() if getattr(subscription, name) != value)
    for name in changed:
        setattr(subscription, name, values[name])
    session.flush()  # the new row version is the new ETag
    if changed:
        record(session, principal, action=AuditAction.update, event_type=WebhookTag.update,
               object_type="webhook_subscription", object_id=subscription.id, detail={"fields": changed})
    return subscription


def rotate_secret(session: Session, principal: Principal, keyring: Keyring, subscription: WebhookSubscription, *,
                  expected_version: int | None = None, now: dt.datetime | None = None) -> str:
    """A new signing secret; the current one keeps signing too for :data:`ROTATION_OVERLAP`
    (a previous rotation's old secret stops at once). Returns the new secret (shown once)."""
    require_client(principal)
    _check_version(subscription, expected_version)
    now = now or utcnow()
    current = keyring.decrypt(subscription.secret_encrypted, subscription.secret_ref())
    secret = new_secret()
    subscription.previous_secret_encrypted = keyring.encrypt(current, subscription.previous_secret_ref())
    subscription.previous_secret_until = now + ROTATION_OVERLAP
    subscription.secret_encrypted = keyring.encrypt(secret, subscription.secret_ref())
    session.flush()
    record(session, principal, action=AuditAction.update, event_type=WebhookTag.rotate,
           object_type="webhook_subscription", object_id=subscription.id,
           detail={"previous_valid_until": subscription.previous_secret_until.isoformat()})
    return secret


def delete_subscription(session: Session, principal: Principal, subscription: WebhookSubscription, *,
                        expected_version: int | None = None, now: dt.datetime | None = None) -> None:
    """End a subscription: no new events; messages still queued for it are not sent (dead)."""
    require_client(principal)
    _check_version(subscription, expected_version)
    subscription.disabled_at = now or utcnow()
    session.flush()
    record(session, principal, action=AuditAction.delete, event_type=WebhookTag.unsubscribe,
           object_type="webhook_subscription", object_id=subscription.id)
