"""The instruments of the move into work on a route (issue 20, item 4): recording them, and who
reads which.

Who records: school staff of the route's school (while the route is not closed), and staff of a
gemeente or UWV with a basis for the student, each only the instruments of its own law (a
gemeente: Participatiewet; UWV: doelgroepregister, banenafspraak and its own clients).

Who reads: every read decides through :func:`network.access.decide` (``consent.decide``) and is
audited. The school reads all of them under its educational task; a gemeente reads the
gemeente's instruments under ``begeleiding-naar-werk`` (the student's consent); UWV reads the
UWV's under ``doelgroepregister-aanvraag`` (the student's consent, which may include the plan;
UWV's legal task for an open doelgroepregister matter covers contact data and the BSN, not the
plan, so it alone shows no instruments). An instrument is part of the student's plan (who arranged what),
so the category asked is :attr:`Category.plan`. Without it the reader sees nothing: the route
does not exist for them (an audited denial).

Plain functions: they take the session and the acting :class:`Principal`, flush but never commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from network import clock
from network.access import Category, Decision, decide
from network.audit import AuditAction, record
from network.crypto import Keyring
from network.errors import Conflict, NotFound, ValidationFailed
from network.events import EventTag
from network.models import Organisation, OrganisationType, SchoolLevel
from network.permissions import Permission, Principal
from network.schemas import FormSchema
from referrals.instruments_models import Funder, Instrument, InstrumentKind, RegisterStatus
from referrals.models import Route, RouteStatus
from referrals.route_service import NOT_FOUND, decide_route, is_route_school_staff
from referrals.tags import InstrumentTag

K = InstrumentKind
T = OrganisationType

KIND_LABELS = {
    K.doelgroepregister: _l("Doelgroepregister"), K.banenafspraakbaan: _l("Baan in de banenafspraak"),
    K.loonwaardebepaling: _l("Loonwaardebepaling"), K.loonkostensubsidie: _l("Loonkostensubsidie"),
    K.loonkostenvoordeel: _l("Loonkostenvoordeel"), K.no_riskpolis: _l("No-riskpolis"), K.jobcoach: _l("Jobcoach"),
    K.werkplekaanpassing: _l("Werkplekaanpassing"), K.beschut_werk: _l("Indicatie beschut werk"),
    K.bpv_naar_bbl: _l("BPV-plek omgezet in een baan (BOL naar BBL)"),
}
REGISTER_LABELS = {RegisterStatus.aangevraagd: _l("Aangevraagd"), RegisterStatus.geindiceerd: _l("Geïndiceerd"),
                   RegisterStatus.niet_geindiceerd: _l("Niet geïndiceerd")}
FUNDER_LABELS = {Funder.uwv: "UWV", Funder.gemeente: _l("Gemeente")}

#: whose law each instrument belongs to (a jobcoach and a werkplekaanpassing: the funder's);
#: the BPV place turned into a job is the school's own
GEMEENTE_KINDS = frozenset({K.loonwaardebepaling, K.loonkostensubsidie, K.beschut_werk})
UWV_KINDS = frozenset({K.doelgroepregister, K.banenafspraakbaan, K.loonkostenvoordeel, K.no_riskpolis})
FUNDED_KINDS = frozenset({K.jobcoach, K.werkplekaanpassing})
#: the purpose a partner of each type reads and records instruments under
PARTNER_PURPOSES = {T.gemeente: "begeleiding-naar-werk", T.uwv: "doelgroepregister-aanvraag"}
#: where the law asks for a decision (beschikking, rapport, doelgroepverklaring) as evidence
EVIDENCE_KINDS = frozenset({K.loonwaardebepaling, K.loonkostensubsidie, K.loonkostenvoordeel, K.jobcoach,
                            K.werkplekaanpassing, K.beschut_werk})
#: PrO and VSO pupils are in the doelgroepregister by law (Wet banenafspraak): no UWV decision needed
BY_LAW_LEVELS = frozenset({SchoolLevel.pro, SchoolLevel.vso})
INSTRUMENT_CATEGORIES = (Category.contact, Category.plan)
MIN_HOURS, MAX_HOURS = 1, 40


def owner_type(instrument: Instrument | None = None, *, kind: K | None = None,
               funder: Funder | None = None) -> OrganisationType:
    """The organisation type whose law the instrument belongs to (the school for a BPV job)."""
    kind = instrument.kind if instrument is not None else kind
    funder = instrument.funder if instrument is not None else funder
    if kind in GEMEENTE_KINDS:
        return T.gemeente
    if kind in UWV_KINDS:
        return T.uwv
    if kind in FUNDED_KINDS:
        return T.uwv if funder is Funder.uwv else T.gemeente
    return T.school


class InstrumentArgs(FormSchema):
    kind = fields.String(required=True, error_messages={"required": _l("Kies het soort instrument.")})
    register_status = fields.String(load_default=None)
    funder = fields.String(load_default=None)
    hours_per_week = fields.Integer(load_default=None)
    start_date = fields.Date(required=True, error_messages={"required": _l("Vul de startdatum in.")})
    end_date = fields.Date(load_default=None)
    arranged_by_organisation_id = fields.Integer(load_default=None)
    arranged_by_name = fields.String(load_default=None, validate=validate.Length(
        max=200, error=_l("Houd de naam korter dan 200 tekens.")))
    evidence = fields.String(load_default=None, validate=validate.Length(
        max=200, error=_l("Houd het kenmerk korter dan 200 tekens.")))
    note = fields.String(load_default=None, validate=validate.Length(
        max=2000, error=_l("Houd de notitie korter dan 2000 tekens.")))


# -- who: the walls and the decision -----------------------------------------------------------

@dataclass
class Access:
    route: Route
    decision: Decision
    #: who reads: T.school (all instruments) or the partner's type (its own law's)
    reader: OrganisationType
    can_record: bool


def instrument_access(session: Session, actor: Principal, route_id: Any, *, action: AuditAction = AuditAction.read,
                      event_type: EventTag = InstrumentTag.view) -> Access:
    """The route, the audited decision and what the actor may do with its instruments.

    :raises NotFound: no such route, or the actor is neither its school's staff nor a gemeente or
        UWV with a basis for the student (the denial is audited; nothing is shown)."""
    route = session.get(Route, route_id) if isinstance(route_id, int) and 0 < route_id < 2**31 else None
    if route is None:
        raise NotFound(NOT_FOUND)
    if is_route_school_staff(actor, route):
        decision = decide_route(session, actor, route, event_type=event_type, action=action,
                                categories=INSTRUMENT_CATEGORIES)
        return Access(route, decision, T.school, actor.has(Permission.route_manage) and decision.permits(Category.plan))
    acting = actor.acting
    purpose = PARTNER_PURPOSES.get(acting.organisation_type) if acting is not None else None
    if purpose is None:
        raise NotFound(NOT_FOUND)
    decision = decide(session, actor, route.student, purpose, INSTRUMENT_CATEGORIES, action=action,
                      event_type=event_type)
    if not decision.permits(Category.plan):
        raise NotFound(NOT_FOUND)
    return Access(route, decision, acting.organisation_type,
                  actor.has(Permission.referral_handle) and route.status is not RouteStatus.closed)


def route_instruments(session: Session, access: Access) -> list[Instrument]:
    """The instruments the decided reader may see, newest start first (none without the plan)."""
    if not access.decision.permits(Category.plan):
        return []
    found = session.scalars(select(Instrument).where(Instrument.route_id == access.route.id)
                            .options(selectinload(Instrument.arranged_by))
                            .order_by(Instrument.start_date.desc(), Instrument.id.desc()))
    return [i for i in found if access.reader is T.school or owner_type(i) is access.reader]


def instrument_note(keyring: Keyring, instrument: Instrument) -> str | None:
    return keyring.decrypt(instrument.note_encrypted, instrument.note_ref()) if instrument.note_encrypted else None


def arranging_organisations(session: Session, route: Route) -> list[Organisation]:
    """Who can have arranged an instrument: the active organisations of the school's region."""
    region = select(Organisation.region_id).where(Organisation.id == route.school_id).scalar_subquery()
    return list(session.scalars(select(Organisation).where(Organisation.region_id == region,
                                                           Organisation.is_active.is_(True))
                                .order_by(Organisation.name)))


