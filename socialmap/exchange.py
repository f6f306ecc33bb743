"""HSDS 3.0 export: the whole sociale kaart as a package of services, organizations and
service-at-locations (each object valid against the official ``*_package`` schemas), with
taxonomies and terms, at once (:func:`export_package`) or streamed in flat memory
(:func:`stream_package`). The import of such files is :mod:`socialmap.hsds_import`.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from network.models import Organisation
from socialmap import hsds
from socialmap.entries import list_categories
from socialmap.models import OrganisationProfile, Service, ServiceChange, ServiceStatus

# -- export ----------------------------------------------------------------------------------

def export_package(session: Session, *, include_personal: bool, active_only: bool = False) -> dict[str, list]:
    """The whole map as HSDS: ``services``, ``organizations``, ``service_at_locations``,
    ``taxonomies`` and ``taxonomy_terms``, in one pass over the services (each batch loaded with
    its organisation, categories, tags, contacts, locations and history). (For very large maps
    use :func:`stream_package`.)"""

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


def _export_size(session: Session, active_only: bool) -> int:
    """The services an export writes, and their organisations."""
    query = select(func.count(Service.id), func.count(Service.organisation_id.distinct()))
    if active_only:
        query = query.where(Service.status == ServiceStatus.active)
    services, organisations = session.execute(query).one()
    return services + organisations


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
                   batch: int = 500, on_progress: Callable[[int, int], None] | None = None) -> Iterator[str]:
    """The same document as :func:`export_package`, as JSON text in pieces, in flat memory.

    One pass over the services, in batches (each loaded with its relations and history): the
    services are written at once, their service-at-locations go to a temporary file on disk
    and follow the services; then the organisations that have services, then the taxonomies.
    Write the pieces to a file or a streamed response. The session is emptied between
    batches: use one of its own. ``on_progress(done, total)`` hears after each batch how many
    of the services and organisations are written (both counted first)."""


    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    terms = hsds.all_terms(list_categories(session, active_only=False))
    org_ids: set[int] = set()
    done, total = 0, _export_size(session, active_only) if on_progress is not None else 0

    def written(count: int) -> None:
        nonlocal done
        done += count
        if on_progress is not None:
            on_progress(min(done, total), max(total, done))

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
            written(len(rows))
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
        written(len(ids))
        session.expunge_all()
    yield '],"taxonomies":' + dump([hsds.taxonomy(code) for code in hsds.TAXONOMIES])
    yield ',"taxonomy_terms":' + dump(terms) + "}"
