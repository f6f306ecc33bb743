"""The warm hand-over at the exit of a route (issue 20, item 3): a referral from the exit page to
the gemeente (jobcoach, Participatiewet), UWV, the RMC or a care provider of the region, marked
``at_exit``, carrying the signed version of the school-naar-werk-plan by reference (agreement id
and version number), the new lead contact who takes over and what was agreed.

It is a referral like any other (no second hand-over mechanism): made and sent with
:func:`referrals.wizard_service.save_draft` / :func:`~referrals.wizard_service.send_referral`
(the same basis check, the same hand-over packet), answered in the receiver's inbox, and its
overdrachtsgesprek recorded and confirmed on both sides as :mod:`referrals.transitions` does.
Who takes over and what was agreed are stored in the referral's encrypted details.

Every check runs before anything is written: a bad form, an organisation without a basis for
the data or a plan version that was not signed gets Dutch field messages and writes nothing.

The flag of item 3: a route in follow-up whose destination is not work without support or a
vervolgopleiding, and that has no hand-over at exit, is counted per school for the
uitstroomcoördinator (:func:`missing_handover_counts`) and shown to the school on the route.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate
from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session

from consent.agreements.models import Agreement, AgreementKind, AgreementVersion
from consent.models import Purpose
from network.access import Category, bases_for_organisation
from network.audit import AuditAction, record
from network.clock import utcnow
from network.crypto import Keyring
from network.errors import Conflict, ValidationFailed
from network.models import Organisation
from network.permissions import Principal
from network.schemas import FormSchema
from referrals.eindgesprek import PARTNER_TYPES
from referrals.exit_models import Destination, RouteExit
from referrals.models import Referral, Route, RouteStatus
from referrals.route_service import require_route_manager
from referrals.signup import SHAREABLE, empty_details
from referrals.states import ReferralStatus, ReferralType
from referrals.tags import ExitTag
from referrals.wizard_service import read_details, save_draft, send_referral
from socialmap.models import Service, ServiceStatus

S = ReferralStatus
#: destinations that need no warm hand-over at exit (the student is on their own feet, or in school)
NO_HANDOVER_NEEDED = frozenset({Destination.werk_zonder_ondersteuning, Destination.vervolgopleiding})
#: a hand-over in these states does not count: it was turned down, withdrawn or made in error
NOT_A_HANDOVER = (S.draft, S.rejected, S.cancelled, S.entered_in_error)
MAX_AGREED = 2000
#: the referral's reason, as the receiver's inbox shows it
HANDOVER_REASON = "Warme overdracht bij uitstroom"


class ExitHandoverArgs(FormSchema):
    service_id = fields.Integer(required=True, error_messages={
        "required": _l("Kies de organisatie en dienst die de begeleiding overneemt."),
        "invalid": _l("Kies de organisatie en dienst die de begeleiding overneemt.")})
    purpose = fields.String(required=True, error_messages={"required": _l("Kies het doel van de overdracht.")})
    plan = fields.String(load_default=None)
    lead_name = fields.String(required=True, validate=validate.Length(
        min=1, max=200, error=_l("Vul de naam in (hoogstens 200 tekens).")), error_messages={
        "required": _l("Vul in wie de begeleiding overneemt.")})
    lead_function = fields.String(required=True, validate=validate.Length(
        min=1, max=200, error=_l("Vul de functie in (hoogstens 200 tekens).")), error_messages={
        "required": _l("Vul de functie in van wie de begeleiding overneemt.")})
    #: one per form: a double submit finds the hand-over it made
    client_token = fields.String(load_default=None, validate=validate.Length(max=64))
    agreed = fields.String(required=True, validate=validate.Length(
        min=1, max=MAX_AGREED, error=_l("Beschrijf wat is afgesproken (hoogstens %(max)s tekens).", max=MAX_AGREED)),
        error_messages={"required": _l("Beschrijf wat is afgesproken.")})


# -- what the form offers ------------------------------------------------------------------------

def handover_services(session: Session, route: Route) -> list[Service]:
    """The active services of the region's partners (gemeente, UWV, RMC, care, ...) of the route's school."""
    region = select(Organisation.region_id).where(Organisation.id == route.school_id).scalar_subquery()
    return list(session.scalars(select(Service).join(Organisation, Organisation.id == Service.organisation_id).where(
        Organisation.region_id == region, Organisation.is_active.is_(True),
        Organisation.type.in_(list(PARTNER_TYPES)), Service.status == ServiceStatus.active)
        .order_by(Organisation.name, Service.name)))


def handover_purposes(session: Session) -> list[Purpose]:
    return list(session.scalars(select(Purpose).where(Purpose.is_active.is_(True)).order_by(Purpose.sort_order)))


def signed_plan_versions(session: Session, route: Route) -> list[tuple[Agreement, AgreementVersion]]:
    """The versions of the student's school-naar-werk-plan that every required party signed."""
    rows = session.execute(select(Agreement, AgreementVersion).join(
        AgreementVersion, AgreementVersion.agreement_id == Agreement.id).where(
        Agreement.student_id == route.student_id, Agreement.school_id == route.school_id,
        Agreement.kind == AgreementKind.plan, AgreementVersion.activated_at.is_not(None))
        .order_by(Agreement.created_at, AgreementVersion.number)).all()
    return [(agreement, version) for agreement, version in rows]


