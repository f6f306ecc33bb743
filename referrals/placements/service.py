"""Registering and editing placements. Plain functions: they take the session, the acting
:class:`Principal`, the keyring and the clock, check everything before they write anything
(so a refusal leaves nothing half-written), flush but never commit, and audit every change in
the same transaction.

What is checked, each with a Dutch field error:

- the company is an active employer entry of the region's sociale kaart, or a proposal of a
  new one (:mod:`.employers`), not both and not neither;
- the end is not before the start;
- the dates do not overlap another planned, running or paused placement of the student unless
  ``confirm_overlap`` says so (two placements side by side, a snuffelstage in the holidays);
- the stagebegeleider is an active staff member of the school;
- the praktijkopleider can be reached: a name and an e-mail address or a phone number.

**A praktijkopleider without an e-mail address is saved**, with a warning: the employer's
assessment (issue 19, item 4) goes to the praktijkopleider by a personal e-mail link, and that
link cannot be sent without an address (:attr:`Placement.can_send_assessment_link`). It is not
required because what the first weeks need is a phone number (the stageprotocol calls the
employer on the first day), small companies are often reached only by phone, an employer with
accounts in the hub gets the assessment in its inbox instead, and a required field invites the
company's general address or a made-up one, which would later send a personal link to the
wrong inbox. The address can be added when it is known; item 4 refuses to send without one.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from consent.agreements.access import find_agreement, read_agreement
from consent.agreements.models import Agreement, AgreementKind
from consent.agreements.overview import latest_content, open_agreement_id
from network.audit import AuditAction, record
from network.crypto import Keyring
from network.errors import Conflict, Forbidden, NotFound, ValidationFailed
from network.models import Student
from network.permissions import Principal
from network.signals import placement_created, placement_updated
from referrals.models import Route, RoutePhase
from referrals.placements.access import require_manager
from referrals.placements.employers import check_employer, propose_employer
from referrals.placements.models import EmployerProposal, Placement, PlacementEvent, PlacementEventKind
from referrals.placements.protocol import follow_edit
from referrals.placements.states import KIND_LABELS, LIVE, PlacementKind, PlacementStatus
from referrals.route_service import (
    PURPOSE_SCHOOL,
    SCHOOL_BASIS,
    add_months,
    require_route_manager,
    school_staff_accounts,
)
from referrals.tags import PlacementTag
from socialmap.models import Service

CONFLICT_MESSAGE = _l("Iemand anders heeft deze stage intussen gewijzigd. Uw invoer staat hieronder nog: "
                      "controleer de gegevens en sla opnieuw op.")
#: the plain fields of the form, as the model names them
PLAIN_FIELDS = ("kind", "function", "trainer_name", "trainer_function", "trainer_email", "trainer_phone",
                "supervisor_account_id", "start_date", "end_date", "schedule", "with_coach", "coach_name",
                "werkprocessen")
#: a sanity bound on the dates: a placement longer than this is a typing error
MAX_MONTHS = 48


@dataclass(frozen=True)
class Overlap:
    """Another live placement of the student whose dates meet the new ones."""

    placement_id: int
    label: str
    start_date: dt.date
    end_date: dt.date


def learning_goals(keyring: Keyring, placement: Placement) -> list[str]:
    """The decrypted learning goals (an empty list when there are none)."""
    if not placement.learning_goals_encrypted:
        return []
    return json.loads(keyring.decrypt(placement.learning_goals_encrypted, placement.goals_ref()))


def _store_goals(keyring: Keyring, placement: Placement, goals: list[str]) -> None:
    placement.learning_goals_encrypted = (keyring.encrypt(json.dumps(goals, ensure_ascii=False), placement.goals_ref())
                                          if goals else None)


def overlapping(session: Session, student_id: Any, start: dt.date, end: dt.date, *,
                exclude_id: int | None = None) -> list[Overlap]:
    """The student's planned, running or paused placements whose dates meet ``start``–``end``."""
    query = select(Placement).where(Placement.student_id == student_id, Placement.status.in_(list(LIVE)),
                                    Placement.start_date <= end, Placement.end_date >= start)
    if exclude_id is not None:
        query = query.where(Placement.id != exclude_id)
    return [Overlap(p.id, f"{KIND_LABELS[p.kind]}, {p.company_name}", p.start_date, p.end_date)
            for p in session.scalars(query.order_by(Placement.start_date))]


