"""The sociale kaart as HSDS 3.0 (Open Referral): services, organizations, service-at-locations
and taxonomies out, and HSDS JSON in.

Mapping (what the hub models; other HSDS fields are not kept):

- service: id, organization_id, name, alternate_name, description, url, email, status,
  eligibility_description, minimum_age, maximum_age, assured_date, assurer_email,
  last_modified; ``phones`` (the general number), ``schedules`` (opening hours as text),
  ``service_areas`` (gemeenten; postcodes as one area), ``service_at_locations``,
  ``contacts`` (only with ``include_personal``), ``metadata`` (the change history; contact
  changes only with ``include_personal``) and ``attributes``: the Dutch vocabularies as
  taxonomy terms ("waarvoor te benaderen", doelgroep, aanbod-werkgever, capaciteit with its
  date as value, kenmerk: afdeling, sector, SBB-erkend, intern).
- organization: the profile's id, name, alternate_name, description, email, website, and
  KvK/BRIN/OIN as ``organization_identifiers``; its type as an attribute.

Ids: services, contacts, locations and service-at-locations keep their (imported) ids;
derived objects (phones without an id, schedules, areas, attributes) get stable UUIDv5 ids.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from network.models import Organisation
from socialmap.models import Category, Service, ServiceChange, TagVocabulary
from socialmap.vocab import (
    CAPACITY_LABELS,
    FEATURES,
    OFFERS,
    ORGANISATION_TYPE_LABELS,
    TARGET_GROUPS,
    TAXONOMIES,
    stable_uuid,
    taxonomy_id,
    term_id,
)

HSDS_VERSION = "3.0"
OPENAPI_URL = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/openapi.json"
IDENTIFIER_TYPES = {"kvk": ("NL-KVK", "KvK-nummer"), "brin": ("NL-BRIN", "BRIN"), "oin": ("NL-OIN", "OIN")}


def iso(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return value.isoformat()


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    """HSDS leaves unknown values out rather than sending null."""
    return {key: value for key, value in data.items() if value is not None}


# -- taxonomies ------------------------------------------------------------------------------

def taxonomy(code: str) -> dict[str, Any]:
    name, description = TAXONOMIES[code]
    return {"id": str(taxonomy_id(code)), "name": name, "description": description, "version": "1"}


def _term(taxonomy_code: str, code: str, name: str, description: str | None = None,
          term_uuid=None) -> dict[str, Any]:
    return {"id": str(term_uuid or term_id(taxonomy_code, code)), "code": code, "name": name,
            "description": description or name, "taxonomy": TAXONOMIES[taxonomy_code][0],
            "taxonomy_id": str(taxonomy_id(taxonomy_code)), "language": "nl"}


def all_terms(categories: list[Category]) -> list[dict[str, Any]]:
    """Every taxonomy term the hub publishes (categories come from the database)."""
    terms = [_term("waarvoor-te-benaderen", c.code, c.name, c.description, c.uuid) for c in categories]
    terms += [_term("doelgroep", code, name) for code, name in TARGET_GROUPS.items()]
    terms += [_term("aanbod-werkgever", code, name) for code, name in OFFERS.items()]
    terms += [_term("capaciteit", c.value, name) for c, name in CAPACITY_LABELS.items()]
    terms += [_term("organisatiesoort", t.value, name) for t, name in ORGANISATION_TYPE_LABELS.items()]
    terms += [_term("kenmerk", code, name) for code, name in FEATURES.items()]
    return terms


def _attribute(owner_id, link_entity: str, term: dict[str, Any], value: str | None = None) -> dict[str, Any]:
    return _clean({"id": str(stable_uuid("attribute", owner_id, term["id"])), "link_id": str(owner_id),
                   "link_type": "taxonomy", "link_entity": link_entity, "taxonomy_term_id": term["id"],
                   "value": value, "taxonomy_term": term})


# -- services --------------------------------------------------------------------------------

def organization_id(organisation: Organisation, profiles: dict[int, Any]) -> str:
    profile = profiles.get(organisation.id)
    return str(profile.uuid if profile is not None else stable_uuid("organisation", organisation.id))


def service_one_to_one(service: Service, org_id: str) -> dict[str, Any]:
    """The service's own fields (the ``/services`` list item without nesting)."""
    return _clean({
        "id": str(service.uuid), "organization_id": org_id, "name": service.name,
        "alternate_name": service.alternate_name, "description": service.description, "url": service.url,
        "email": service.email, "status": service.status.value,
        "eligibility_description": service.eligibility_description, "minimum_age": service.minimum_age,
        "maximum_age": service.maximum_age, "assured_date": iso(service.assured_date),
        "assurer_email": service.assurer_email, "last_modified": iso(service.updated_at),
    })


def organization_basic(organisation: Organisation, profiles: dict[int, Any]) -> dict[str, Any]:
    profile = profiles.get(organisation.id)
    description = (profile.description if profile is not None and profile.description else None) or \
        ORGANISATION_TYPE_LABELS.get(organisation.type, "")
    return _clean({"id": organization_id(organisation, profiles), "name": organisation.name,
                   "alternate_name": profile.alternate_name if profile is not None else None,
                   "description": description, "email": organisation.email, "website": organisation.website})


def service_list_item(service: Service, profiles: dict[int, Any]) -> dict[str, Any]:
    item = service_one_to_one(service, organization_id(service.organisation, profiles))
    item["organization"] = organization_basic(service.organisation, profiles)
    return item