def plan_choice(agreement_id: Any, number: int) -> str:
    return f"{agreement_id}:{number}"


# -- making it -----------------------------------------------------------------------------------

def _check_plan(session: Session, route: Route, raw: Any, errors: dict[str, list[str]]) -> tuple[Any, int | None]:
    """The chosen plan version (``agreement-id:number``), only one that was signed."""
    if raw in (None, ""):
        return None, None
    try:
        agreement_text, number_text = str(raw).rsplit(":", 1)
        agreement_id, number = uuid.UUID(agreement_text), int(number_text)
    except ValueError:
        errors["plan"] = [str(_l("Kies een ondertekende versie van het plan uit de lijst."))]
        return None, None
    version = session.scalar(select(AgreementVersion).join(Agreement).where(
        Agreement.id == agreement_id, Agreement.student_id == route.student_id, Agreement.school_id == route.school_id,
        Agreement.kind == AgreementKind.plan, AgreementVersion.number == number))
    if version is None:
        errors["plan"] = [str(_l("Kies een ondertekende versie van het plan uit de lijst."))]
    elif version.activated_at is None:
        errors["plan"] = [str(_l("Deze versie van het plan is niet door alle partijen ondertekend; kies een "
                                 "ondertekende versie."))]
    return agreement_id, number


def _check(session: Session, route: Route, data: dict[str, Any],
           categories: list[str]) -> tuple[Service | None, frozenset[Category], Any, int | None]:
    errors: dict[str, list[str]] = {}
    services = {s.id: s for s in handover_services(session, route)}
    service = services.get(data.get("service_id"))
    if service is None:
        errors["service_id"] = [str(_l("Kies een dienst van een partner in de regio."))]
    purpose = session.scalar(select(Purpose).where(Purpose.code == str(data.get("purpose") or ""),
                                                   Purpose.is_active.is_(True)))
    if purpose is None:
        errors["purpose"] = [str(_l("Kies het doel van de overdracht."))]
    elif service is not None and service.organisation.type not in purpose.recipient_types:
        errors["purpose"] = [str(_l("Deze organisatie kan voor dit doel geen gegevens ontvangen."))]
    chosen: set[Category] = set()
    for code in categories:
        try:
            category = Category(code)
        except ValueError:
            category = None
        if category is None or category not in SHAREABLE:
            errors["categories"] = [str(_l("Dit gegevenstype kan niet met een verwijzing mee."))]
        else:
            chosen.add(category)
    if not chosen and "categories" not in errors:
        errors["categories"] = [str(_l("Kies welke gegevens u deelt."))]
    for key in ("lead_name", "lead_function", "agreed"):
        if not str(data.get(key) or "").strip():
            errors[key] = [str(_l("Vul dit veld in."))]
    agreement_id, number = _check_plan(session, route, data.get("plan"), errors)
    if service is not None and purpose is not None and chosen and not errors.get("purpose"):
        decision = bases_for_organisation(session, service.organisation, route.student, purpose.code, chosen)
        missing = chosen - decision.allowed
        if missing:
            errors["categories"] = [str(_l(
                "Voor %(cats)s heeft de ontvanger geen grondslag: leg eerst toestemming vast of vraag erom.",
                cats=", ".join(sorted(c.value for c in missing))))]
    if errors:
        raise ValidationFailed(errors=errors)
    return service, frozenset(chosen), agreement_id, number


