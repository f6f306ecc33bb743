"""Keeping the map current: entries not verified for ``SOCIALMAP_VERIFY_DAYS`` (180) days are
stale; their contact gets a "klopt dit nog?" e-mail with a signed, expiring one-click link
(``itsdangerous``, salted, the app's SECRET_KEY), and the coordinator's dashboard lists them.

No flask here: the job and the views pass the secret, the base URL and the clock.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session, contains_eager, selectinload

from network.audit import AuditAction, record
from network.clock import wall_date
from network.crypto import Keyring
from network.models import Organisation
from network.outbox import enqueue_email
from network.permissions import Principal, system_principal
from socialmap.models import Service, ServiceStatus
from socialmap.tags import SocialmapTag

DEFAULT_VERIFY_DAYS = 180
#: how long a confirm link works
DEFAULT_LINK_DAYS = 30
#: a stale entry is asked again after this many days without an answer
ASK_AGAIN_DAYS = 30
_SALT = "socialmap-verify"

#: the e-mail, in Dutch (the contact persons of the map are Dutch organisations)
EMAIL_SUBJECT = "Klopt dit nog? Uw gegevens op de sociale kaart: {name}"
EMAIL_BODY = """Beste {contact},

Op de sociale kaart van {region} staat deze dienst van {organisation}:

  {name}
  Laatst gecontroleerd: {verified}

Scholen gebruiken de kaart om de juiste partner te vinden. Klopt alles nog? Bevestig het met
één klik (de link werkt {days} dagen):

  {link}

Is er iets veranderd? Log in op Schakel en pas de dienst aan, of antwoord op deze e-mail.

Met vriendelijke groet,
Schakel
"""


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_SALT)


def make_confirm_token(secret_key: str, service: Service) -> str:
    """A signed token for ``service``, bound to its last verification (used once in effect:
    confirming changes ``verified_at``, which makes the token stale)."""
    return _serializer(secret_key).dumps({"s": str(service.uuid), "v": service.verified_at.isoformat()})


@dataclass(frozen=True)
class TokenCheck:
    service: Service | None
    #: "ok", "expired", "used" or "invalid"
    state: str


def check_confirm_token(session: Session, secret_key: str, token: str, *,
                        max_age_days: int = DEFAULT_LINK_DAYS) -> TokenCheck:
    """What a confirm link points at, and whether it may still be used (itsdangerous reads
    the clock itself: tests move it with time-machine)."""
    try:
        payload = _serializer(secret_key).loads(token, max_age=max_age_days * 86400)
    except SignatureExpired:
        return TokenCheck(None, "expired")
    except BadSignature:
        return TokenCheck(None, "invalid")
    try:
        service = session.execute(select(Service).where(Service.uuid == uuid.UUID(payload["s"]))).scalar_one_or_none()
    except (KeyError, ValueError, TypeError):
        return TokenCheck(None, "invalid")
    if service is None:
        return TokenCheck(None, "invalid")
    if service.verified_at.isoformat() != payload.get("v"):
        return TokenCheck(service, "used")
    return TokenCheck(service, "ok")


def link_principal(service: Service) -> Principal:
    """The actor of a confirm link: the system, on behalf of whoever holds the e-mail."""
    return system_principal(channel="job", name=f"bevestigingslink {service_recipient(service) or ''}".strip())


def service_recipient(service: Service) -> str | None:
    """Who is asked: the first contact person with an e-mail address, else the service's own."""
    for contact in service.contacts:
        if contact.email:
            return contact.email
    return service.email or service.organisation.email


def stale_query(now: dt.datetime, verify_days: int, region_id: int | None = None):
    """Active entries not verified within ``verify_days``, oldest first (index on status, verified_at)."""
    cutoff = now - dt.timedelta(days=verify_days)
    query = (select(Service).join(Service.organisation).options(contains_eager(Service.organisation))
             .where(Service.status == ServiceStatus.active, Service.verified_at < cutoff)
             .order_by(Service.verified_at, Service.id))
    if region_id is not None:
        query = query.where(Organisation.region_id == region_id)
    return query


def freshness_summary(session: Session, now: dt.datetime, verify_days: int, region_id: int | None = None) -> dict:
    """Counts for the dashboard: active entries, stale ones, asked and not answered, due in 30 days."""
    base = select(func.count()).select_from(Service).join(Service.organisation).where(
        Service.status == ServiceStatus.active)
    if region_id is not None:
        base = base.where(Organisation.region_id == region_id)
    cutoff = now - dt.timedelta(days=verify_days)
    soon = cutoff + dt.timedelta(days=30)
    return {
        "active": session.scalar(base),
        "stale": session.scalar(base.where(Service.verified_at < cutoff)),
        "asked": session.scalar(base.where(Service.verified_at < cutoff, Service.verify_requested_at.is_not(None))),
        "due_soon": session.scalar(base.where(Service.verified_at >= cutoff, Service.verified_at < soon)),
    }


def request_verifications(session: Session, keyring: Keyring, *, secret_key: str, base_url: str,
                          now: dt.datetime, verify_days: int = DEFAULT_VERIFY_DAYS,
                          link_days: int = DEFAULT_LINK_DAYS, limit: int = 500) -> int:
    """Queue a "klopt dit nog?" e-mail for each stale entry not asked in the last
    :data:`ASK_AGAIN_DAYS` days. Idempotent: asking stamps ``verify_requested_at``. Returns
    the number of e-mails queued; the caller commits (the outbox sends after the commit)."""
    ask_before = now - dt.timedelta(days=ASK_AGAIN_DAYS)
    query = stale_query(now, verify_days).where(
        (Service.verify_requested_at.is_(None)) | (Service.verify_requested_at < ask_before)
    ).options(selectinload(Service.contacts)).limit(limit)
    actor = system_principal(channel="job", name="sociale kaart: actualiteit")
    sent = 0
    for service in session.scalars(query):
        recipient = service_recipient(service)
        service.verify_requested_at = now
        if not recipient:
            continue
        contact = next((c.name for c in service.contacts if c.email == recipient), None) or "collega"
        link = f"{base_url.rstrip('/')}/sociale-kaart/bevestig/{make_confirm_token(secret_key, service)}"
        body = EMAIL_BODY.format(contact=contact, region=service.organisation.region.name,
                                 organisation=service.organisation.name, name=service.name,
                                 verified=wall_date(service.verified_at), days=link_days, link=link)
        enqueue_email(session, keyring, to=recipient, subject=EMAIL_SUBJECT.format(name=service.name)[:300],
                      body=body, now=now)
        record(session, actor, action=AuditAction.execute, event_type=SocialmapTag.service_verify_request,
               object_type="socialmap_service", object_id=service.uuid)
        sent += 1
    session.flush()
    return sent
