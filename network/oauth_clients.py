"""Managing partner systems' API clients (hub admin): creating one with its scopes, rotating its
secret and revoking it with every token it holds. Each change is audited (``api_client:*``).

The models, the grant and the bearer-token check live in :mod:`network.oauth`; a secret is
shown once and kept only as its digest (:func:`network.oauth.digest`).
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from network.audit import AuditAction, record
from network.clock import utcnow
from network.errors import Forbidden, ValidationFailed
from network.models import Organisation
from network.oauth import SCOPES, ApiClient, ApiToken, digest
from network.permissions import Permission, Principal
from network.tags import ApiClientTag


def _check(name: str, scopes: list[str]) -> dict[str, list[str]]:
    errors = {}
    if not name or len(name) > 120:
        errors["name"] = ["Geef de client een naam van hoogstens 120 tekens."]
    if not scopes or any(s not in SCOPES for s in scopes):
        errors["scopes"] = ["Kies een of meer bekende scopes."]
    return errors


def _require_manager(principal: Principal) -> None:
    if not principal.has(Permission.api_client_manage):
        raise Forbidden("Alleen een beheerder van de hub beheert API-clients.")


def create_client(session: Session, principal: Principal, organisation: Organisation, *, name: str,
                  scopes: list[str]) -> tuple[ApiClient, str]:
    """A new client for ``organisation``; returns it with its secret (shown once, kept only as digest)."""
    _require_manager(principal)
    name = name.strip()
    errors = _check(name, scopes)
    if errors:
        raise ValidationFailed(errors=errors)
    secret = secrets.token_urlsafe(32)
    client = ApiClient(client_id="schakel-" + secrets.token_urlsafe(18), organisation_id=organisation.id,
                       name=name, secret_hash=digest(secret), scope=" ".join(sorted(set(scopes))),
                       created_by_id=principal.account_id)
    session.add(client)
    session.flush()
    record(session, principal, action=AuditAction.create, event_type=ApiClientTag.create, object_type="api_client",
           object_id=client.id, detail={"organisation_id": organisation.id, "scope": client.scope})
    return client, secret


def rotate_secret(session: Session, principal: Principal, client: ApiClient) -> str:
    """A new secret for ``client``: the old one stops working at once, and so do the tokens
    issued with it (a secret is rotated because it may have leaked, and so may its tokens)."""
    _require_manager(principal)
    if client.revoked_at is not None:
        raise ValidationFailed("Een ingetrokken client krijgt geen nieuw geheim.")
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    client.secret_hash = digest(secret)
    client.secret_rotated_at = now
    _revoke_tokens(session, client, now)
    record(session, principal, action=AuditAction.update, event_type=ApiClientTag.rotate, object_type="api_client",
           object_id=client.id)
    return secret


def revoke_client(session: Session, principal: Principal, client: ApiClient) -> None:
    """Revoke ``client`` and every token it holds, on the next request."""
    _require_manager(principal)
    now = utcnow()
    if client.revoked_at is None:
        client.revoked_at = now
    _revoke_tokens(session, client, now)
    record(session, principal, action=AuditAction.update, event_type=ApiClientTag.revoke, object_type="api_client",
           object_id=client.id)


def _revoke_tokens(session: Session, client: ApiClient, now: dt.datetime) -> None:
    """Revoke every token ``client`` holds; the bearer check refuses them on the next request."""
    session.execute(update(ApiToken).where(ApiToken.client_id == client.id, ApiToken.revoked_at.is_(None))
                    .values(revoked_at=now))


def clients_of(session: Session, organisation_id: int) -> list[ApiClient]:
    return list(session.scalars(select(ApiClient).where(ApiClient.organisation_id == organisation_id)
                                .order_by(ApiClient.id)))