def make_exit_handover(session: Session, actor: Principal, keyring: Keyring, route: Route, data: dict[str, Any], *,
                       categories: list[str], now: dt.datetime | None = None, base_url: str = "") -> Referral:
    """Make and send the warm hand-over at exit: a referral marked ``at_exit`` with the plan
    version, the new lead contact and what was agreed. Needs the recorded exit."""
    now = now or utcnow()
    require_route_manager(actor, route)
    token = str(data.get("client_token") or "") or None
    if token is not None:  # a double submit: the hand-over this form made already
        made = session.scalar(select(Referral).where(Referral.client_token == token))
        if made is not None and made.at_exit and made.route_id == route.id and made.from_organisation_id == \
                actor.organisation_id:
            return made
    if session.scalar(select(RouteExit.id).where(RouteExit.route_id == route.id)) is None:
        raise Conflict(_l("Leg eerst de uitstroom vast; daarna maakt u de warme overdracht."))
    service, chosen, agreement_id, number = _check(session, route, data, categories)
    agreed = str(data["agreed"]).strip()
    details = empty_details()
    # stored data stays Dutch whatever the recorder's interface language: not a gettext string
    details["reason"] = f"{HANDOVER_REASON}: {agreed}"
    details["exit_handover"] = {"lead_name": str(data["lead_name"]).strip(),
                                "lead_function": str(data["lead_function"]).strip(), "agreed": agreed}
    referral = save_draft(session, actor, keyring, route.student, {
        "service_id": service.id, "purpose": data["purpose"], "type": ReferralType.transitieroute.value,
        "categories": sorted(c.value for c in chosen), "details": details, "client_token": token}, now=now)
    referral.route_id, referral.at_exit = route.id, True
    referral.plan_agreement_id, referral.plan_version = agreement_id, number
    send_referral(session, actor, keyring, referral, now=now, base_url=base_url)
    record(session, actor, action=AuditAction.create, event_type=ExitTag.handover, object_type="referral",
           object_id=referral.id, student_id=route.student_id, purpose=referral.purpose,
           detail={"route_id": route.id, "to_organisation_id": service.organisation_id,
                   "plan_version": number})
    return referral


# -- reading it ----------------------------------------------------------------------------------

def exit_handover_details(keyring: Keyring, referral: Referral) -> dict[str, str]:
    """Who takes over and what was agreed (the caller decided the read)."""
    return dict(read_details(keyring, referral).get("exit_handover") or {})


def route_exit_handovers(session: Session, route: Route) -> list[Referral]:
    return list(session.scalars(select(Referral).where(Referral.route_id == route.id, Referral.at_exit.is_(True))
                                .order_by(Referral.created_at, Referral.id)))


# -- the flag ------------------------------------------------------------------------------------

def _missing_handover():
    """Routes in follow-up whose destination needs a hand-over that none carries."""
    handed_over = exists().where(Referral.route_id == Route.id, Referral.at_exit.is_(True),
                                 Referral.status.not_in(NOT_A_HANDOVER))
    return and_(Route.status == RouteStatus.followup, RouteExit.destination.not_in(list(NO_HANDOVER_NEEDED)),
                ~handed_over)


def needs_exit_handover(session: Session, route: Route) -> bool:
    return bool(session.scalar(select(func.count(Route.id)).join(RouteExit, RouteExit.route_id == Route.id)
                               .where(Route.id == route.id, _missing_handover())))


def routes_missing_handover(session: Session, route_ids: list[int]) -> set[int]:
    """Which of ``route_ids`` need a warm hand-over at exit that none carries (one statement)."""
    if not route_ids:
        return set()
    return set(session.scalars(select(Route.id).join(RouteExit, RouteExit.route_id == Route.id)
                               .where(Route.id.in_(route_ids), _missing_handover())))


def missing_handover_counts(session: Session, region_id: int) -> list[tuple[str, int]]:
    """Per school of the region (name, number of routes): no names of students."""
    rows = session.execute(select(Organisation.name, func.count(Route.id))
                           .join(Organisation, Organisation.id == Route.school_id)
                           .join(RouteExit, RouteExit.route_id == Route.id)
                           .where(Organisation.region_id == region_id, _missing_handover())
                           .group_by(Organisation.name).order_by(Organisation.name)).all()
    return [(name, int(count)) for name, count in rows]