def by_law_indicated(route: Route) -> bool:
    """PrO and VSO pupils are in the doelgroepregister by law (the form's default and hint)."""
    return route.student.level in BY_LAW_LEVELS


# -- record ------------------------------------------------------------------------------------

def _enum(value: Any, enum_cls: type, errors: dict, name: str, message: Any):
    if value is None:
        return None
    try:
        return enum_cls(value)
    except ValueError:
        errors.setdefault(name, []).append(message)
        return None


def _check(session: Session, access: Access, data: dict[str, Any], today: dt.date) -> dict[str, Any]:
    """The instrument's fields, checked as one: every wrong field gets its Dutch message."""
    errors: dict[str, list[str]] = {}
    kind = _enum(data.get("kind"), K, errors, "kind", _l("Kies een instrument uit de lijst."))
    if data.get("kind") is None:
        errors.setdefault("kind", []).append(_l("Kies het soort instrument."))
    status = _enum(data.get("register_status"), RegisterStatus, errors, "register_status",
                   _l("Kies de status van het doelgroepregister."))
    funder = _enum(data.get("funder"), Funder, errors, "funder", _l("Kies wie de jobcoach of aanpassing betaalt."))
    hours = data.get("hours_per_week")
    start, end = data.get("start_date"), data.get("end_date")
    if kind is K.doelgroepregister and status is None and "register_status" not in errors:
        errors.setdefault("register_status", []).append(_l("Kies de status van het doelgroepregister."))
    if kind in FUNDED_KINDS and funder is None and "funder" not in errors:
        errors.setdefault("funder", []).append(_l("Kies wie de jobcoach of aanpassing betaalt: UWV of de gemeente."))
    if kind is K.jobcoach and (hours is None or not MIN_HOURS <= hours <= MAX_HOURS):
        errors.setdefault("hours_per_week", []).append(
            _l("Vul het aantal uur jobcoaching per week in: van %(low)s tot en met %(high)s.",
               low=MIN_HOURS, high=MAX_HOURS))
    if start is not None and end is not None and end < start:
        errors.setdefault("end_date", []).append(_l("De einddatum ligt vóór de startdatum."))
    if start is not None and start > today + dt.timedelta(days=366):
        errors.setdefault("start_date", []).append(_l("De startdatum ligt meer dan een jaar vooruit."))
    if not data.get("arranged_by_name"):
        errors.setdefault("arranged_by_name", []).append(_l("Vul in wie het instrument heeft geregeld."))
    organisations = {o.id for o in arranging_organisations(session, access.route)}
    if data.get("arranged_by_organisation_id") not in organisations:
        errors.setdefault("arranged_by_organisation_id", []).append(
            _l("Kies de organisatie uit de regio die het instrument heeft geregeld."))
    needs_evidence = kind in EVIDENCE_KINDS or (
        kind is K.doelgroepregister and status is not None and status is not RegisterStatus.aangevraagd
        and not by_law_indicated(access.route))
    if needs_evidence and not data.get("evidence"):
        errors.setdefault("evidence", []).append(
            _l("Vul het kenmerk en de datum van het besluit in: de wet vraagt een besluit voor dit instrument."))
    if kind is not None and access.reader is not T.school and owner_type(kind=kind, funder=funder) is not access.reader:
        errors.setdefault("kind", []).append(
            _l("U heeft geen grondslag om dit instrument vast te leggen: uw organisatie legt alleen de "
               "instrumenten van haar eigen wet vast."))
    if errors:
        raise ValidationFailed(errors=errors)
    return {"kind": kind, "register_status": status if kind is K.doelgroepregister else None,
            "funder": funder if kind in FUNDED_KINDS else None, "hours_per_week": hours if kind is K.jobcoach else None,
            "start_date": start, "end_date": end}


