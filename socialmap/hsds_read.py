"""Reading HSDS 3.0 documents for the import (:mod:`socialmap.hsds_import`), without the
database: which services a document holds with their organisations (:func:`services_in`), and
what the hub keeps of one service (:func:`read_service`: only the fields the document has, its
provenance and what is wrong with it)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from network.models import OrganisationType
from socialmap import hsds
from socialmap.hsds_schema import HsdsObject, NotHsds, hsds_objects, is_package
from socialmap.models import CapacityStatus, ServiceStatus
from socialmap.vocab import FEATURES, OFFERS, TARGET_GROUPS, taxonomy_id

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# -- finding the services in a document ------------------------------------------------------

def services_in(document: Any) -> tuple[list[tuple[dict, dict | None]], list[dict]]:
    """The (service, organization) pairs of an HSDS document, each service once, and the
    organizations in it that come without any service. A service named more than once (in a
    package's ``services`` and again in its ``service_at_locations``, or at two locations of a
    list page) is one service with the locations of all. Raises
    :class:`socialmap.hsds_schema.NotHsds` for other JSON and for a document without services."""
    objects = list(hsds_objects(document))
    package = is_package(document)
    listed = {obj.value.get("id"): obj.value for obj in objects if obj.kind == "organization"} if package else {}
    merged: dict[Any, tuple[dict, dict | None]] = {}
    for service, org in _pairs(objects, package):
        _merge(merged, service, org or listed.get(service.get("organization_id")))
    if not merged:
        raise NotHsds("het bestand bevat geen diensten (organisaties komen alleen met hun diensten mee)")
    if package:
        used = {org.get("id") for _service, org in merged.values() if org}
        loose = [org for org_id, org in listed.items() if org_id not in used]
    else:
        loose = [obj.value for obj in objects if obj.kind == "organization" and not _services_of(obj.value)]
    return list(merged.values()), loose


def _pairs(objects: list[HsdsObject], package: bool) -> Iterator[tuple[dict, dict | None]]:
    """(service, organization) as the objects give them: a service names its organization, a
    service-at-location its service, an organization (not a package's) carries its services."""
    for obj in objects:
        if obj.kind == "service":
            yield obj.value, obj.value.get("organization")
        elif obj.kind == "service_at_location":
            place = {k: v for k, v in obj.value.items() if k != "service"}
            service = {**(obj.value.get("service") or {}), "service_at_locations": [place]}
            yield service, service.get("organization")
        elif obj.kind == "organization" and not package:
            for service in _services_of(obj.value):
                yield service, obj.value


def _services_of(org: dict) -> list[dict]:
    return [s for s in org.get("services") or [] if isinstance(s, dict) and "status" in s]


def _merge(merged: dict[Any, tuple[dict, dict | None]], service: dict, org: dict | None) -> None:
    """Add a service, or the locations of one already there (by id)."""
    key = service.get("id") if isinstance(service.get("id"), str) else len(merged)
    if key not in merged:
        merged[key] = (service, org)
        return
    first, first_org = merged[key]
    places = {place.get("id"): place for place in first.get("service_at_locations") or []}
    for place in service.get("service_at_locations") or []:
        places.setdefault(place.get("id"), place)
    merged[key] = ({**first, "service_at_locations": list(places.values())}, first_org or org)


# -- reading one service (no database) -------------------------------------------------------

@dataclass
class ServiceEntry:
    """One HSDS service as the hub keeps it: ``data`` for :func:`create_service` and
    :func:`update_service` (only the fields the document has), its provenance, and its problems."""

    uuid: uuid.UUID
    data: dict[str, Any]
    provenance: dict[str, Any]
    problems: list[str]


def read_service(raw: dict) -> ServiceEntry:
    """Read one HSDS service. Raises ``KeyError``, ``ValueError`` or ``TypeError`` when it
    cannot be read at all (no id, an id that is no UUID, ...)."""
    problems: list[str] = []
    data = {**_scalars(raw, problems), **_phone_and_hours(raw), **_areas(raw), **_contacts(raw),
            **_locations(raw), **_attribute_values(raw)}
    return ServiceEntry(uuid.UUID(raw["id"]), data, _provenance(raw, problems), problems)


def _scalars(raw: dict, problems: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {"name": (raw.get("name") or "").strip()[:200]}
    if not data["name"]:
        problems.append("name ontbreekt")
    try:
        data["status"] = ServiceStatus(raw.get("status") or "active")
    except ValueError:
        problems.append(f"onbekende status {raw.get('status')!r}")
    if "email" in raw:
        data["email"] = raw["email"] or None
        if data["email"] and not EMAIL.match(data["email"]):
            problems.append(f"ongeldig e-mailadres {data['email']!r}")
    for key in ("alternate_name", "description", "url", "eligibility_description"):
        if key in raw:
            data[key] = raw[key]
    for key in ("minimum_age", "maximum_age"):
        if key in raw:
            data[key] = None if raw[key] is None else int(raw[key])
    return data


def _phone_and_hours(raw: dict) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if "phones" in raw:
        phones = raw["phones"] or []
        data["phone"] = phones[0].get("number") if phones else None
    if "schedules" in raw:
        data["opening_hours"] = ((raw["schedules"] or [{}])[0].get("description") or None)
    return data


def _areas(raw: dict) -> dict[str, Any]:
    if "service_areas" not in raw:
        return {}
    areas = raw["service_areas"] or []
    return {"gemeenten": [a["name"][:120] for a in areas if a.get("name") and a.get("extent_type") != "postcode"],
            "area_postcodes": next((a.get("extent") for a in areas if a.get("extent_type") == "postcode"), None)}


def _contacts(raw: dict) -> dict[str, Any]:
    """The contact persons of the service and of its locations, once each (by id), with the
    fields the file has (see :func:`_complete`). No persons at all leaves the hub's alone:
    open-data files, our own public export among them, leave persons out on purpose."""
    places = raw.get("service_at_locations") or []
    contacts: dict[str, dict] = {}
    for contact in (raw.get("contacts") or []) + [c for place in places for c in place.get("contacts") or []]:
        if contact.get("id") and contact["id"] not in contacts and contact.get("name"):
            contacts[contact["id"]] = _contact(contact)
    return {"contacts": list(contacts.values())} if contacts else {}


def _contact(contact: dict) -> dict[str, Any]:
    item: dict[str, Any] = {"id": uuid.UUID(contact["id"]), "name": contact["name"][:200]}
    if "title" in contact:
        item["title"] = contact["title"] or None
    if "email" in contact:
        item["email"] = contact["email"]
    if "phones" in contact:
        phone = (contact["phones"] or [{}])[0]
        item["phone"] = phone.get("number") or None
        item["phone_uuid"] = uuid.UUID(phone["id"]) if phone.get("id") else None
    return item


def _locations(raw: dict) -> dict[str, Any]:
    """The service's places with the fields the file has (see :func:`_complete`). The HSDS
    ids of location and address are kept when given; a new place without them gets new ones."""
    if "service_at_locations" not in raw:
        return {}
    locations = []
    for sal in raw["service_at_locations"] or []:
        location = sal.get("location") or {}
        place: dict[str, Any] = {"id": uuid.UUID(sal["id"])}
        if "name" in location:
            place["name"] = location["name"]
        if "description" in sal:
            place["description"] = sal["description"]
        if "addresses" in location:
            address = (location["addresses"] or [{}])[0]
            place.update(address=address.get("address_1"), postal_code=address.get("postal_code") or None,
                         city=address.get("city"))
            if address.get("id"):
                place["address_uuid"] = uuid.UUID(address["id"])
        if location.get("id") or sal.get("location_id"):
            place["location_uuid"] = uuid.UUID(location.get("id") or sal["location_id"])
        locations.append(place)
    return {"locations": locations}


def _attribute_values(raw: dict) -> dict[str, Any]:
    """Categories, tags, capacity and features from the attributes the hub publishes (other
    taxonomies are dropped)."""
    wanted: dict[str, list] = {"categories": [], "target_groups": [], "offers": []}
    values: dict[str, Any] = {}
    ours = {str(taxonomy_id(code)): code for code in hsds.TAXONOMIES}
    for attribute in raw.get("attributes") or []:
        term = attribute.get("taxonomy_term") or {}
        taxonomy = ours.get(term.get("taxonomy_id") or "")
        code = term.get("code")
        if taxonomy == "waarvoor-te-benaderen" and code:
            wanted["categories"].append((code, term))
        elif taxonomy == "doelgroep" and code in TARGET_GROUPS:
            wanted["target_groups"].append(code)
        elif taxonomy == "aanbod-werkgever" and code in OFFERS:
            wanted["offers"].append(code)
        elif taxonomy == "capaciteit" and code in CapacityStatus.__members__:
            values["capacity"] = CapacityStatus(code)
        elif taxonomy == "kenmerk" and code in FEATURES:
            value = attribute.get("value")
            key = {"afdeling": "department", "sector": "sector", "sbb-erkend": "sbb_recognised",
                   "intern": "is_internal"}[code]
            values[key] = value == "ja" if key in ("sbb_recognised", "is_internal") else value
    values.update({k: v for k, v in wanted.items() if v})
    return values


def _provenance(raw: dict, problems: list[str]) -> dict[str, Any]:
    """Assured date, assurer, phone id, last modification and metadata history of the source."""
    assured = None
    if raw.get("assured_date"):
        try:
            assured = dt.date.fromisoformat(raw["assured_date"][:10])
        except ValueError:
            problems.append(f"ongeldige assured_date {raw['assured_date']!r}")
    phones = raw.get("phones") or []
    history = [{"id": uuid.UUID(entry["id"]), "resource_type": (entry.get("resource_type") or "service")[:30],
                "resource_id": (entry.get("resource_id") or "")[:36],
                "action": (entry.get("last_action_type") or "")[:20],
                "field": (entry.get("field_name") or "")[:60], "old_value": entry.get("previous_value"),
                "new_value": entry.get("replacement_value"), "actor_name": (entry.get("updated_by") or "")[:200],
                "changed_at": _parse_time(entry.get("last_action_date"))}
               for entry in raw.get("metadata") or []]
    return {"assured_date": assured, "assurer_email": raw.get("assurer_email") or None,
            "phone_uuid": uuid.UUID(phones[0]["id"]) if phones and phones[0].get("id") else None,
            "last_modified": _parse_time(raw.get("last_modified")), "history": history}


def _parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def identifier(org: dict, *types: str) -> str | None:
    for item in org.get("organization_identifiers") or []:
        label = f"{item.get('identifier_scheme', '')} {item.get('identifier_type', '')}".lower()
        if any(t in label for t in types):
            return str(item.get("identifier") or "").strip() or None
    return None


def organisation_type(org: dict) -> OrganisationType:
    for attribute in org.get("attributes") or []:
        term = attribute.get("taxonomy_term") or {}
        if term.get("taxonomy_id") == str(taxonomy_id("organisatiesoort")):
            try:
                return OrganisationType(term.get("code"))
            except ValueError:
                break
    return OrganisationType.other
