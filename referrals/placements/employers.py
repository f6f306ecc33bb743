"""The company of a placement: an employer entry of the sociale kaart, or a company proposed to
the map's editors.

An **employer entry** is a :class:`~socialmap.models.Service` of an organisation of type
``werkgever`` (the map's own definition of an employer, :mod:`socialmap.matching`), in the
region of the student's school; it is *active* when the entry's status is ``active`` and the
organisation is active. Any other choice is refused with a field error.

A **proposal** (:class:`EmployerProposal`) is the simple way in for a company that is not on the
map yet: the school names it with the placement; the region's uitstroomcoördinator is told
(a notification, no student data) and answers on ``/stagebedrijven/voorstellen``: added (the
entry chosen on the map; the placements that wait for it point at it from then on) or
declined with a reason. Making the entry itself stays the map's own work (``/sociale-kaart``).
A second placement at the same pending company reuses its proposal.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, contains_eager, selectinload
from sqlalchemy.orm.exc import StaleDataError

from network.audit import AuditAction, record
from network.clock import utcnow
from network.crypto import Keyring
from network.errors import Conflict, NotFound, ValidationFailed
from network.models import Account, Membership, Organisation, OrganisationType, Role
from network.notifications import notify
from network.permissions import Principal
from referrals.placements.models import EmployerProposal, Placement, ProposalStatus
from referrals.tags import EmployerProposalTag, PlacementNotice
from socialmap.models import Service, ServiceStatus

#: where the editors answer proposals (a path inside the hub: the services never import flask)
PROPOSALS_PATH = "/stagebedrijven/voorstellen"
#: the most entries the form's select offers (a region at scale has a few hundred employers)
MAX_CHOICES = 1000

NOT_AN_EMPLOYER = _l("Kies een werkgever van de sociale kaart in uw regio.")
INACTIVE = _l("Deze werkgever staat niet (meer) actief op de sociale kaart. Kies een andere, of stel het bedrijf "
              "voor als nieuw stagebedrijf.")
PROPOSAL_NOT_FOUND = _l("Dit voorstel bestaat niet, of het hoort bij een andere regio.")


def _employers(region_id: int):
    return (select(Service).join(Service.organisation)
            .where(Organisation.region_id == region_id, Organisation.type == OrganisationType.werkgever,
                   Organisation.is_active.is_(True), Service.status == ServiceStatus.active)
            .options(contains_eager(Service.organisation)))


def employer_entries(session: Session, region_id: int, *, limit: int = MAX_CHOICES) -> list[Service]:
    """The active employer entries of the region, by company and entry name (the form's select;
    a browser's select finds an option by its first letters as they are typed)."""
    query = _employers(region_id).order_by(Organisation.name, Service.name, Service.id).limit(limit)
    return list(session.scalars(query))


def check_employer(session: Session, region_id: int, service_id: Any) -> Service:
    """The employer entry ``service_id`` if it is one of the region's active ones, else
    :class:`ValidationFailed` on ``service_id`` saying why (not an employer, or not active)."""
    service = session.get(Service, service_id) if isinstance(service_id, int) else None
    organisation = service.organisation if service is not None else None
    if (organisation is None or organisation.region_id != region_id
            or organisation.type is not OrganisationType.werkgever):
        raise ValidationFailed(errors={"service_id": [NOT_AN_EMPLOYER]})
    if service.status is not ServiceStatus.active or not organisation.is_active:
        raise ValidationFailed(errors={"service_id": [INACTIVE]})
    return service


# -- proposals -------------------------------------------------------------------------------

def propose_employer(session: Session, actor: Principal, keyring: Keyring, school: Organisation,
                     data: dict[str, Any], *, base_url: str = "") -> EmployerProposal:
    """The pending proposal of the company named in ``data`` (``proposal_name``, ``proposal_kvk``,
    ``proposal_gemeente``, ``proposal_note``) for ``school``'s region: the one already pending
    under that name, or a new one, of which the region's uitstroomcoördinatoren are told."""
    name = data["proposal_name"].strip()
    found = session.scalar(select(EmployerProposal).where(
        EmployerProposal.region_id == school.region_id, EmployerProposal.status == ProposalStatus.pending,
        func.lower(EmployerProposal.name) == name.lower()).order_by(EmployerProposal.id).limit(1))
    if found is not None:
        return found
    proposal = EmployerProposal(region_id=school.region_id, school_id=school.id,
                                proposed_by_account_id=actor.account_id, proposed_by_name=actor.name, name=name,
                                kvk=data.get("proposal_kvk"), gemeente=data.get("proposal_gemeente"),
                                note=data.get("proposal_note"), status=ProposalStatus.pending)
    session.add(proposal)
    session.flush()  # the proposal's id goes into the audit event
    record(session, actor, action=AuditAction.create, event_type=EmployerProposalTag.create,
           object_type="employer_proposal", object_id=proposal.id, detail={"school_id": school.id})
    notify(session, keyring, region_coordinators(session, school.region_id), kind=PlacementNotice.employer_proposed,
           title=f"{school.name} stelt een nieuw stagebedrijf voor de sociale kaart voor: {name}",
           link=PROPOSALS_PATH, base_url=base_url)
    return proposal


def region_coordinators(session: Session, region_id: int) -> list[int]:
    """The active uitstroomcoördinatoren of the region: the map's editors."""
    return sorted(set(session.scalars(
        select(Membership.account_id).join(Account, Account.id == Membership.account_id)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(Organisation.region_id == region_id, Membership.role == Role.coordinator,
               Account.is_active.is_(True)))))


def _region_walls(actor: Principal):
    """The proposals the actor answers: the hub admin all, the uitstroomcoördinator the region's."""
    return [] if actor.role is Role.hub_admin else [EmployerProposal.region_id == actor.region_id]


def list_proposals(session: Session, actor: Principal, *, limit: int = 100) -> list[EmployerProposal]:
    """Pending proposals first (oldest first), then the decided ones (newest first)."""
    query = (select(EmployerProposal).where(*_region_walls(actor))
             .options(selectinload(EmployerProposal.school), selectinload(EmployerProposal.service))
             .order_by((EmployerProposal.status == ProposalStatus.pending).desc(),
                       EmployerProposal.decided_at.desc(), EmployerProposal.created_at, EmployerProposal.id))
    return list(session.scalars(query.limit(limit)))


def find_proposal(session: Session, actor: Principal, proposal_id: Any) -> EmployerProposal:
    proposal = session.get(EmployerProposal, proposal_id) if isinstance(proposal_id, int) else None
    if proposal is None or (actor.role is not Role.hub_admin and proposal.region_id != actor.region_id):
        raise NotFound(PROPOSAL_NOT_FOUND)
    return proposal


def decide_proposal(session: Session, actor: Principal, keyring: Keyring, proposal: EmployerProposal,
                    data: dict[str, Any], *, base_url: str = "") -> int:
    """Answer a proposal: ``decision`` ``added`` with the employer entry (``service_id``) the
    editors made or found on the map, whose placements then point at it; or ``declined`` with
    a ``reason``. The proposing staff member is told. Returns the placements linked.

    :raises Conflict: it was answered already."""
    if proposal.status is not ProposalStatus.pending:
        raise Conflict(_l("Dit voorstel is al beantwoord."))
    service = None
    if data["decision"] == ProposalStatus.added.value:
        service = check_employer(session, proposal.region_id, data.get("service_id"))
        proposal.status, proposal.service_id = ProposalStatus.added, service.id
        title = f"Het stagebedrijf {proposal.name} staat nu op de sociale kaart."
    else:
        if not data.get("reason"):
            raise ValidationFailed(errors={"reason": [_l("Schrijf waarom het bedrijf niet op de kaart komt.")]})
        proposal.status, proposal.decline_reason = ProposalStatus.declined, data["reason"]
        title = f"Het stagebedrijf {proposal.name} is niet op de sociale kaart gezet."
    proposal.decided_at, proposal.decided_by_name = utcnow(), actor.name
    try:
        session.flush()  # the row version: a second editor answering at the same moment is refused here
    except StaleDataError as exc:
        raise Conflict(_l("Dit voorstel is intussen door iemand anders beantwoord.")) from exc
    linked = 0
    if service is not None:
        linked = session.execute(update(Placement).where(Placement.proposal_id == proposal.id,
                                                         Placement.organisation_id.is_(None))
                                 .values(organisation_id=service.organisation_id, service_id=service.id,
                                         version=Placement.version + 1)
                                 .execution_options(synchronize_session=False)).rowcount
    record(session, actor, action=AuditAction.update, event_type=EmployerProposalTag.decide,
           object_type="employer_proposal", object_id=proposal.id,
           detail={"decision": proposal.status.value, "service_id": proposal.service_id, "placements": linked})
    if proposal.proposed_by_account_id:
        notify(session, keyring, [proposal.proposed_by_account_id], kind=PlacementNotice.employer_decided,
               title=title, base_url=base_url)
    return linked
