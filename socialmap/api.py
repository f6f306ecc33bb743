"""The HSDS 3.0 read API at ``/hsds``, as the official OpenAPI describes it (``/``, services,
organizations, service_at_locations, taxonomies, taxonomy_terms; the ``Page`` envelope;
``page``/``per_page``; ``modified_after``; ``search``; ``format=ndjson`` streams every service).

It is public and read-only: active entries only, never contact persons. The OpenAPI document
is the official one (``/`` links to it), so this is a plain blueprint rather than a
flask-smorest one, which would publish a second, generated description of the same paths.
Errors are RFC 9457 problem+json like the rest of the API. The query parameters and the
service filters are read in :mod:`socialmap.hsds_query`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import Blueprint, Response, jsonify, request, stream_with_context
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import HTTPException

from network.db import db
from network.errors import (
    DomainError,
    NotFound,
    handle_http_exception,
    problem_response,
)
from network.models import Organisation
from socialmap import hsds
from socialmap.entries import list_categories
from socialmap.entry_changes import service_history
from socialmap.hsds_query import bool_arg, int_arg, service_filters, uuid_arg
from socialmap.models import OrganisationProfile, Service, ServiceLocation, ServiceStatus
from socialmap.search import SearchQuery, search_services
from socialmap.vocab import TAXONOMIES, taxonomy_id

bp = Blueprint("hsds", __name__, url_prefix="/hsds")

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 25


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError):
    return problem_response(error.status, title=error.title, detail=error.detail, code=error.code,
                            errors=error.errors)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    if error.code == 404:
        return problem_response(404)
    return handle_http_exception(error)


def _page(contents: list[Any], total: int, page: int, per_page: int) -> Response:
    pages = max(1, -(-total // per_page))
    return jsonify({"total_items": total, "total_pages": pages, "page_number": page, "size": len(contents),
                    "first_page": page == 1, "last_page": page >= pages, "empty": total == 0,
                    "contents": contents})


def _profiles(organisation_ids) -> dict[int, OrganisationProfile]:
    ids = set(organisation_ids)
    if not ids:
        return {}
    rows = db.session.scalars(select(OrganisationProfile).where(OrganisationProfile.organisation_id.in_(ids)))
    return {p.organisation_id: p for p in rows}


def _full_options():
    return (selectinload(Service.organisation), selectinload(Service.categories), selectinload(Service.tags),
            selectinload(Service.locations))


@bp.get("")
def meta():
    return jsonify({"version": hsds.HSDS_VERSION, "profile": "https://schakel.nl/hsds-profiel",
                    "openapi_url": hsds.OPENAPI_URL})


@bp.get("/services")
def services():
    if request.args.get("format") == "ndjson":
        return _ndjson_services()
    page, per_page = int_arg("page", 1, 1, 1_000_000), int_arg("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    minimal, full = bool_arg("minimal"), bool_arg("full")
    conditions = service_filters()
    search = (request.args.get("search") or "").strip()[:100]
    if search:
        # the filters go into the search query itself, so total_items counts what matches both
        result = search_services(db.session, SearchQuery(text=search, conditions=tuple(conditions)), page=page,
                                 per_page=per_page)
        items, total = result.page.items, result.page.total
    else:
        total = db.session.scalar(select(func.count()).select_from(Service).where(*conditions))
        items = db.session.scalars(select(Service).where(*conditions).options(*_full_options())
                                   .order_by(Service.id).limit(per_page).offset((page - 1) * per_page)).all()
    if minimal:
        contents = [{"id": str(s.uuid), "name": s.name, "status": s.status.value,
                     "last_modified": hsds.iso(s.updated_at)} for s in items]
        return _page(contents, total, page, per_page)
    profiles = _profiles(s.organisation_id for s in items)
    if full:
        contents = [hsds.service_full(s, profiles, include_personal=False) for s in items]
    else:
        contents = [hsds.service_list_item(s, profiles) for s in items]
    return _page(contents, total, page, per_page)


def _ndjson_services() -> Response:
    """Every active service, fully nested, one JSON document per line, in batches (flat memory)."""
    conditions = service_filters()
    session = db.session

    def generate():
        last_id = 0
        while True:
            batch = session.scalars(select(Service).where(*conditions, Service.id > last_id)
                                    .options(*_full_options()).order_by(Service.id).limit(500)).all()
            if not batch:
                return
            profiles = _profiles(s.organisation_id for s in batch)
            for service in batch:
                yield json.dumps(hsds.service_full(service, profiles, include_personal=False),
                                 ensure_ascii=False) + "\n"
            last_id = batch[-1].id
            session.expunge_all()

    return Response(stream_with_context(generate()), mimetype="application/x-ndjson")


def _service_by_uuid(hsds_id: str) -> Service:
    try:
        key = uuid.UUID(hsds_id)
    except ValueError:
        raise NotFound() from None
    service = db.session.scalar(select(Service).where(Service.uuid == key, Service.status == ServiceStatus.active)
                                .options(*_full_options()))
    if service is None:
        raise NotFound()
    return service


@bp.get("/services/<hsds_id>")
def service(hsds_id: str):
    item = _service_by_uuid(hsds_id)
    history = service_history(db.session, item, include_personal=False)
    return jsonify(hsds.service_full(item, _profiles([item.organisation_id]), include_personal=False,
                                     history=history))


def _organisations_query():
    return (select(Organisation).join(OrganisationProfile, OrganisationProfile.organisation_id == Organisation.id)
            .where(Organisation.is_active.is_(True)))


def _active_services(organisation_ids) -> dict[int, list[Service]]:
    result: dict[int, list[Service]] = {}
    ids = list(organisation_ids)
    if ids:
        rows = db.session.scalars(select(Service).where(Service.organisation_id.in_(ids),
                                                        Service.status == ServiceStatus.active)
                                  .options(*_full_options()).order_by(Service.name))
        for row in rows:
            result.setdefault(row.organisation_id, []).append(row)
    return result


@bp.get("/organizations")
def organizations():
    page, per_page = int_arg("page", 1, 1, 1_000_000), int_arg("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    full, full_service = bool_arg("full"), bool_arg("full_service")
    query = _organisations_query()
    search = (request.args.get("search") or "").strip()[:100]
    if search:
        query = query.where(func.lower(Organisation.name).contains(search.lower(), autoescape=True))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    orgs = db.session.scalars(query.order_by(Organisation.name, Organisation.id)
                              .limit(per_page).offset((page - 1) * per_page)).all()
    profiles = _profiles(o.id for o in orgs)
    if full or full_service:
        services_by_org = _active_services(o.id for o in orgs)
        contents = [hsds.organization_full(o, profiles, services_by_org.get(o.id, []), full_service=full_service)
                    for o in orgs]
    else:
        contents = [hsds.organization_basic(o, profiles) for o in orgs]
    return _page(contents, total, page, per_page)


@bp.get("/organizations/<hsds_id>")
def organization(hsds_id: str):
    try:
        key = uuid.UUID(hsds_id)
    except ValueError:
        raise NotFound() from None
    org = db.session.scalar(_organisations_query().where(OrganisationProfile.uuid == key))
    if org is None:
        raise NotFound()
    profiles = _profiles([org.id])
    return jsonify(hsds.organization_full(org, profiles, _active_services([org.id]).get(org.id, []),
                                          full_service=bool_arg("full_service")))


def _locations_query():
    return (select(ServiceLocation).join(Service, Service.id == ServiceLocation.service_id)
            .where(Service.status == ServiceStatus.active))


@bp.get("/service_at_locations")
def service_at_locations():
    page, per_page = int_arg("page", 1, 1, 1_000_000), int_arg("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    full = bool_arg("full")
    query = _locations_query()
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.options(selectinload(ServiceLocation.service).selectinload(Service.organisation))
                              .order_by(ServiceLocation.id).limit(per_page).offset((page - 1) * per_page)).all()
    profiles = _profiles(r.service.organisation_id for r in rows) if full else {}
    contents = [hsds.service_at_location(r, r.service, nested_service=hsds.service_list_item(r.service, profiles)
                                         if full else None) for r in rows]
    return _page(contents, total, page, per_page)


@bp.get("/service_at_locations/<hsds_id>")
def service_at_location(hsds_id: str):
    try:
        key = uuid.UUID(hsds_id)
    except ValueError:
        raise NotFound() from None
    row = db.session.scalar(_locations_query().where(ServiceLocation.id == key))
    if row is None:
        raise NotFound()
    profiles = _profiles([row.service.organisation_id])
    return jsonify(hsds.service_at_location(row, row.service,
                                            nested_service=hsds.service_list_item(row.service, profiles)))


@bp.get("/taxonomies")
def taxonomies():
    page, per_page = int_arg("page", 1, 1, 1_000_000), int_arg("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    items = [hsds.taxonomy(code) for code in TAXONOMIES]
    return _page(items[(page - 1) * per_page: page * per_page], len(items), page, per_page)


@bp.get("/taxonomies/<hsds_id>")
def taxonomy(hsds_id: str):
    for code in TAXONOMIES:
        if str(taxonomy_id(code)) == hsds_id:
            return jsonify(hsds.taxonomy(code))
    raise NotFound()


@bp.get("/taxonomy_terms")
def taxonomy_terms():
    page, per_page = int_arg("page", 1, 1, 1_000_000), int_arg("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    taxonomy_filter = uuid_arg("taxonomy_id")
    bool_arg("top_only")  # every term is top level: there are no child terms
    parent = uuid_arg("parent_id")
    terms = hsds.all_terms(list_categories(db.session))
    if taxonomy_filter is not None:
        terms = [t for t in terms if t["taxonomy_id"] == str(taxonomy_filter)]
    if parent is not None:
        terms = []
    search = (request.args.get("search") or "").strip().lower()
    if search:
        terms = [t for t in terms if search in t["name"].lower()]
    return _page(terms[(page - 1) * per_page: page * per_page], len(terms), page, per_page)


@bp.get("/taxonomy_terms/<hsds_id>")
def taxonomy_term(hsds_id: str):
    for term in hsds.all_terms(list_categories(db.session)):
        if term["id"] == hsds_id:
            return jsonify(term)
    raise NotFound()
