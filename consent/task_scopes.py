"""Hub admin: each region's settings of the legal tasks' scopes (``/beheer/grondslagen/reikwijdte``).

The law sets the defaults: the RMC's task covers leavers without a startkwalificatie under 23,
PrO and VSO pupils after their exit and the routes with two years of RMC follow-up; UWV's task
covers students with an open doelgroepregister matter (a referral or a route step). A region
may narrow or widen the parts (:class:`~consent.models.RegionTaskScope`); the checks that use
them live in :mod:`referrals.scope`. Services flush, never commit, and audit every change.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent.models import TASK_SCOPE_DEFAULTS, RegionTaskScope, RouteFollowup
from consent.tags import ConsentTag
from network.audit import AuditAction, record
from network.errors import ValidationFailed
from network.models import Region

#: the settings' names, in the form's order
FIELDS = tuple(TASK_SCOPE_DEFAULTS)
MIN_AGE, MAX_AGE = 16, 30
FOLLOWUP_LABELS = {RouteFollowup.none: _l("Geen: alleen de groepen hierboven"),
                   RouteFollowup.rmc: _l("De trajecten met twee jaar RMC-nazorg (entree, of aangemeld bij het RMC)"),
                   RouteFollowup.all: _l("Alle trajecten in de nazorg")}


def region_settings(session: Session, region_id: int) -> dict[str, Any]:
    """The region's settings (its row, or the defaults), by name."""
    row = session.get(RegionTaskScope, region_id)
    return {name: getattr(row, name) for name in FIELDS} if row is not None else dict(TASK_SCOPE_DEFAULTS)


def all_region_settings(session: Session) -> list[tuple[Region, dict[str, Any]]]:
    """Every region with its settings, by name (two statements)."""
    rows = {row.region_id: row for row in session.scalars(select(RegionTaskScope))}
    return [(region, {name: getattr(rows[region.id], name) for name in FIELDS} if region.id in rows
             else dict(TASK_SCOPE_DEFAULTS)) for region in session.scalars(select(Region).order_by(Region.name))]


def _check(data: dict[str, Any]) -> dict[str, list[str]]:
    """An age the law can mean, and neither task left covering nobody (switch the task off instead)."""
    errors: dict[str, list[str]] = {}
    age = data.get("rmc_max_age")
    if not isinstance(age, int) or not MIN_AGE <= age <= MAX_AGE:
        errors["rmc_max_age"] = [_l("Kies een leeftijd van %(low)s tot en met %(high)s jaar (de wet zegt 23).",
                                    low=MIN_AGE, high=MAX_AGE)]
    if not (data.get("rmc_leavers") or data.get("rmc_pro_vso")
            or RouteFollowup(data["rmc_route_followup"]) is not RouteFollowup.none):
        errors["rmc_leavers"] = [_l("Zo valt geen enkele jongere onder de wettelijke taak van het RMC. Zet minstens "
                                    "één groep aan, of zet de wettelijke taak zelf uit.")]
    if not (data.get("uwv_open_referrals") or data.get("uwv_route_steps")):
        errors["uwv_open_referrals"] = [_l("Zo valt geen enkele leerling onder de wettelijke taak van UWV. Zet "
                                           "minstens één van de twee aan, of zet de wettelijke taak zelf uit.")]
    return errors


def update_region_settings(session: Session, actor, region: Region, data: dict[str, Any]) -> RegionTaskScope:
    """Hub admin: set ``region``'s settings of the legal tasks' scopes. Validated first
    (:class:`ValidationFailed` with Dutch field messages; nothing changes then); from the next
    decision on, the RMC and UWV of that region's schools' students are judged by them."""
    errors = _check(data)
    if errors:
        raise ValidationFailed(errors=errors)
    row = session.get(RegionTaskScope, region.id)
    if row is None:
        row = RegionTaskScope(region_id=region.id)
        session.add(row)
    for name in FIELDS:
        setattr(row, name, RouteFollowup(data[name]) if name == "rmc_route_followup" else data[name])
    row.updated_by_name = actor.name
    session.flush()
    record(session, actor, action=AuditAction.update, event_type=ConsentTag.task_scope_update,
           object_type="region", object_id=region.id,
           detail={name: str(getattr(row, name)) if name == "rmc_route_followup" else getattr(row, name)
                   for name in FIELDS})
    return row