def _service_attributes(service: Service) -> list[dict[str, Any]]:
    owner = service.uuid
    attributes = [_attribute(owner, "service", _term("waarvoor-te-benaderen", c.code, c.name, c.description, c.uuid))
                  for c in service.categories]
    attributes += [_attribute(owner, "service", _term("doelgroep", code, TARGET_GROUPS.get(code, code)))
                   for code in service.tag_codes(TagVocabulary.target_group)]
    attributes += [_attribute(owner, "service", _term("aanbod-werkgever", code, OFFERS.get(code, code)))
                   for code in service.tag_codes(TagVocabulary.offer)]
    if service.capacity is not None:
        attributes.append(_attribute(owner, "service", _term("capaciteit", service.capacity.value,
                                                             CAPACITY_LABELS[service.capacity]),
                                     iso(service.capacity_updated_at)))
    features = {"afdeling": service.department, "sector": service.sector,
                "sbb-erkend": "ja" if service.sbb_recognised else None, "intern": "ja" if service.is_internal else None}
    attributes += [_attribute(owner, "service", _term("kenmerk", code, FEATURES[code]), value)
                   for code, value in features.items() if value]
    return attributes


def _contact(contact, service: Service) -> dict[str, Any]:
    phones = [] if not contact.phone else [{"id": str(contact.phone_uuid or stable_uuid("phone", contact.id)),
                                            "contact_id": str(contact.id), "number": contact.phone}]
    return _clean({"id": str(contact.id), "service_id": str(service.uuid), "name": contact.name,
                   "title": contact.title, "email": contact.email, "phones": phones})


def service_at_location(location, service: Service, *, nested_service: dict | None = None) -> dict[str, Any]:
    address = None
    if location.address or location.city or location.postal_code:
        address = {"id": str(location.address_uuid), "location_id": str(location.location_uuid),
                   "address_1": location.address or "", "city": location.city or "", "state_province": "",
                   "postal_code": location.postal_code or "", "country": "NL", "address_type": "physical"}
    data = _clean({
        "id": str(location.id), "service_id": str(service.uuid), "location_id": str(location.location_uuid),
        "description": location.description,
        "location": _clean({"id": str(location.location_uuid), "location_type": "physical", "name": location.name,
                            "addresses": [address] if address else []}),
    })
    if nested_service is not None:
        data["service"] = nested_service
    return data


def metadata_entry(change: ServiceChange, service: Service, *, include_personal: bool) -> dict[str, Any]:
    """One change as HSDS ``metadata``; the public sees the organisation, not the person."""
    resource_id = str(service.uuid) if change.resource_type == "service" else (change.resource_id or None)
    who = change.actor_name if include_personal else (change.organisation_name or "Schakel")
    return _clean({"id": str(change.id), "resource_id": resource_id, "resource_type": change.resource_type,
                   "last_action_date": iso(change.changed_at), "last_action_type": change.action,
                   "field_name": change.field, "previous_value": change.old_value or "",
                   "replacement_value": change.new_value or "", "updated_by": who or ""})


def service_full(service: Service, profiles: dict[int, Any], *, include_personal: bool,
                 history: list[ServiceChange] = (), with_organization: bool = True) -> dict[str, Any]:
    """The fully nested service (``/services/{id}``; each object of a full export)."""
    data = service_one_to_one(service, organization_id(service.organisation, profiles))
    data["phones"] = [{"id": str(service.phone_uuid or stable_uuid("phone", service.uuid)),
                       "service_id": str(service.uuid), "number": service.phone}] if service.phone else []
    data["schedules"] = [{"id": str(stable_uuid("schedule", service.uuid)), "service_id": str(service.uuid),
                          "description": service.opening_hours}] if service.opening_hours else []
    areas = [{"id": str(stable_uuid("area", service.uuid, name)), "service_id": str(service.uuid), "name": name}
             for name in service.tag_codes(TagVocabulary.gemeente)]
    if service.area_postcodes:
        areas.append({"id": str(stable_uuid("area", service.uuid, "postcodes")), "service_id": str(service.uuid),
                      "name": "Postcodes", "description": service.area_postcodes, "extent": service.area_postcodes,
                      "extent_type": "postcode"})
    data["service_areas"] = areas
    data["service_at_locations"] = [service_at_location(loc, service) for loc in service.locations]
    data["contacts"] = [_contact(c, service) for c in service.contacts] if include_personal else []
    data["attributes"] = _service_attributes(service)
    data["metadata"] = [metadata_entry(c, service, include_personal=include_personal) for c in history
                        if include_personal or c.resource_type != "contact"]
    if with_organization:
        data["organization"] = organization_basic(service.organisation, profiles)
    return data


def organization_full(organisation: Organisation, profiles: dict[int, Any], services: list[Service], *,
                      full_service: bool, include_personal: bool = False) -> dict[str, Any]:
    """The organization with its services (ids only unless ``full_service``)."""
    org_id = organization_id(organisation, profiles)
    data = organization_basic(organisation, profiles)
    data["organization_identifiers"] = [
        {"id": str(stable_uuid("identifier", org_id, kind)), "organization_id": org_id,
         "identifier_scheme": IDENTIFIER_TYPES[kind][0], "identifier_type": IDENTIFIER_TYPES[kind][1],
         "identifier": getattr(organisation, kind)}
        for kind in IDENTIFIER_TYPES if getattr(organisation, kind)]
    data["phones"] = [{"id": str(stable_uuid("phone", org_id)), "organization_id": org_id,
                       "number": organisation.phone}] if organisation.phone else []
    data["attributes"] = [_attribute(org_id, "organization", _term(
        "organisatiesoort", organisation.type.value, ORGANISATION_TYPE_LABELS[organisation.type]))]
    data["services"] = [service_full(s, profiles, include_personal=include_personal, with_organization=False)
                        if full_service else {"id": str(s.uuid), "name": s.name, "status": s.status.value}
                        for s in services]
    return data
