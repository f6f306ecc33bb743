"""The timeline of a route: everything that happened on the student's Transitieroute in one
list, newest first — referrals (made, moved, handed over; other organisations' internal notes
left out), the student's consents (given, withdrawn, expired), placements (registered, started,
paused, resumed, completed, ended early), school-naar-werk-gesprekken, eindgesprekken, the instruments of the
move into work (started, ended), the exit,
versions of the school-naar-werk-plan and the privacy agreement (offered, signed by all,
declined, ended), phases reached, and follow-up check-ins with their RMC alerts.

A read of the student's data: :func:`timeline` decides (and audits) first and shows nothing
the decision does not allow.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from consent.agreements.models import Agreement, AgreementEvent, AgreementKind
from consent.models import Consent
from consent.tags import ConsentTag
from network.access import Category, Decision
from network.crypto import Keyring
from network.permissions import Principal
from referrals.checkins import check_in_note
from referrals.eindgesprek import route_eindgesprekken
from referrals.instruments import KIND_LABELS as INSTRUMENT_LABELS
from referrals.instruments import REGISTER_LABELS
from referrals.instruments_models import Instrument
from referrals.intake import route_intakes
from referrals.models import EventKind, Referral, Route
from referrals.placements.models import Placement
from referrals.placements.protocol_models import HOW_LABELS, ContactStatus, PlacementContact
from referrals.placements.protocol_models import KIND_LABELS as CONTACT_KIND_LABELS
from referrals.placements.states import KIND_LABELS, PlacementStatus
from referrals.referral_timeline import event_body, visible_events
from referrals.route_exit import DESTINATION_LABELS, WAY_OUT_LABELS, route_exit
from referrals.route_service import decide_route
from referrals.tags import CheckinTag, ExitTag, RouteTag

#: what the timeline shows: name (contact), programme and referrals (education), the plan
TIMELINE_CATEGORIES = (Category.contact, Category.education, Category.plan)

PHASE_LABELS = {
    "aanmelding": _l("Aanmelding"), "gesprek": _l("School-naar-werk-gesprek"), "plan": _l("School-naar-werk-plan"),
    "eindstage": _l("(Eind)stage"), "afronding": _l("Afronding opleiding"), "eerste_baan": _l("Eerste baan"),
    "duurzaam_werk": _l("Duurzaam werk"),
}
SITUATION_LABELS = {
    "werkend": _l("Werkend"), "opleiding": _l("Volgt een opleiding"), "uitkering": _l("Heeft een uitkering"),
    "dagbesteding": _l("Dagbesteding"), "onbekend": _l("Onbekend"), "uitgevallen": _l("Uitgevallen"),
    "niet_bereikt": _l("Niet bereikt"),
}
CONTACT_METHOD_LABELS = {
    "telefoon": _l("Telefoon"), "email": _l("E-mail"), "brief": _l("Brief"), "huisbezoek": _l("Huisbezoek"),
}
STATUS_LABELS = {
    "draft": _l("concept"), "requested": _l("verstuurd"), "accepted": _l("geaccepteerd"),
    "rejected": _l("afgewezen"), "in-progress": _l("in behandeling"), "on-hold": _l("gepauzeerd"),
    "completed": _l("afgerond"), "failed": _l("mislukt"), "cancelled": _l("geannuleerd"),
    "entered-in-error": _l("ten onrechte aangemaakt"),
}
EVENT_LABELS = {
    EventKind.update: _l("Bericht bij de verwijzing"), EventKind.note: _l("Interne notitie"),
    EventKind.handover: _l("Warme overdracht gehouden"), EventKind.handover_confirmed: _l("Warme overdracht bevestigd"),
    EventKind.assigned: _l("Verwijzing toegewezen aan een medewerker"), EventKind.reminder: _l("Herinnering verstuurd"),
    EventKind.escalation: _l("Geëscaleerd naar de uitstroomcoördinator"),
    EventKind.nudge: _l("Herinnering: nog bezig?"),
    EventKind.packet_withdrawn: _l("Gedeelde gegevens ingetrokken"),
}


@dataclass(frozen=True)
class Entry:
    at: dt.datetime
    kind: str
    title: Any
    detail: Any = None
    by: str | None = None
    #: only a day is known (a phase reached, a conversation held)
    date_only: bool = False
    #: (endpoint, values) of a page with more, for the view to build
    link: tuple[str, dict] | None = None


@dataclass(frozen=True)
class Timeline:
    route: Route
    decision: Decision
    entries: list[Entry]


def _day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, dt.UTC)


def _referral_entries(session: Session, keyring: Keyring, actor: Principal, route: Route) -> list[Entry]:
    entries = []
    referrals = session.scalars(select(Referral).where(Referral.student_id == route.student_id,
                                                       Referral.from_organisation_id == route.school_id)
                                .options(selectinload(Referral.events), selectinload(Referral.to_organisation)))
    for referral in referrals:
        to = referral.to_organisation.name
        for event in visible_events(referral, actor.organisation_id):
            if event.kind is EventKind.created:
                title = _l("Verwijzing gemaakt naar %(org)s", org=to)
            elif event.kind is EventKind.transition:
                title = _l("Verwijzing naar %(org)s: %(status)s", org=to,
                           status=STATUS_LABELS.get(str(event.to_status), str(event.to_status)))
            else:
                title = f"{EVENT_LABELS.get(event.kind, event.kind)} ({to})"
            detail = event.reason
            if event.kind in (EventKind.update, EventKind.note):
                detail = event_body(keyring, event) or detail
            by = event.actor_name + (f", {event.actor_organisation_name}" if event.actor_organisation_name else "")
            entries.append(Entry(event.at, f"referral:{event.kind.value}", title, detail, by))
    return entries


def _consent_entries(session: Session, route: Route) -> list[Entry]:
    entries = []
    for consent in session.scalars(select(Consent).where(Consent.student_id == route.student_id)
                                   .options(selectinload(Consent.recipient), selectinload(Consent.purpose))):
        what = {"org": consent.recipient.name, "purpose": consent.purpose.label}
        entries.append(Entry(consent.given_at, ConsentTag.grant,
                             _l("Toestemming gegeven aan %(org)s voor %(purpose)s", **what),
                             by=consent.recorded_by_name))
        if consent.withdrawn_at:
            entries.append(Entry(consent.withdrawn_at, ConsentTag.withdraw,
                                 _l("Toestemming ingetrokken: %(org)s, %(purpose)s", **what),
                                 by=consent.withdrawn_by_name))
        if consent.expired_at:
            entries.append(Entry(consent.expired_at, ConsentTag.expire,
                                 _l("Toestemming verlopen: %(org)s, %(purpose)s", **what)))
    return entries


AGREEMENT_EVENTS = {
    "offered": _l("%(kind)s versie %(n)s ter ondertekening aangeboden"),
    "activated": _l("%(kind)s versie %(n)s door alle partijen ondertekend"),
    "declined": _l("%(kind)s versie %(n)s niet ondertekend door een partij"),
    "ended": _l("%(kind)s beëindigd"),
}
AGREEMENT_KINDS = {AgreementKind.plan: _l("School-naar-werk-plan"), AgreementKind.privacy: _l("Privacyafspraken")}


def _agreement_entries(session: Session, route: Route) -> list[Entry]:
    """The milestones of the student's plan and privacy agreement (the school's own)."""

    rows = session.execute(
        select(AgreementEvent, Agreement.kind).join(Agreement, Agreement.id == AgreementEvent.agreement_id)
        .where(Agreement.student_id == route.student_id, Agreement.school_id == route.school_id,
               AgreementEvent.kind.in_(list(AGREEMENT_EVENTS)))).all()
    return [Entry(event.occurred_at, f"agreement:{event.kind}",
                  AGREEMENT_EVENTS[event.kind] % {"kind": AGREEMENT_KINDS[kind], "n": event.version_number},
                  event.detail.get("reason"), event.actor_name,
                  link=("agreements.detail", {"agreement_id": event.agreement_id}))
            for event, kind in rows]


def _route_entries(session: Session, keyring: Keyring, route: Route) -> list[Entry]:
    entries = [Entry(route.created_at, RouteTag.create, _l("Traject geopend"))]
    for intake in route_intakes(session, route):
        entries.append(Entry(_day(intake.held_on), "intake", _l("School-naar-werk-gesprek gehouden"),
                             by=intake.recorded_by_name, date_only=True,
                             link=("routes.intake_detail", {"route_id": route.id, "intake_id": intake.id})))
    for phase in route.phases:
        if phase.reached_date:
            entries.append(Entry(_day(phase.reached_date), "phase",
                                 _l("Fase bereikt: %(phase)s", phase=PHASE_LABELS[phase.phase.value]),
                                 date_only=True))
    if route.exit_date:
        entries.append(Entry(_day(route.exit_date), "exit", _l("Uitgestroomd: de nazorg begint"), date_only=True))
    for check_in in route.check_ins:
        for attempt in check_in.attempts:
            entries.append(Entry(_day(attempt.attempted_on), "checkin",
                                 _l("Nazorg na %(months)s maanden: niet bereikt (%(method)s)", months=check_in.months,
                                    method=CONTACT_METHOD_LABELS[attempt.method.value]),
                                 by=attempt.recorded_by_name, date_only=True))
        if check_in.recorded_at:
            entries.append(Entry(check_in.recorded_at, "checkin",
                                 _l("Nazorg na %(months)s maanden: %(situation)s", months=check_in.months,
                                    situation=SITUATION_LABELS[check_in.situation.value]),
                                 check_in_note(keyring, check_in), check_in.recorded_by_name))
        if check_in.rmc_alerted_at:
            entries.append(Entry(check_in.rmc_alerted_at, CheckinTag.rmc_alert, _l("Het RMC is gewaarschuwd")))
    if route.closed_at:
        entries.append(Entry(route.closed_at, RouteTag.close, _l("Traject afgesloten: de nazorg is voorbij")))
    return entries


def _end_entries(session: Session, route: Route) -> list[Entry]:
    """The eindgesprekken held and the exit's way out and destination (shown with the plan)."""
    entries = [Entry(_day(g.held_on), "eindgesprek", _l("Eindgesprek gehouden"), by=g.recorded_by_name,
                     date_only=True, link=("routes.eindgesprek_detail", {"route_id": route.id, "eindgesprek_id": g.id}))
               for g in route_eindgesprekken(session, route)]
    found = route_exit(session, route)
    if found is not None:
        entries.append(Entry(found.updated_at, ExitTag.record,
                             _l("Uitstroom vastgelegd: %(way)s; bestemming: %(destination)s",
                                way=WAY_OUT_LABELS[found.way_out.value],
                                destination=DESTINATION_LABELS[found.destination.value]),
                             ", ".join(found.certificates) or None, found.recorded_by_name))
    return entries


