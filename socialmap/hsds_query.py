"""The query parameters of the HSDS read API (:mod:`socialmap.api`): numbers, booleans, ISO 8601
times and uuids read from the request, each bad one a 400 problem with a Dutch message for its
parameter, and the filters of ``/hsds/services`` (taxonomy term or taxonomy, organisation,
``modified_after``, ``postcode``/``proximity``) as SQL conditions on active services.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

from flask import request
from sqlalchemy import exists, or_, select

from network.errors import ValidationFailed
from socialmap.models import (
    Category,
    OrganisationProfile,
    PostcodeRange,
    Service,
    ServiceStatus,
    ServiceTag,
    TagVocabulary,
    service_category,
)
from socialmap.vocab import OFFERS, TARGET_GROUPS, TAXONOMIES, taxonomy_id, term_id

_POSTCODE = re.compile(r"^([1-9][0-9]{3})\s?([A-Za-z]{2})?$")
_TAG_TAXONOMIES = {"doelgroep": (TagVocabulary.target_group, TARGET_GROUPS),
                   "aanbod-werkgever": (TagVocabulary.offer, OFFERS)}


def int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed(errors={name: ["Geef een geheel getal."]}) from None
    if not low <= value <= high:
        raise ValidationFailed(errors={name: [f"Geef een getal van {low} tot {high}."]})
    return value


def bool_arg(name: str) -> bool:
    raw = (request.args.get(name) or "").lower()
    if raw in ("", "false", "0", "no"):
        return False
    if raw in ("true", "1", "yes"):
        return True
    raise ValidationFailed(errors={name: ["Geef true of false."]})


def datetime_arg(name: str) -> dt.datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise ValidationFailed(errors={name: [
            "Geef een datum en tijd volgens ISO 8601, zoals 2026-01-31T12:00:00Z."]}) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def uuid_arg(name: str) -> uuid.UUID | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ValidationFailed(errors={name: ["Geef een geldige uuid."]}) from None


def service_filters() -> list:
    conditions = [Service.status == ServiceStatus.active]
    term = uuid_arg("taxonomy_term_id")
    if term is not None:
        conditions.append(_term_condition(term))
    taxonomy = uuid_arg("taxonomy_id")
    if taxonomy is not None:
        code = next((c for c in TAXONOMIES if taxonomy_id(c) == taxonomy), None)
        if code == "waarvoor-te-benaderen":
            conditions.append(exists().where(service_category.c.service_id == Service.id))
        elif code in _TAG_TAXONOMIES:
            conditions.append(exists().where(ServiceTag.service_id == Service.id,
                                             ServiceTag.vocabulary == _TAG_TAXONOMIES[code][0]))
        elif code == "capaciteit":
            conditions.append(Service.capacity.is_not(None))
        elif code is None:
            conditions.append(Service.id.is_(None))
    organization = uuid_arg("organization_id")
    if organization is not None:
        conditions.append(Service.organisation_id.in_(select(OrganisationProfile.organisation_id).where(
            OrganisationProfile.uuid == organization)))
    modified_after = datetime_arg("modified_after")
    if modified_after is not None:
        conditions.append(Service.updated_at >= modified_after)
    postcode = _postcode_arg()
    if postcode is not None:
        # a service whose area lists postcodes must cover this one; one without postcodes
        # (a gemeente or no area at all) is not excluded
        conditions.append(or_(
            ~exists().where(PostcodeRange.service_id == Service.id),
            exists().where(PostcodeRange.service_id == Service.id, PostcodeRange.low <= postcode,
                           PostcodeRange.high >= postcode)))
    return conditions


def _postcode_arg() -> int | None:
    """``postcode`` (a Dutch postcode: 6511, 6511 AB or 6511AB) as its 4-digit area. ``proximity``
    (metres from the postcode's centroid) is checked and accepted, but the hub has no
    coordinates: the filter is then the postcode's service-area coverage alone."""
    raw = (request.args.get("postcode") or "").strip()
    proximity = (request.args.get("proximity") or "").strip()
    if proximity:
        try:
            if float(proximity) < 0 or not raw:
                raise ValueError
        except ValueError:
            raise ValidationFailed(errors={"proximity": [
                "Geef een afstand in meters (0 of meer), samen met een postcode."]}) from None
    if not raw:
        return None
    match = _POSTCODE.match(raw)
    if match is None:
        raise ValidationFailed(errors={"postcode": ["Geef een postcode zoals 6511 AB of 6511."]})
    return int(match.group(1))


def _term_condition(term: uuid.UUID):
    category_ids = select(Category.id).where(Category.uuid == term)
    for code, (vocabulary, values) in _TAG_TAXONOMIES.items():
        for value in values:
            if term_id(code, value) == term:
                return exists().where(ServiceTag.service_id == Service.id, ServiceTag.vocabulary == vocabulary,
                                      ServiceTag.code == value)
    return exists().where(service_category.c.service_id == Service.id,
                          service_category.c.category_id.in_(category_ids))
