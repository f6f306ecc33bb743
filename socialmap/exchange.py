"""HSDS 3.0 exchange: the full export (a package of services, organizations and
service-at-locations, each object valid against the official ``*_package`` schemas) and the
import of HSDS JSON (a service, an organization with services, a service-at-location, a list
page, or such a package), keeping ids.

Import rules: an organization is matched by its HSDS id, then by KvK/BRIN, then by name in the
region (a duplicate is linked, never doubled, and reported); a new one is made in the given
region. A service is matched by its id and updated, or created with that id. What the hub does
not model is dropped (see :mod:`socialmap.hsds`). Each service is checked first; one that
fails is reported and skipped, and nothing of it is written.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from network.models import Organisation, OrganisationType, Region
from network.permissions import Principal
from socialmap import hsds
from socialmap.models import (
    CapacityStatus,
    Category,
    OrganisationProfile,
    Service,
    ServiceChange,
    ServiceStatus,
)
from socialmap.service import (
    create_service,
    ensure_profile,
    update_service,
)
from socialmap.vocab import FEATURES, OFFERS, TARGET_GROUPS, taxonomy_id, term_id

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# -- export ----------------------------------------------------------------------------------

def export_package(session: Session, *, include_personal: bool, active_only: bool = False) -> dict[str, list]:
    """The whole map as HSDS: ``services``, ``organizations``, ``service_at_locations``,
    ``taxonomies`` and ``taxonomy_terms``, in one pass over the services (each batch loaded with
    its organisation, categories, tags, contacts, locations and history). (For very large maps
    use :func:`stream_package`.)"""
    from socialmap.service import list_categories

    profiles = {p.organisation_id: p for p in session.scalars(select(OrganisationProfile))}
    services, by_org, locations = [], {}, []
    for rows in _service_batches(session, active_only=active_only, batch=500, expunge=False):
        history = _batch_history(session, rows, include_personal=include_personal)
        for service in rows:
            services.append(hsds.service_full(service, profiles, include_personal=include_personal,
                                              history=history.get(service.id, [])))
            by_org.setdefault(service.organisation_id, (service.organisation, []))[1].append(service)
            list_item = hsds.service_list_item(service, profiles)
            locations += [hsds.service_at_location(loc, service, nested_service=list_item)
                          for loc in service.locations]
    organizations = [hsds.organization_full(org, profiles, rows, full_service=False)
                     for org, rows in by_org.values()]
    return {"services": services, "organizations": organizations, "service_at_locations": locations,
            "taxonomies": [hsds.taxonomy(code) for code in hsds.TAXONOMIES],
            "taxonomy_terms": hsds.all_terms(list_categories(session, active_only=False))}


def _service_batches(session: Session, *, active_only: bool, batch: int,
                     expunge: bool = True) -> Iterator[list[Service]]:
    last = 0
    while True:
        query = select(Service).where(Service.id > last).order_by(Service.id).limit(batch).options(
            selectinload(Service.organisation), selectinload(Service.categories), selectinload(Service.tags),
            selectinload(Service.contacts), selectinload(Service.locations))
        if active_only:
            query = query.where(Service.status == ServiceStatus.active)
        rows = session.scalars(query).all()
        if not rows:
            return
        last = rows[-1].id
        yield rows
        if expunge:
            session.expunge_all()  # flat memory: the batch is written, let it go


def _batch_history(session: Session, rows: list[Service], *,
                   include_personal: bool) -> dict[int, list[ServiceChange]]:
    """The changes of a batch of services, per service, newest first (as :func:`service_history`)."""
    history: dict[int, list[ServiceChange]] = {}
    query = select(ServiceChange).where(ServiceChange.service_id.in_([s.id for s in rows]))
    if not include_personal:
        query = query.where(ServiceChange.resource_type != "contact")
    for change in session.scalars(query.order_by(ServiceChange.changed_at.desc(), ServiceChange.field)):
        history.setdefault(change.service_id, []).append(change)
    return history


def stream_package(session: Session, *, include_personal: bool, active_only: bool = False,
                   batch: int = 500) -> Iterator[str]:
    """The same document as :func:`export_package`, as JSON text in pieces, in flat memory.

    One pass over the services, in batches (each loaded with its relations and history): the
    services are written at once, their service-at-locations go to a temporary file on disk
    and follow the services; then the organisations that have services, then the taxonomies.
    Write the pieces to a file or a streamed response. The session is emptied between
    batches: use one of its own."""
    import json
    import tempfile

    from socialmap.service import list_categories

    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    terms = hsds.all_terms(list_categories(session, active_only=False))
    org_ids: set[int] = set()
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as spool:
        yield '{"services":['
        first, first_location = True, True
        for rows in _service_batches(session, active_only=active_only, batch=batch):
            profiles = {p.organisation_id: p for p in session.scalars(select(OrganisationProfile).where(
                OrganisationProfile.organisation_id.in_({s.organisation_id for s in rows})))}
            history = _batch_history(session, rows, include_personal=include_personal)
            parts, locations = [], []
            for service in rows:
                org_ids.add(service.organisation_id)
                parts.append(dump(hsds.service_full(service, profiles, include_personal=include_personal,
                                                    history=history.get(service.id, []))))
                if service.locations:
                    list_item = hsds.service_list_item(service, profiles)
                    locations += [dump(hsds.service_at_location(loc, service, nested_service=list_item))
                                  for loc in service.locations]
            yield ("" if first else ",") + ",".join(parts)
            first = False
            if locations:
                spool.write(("" if first_location else ",") + ",".join(locations))
                first_location = False
        yield '],"service_at_locations":['
        spool.seek(0)
        while chunk := spool.read(1 << 18):
            yield chunk
    yield '],"organizations":['
    first = True
    ordered = sorted(org_ids)
    for start in range(0, len(ordered), batch):
        ids = ordered[start:start + batch]
        profiles = {p.organisation_id: p for p in session.scalars(
            select(OrganisationProfile).where(OrganisationProfile.organisation_id.in_(ids)))}
        services_by_org: dict[int, list[Service]] = {}
        query = select(Service).where(Service.organisation_id.in_(ids)).order_by(Service.id)
        if active_only:
            query = query.where(Service.status == ServiceStatus.active)
        for service in session.scalars(query):
            services_by_org.setdefault(service.organisation_id, []).append(service)
        orgs = session.scalars(select(Organisation).where(Organisation.id.in_(ids)).order_by(Organisation.id))
        parts = [dump(hsds.organization_full(org, profiles, services_by_org.get(org.id, []), full_service=False))
                 for org in orgs]
        yield ("" if first else ",") + ",".join(parts)
        first = False
        session.expunge_all()
    yield '],"taxonomies":' + dump([hsds.taxonomy(code) for code in hsds.TAXONOMIES])
    yield ',"taxonomy_terms":' + dump(terms) + "}"


# -- import ----------------------------------------------------------------------------------

@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    organisations_created: list[str] = field(default_factory=list)
    #: organisations that matched an existing one (KvK, BRIN or name) and were linked to it
    organisations_linked: list[str] = field(default_factory=list)
    #: service id or name -> problems; such a service is skipped
    errors: dict[str, list[str]] = field(default_factory=dict)


def _services_in(document: Any) -> list[tuple[dict, dict | None]]:
    """(service, organization) pairs found in any supported HSDS document."""
    if isinstance(document, list):
        return [pair for item in document for pair in _services_in(item)]
    if not isinstance(document, dict):
        return []
    if "contents" in document:
        return _services_in(document["contents"])
    if "services" in document and isinstance(document["services"], list) and "status" not in document:
        if "name" in document and "id" in document and "organizations" not in document:  # an organization
            return [(s, document) for s in document["services"] if "status" in s]
        orgs = {o.get("id"): o for o in document.get("organizations", [])}
        return [(s, s.get("organization") or orgs.get(s.get("organization_id"))) for s in document["services"]]
    if "service" in document and "location" in document:  # a service_at_location
        service = dict(document["service"])
        service.setdefault("service_at_locations", [{k: v for k, v in document.items() if k != "service"}])
        return [(service, service.get("organization"))]
    if "status" in document:
        return [(document, document.get("organization"))]
    return []


def _identifier(org: dict, *types: str) -> str | None:
    for item in org.get("organization_identifiers") or []:
        label = f"{item.get('identifier_scheme', '')} {item.get('identifier_type', '')}".lower()
        if any(t in label for t in types):
            return str(item.get("identifier") or "").strip() or None
    return None


def _organisation_type(org: dict) -> OrganisationType:
    for attribute in org.get("attributes") or []:
        term = attribute.get("taxonomy_term") or {}
        if term.get("taxonomy_id") == str(taxonomy_id("organisatiesoort")):
            try:
                return OrganisationType(term.get("code"))
            except ValueError:
                break
    return OrganisationType.other


def resolve_organisation(session: Session, actor: Principal, region: Region, org: dict,
                         report: ImportReport) -> Organisation:
    """The hub organisation for an HSDS organization: matched (id, KvK, BRIN, name) or new."""
    from network.directory import create_organisation

    org_uuid = uuid.UUID(org["id"]) if org.get("id") else None
    if org_uuid:
        profile = session.scalar(select(OrganisationProfile).where(OrganisationProfile.uuid == org_uuid))
        if profile is not None:
            return profile.organisation
    kvk, brin = _identifier(org, "kvk"), _identifier(org, "brin")
    oin = _identifier(org, "oin")
    name = (org.get("name") or "").strip()[:200]
    found = None
    if kvk:
        found = session.scalar(select(Organisation).where(Organisation.kvk == kvk, Organisation.region_id == region.id))
    if found is None and brin:
        found = session.scalar(select(Organisation).where(Organisation.brin == brin))
    if found is None and name:
        found = session.scalar(select(Organisation).where(Organisation.region_id == region.id,
                                                          func.lower(Organisation.name) == name.lower()))
    if found is not None:
        report.organisations_linked.append(found.name)
        profile = session.get(OrganisationProfile, found.id)
        if profile is None:
            ensure_profile(session, found, hsds_id=org_uuid)
        return found
    type_ = _organisation_type(org)
    if (type_ is OrganisationType.school and not brin) or (type_ is OrganisationType.werkgever and not kvk):
        type_ = OrganisationType.other
    email = org.get("email") if _EMAIL.match(org.get("email") or "") else None
    organisation = create_organisation(session, actor, region=region, name=name, type=type_, brin=brin, kvk=kvk,
                                       oin=oin, email=email, website=(org.get("website") or None))
    profile = ensure_profile(session, organisation, hsds_id=org_uuid)
    profile.description = org.get("description")
    profile.alternate_name = org.get("alternate_name")
    report.organisations_created.append(organisation.name)
    return organisation


def _attribute_values(service: dict) -> dict[str, Any]:
    """Categories, tags, capacity and features from the attributes the hub publishes."""
    wanted = {"categories": [], "target_groups": [], "offers": []}
    values: dict[str, Any] = {}
    ours = {str(taxonomy_id(code)): code for code in hsds.TAXONOMIES}
    for attribute in service.get("attributes") or []:
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


def _service_data(service: dict) -> tuple[dict[str, Any], list[str]]:
    problems: list[str] = []
    name = (service.get("name") or "").strip()
    if not name:
        problems.append("name ontbreekt")
    try:
        status = ServiceStatus(service.get("status") or "active")
    except ValueError:
        problems.append(f"onbekende status {service.get('status')!r}")
        status = ServiceStatus.active
    email = service.get("email")
    if email and not _EMAIL.match(email):
        problems.append(f"ongeldig e-mailadres {email!r}")
    phones = service.get("phones") or []
    contacts: dict[str, dict] = {}
    for contact in (service.get("contacts") or []) + [c for sal in service.get("service_at_locations") or []
                                                      for c in sal.get("contacts") or []]:
        if contact.get("id") and contact["id"] not in contacts and contact.get("name"):
            phone = (contact.get("phones") or [{}])[0]
            contacts[contact["id"]] = {"id": uuid.UUID(contact["id"]), "name": contact["name"][:200],
                                       "title": (contact.get("title") or None), "email": contact.get("email"),
                                       "phone": (phone.get("number") or None),
                                       "phone_uuid": uuid.UUID(phone["id"]) if phone.get("id") else None}
    locations = []
    for sal in service.get("service_at_locations") or []:
        location = sal.get("location") or {}
        address = (location.get("addresses") or [{}])[0]
        locations.append({"id": uuid.UUID(sal["id"]), "name": location.get("name"),
                          "address": address.get("address_1"), "postal_code": (address.get("postal_code") or None),
                          "city": address.get("city"), "description": sal.get("description"),
                          "location_uuid": uuid.UUID(location.get("id") or sal.get("location_id") or str(uuid.uuid4())),
                          "address_uuid": uuid.UUID(address["id"]) if address.get("id") else uuid.uuid4()})
    areas = service.get("service_areas") or []
    postcodes = next((a.get("extent") for a in areas if a.get("extent_type") == "postcode"), None)
    data = {
        "name": name[:200], "alternate_name": service.get("alternate_name"), "description": service.get("description"),
        "url": service.get("url"), "email": email, "status": status,
        "eligibility_description": service.get("eligibility_description"),
        "minimum_age": service.get("minimum_age"), "maximum_age": service.get("maximum_age"),
        "phone": (phones[0].get("number") if phones else None),
        "opening_hours": ((service.get("schedules") or [{}])[0].get("description") or None),
        "gemeenten": [a["name"][:120] for a in areas if a.get("name") and a.get("extent_type") != "postcode"],
        "area_postcodes": postcodes, "contacts": list(contacts.values()), "locations": locations,
        **_attribute_values(service),
    }
    for key in ("minimum_age", "maximum_age"):
        if data[key] is not None:
            data[key] = int(data[key])
    return data, problems


def _ensure_categories(session: Session, wanted: list[tuple[str, dict]]) -> list[str]:
    codes = []
    for code, term in wanted:
        if session.scalar(select(Category.id).where(Category.code == code)) is None:
            session.add(Category(uuid=uuid.UUID(term.get("id")) if term.get("id") else term_id("waarvoor-te-benaderen", code),
                                 code=code[:40], name=(term.get("name") or code)[:80],
                                 description=term.get("description"), position=99, is_active=True))
            session.flush()
        codes.append(code)
    return codes


def _parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def import_document(session: Session, actor: Principal, region: Region, document: Any, *,
                    now: dt.datetime | None = None) -> ImportReport:
    """Import HSDS JSON into ``region``; flush, never commit. See the module docstring."""
    report = ImportReport()
    for raw, org in _services_in(document):
        key = raw.get("id") or raw.get("name") or "?"
        try:
            service_uuid = uuid.UUID(raw["id"])
            data, problems = _service_data(raw)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            report.errors[key] = [f"onleesbaar: {exc}"]
            continue
        if org is None:
            problems.append("de organisatie ontbreekt")
        if problems:
            report.errors[key] = problems
            continue
        with session.begin_nested():
            organisation = resolve_organisation(session, actor, region, org, report)
            if "categories" in data:
                data["categories"] = _ensure_categories(session, data["categories"])
            existing = session.scalar(select(Service).where(Service.uuid == service_uuid))
            if existing is None:
                service = create_service(session, actor, organisation, data, service_uuid=service_uuid, now=now)
                report.created.append(str(service_uuid))
            else:
                service = existing
                update_service(session, actor, service, data, counts_as_verification=False, now=now)
                report.updated.append(str(service_uuid))
            _import_provenance(session, service, raw)
    session.flush()
    return report


def _import_provenance(session: Session, service: Service, raw: dict) -> None:
    """Assured date, assurer, last modified and the metadata history, as the source had them."""
    if raw.get("assured_date"):
        assured = dt.date.fromisoformat(raw["assured_date"][:10])
        service.assured_date = assured
        service.verified_at = dt.datetime.combine(assured, dt.time(), dt.UTC)
    if raw.get("assurer_email"):
        service.assurer_email = raw["assurer_email"]
    phones = raw.get("phones") or []
    if phones and phones[0].get("id"):
        service.phone_uuid = uuid.UUID(phones[0]["id"])
    for entry in raw.get("metadata") or []:
        entry_id = uuid.UUID(entry["id"])
        if session.get(ServiceChange, entry_id) is None:
            session.add(ServiceChange(
                id=entry_id, service_id=service.id, resource_type=(entry.get("resource_type") or "service")[:30],
                resource_id=(entry.get("resource_id") or "")[:36], action=(entry.get("last_action_type") or "")[:20],
                field=(entry.get("field_name") or "")[:60], old_value=entry.get("previous_value"),
                new_value=entry.get("replacement_value"), actor_name=(entry.get("updated_by") or "")[:200],
                changed_at=_parse_time(entry.get("last_action_date")) or service.updated_at))
    session.flush()
    modified = _parse_time(raw.get("last_modified"))
    if modified is not None:
        # a plain UPDATE: the model's onupdate would stamp the import time instead
        session.execute(Service.__table__.update().where(Service.id == service.id).values(updated_at=modified))
        session.expire(service, ["updated_at"])