def record_instrument(session: Session, actor: Principal, keyring: Keyring, access: Access, data: dict[str, Any], *,
                      today: dt.date | None = None) -> Instrument:
    """Record an instrument on ``access.route`` (decided with ``action=create`` by the caller).

    :raises NotFound: the actor may not record here. :raises Conflict: the route is closed.
    :raises ValidationFailed: Dutch field messages; nothing is written."""
    today = today or clock.today()
    if not access.can_record:
        raise NotFound(NOT_FOUND)
    if access.route.status is RouteStatus.closed:
        raise Conflict(_l("Dit traject is afgesloten en kan niet meer worden gewijzigd."))
    checked = _check(session, access, data, today)
    instrument = Instrument(route_id=access.route.id, **checked,
                            arranged_by_organisation_id=data["arranged_by_organisation_id"],
                            arranged_by_name=data["arranged_by_name"], evidence=data.get("evidence"),
                            recorded_by_account_id=actor.account_id, recorded_by_name=actor.name,
                            recorded_by_organisation_id=actor.organisation_id)
    session.add(instrument)
    session.flush()  # the id binds the encrypted note
    if data.get("note"):
        instrument.note_encrypted = keyring.encrypt(data["note"], instrument.note_ref())
    record(session, actor, action=AuditAction.create, event_type=InstrumentTag.record, object_type="instrument",
           object_id=instrument.id, student_id=access.route.student_id, purpose=access.decision.purpose,
           basis=access.decision.basis_label,
           detail={"kind": checked["kind"].value, "route_id": access.route.id})
    session.flush()
    return instrument