PLACEMENT_STEPS = {
    PlacementStatus.planned: _l("Stage vastgelegd: %(what)s"),
    PlacementStatus.running: _l("Stage begonnen: %(what)s"),
    PlacementStatus.paused: _l("Stage gepauzeerd: %(what)s"),
    PlacementStatus.completed: _l("Stage afgerond: %(what)s"),
    PlacementStatus.ended_early: _l("Stage voortijdig beëindigd: %(what)s"),
}


def _placement_entries(session: Session, route: Route) -> list[Entry]:
    """Each placement registered, and each of its steps on the day it happened."""
    entries = []
    for placement in session.scalars(select(Placement).where(Placement.route_id == route.id).options(
            selectinload(Placement.events), selectinload(Placement.organisation), selectinload(Placement.proposal))):
        what = _l("%(kind)s bij %(company)s", kind=KIND_LABELS[placement.kind], company=placement.company_name)
        link = ("placements.detail", {"placement_id": placement.id})
        for event in placement.events:
            if event.to_status is PlacementStatus.running and event.from_status is PlacementStatus.paused:
                title = _l("Stage hervat: %(what)s", what=what)
            else:
                title = PLACEMENT_STEPS[event.to_status] % {"what": what}
            when = _day(event.on_date) if event.on_date else event.at
            entries.append(Entry(when, "placement", title, event.reason, event.actor_name,
                                 date_only=event.on_date is not None, link=link))
    # the stageprotocol's recorded contacts (their notes stay on the placement page)
    for contact in session.scalars(
            select(PlacementContact).join(Placement, Placement.id == PlacementContact.placement_id)
            .where(Placement.route_id == route.id, PlacementContact.status == ContactStatus.done)):
        entries.append(Entry(_day(contact.done_on), "placement-contact",
                             _l("Stagecontact: %(what)s (%(how)s)", what=CONTACT_KIND_LABELS[contact.kind],
                                how=HOW_LABELS[contact.how]),
                             by=contact.recorded_by_name, date_only=True,
                             link=("placements.detail", {"placement_id": contact.placement_id})))
    return entries