def _add(errors: dict[str, list[str]], field: str, message: Any) -> None:
    errors.setdefault(field, []).append(message)


def _check(session: Session, route: Route, data: dict[str, Any], *, exclude_id: int | None,
           live: bool) -> tuple[list[Overlap], dict[str, list[str]]]:
    """Every check that needs no write, with all field errors at once (the company is checked
    by :func:`_company`)."""
    errors: dict[str, list[str]] = {}
    start, end = data["start_date"], data["end_date"]
    if end < start:
        _add(errors, "end_date", _l("De einddatum ligt vóór de startdatum."))
    elif end > add_months(start, MAX_MONTHS):
        _add(errors, "end_date", _l("Een stage duurt niet langer dan vier jaar. Controleer de data."))
    dates_ok = not errors
    if not data.get("schedule"):
        _add(errors, "hours_ma", _l("Vul voor minstens één dag het aantal uren in."))
    found: list[Overlap] = []
    if live and dates_ok:
        found = overlapping(session, route.student_id, start, end, exclude_id=exclude_id)
        if found and not data.get("confirm_overlap"):
            _add(errors, "confirm_overlap", _l(
                "Deze data overlappen met een andere stage van de leerling. Controleer de data, of vink aan dat "
                "de stages echt tegelijk lopen."))
    if data["supervisor_account_id"] not in {a.id for a in school_staff_accounts(session, route.school_id)}:
        _add(errors, "supervisor_account_id", _l("Kies een medewerker van de school als stagebegeleider."))
    if not (data.get("trainer_email") or data.get("trainer_phone")):
        _add(errors, "trainer_phone", _l("Vul een telefoonnummer of e-mailadres van de praktijkopleider in: de school "
                                         "moet hem of haar kunnen bereiken."))
    if data.get("with_coach") and not data.get("coach_name"):
        _add(errors, "coach_name", _l("Vul in wie de leerling begeleidt bij de start (bijvoorbeeld de jobcoach)."))
    return found, errors


def _company(session: Session, route: Route, data: dict[str, Any], current: Placement | None,
             errors: dict[str, list[str]]):
    """The employer entry chosen (checked when it changes), or None for a proposal; adds the
    field errors of a missing, double or wrong choice."""
    service_id, proposal_name = data.get("service_id"), data.get("proposal_name")
    if service_id and proposal_name:
        _add(errors, "service_id", _l("Kies een werkgever van de sociale kaart óf stel een nieuw bedrijf voor, "
                                      "niet allebei."))
        return None
    if not service_id and not proposal_name:
        if current is not None and current.proposal_id and current.organisation_id is None:
            return None  # still waiting for the map's editors: the proposal stays
        _add(errors, "service_id", _l("Kies een werkgever van de sociale kaart, of stel een nieuw bedrijf voor."))
        return None
    if not service_id:
        return None
    if current is not None and current.service_id == service_id:
        return current.service  # kept: an entry closed since may stay on an existing placement
    try:
        return check_employer(session, route.school.region_id, service_id)
    except ValidationFailed as exc:
        for field, messages in exc.errors.items():
            errors.setdefault(field, []).extend(messages)
        return None


def _goal_source(session: Session, route: Route, data: dict[str, Any]) -> tuple[Any, int | None]:
    """The plan the learning goals came from, when the form names the student's own plan."""
    agreement_id = data.get("goals_agreement_id")
    if not agreement_id or not data.get("learning_goals"):
        return None, None
    agreement = session.get(Agreement, agreement_id)
    if agreement is None or agreement.student_id != route.student_id or agreement.kind is not AgreementKind.plan:
        return None, None
    return agreement.id, data.get("goals_agreement_version")


