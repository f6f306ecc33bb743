"""Follow-up (nazorg) check-ins after the exit: recording what a check-in found, and the
alert to the region's RMC when the young person dropped out or is lost from view.

Same conventions as :mod:`referrals.route_service`: session, actor, keyring and clock in; flush,
never commit; audited in the same transaction. The alert carries no name (it leaves the hub
by e-mail); its link leads to a page where the RMC reads the student on its legal task.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from network.audit import AuditAction, record
from network.clock import utcnow
from network.crypto import Keyring
from network.db import compare_and_set
from network.errors import Conflict, NotFound, ValidationFailed
from network.models import Organisation, OrganisationType
from network.notifications import notify_organisation
from network.permissions import Principal
from referrals.models import ALERT_SITUATIONS, CheckIn, Route, RouteStatus, Situation
from referrals.route_service import (
    PURPOSE_RMC,
    PURPOSE_SCHOOL,
    RMC_ALERT_PATH,
    SCHOOL_BASIS,
    find_route,
    is_route_rmc,
    is_route_school_staff,
)
from referrals.tags import CheckinNotice, CheckinTag


def find_check_in(session: Session, actor: Principal, check_in_id: Any) -> CheckIn:
    """A check-in within the actor's walls: the school's staff, or the region's RMC."""
    check_in = session.get(CheckIn, check_in_id) if isinstance(check_in_id, int) and 0 < check_in_id < 2**31 else None
    if check_in is None:
        raise NotFound(_l("Dit nazorgcontact bestaat niet, of u heeft er geen toegang toe."))
    find_route(session, actor, check_in.route_id, rmc=True)
    return check_in


def rmc_organisations(session: Session, route: Route) -> list[Organisation]:
    """The active RMC organisation(s) of the region of the route's school."""
    region = select(Organisation.region_id).where(Organisation.id == route.school_id).scalar_subquery()
    return list(session.scalars(select(Organisation).where(
        Organisation.type == OrganisationType.rmc, Organisation.is_active.is_(True),
        Organisation.region_id == region).order_by(Organisation.id)))


def alert_title(situation: Situation, school_name: str) -> str:
    """The RMC alert's title: never the student's name (it leaves the hub by e-mail)."""
    if situation is Situation.uitgevallen:
        return f"Nazorg: een oud-leerling van {school_name} is uitgevallen — neem contact op"
    return f"Nazorg: van een oud-leerling van {school_name} is niet bekend hoe het gaat — neem contact op"


def record_check_in(session: Session, actor: Principal, keyring: Keyring, check_in: CheckIn, data: dict[str, Any],
                    *, base_url: str = "", now: dt.datetime | None = None) -> list[int]:
    """Record what a follow-up check-in found (``situation``, optional ``note``, encrypted).

    School staff of the route's school, or the region's RMC, record it. ``uitgevallen`` and
    ``onbekend`` alert the region's RMC at once (once per check-in, ``rmc_alerted_at``).
    Returns the ids of the RMC organisations alerted.
    """
    now = now or utcnow()
    route = check_in.route
    if not (is_route_school_staff(actor, route) or is_route_rmc(session, actor, route)):
        raise NotFound(_l("Dit nazorgcontact bestaat niet, of u heeft er geen toegang toe."))
    if route.status is not RouteStatus.followup:
        raise Conflict(_l("Dit traject is niet (meer) in de nazorg; er kan geen contact worden vastgelegd."))
    if check_in.recorded_at is not None:
        raise Conflict(_l("Dit nazorgcontact is al vastgelegd."))
    try:
        situation = Situation(data.get("situation"))
    except ValueError:
        raise ValidationFailed(errors={"situation": [_l("Kies hoe het met de oud-leerling gaat.")]}) from None
    # once: two people recording the same check-in at the same moment cannot both do it (nor
    # alert the RMC twice)
    if not compare_and_set(session, check_in, CheckIn.recorded_at.is_(None), situation=situation, recorded_at=now,
                           recorded_by_name=actor.name):
        raise Conflict(_l("Dit nazorgcontact is al vastgelegd."))
    note = (data.get("note") or "").strip()
    check_in.note_encrypted = keyring.encrypt(note, check_in.note_ref()) if note else None
    purpose = PURPOSE_SCHOOL if is_route_school_staff(actor, route) else PURPOSE_RMC
    record(session, actor, action=AuditAction.update, event_type=CheckinTag.record, object_type="check_in",
           object_id=check_in.id, student_id=route.student_id, purpose=purpose,
           basis=SCHOOL_BASIS if purpose == PURPOSE_SCHOOL else "legal_task:rmc-nazorg",
           detail={"months": check_in.months, "situation": situation.value, "note": bool(note)})
    alerted = []
    if situation in ALERT_SITUATIONS and check_in.rmc_alerted_at is None:
        link = RMC_ALERT_PATH.format(check_in_id=check_in.id)
        school_name = session.scalar(select(Organisation.name).where(Organisation.id == route.school_id))
        for rmc in rmc_organisations(session, route):
            notify_organisation(session, keyring, rmc.id, kind=CheckinNotice.rmc_alert,
                                title=alert_title(situation, school_name), link=link, base_url=base_url, now=now)
            alerted.append(rmc.id)
        if alerted:
            check_in.rmc_alerted_at = now
            record(session, actor, action=AuditAction.execute, event_type=CheckinTag.rmc_alert,
                   object_type="check_in", object_id=check_in.id, student_id=route.student_id, purpose=PURPOSE_RMC,
                   detail={"rmc": alerted, "situation": situation.value})
    session.flush()
    return alerted


def check_in_note(keyring: Keyring, check_in: CheckIn) -> str | None:
    return keyring.decrypt(check_in.note_encrypted, check_in.note_ref()) if check_in.note_encrypted else None
