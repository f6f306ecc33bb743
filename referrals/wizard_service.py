"""Making and sending a referral: the wizard's drafts (saved after every step, the sign-up
form encrypted), the checks before sending, the hand-over packet (a snapshot of the allowed
categories, encrypted) and the answer deadline.

Plain functions like those of :mod:`referrals.service`: they flush but never commit, audit
every change in the same transaction and raise :class:`ValidationFailed` (Dutch field
messages) before anything is written.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from network import clock
from network.access import Category, bases_for_organisation
from network.audit import AuditAction, record
from network.clock import utcnow
from network.crypto import Keyring
from network.errors import Conflict, NotFound, ValidationFailed
from network.models import Organisation, Role, Student
from network.notifications import notify_organisation
from network.permissions import Principal, can_manage_student
from network.signals import referral_sent
from referrals.models import EventKind, HandoverPacket, Referral, Route
from referrals.referral_timeline import add_event
from referrals.service import NOT_FOUND, check_version, side_of
from referrals.signup import SHAREABLE, empty_details, snapshot
from referrals.states import SENDER, ReferralStatus, ReferralType, allowed_for
from referrals.tags import ReferralNotice, ReferralTag
from referrals.workdays import DEFAULT_RESPONSE_DAYS, add_working_days
from socialmap.models import Service, ServiceStatus

S = ReferralStatus



# -- the details (the sign-up form), encrypted ---------------------------------------------

def read_details(keyring: Keyring, referral: Referral) -> dict[str, Any]:
    if not referral.details_encrypted:
        return empty_details()
    return json.loads(keyring.decrypt(referral.details_encrypted, referral.details_ref()))


def _write_details(keyring: Keyring, referral: Referral, details: dict[str, Any]) -> None:
    referral.details_encrypted = keyring.encrypt(json.dumps(details, ensure_ascii=False), referral.details_ref())


# -- the wizard --------------------------------------------------------------------------------

def shareable_categories(session: Session, student: Student, recipient: Organisation,
                         purpose: str) -> dict[Category, str | None]:
    """Each category the wizard offers, with the basis the recipient would have for it (the
    audit-log name, e.g. ``consent:12``) or None: then consent must be recorded or asked first."""
    decision = bases_for_organisation(session, recipient, student, purpose, SHAREABLE)
    found: dict[Category, str | None] = {}
    for category in SHAREABLE:
        refs = [str(b) for b in decision.bases if category in b.categories]
        found[category] = ",".join(refs) if refs else None
    return found


def _load_service(session: Session, service_id: Any) -> Service | None:
    try:
        key = int(service_id) if service_id not in (None, "") else None
        return session.get(Service, key) if key is not None and 0 < key < 2**31 else None
    except (TypeError, ValueError):
        return None


def _check_draft(session: Session, actor: Principal, student: Student, data: dict[str, Any],
                 errors: dict[str, list[str]]) -> Service | None:
    """Checks a draft must pass (sending checks more: :func:`_check_send`)."""
    if not can_manage_student(actor, student):
        raise NotFound(_l("Deze leerling bestaat niet, of u heeft er geen toegang toe."))
    service = _load_service(session, data.get("service_id"))
    if data.get("service_id") not in (None, "") and service is None:
        errors.setdefault("service_id", []).append(str(_l("Deze dienst bestaat niet (meer).")))
    if service is not None:
        if service.organisation_id == actor.organisation_id:
            errors.setdefault("service_id", []).append(
                str(_l("U kunt niet naar uw eigen organisatie verwijzen; kies een dienst van een partner.")))
        elif not service.organisation.is_active:
            errors.setdefault("service_id", []).append(str(_l("Deze organisatie is niet actief.")))
    return service


def save_draft(session: Session, actor: Principal, keyring: Keyring, student: Student, data: dict[str, Any], *,
               referral: Referral | None = None, now: dt.datetime | None = None) -> Referral:
    """Create or update a draft referral (the wizard saves after every step).

    :param data: ``service_id``, ``purpose``, ``type``, ``categories`` (codes), ``details``
        (the sign-up form, see :mod:`referrals.signup`), ``client_token`` (one per wizard; a
        repeated create with the same token returns the draft it made), ``expected_version``.
    """
    now = now or utcnow()
    if referral is None:
        referral = _draft_by_token(session, actor, data)
        if referral is not None and referral.status is not S.draft:
            return referral  # a double submit: the referral was made (and maybe sent) already
    if referral is not None:
        _check_still_draft(actor, referral, data.get("expected_version"))
    errors: dict[str, list[str]] = {}
    service = _check_draft(session, actor, student, data, errors)
    categories = _checked_categories(data.get("categories") or [], errors)
    if errors:
        raise ValidationFailed(errors=errors)
    created = referral is None
    if created:
        referral = _new_draft(session, actor, student, data, now)
    _apply_draft_fields(referral, service, data, categories)
    if created:
        _store_new_draft(session, actor, keyring, referral, now)
    if "details" in data:
        details = empty_details()
        details.update(data["details"] or {})
        _write_details(keyring, referral, details)
    record(session, actor, action=AuditAction.create if created else AuditAction.update,
           event_type=ReferralTag.draft, object_type="referral", object_id=referral.id, student_id=student.id,
           purpose="verwijzing", basis="legal_task:onderwijstaak")
    return referral


def _draft_by_token(session: Session, actor: Principal, data: dict[str, Any]) -> Referral | None:
    """The referral an earlier create with the same ``client_token`` made (only its sender may
    see it), or None."""
    if not data.get("client_token"):
        return None
    existing = session.scalar(select(Referral).where(Referral.client_token == str(data["client_token"])))
    if existing is not None and side_of(actor, existing) != SENDER:
        raise NotFound(NOT_FOUND)
    return existing


def _check_still_draft(actor: Principal, referral: Referral, expected_version: Any) -> None:
    """Only the sender changes a draft, only while it is one, and only from its current version."""
    if side_of(actor, referral) != SENDER:
        raise NotFound(NOT_FOUND)
    if referral.status is not S.draft:
        raise Conflict(_l("Deze verwijzing is al verstuurd en kan niet meer als concept worden gewijzigd."),
                       allowed=[s.value for s in allowed_for(referral.status, SENDER)])
    check_version(referral, expected_version)


def _checked_categories(codes: list[Any], errors: dict[str, list[str]]) -> list[Category]:
    """The data categories chosen (codes), each one that can go with a referral."""
    categories = []
    for code in codes:
        try:
            category = Category(code)
        except ValueError:
            errors.setdefault("categories", []).append(str(_l("Onbekend gegevenstype.")))
            continue
        if category not in SHAREABLE:
            errors.setdefault("categories", []).append(str(_l("Dit gegevenstype kan niet met een verwijzing mee.")))
        categories.append(category)
    return categories


def _new_draft(session: Session, actor: Principal, student: Student, data: dict[str, Any],
               now: dt.datetime) -> Referral:
    """A new draft from the actor's school, on the student's route if there is one (not stored yet)."""
    referral = Referral(student_id=student.id, from_organisation_id=actor.organisation_id,
                        from_account_id=actor.account_id, from_name=actor.name, status=S.draft,
                        client_token=str(data["client_token"]) if data.get("client_token") else None,
                        created_at=now, status_changed_at=now, type=ReferralType.transitieroute,
                        purpose=data.get("purpose") or "", categories="")
    route = session.scalar(select(Route).where(Route.student_id == student.id))
    referral.route_id = route.id if route else None
    return referral


def _apply_draft_fields(referral: Referral, service: Service | None, data: dict[str, Any],
                        categories: list[Category]) -> None:
    """The wizard's fields that ``data`` fills in (an empty purpose or type leaves the old one)."""
    if service is not None:
        referral.service_id, referral.to_organisation_id = service.id, service.organisation_id
    if data.get("purpose"):
        referral.purpose = str(data["purpose"])
    if data.get("type"):
        referral.type = ReferralType(data["type"])
    if "categories" in data:
        referral.categories = " ".join(sorted(c.value for c in set(categories)))