def create_placement(session: Session, actor: Principal, keyring: Keyring, route: Route, data: dict[str, Any], *,
                     base_url: str = "") -> Placement:
    """Register a placement on ``route`` (school staff of the route's school, route not closed).

    :param data: loaded :class:`~referrals.placements.schemas.PlacementArgs`.
    :raises ValidationFailed: every field error at once; nothing is written.
    """
    require_route_manager(actor, route)
    found, errors = _check(session, route, data, exclude_id=None, live=True)
    service = _company(session, route, data, None, errors)
    data = {**data, "werkprocessen": _werkprocessen(session, actor, service, data, None, errors)}
    if errors:
        raise ValidationFailed(errors=errors)
    placement = Placement(uuid=uuid.uuid4(), route=route, student_id=route.student_id, school_id=route.school_id,
                          status=PlacementStatus.planned, created_by_name=actor.name,
                          **{name: data.get(name) for name in PLAIN_FIELDS})
    placement.with_coach = bool(data.get("with_coach"))
    placement.coach_name = data.get("coach_name") if placement.with_coach else None
    _apply_company(placement, service, _proposal(session, actor, keyring, None, route, service, data, base_url))
    _store_goals(keyring, placement, data.get("learning_goals") or [])
    placement.goals_agreement_id, placement.goals_agreement_version = _goal_source(session, route, data)
    placement.events.append(PlacementEvent(kind=PlacementEventKind.created, to_status=PlacementStatus.planned,
                                           actor_account_id=actor.account_id, actor_name=actor.name))
    session.add(placement)
    session.flush()  # the placement's id goes into the audit event
    record(session, actor, action=AuditAction.create, event_type=PlacementTag.create, object_type="placement",
           object_id=placement.id, student_id=route.student_id, purpose=PURPOSE_SCHOOL, basis=SCHOOL_BASIS,
           detail={"kind": placement.kind.value, "organisation_id": placement.organisation_id,
                   "proposal_id": placement.proposal_id, "overlap_confirmed": bool(found)})
    placement_created.send(placement, session=session, keyring=keyring)
    return placement


def _proposal(session: Session, actor: Principal, keyring: Keyring, placement: Placement | None, route: Route,
              service: Service | None, data: dict[str, Any], base_url: str) -> EmployerProposal | None:
    """The proposal the placement's company is, when no employer entry was chosen: the one the
    placement has for the same name, or a pending (or new) one (:func:`propose_employer`)."""
    if service is not None or not data.get("proposal_name"):
        return None
    kept = placement.proposal if placement is not None else None
    if (kept is not None and placement.organisation_id is None
            and kept.name.lower() == data["proposal_name"].strip().lower()):
        return kept  # the same company, still (or no longer) waiting for the map's editors
    return propose_employer(session, actor, keyring, route.school, data, base_url=base_url)


def _apply_company(placement: Placement, service: Service | None, proposal: EmployerProposal | None) -> None:
    if service is not None:
        placement.service, placement.service_id = service, service.id
        placement.organisation, placement.organisation_id = service.organisation, service.organisation_id
        placement.proposal, placement.proposal_id = None, None
    elif proposal is not None:
        placement.proposal, placement.proposal_id = proposal, proposal.id
        placement.service = placement.organisation = None
        placement.service_id = placement.organisation_id = None


def update_placement(session: Session, actor: Principal, keyring: Keyring, placement: Placement,
                     data: dict[str, Any], *, expected_version: int | None = None, base_url: str = "") -> list[str]:
    """Save the edit form of ``placement`` (all its fields, as :func:`create_placement` takes
    them). Returns the changed fields (none: nothing is written).

    :raises Conflict: the placement is final or its route closed, or someone saved in between
        (``expected_version``, or the row version at the flush).
    :raises ValidationFailed: every field error at once; nothing is written.
    """
    require_manager(actor, placement)
    if expected_version is not None and placement.version != expected_version:
        raise Conflict(CONFLICT_MESSAGE)
    route = placement.route
    found, errors = _check(session, route, data, exclude_id=placement.id, live=placement.status in LIVE)
    service = _company(session, route, data, placement, errors)
    werkprocessen = _werkprocessen(session, actor, service, data, placement.id, errors)
    if errors:
        raise ValidationFailed(errors=errors)
    data = {**data, "with_coach": bool(data.get("with_coach")), "werkprocessen": werkprocessen}
    if not data["with_coach"]:
        data["coach_name"] = None
    goal_source = _goal_source(session, route, data)
    proposal = _proposal(session, actor, keyring, placement, route, service, data, base_url)
    # one write, one row-version step: no query in between may flush half of the change
    with session.no_autoflush:
        changed = [name for name in PLAIN_FIELDS if getattr(placement, name) != data.get(name)]
        for name in changed:
            setattr(placement, name, data.get(name))
        before = (placement.organisation_id, placement.proposal_id)
        _apply_company(placement, service, proposal)
        if (placement.organisation_id, placement.proposal_id) != before:
            changed.append("company")
        goals = data.get("learning_goals") or []
        if goals != learning_goals(keyring, placement):
            _store_goals(keyring, placement, goals)
            placement.goals_agreement_id, placement.goals_agreement_version = goal_source
            changed.append("learning_goals")
    if not changed:
        return changed
    try:
        session.flush()  # the row-version check runs here: a concurrent save makes it fail
    except StaleDataError as exc:
        raise Conflict(CONFLICT_MESSAGE) from exc
    follow_edit(session, placement, changed)  # the stageprotocol's contacts follow the stagebegeleider and the end
    record(session, actor, action=AuditAction.update, event_type=PlacementTag.update, object_type="placement",
           object_id=placement.id, student_id=placement.student_id, purpose=PURPOSE_SCHOOL, basis=SCHOOL_BASIS,
           detail={"fields": sorted(changed), "overlap_confirmed": bool(found)})
    placement_updated.send(placement, session=session, keyring=keyring)
    return changed


