"""The placement forms in and out: the values a form shows (from a placement, or prefilled for a
new one), the choices it offers, and the week and the lists in words. No database writes here;
what it reads is given to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext

from network.crypto import Keyring
from network.models import Account
from referrals.models import Route
from referrals.placements.models import Placement
from referrals.placements.service import PlanInternship, default_kind, learning_goals
from referrals.placements.states import (
    KIND_LABELS,
    STATUS_LABELS,
    WEEKDAY_LABELS,
    PlacementKind,
    Weekday,
    allowed_next,
    step_label,
)
from socialmap.models import Service


def hours_text(minutes: int | None) -> str:
    """Minutes as the form writes hours: ``6``, ``7,5``, ``7,25``."""
    if not minutes:
        return ""
    hours = minutes / 60
    return (f"{hours:.2f}".rstrip("0").rstrip(".")).replace(".", ",")


def placement_values(keyring: Keyring, placement: Placement) -> dict[str, Any]:
    """The edit form's values for ``placement`` (the lists one item per line)."""
    waiting = placement.proposal if placement.organisation_id is None else None
    values: dict[str, Any] = {
        "kind": placement.kind.value, "service_id": str(placement.service_id or ""),
        "proposal_name": waiting.name if waiting else "", "proposal_kvk": (waiting.kvk or "") if waiting else "",
        "proposal_gemeente": (waiting.gemeente or "") if waiting else "",
        "proposal_note": (waiting.note or "") if waiting else "",
        "supervisor_account_id": str(placement.supervisor_account_id or ""),
        "start_date": placement.start_date.isoformat(), "end_date": placement.end_date.isoformat(),
        "start_with": "begeleider" if placement.with_coach else "alleen",
        "learning_goals": "\n".join(learning_goals(keyring, placement)),
        "werkprocessen": "\n".join(placement.werkprocessen or []),
        "goals_agreement_id": str(placement.goals_agreement_id or ""),
        "goals_agreement_version": str(placement.goals_agreement_version or ""),
        "version": str(placement.version),
    }
    for name in ("function", "trainer_name", "trainer_function", "trainer_email", "trainer_phone", "coach_name"):
        values[name] = getattr(placement, name) or ""
    for day in Weekday:
        values[f"hours_{day.value}"] = hours_text((placement.schedule or {}).get(day.value))
    return values


def new_values(route: Route, plan: PlanInternship | None) -> dict[str, Any]:
    """A new placement's form: the route's responsible contact as stagebegeleider, the
    eindstage when the route is there, and what the plan says of the eindstage."""
    kind = default_kind(route)
    values: dict[str, Any] = {"supervisor_account_id": str(route.responsible_account_id or ""),
                              "kind": kind.value if kind else "", "start_with": "alleen"}
    if plan is not None:
        values.update({"learning_goals": "\n".join(plan.goals), "goals_agreement_id": str(plan.agreement_id),
                       "goals_agreement_version": str(plan.version), "function": plan.role or "",
                       "trainer_name": plan.mentor or ""})
    return values


def kind_options() -> list[tuple[str, Any]]:
    return [(kind.value, KIND_LABELS[kind]) for kind in PlacementKind]


def staff_options(accounts: Iterable[Account]) -> list[tuple[int, str]]:
    return [(account.id, account.name) for account in accounts]


def employer_groups(services: Iterable[Service]) -> list[tuple[str, list[tuple[int, str]]]]:
    """The employer entries as the select's groups: one per company (with its gemeente)."""
    groups: dict[int, tuple[str, list[tuple[int, str]]]] = {}
    for service in services:
        organisation = service.organisation
        label = f"{organisation.name} ({organisation.gemeente})" if organisation.gemeente else organisation.name
        groups.setdefault(organisation.id, (label, []))[1].append((service.id, service.name))
    return list(groups.values())


def status_options(placement: Placement) -> list[tuple[str, Any]]:
    """The steps the status form offers from the placement's status."""
    return [(target.value, step_label(placement.status, target)) for target in allowed_next(placement.status)]


def week_lines(placement: Placement) -> list[tuple[Any, str]]:
    """(day, hours) per working day, Monday first."""
    schedule = placement.schedule or {}
    return [(WEEKDAY_LABELS[day], hours_text(schedule[day.value])) for day in Weekday if schedule.get(day.value)]


def week_summary(placement: Placement) -> str:
    """``3 dagen, 18 uur per week``."""
    days = len(placement.schedule or {})
    return ngettext("%(num)d dag", "%(num)d dagen", days) + ", " + _(
        "%(hours)s uur per week", hours=hours_text(placement.minutes_per_week) or "0")


def status_label(placement: Placement) -> Any:
    return STATUS_LABELS[placement.status]