def _store_new_draft(session: Session, actor: Principal, keyring: Keyring, referral: Referral,
                     now: dt.datetime) -> None:
    """Add a new draft (it needs a service) with its first timeline event."""
    if referral.service_id is None:
        raise ValidationFailed(errors={"service_id": [str(_l("Kies een dienst van de sociale kaart."))]})
    session.add(referral)
    session.flush()  # the id binds the encrypted details to this row
    add_event(session, keyring, referral, EventKind.created, actor, to_status=S.draft, now=now)


def _check_send(session: Session, referral: Referral, keyring: Keyring, today: dt.date,
                response_due: dt.date | None) -> tuple[Service, frozenset[Category], list[str]]:
    errors: dict[str, list[str]] = {}
    service = referral.service
    if service is None:
        errors.setdefault("service_id", []).append(str(_l("Kies een dienst van de sociale kaart.")))
    elif service.status is not ServiceStatus.active or not service.organisation.is_active:
        errors.setdefault("service_id", []).append(
            str(_l("Deze dienst is niet actief; kies een andere dienst op de sociale kaart.")))
    elif service.organisation_id == referral.from_organisation_id:
        errors.setdefault("service_id", []).append(str(_l("U kunt niet naar uw eigen organisatie verwijzen.")))
    details = read_details(keyring, referral)
    if not (details.get("reason") or "").strip():
        errors.setdefault("reason", []).append(str(_l("Vul de reden van de verwijzing in.")))
    if not referral.purpose:
        errors.setdefault("purpose", []).append(str(_l("Kies het doel van de verwijzing.")))
    categories = frozenset(Category(c) for c in referral.category_list)
    if not categories:
        errors.setdefault("categories", []).append(str(_l("Kies welke gegevens u deelt.")))
    if response_due is not None and response_due < today:
        errors.setdefault("response_due", []).append(str(_l("De reactietermijn kan niet in het verleden liggen.")))
    refs: list[str] = []
    if service is not None and categories and not errors.get("service_id") and referral.purpose:
        decision = bases_for_organisation(session, service.organisation, referral.student, referral.purpose,
                                          categories)
        missing = categories - decision.allowed
        if missing:
            errors.setdefault("categories", []).append(str(_l(
                "Voor %(cats)s heeft de ontvanger geen grondslag: leg eerst toestemming vast of vraag erom.",
                cats=", ".join(sorted(c.value for c in missing)))))
        refs = sorted({str(b) for b in decision.bases})
    if errors:
        raise ValidationFailed(errors=errors)
    return service, categories, refs