# -- filling the form in one step ------------------------------------------------------------

def earlier_werkprocessen(session: Session, actor: Principal, organisation_id: int | None, function: str | None, *,
                          exclude_id: int | None = None) -> list[str]:
    """The werkprocessen of the school's latest placement at the company ``organisation_id`` in
    the same function (case and spaces aside); none found: an empty list. Only the werkprocessen
    are read: they describe the function, not the student."""
    if organisation_id is None or not function or not actor.is_school_staff:
        return []
    query = select(Placement.werkprocessen).where(
        Placement.school_id == actor.organisation_id, Placement.organisation_id == organisation_id,
        func.lower(func.trim(Placement.function)) == function.strip().lower())
    if exclude_id is not None:
        query = query.where(Placement.id != exclude_id)
    rows = session.scalars(query.order_by(Placement.created_at.desc(), Placement.id.desc()).limit(20))
    return next((list(found) for found in rows if found), [])


def _werkprocessen(session: Session, actor: Principal, service: Service | None, data: dict[str, Any],
                   exclude_id: int | None, errors: dict[str, list[str]]) -> list[str]:
    """The werkprocessen to store: as typed, or, when ``copy_werkprocessen`` asks for it, those of
    the school's latest placement at the same company in the same function followed by the
    typed ones it does not have."""
    typed = list(data.get("werkprocessen") or [])
    if not data.get("copy_werkprocessen"):
        return typed
    found = earlier_werkprocessen(session, actor, service.organisation_id if service else None, data.get("function"),
                                  exclude_id=exclude_id)
    if not found:
        _add(errors, "copy_werkprocessen", _l(
            "Er is geen eerdere stage van uw school bij dit bedrijf in deze functie met werkprocessen. Vink het "
            "overnemen uit en typ de werkprocessen zelf."))
    return found + [line for line in typed if line not in found]


@dataclass(frozen=True)
class PlanInternship:
    """The eindstage section of the student's school-naar-werk-plan, to prefill a placement."""

    agreement_id: Any
    version: int
    goals: list[str]
    company: str | None
    role: str | None
    mentor: str | None


def plan_internship(session: Session, actor: Principal, keyring: Keyring, student: Student) -> PlanInternship | None:
    """The learning goals (and company, function, praktijkbegeleider) of the eindstage in the
    student's open plan: the version in force, else the latest draft. The read of the plan is
    decided and audited (``placement:plan-goals``); no plan, no basis or no goals: None."""
    agreement_id = open_agreement_id(session, student, AgreementKind.plan)
    if agreement_id is None:
        return None
    try:
        agreement, access = find_agreement(session, actor, agreement_id)
        read_agreement(session, actor, agreement, access, event_type=PlacementTag.plan_goals)
    except (NotFound, Forbidden):
        return None
    version = agreement.active_version or agreement.latest
    section = (latest_content(keyring, version) or {}).get("internship") or {}
    goals = [text.strip() for key in ("goal_1", "goal_2", "goal_3")
             if isinstance(text := section.get(key), str) and text.strip()]
    if not goals:
        return None
    return PlanInternship(agreement.id, version.number, goals, section.get("company") or None,
                          section.get("role") or None, section.get("workplace_mentor") or None)


def default_kind(route: Route) -> PlacementKind | None:
    """What a new placement on the route most likely is: the eindstage when the route is there."""
    return PlacementKind.eindstage if route.phase is RoutePhase.eindstage else None
