"""The stageprotocol's lists and figures.

- :func:`due_contacts`: a stagebegeleider's open contacts due within :data:`HORIZON_DAYS` days
  or late ("mine"), or, for the school's zorgcoördinator, the whole school's; late first. A
  fixed number of statements per page whatever its size (the count, the page with its
  placements, students and companies, the decision for the students shown, its audit event).
- :func:`overdue_by_school`: per school of a region, the number of placements and contacts
  past their date: aggregates for the uitstroomcoördinator, no names (one statement).
- :func:`card`: what the visitekaartje shows (who to call in which situation).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session, contains_eager

from network import clock
from network.access import Category, decide_many
from network.db import Page
from network.errors import Forbidden
from network.models import Account, Membership, Organisation, Role
from network.permissions import Principal
from referrals.models import Route
from referrals.placements.access import PLACEMENT_CATEGORIES
from referrals.placements.models import Placement
from referrals.placements.protocol_models import ContactStatus, PlacementContact
from referrals.placements.states import PlacementStatus
from referrals.route_service import PURPOSE_SCHOOL
from referrals.tags import PlacementTag

C = PlacementContact
#: the list shows what is late and what is due within this many days
HORIZON_DAYS = 14
MINE, SCHOOL = "mine", "school"


@dataclass
class ContactRow:
    contact: PlacementContact
    #: None: the name is not allowed (the list then shows the placement's number)
    student_name: str | None
    late: bool


def scope_for(actor: Principal, wanted: str | None) -> str:
    """The zorgcoördinator may see the school's list; everyone else their own."""
    return SCHOOL if wanted == SCHOOL and actor.role is Role.zorgcoordinator else MINE


def due_contacts(session: Session, actor: Principal, *, scope: str = MINE, page: int = 1, per_page: int = 25,
                 today: dt.date | None = None) -> Page:
    """One page of open contacts of running placements, late first, then by date."""
    if not actor.is_school_staff:
        raise Forbidden(_l("Alleen medewerkers van een school houden stagecontacten bij."))
    today = today or clock.today()
    conditions = [C.school_id == actor.organisation_id, C.status == ContactStatus.planned,
                  C.due_date <= today + dt.timedelta(days=HORIZON_DAYS), Placement.status == PlacementStatus.running]
    if scope_for(actor, scope) == MINE:
        conditions.append(C.supervisor_account_id == actor.account_id)
    total = session.scalar(select(func.count(C.id)).join(Placement, Placement.id == C.placement_id)
                           .where(*conditions)) or 0
    page = max(1, page)
    contacts = list(session.scalars(
        select(C).join(Placement, Placement.id == C.placement_id).where(*conditions)
        # every row's placement, route, student, company and supervisor are many-to-one: joined into
        # the page's one query (a round trip each cost more than the joins)
        .options(contains_eager(C.placement).joinedload(Placement.route).joinedload(Route.student),
                 contains_eager(C.placement).joinedload(Placement.organisation),
                 contains_eager(C.placement).joinedload(Placement.proposal),
                 contains_eager(C.placement).joinedload(Placement.supervisor))
        .order_by(C.due_date, C.id).offset((page - 1) * per_page).limit(per_page)))
    decisions = decide_many(session, actor, [c.placement.route.student for c in contacts], PURPOSE_SCHOOL,
                            PLACEMENT_CATEGORIES, event_type=PlacementTag.contact_list)
    rows = []
    for contact in contacts:
        decision = decisions[contact.placement.student_id]
        if not decision.permits(Category.education):
            continue
        name = contact.placement.route.student.full_name if decision.permits(Category.contact) else None
        rows.append(ContactRow(contact, name, contact.due_date < today))
    return Page(rows, total, page, per_page)


@dataclass(frozen=True)
class SchoolOverdue:
    school: str
    placements: int
    contacts: int
    escalated: int


def overdue_by_school(session: Session, region_id: int, *, today: dt.date | None = None) -> list[SchoolOverdue]:
    """Per school of the region with late contacts of running placements: how many placements,
    contacts and escalated contacts. No student data."""
    today = today or clock.today()
    rows = session.execute(
        select(Organisation.name, func.count(distinct(C.placement_id)), func.count(C.id), func.count(C.escalated_at))
        .join(Organisation, Organisation.id == C.school_id).join(Placement, Placement.id == C.placement_id)
        .where(Organisation.region_id == region_id, C.status == ContactStatus.planned, C.due_date < today,
               Placement.status == PlacementStatus.running)
        .group_by(Organisation.id, Organisation.name).order_by(func.count(C.id).desc(), Organisation.name))
    return [SchoolOverdue(*row) for row in rows]


@dataclass(frozen=True)
class Contact:
    role: str
    name: str
    phone: str | None
    email: str | None
    when: str


def card(session: Session, placement: Placement) -> list[Contact]:
    """Who the student and the praktijkopleider call, and when (the visitekaartje)."""
    school = placement.route.school
    supervisor = placement.supervisor
    people = [Contact(str(_l("Stagebegeleider van de school")), supervisor.name if supervisor else school.name,
                      school.phone, supervisor.email if supervisor else school.email,
                      str(_l("Vragen over de stage, afspraken, leerdoelen; als het niet goed gaat; bij ziekte "
                             "(na de praktijkopleider).")))]
    zorg = session.execute(
        select(Account.name, Account.email).join(Membership, Membership.account_id == Account.id)
        .where(Membership.organisation_id == school.id, Membership.role == Role.zorgcoordinator,
               Account.is_active.is_(True)).order_by(Account.name).limit(2)).all()
    for name, email in zorg:
        people.append(Contact(str(_l("Zorgcoördinator van de school")), name, school.phone, email,
                              str(_l("Als de stagebegeleider niet bereikbaar is, of bij zorgen over de leerling."))))
    people.append(Contact(str(_l("Praktijkopleider bij het bedrijf")), placement.trainer_name, placement.trainer_phone,
                          placement.trainer_email,
                          str(_l("Bij ziekte of te laat komen: vóór de werktijd bellen. Vragen over het werk."))))
    return people