def send_referral(session: Session, actor: Principal, keyring: Keyring, referral: Referral, *,
                  response_due: dt.date | None = None, expected_version: int | None = None,
                  today: dt.date | None = None, now: dt.datetime | None = None, base_url: str = "") -> Referral:
    """Send a draft: check everything, take the hand-over packet (a snapshot of the allowed
    categories, encrypted), set the answer deadline (the service's response time in working
    days, or an explicit later date) and tell the receiving organisation.

    Sending a referral that was already sent returns it unchanged (a double submit is one
    referral).
    """

    today, now = today or clock.today(), now or utcnow()
    if side_of(actor, referral) != SENDER:
        raise NotFound(NOT_FOUND)
    if referral.status is not S.draft:
        if referral.status is S.requested and referral.sent_at is not None:
            return referral
        raise Conflict(_l("Deze verwijzing is al verstuurd."),
                       allowed=[s.value for s in allowed_for(referral.status, SENDER)])
    check_version(referral, expected_version)
    service, categories, refs = _check_send(session, referral, keyring, today, response_due)
    student = referral.student
    details = read_details(keyring, referral)
    referrer = {"name": referral.from_name, "organisation": referral.from_organisation.name,
                "email": referral.from_account.email if referral.from_account else ""}
    # through the relationship, so referral.packet (loaded, and None, while a draft) is this one
    packet = HandoverPacket(referral=referral, referral_id=referral.id, student_id=student.id,
                            recipient_id=service.organisation_id, categories=referral.categories,
                            basis=",".join(refs), created_at=now)
    packet.content_encrypted = keyring.encrypt(
        json.dumps(snapshot(student, keyring, details, categories, referrer=referrer), ensure_ascii=False),
        packet.content_ref())
    session.add(packet)
    referral.status, referral.status_changed_at, referral.sent_at = S.requested, now, now
    referral.response_due = response_due or add_working_days(today, service.response_days or DEFAULT_RESPONSE_DAYS)
    add_event(session, keyring, referral, EventKind.transition, actor, from_status=S.draft, to_status=S.requested,
              now=now)
    record(session, actor, action=AuditAction.export, event_type=ReferralTag.send, object_type="referral",
           object_id=referral.id, student_id=student.id, purpose=referral.purpose, basis=",".join(refs) or None,
           detail={"to_organisation_id": service.organisation_id, "categories": referral.category_list})
    notify_organisation(session, keyring, service.organisation_id, roles=[Role.partner_staff],
                        kind=ReferralNotice.requested, base_url=base_url, now=now,
                        title=f"Nieuwe verwijzing nr. {referral.id} voor '{service.name}' van "
                              f"{referral.from_organisation.name}; reageer vóór {referral.response_due:%d-%m-%Y}",
                        link=f"/inbox/{referral.id}")
    referral_sent.send(referral, session=session, keyring=keyring)
    return referral


def new_client_token() -> str:
    return uuid.uuid4().hex