def end_instrument(session: Session, actor: Principal, access: Access, instrument_id: Any, end_date: dt.date | None, *,
                   today: dt.date | None = None) -> Instrument:
    """Set (or correct) the end date of an instrument the actor may record (the school any, a
    partner its own law's): not before its start, not more than a year ahead.

    :raises NotFound: no such instrument on the route for this reader. :raises ValidationFailed:
        a Dutch message on ``end_date``; nothing is written."""
    today = today or clock.today()
    found = session.get(Instrument, instrument_id) if isinstance(instrument_id, int) and 0 < instrument_id < 2**31 \
        else None
    if (found is None or found.route_id != access.route.id or not access.can_record
            or not (access.reader is T.school or owner_type(found) is access.reader)):
        raise NotFound(_l("Dit instrument bestaat niet, of u heeft er geen toegang toe."))
    if access.route.status is RouteStatus.closed:
        raise Conflict(_l("Dit traject is afgesloten en kan niet meer worden gewijzigd."))
    if end_date is None:
        raise ValidationFailed(errors={"end_date": [_l("Vul de einddatum in.")]})
    if end_date < found.start_date:
        raise ValidationFailed(errors={"end_date": [_l("De einddatum ligt vóór de startdatum.")]})
    if end_date > today + dt.timedelta(days=366):
        raise ValidationFailed(errors={"end_date": [_l("De einddatum ligt meer dan een jaar vooruit.")]})
    previous = found.end_date
    found.end_date = end_date
    record(session, actor, action=AuditAction.update, event_type=InstrumentTag.end, object_type="instrument",
           object_id=found.id, student_id=access.route.student_id, purpose=access.decision.purpose,
           basis=access.decision.basis_label,
           detail={"kind": found.kind.value, "end_date": end_date.isoformat(),
                   "previous": previous.isoformat() if previous else None})
    session.flush()
    return found


def school_route_instruments(session: Session, actor: Principal, route: Route) -> list[Instrument]:
    """The route page's section: the instruments, decided (and audited) for the plan category."""
    decision = decide_route(session, actor, route, event_type=InstrumentTag.view, categories=(Category.plan,))
    return route_instruments(session, Access(route, decision, T.school, False))
