"""How a ``data`` dict changes a sociale-kaart entry, field by field: the scalar fields,
categories, target groups / offers / gemeenten, the postcode area, contacts and locations.

Every change leaves a row in the entry's history (:class:`EntryHistory`, one per field), which
:func:`service_history` reads back. :mod:`socialmap.entries` creates and updates entries with
:func:`apply_changes`; a key that is absent from ``data`` is left alone.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from network.errors import ValidationFailed
from network.permissions import Principal
from socialmap.models import (
    Category,
    Contact,
    PostcodeRange,
    Service,
    ServiceChange,
    ServiceLocation,
    ServiceStatus,
    ServiceTag,
    TagVocabulary,
)

#: the scalar fields an editor changes, in the order the history shows them
SERVICE_FIELDS = (
    "name", "alternate_name", "description", "department", "url", "email", "phone", "minimum_age",
    "maximum_age", "eligibility_description", "area_postcodes", "opening_hours", "capacity", "is_internal",
    "status", "sector", "sbb_recognised", "response_days",
)


#: list fields -> tag vocabulary (categories are rows of their own)
TAG_FIELDS = {"target_groups": TagVocabulary.target_group, "offers": TagVocabulary.offer,
              "gemeenten": TagVocabulary.gemeente}


CONTACT_FIELDS = ("name", "title", "email", "phone")


LOCATION_FIELDS = ("name", "address", "postal_code", "city", "description")


def _text(value: Any) -> str | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, (list, tuple, set)):
        return ", ".join(sorted(str(v) for v in value))
    return str(getattr(value, "value", value))


class EntryHistory:
    """Collects per-field changes of one unit of work on one entry."""

    def __init__(self, session: Session, actor: Principal, service: Service, now: dt.datetime):
        self.session, self.actor, self.service, self.now = session, actor, service, now
        self.fields: list[str] = []

    def add(self, resource_type: str, resource_id: Any, action: str, field: str, old: Any, new: Any) -> None:
        old_text, new_text = _text(old), _text(new)
        if action == "update" and old_text == new_text:
            return
        acting = self.actor.acting
        self.session.add(ServiceChange(
            service_id=self.service.id, resource_type=resource_type, resource_id=str(resource_id), action=action,
            field=field, old_value=old_text, new_value=new_text, changed_at=self.now,
            account_id=self.actor.account_id, actor_name=self.actor.name,
            organisation_name=acting.organisation_name if acting else None))
        self.fields.append(field if resource_type == "service" else f"{resource_type}.{field}")


def _categories(session: Session, codes: list[str]) -> list[Category]:
    found = list(session.scalars(select(Category).where(Category.code.in_(codes)))) if codes else []
    unknown = sorted(set(codes) - {c.code for c in found})
    if unknown:
        raise ValidationFailed(errors={"categories": [_l("Onbekende categorie: %(codes)s.", codes=", ".join(unknown))]})
    return sorted(found, key=lambda c: (c.position, c.name))


#: how a submitted value is stored: flags as booleans, no status means active
_NORMALISE = {
    "is_internal": bool,
    "sbb_recognised": bool,
    "status": lambda value: ServiceStatus.active if value is None else value,
}


def _apply_fields(service: Service, data: dict[str, Any], history: EntryHistory, action: str) -> None:
    """The scalar fields; a new capacity is dated."""
    for name in SERVICE_FIELDS:
        if name not in data:
            continue
        old = getattr(service, name)
        new = _NORMALISE.get(name, lambda value: value)(data[name])
        if old != new:
            history.add("service", service.uuid, action, name, old, new)
            setattr(service, name, new)
            if name == "capacity":
                service.capacity_updated_at = history.now


def _apply_categories(session: Session, service: Service, codes: list[str], history: EntryHistory, action: str) -> None:
    new_categories = _categories(session, codes)
    old_codes = [c.code for c in service.categories]
    if sorted(old_codes) != sorted(c.code for c in new_categories):
        history.add("service", service.uuid, action, "categories", [c.name for c in service.categories],
                    [c.name for c in new_categories])
        service.categories = new_categories


def _apply_tags(service: Service, data: dict[str, Any], history: EntryHistory, action: str) -> None:
    """Target groups, offers and gemeenten: each a set of codes in its own vocabulary."""
    for name, vocabulary in TAG_FIELDS.items():
        if name not in data:
            continue
        old_codes = set(service.tag_codes(vocabulary))
        new_codes = {str(c).strip() for c in data[name] or [] if str(c).strip()}
        if old_codes != new_codes:
            history.add("service", service.uuid, action, name, old_codes, new_codes)
            service.tags = [t for t in service.tags if t.vocabulary != vocabulary] + [
                ServiceTag(vocabulary=vocabulary, code=code) for code in sorted(new_codes)]


def _apply_area(service: Service) -> None:
    """The parsed postcode ranges follow the area text (they are what search matches on)."""
    wanted = postcode_ranges(service.area_postcodes)
    if sorted((r.low, r.high) for r in service.postcode_ranges) != wanted:
        service.postcode_ranges = [PostcodeRange(low=low, high=high) for low, high in wanted]


def apply_changes(session: Session, service: Service, data: dict[str, Any], history: EntryHistory, action: str) -> None:
    _apply_fields(service, data, history, action)
    if "categories" in data:
        _apply_categories(session, service, list(data["categories"] or []), history, action)
    _apply_tags(service, data, history, action)
    if "area_postcodes" in data:
        _apply_area(service)
    if "contacts" in data:
        _apply_children(service.contacts, data["contacts"] or [], Contact, CONTACT_FIELDS, "contact", history,
                        extra=("phone_uuid",))
    if "locations" in data:
        _apply_children(service.locations, data["locations"] or [], ServiceLocation, LOCATION_FIELDS, "location",
                        history, extra=("location_uuid", "address_uuid"))


def _apply_children(current: list, wanted: list[dict[str, Any]], model, fields: tuple[str, ...], kind: str,
                    history: EntryHistory, extra: tuple[str, ...] = ()) -> None:
    """Make ``current`` (contacts or locations) match ``wanted``: rows with a known ``id`` are
    updated, new ones added (keeping a given id, as imports do), missing ones removed."""
    by_id = {row.id: row for row in current}
    keep = []
    for position, item in enumerate(wanted):
        row_id = item.get("id")
        row = by_id.get(row_id) if row_id else None
        if row is None:
            row = model(id=row_id or uuid.uuid4())
            for name in fields:
                history.add(kind, row.id, "create", name, None, item.get(name))
        else:
            for name in fields:
                history.add(kind, row.id, "update", name, getattr(row, name), item.get(name))
        for name in fields + extra:
            if name in item or name in fields:
                setattr(row, name, item.get(name))
        if hasattr(row, "position"):
            row.position = position
        keep.append(row)
    for row in current:
        if row not in keep:
            for name in fields:
                history.add(kind, row.id, "delete", name, getattr(row, name), None)
    current[:] = keep


def postcode_ranges(area: str | None) -> list[tuple[int, int]]:
    """``6511-6519, 6600, 6511 AB`` → ``[(6511, 6519), (6600, 6600)]`` (4-digit areas; the
    letters are dropped, so a street-level entry covers its whole 4-digit area)."""
    ranges = set()
    for token in (area or "").replace(";", ",").split(","):
        digits = [int(part.strip()[:4]) for part in token.split("-") if part.strip()[:4].isdigit()]
        if digits:
            low, high = digits[0], digits[-1]
            ranges.add((min(low, high), max(low, high)))
    return sorted(ranges)


def service_history(session: Session, service: Service, *, include_personal: bool) -> list[ServiceChange]:
    """The entry's changes, newest first; without contact persons' changes for the public."""
    query = select(ServiceChange).where(ServiceChange.service_id == service.id)
    if not include_personal:
        query = query.where(ServiceChange.resource_type != "contact")
    return list(session.scalars(query.order_by(ServiceChange.changed_at.desc(), ServiceChange.field)))