def _instrument_entries(session: Session, route: Route) -> list[Entry]:
    """Each instrument of the move into work on the day it started, and on the day it ended."""
    entries = []
    link = ("routes.instruments", {"route_id": route.id})
    for instrument in session.scalars(select(Instrument).where(Instrument.route_id == route.id)
                                      .options(selectinload(Instrument.arranged_by))):
        what = str(INSTRUMENT_LABELS[instrument.kind])
        if instrument.register_status:
            what += f": {REGISTER_LABELS[instrument.register_status]}"
        by = f"{instrument.arranged_by_name}, {instrument.arranged_by.name}"
        entries.append(Entry(_day(instrument.start_date), "instrument", _l("Instrument naar werk: %(what)s", what=what),
                             instrument.evidence, by, date_only=True, link=link))
        if instrument.end_date:
            entries.append(Entry(_day(instrument.end_date), "instrument",
                                 _l("Instrument naar werk beëindigd: %(what)s", what=what), date_only=True, link=link))
    return entries


def timeline(session: Session, actor: Principal, keyring: Keyring, route: Route) -> Timeline:
    """Everything on the route, newest first (school staff of the route's school).

    Decides and audits the read (``route:timeline``); referrals and consents are shown when the
    decision allows the student's education data, the route's own entries always."""
    decision = decide_route(session, actor, route, event_type=RouteTag.timeline, categories=TIMELINE_CATEGORIES)
    entries = _route_entries(session, keyring, route)
    if decision.permits(Category.education):
        entries += (_referral_entries(session, keyring, actor, route) + _consent_entries(session, route)
                    + _placement_entries(session, route))
    if decision.permits(Category.plan):
        entries += (_agreement_entries(session, route) + _instrument_entries(session, route)
                    + _end_entries(session, route))
    entries.sort(key=lambda e: e.at, reverse=True)
    return Timeline(route, decision, entries)
