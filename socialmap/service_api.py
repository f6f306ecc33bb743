"""The sociale kaart's write API (``/api/v1/services``): an organisation's system keeps its own
entries: list, add, read, change and close them, contact persons and locations included.

The public, read-only HSDS API is :mod:`socialmap.api` (``/hsds``); this one is for members
(``socialmap:write``). The walls are the entry form's: :func:`socialmap.entries.can_edit_service`
(a partner's client edits only its own organisation's entries; anyone else's id is 404). Every
change goes through the editor's services (:func:`~socialmap.entries.create_service`,
:func:`~socialmap.entries.update_service`), so the history records who (``API-client <name>``),
when, which field, the old and the new value. Changes are guarded by the row version: ``ETag:
W/"<version>"`` and ``If-Match`` on PATCH and DELETE (428 without, 412 when stale). DELETE closes
the entry (status ``defunct``), as an editor does with the status field: referrals and the
history keep pointing at it. Every error is RFC 9457 problem+json.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from network.api import (
    ETAG_HEADER,
    NO_IF_MATCH,
    NOT_JSON,
    STALE,
    Blueprint,
    api_require,
    body_doc,
    check_if_match,
    etag,
    if_match_doc,
    json_body,
)
from network.db import db
from network.errors import NotFound, PreconditionFailed, ValidationFailed
from network.models import Organisation
from network.permissions import Permission, Principal
from network.web import current_principal
from socialmap.entries import create_service, get_service, update_service
from socialmap.models import Service, ServiceStatus, TagVocabulary
from socialmap.search import SearchQuery, search_services
from socialmap.service_api_schemas import (
    ServiceListArgs,
    ServicePageSchema,
    ServicePatchArgs,
    ServiceSchema,
    ServiceWriteArgs,
)

bp = Blueprint("services_api", __name__, url_prefix="/api/v1", description="Sociale kaart: de eigen diensten")

_NO_ACCESS = "U heeft geen toegang tot de sociale kaart via de API."
_STALE = "De dienst is intussen gewijzigd; haal hem opnieuw op."

def _body(service: Service) -> dict[str, Any]:
    scalar = ("name", "alternate_name", "description", "department", "url", "email", "phone", "minimum_age",
              "maximum_age", "eligibility_description", "area_postcodes", "opening_hours", "capacity_updated_at",
              "is_internal", "sector", "sbb_recognised", "response_days", "assured_date", "verified_at",
              "updated_at", "version")
    body = {name: getattr(service, name) for name in scalar}
    organisation = service.organisation
    body.update(
        id=service.uuid, organisation={"id": organisation.id, "name": organisation.name},
        categories=[c.code for c in service.categories], status=service.status.value,
        capacity=service.capacity.value if service.capacity else None,
        target_groups=service.tag_codes(TagVocabulary.target_group), offers=service.tag_codes(TagVocabulary.offer),
        gemeenten=service.tag_codes(TagVocabulary.gemeente),
        contacts=[{"id": c.id, "name": c.name, "title": c.title, "email": c.email, "phone": c.phone}
                  for c in service.contacts],
        locations=[{name: getattr(loc, name) for name in ("id", "name", "address", "postal_code", "city",
                                                          "description")} for loc in service.locations])
    return body


def _own_organisation(principal: Principal) -> Organisation:
    organisation = db.session.get(Organisation, principal.organisation_id) if principal.organisation_id else None
    if organisation is None:
        raise NotFound("U handelt niet namens een organisatie.")
    return organisation


def _check_child_ids(service: Service | None, data: dict[str, Any]) -> None:
    """Ids of contacts and locations name this entry's own rows (a new entry has none): an
    unknown id is a field error, never another entry's row."""
    for name, rows in (("contacts", service.contacts if service else []),
                       ("locations", service.locations if service else [])):
        known = {row.id for row in rows}
        if any(item.get("id") and item["id"] not in known for item in data.get(name) or []):
            raise ValidationFailed(errors={name: ["Onbekend id: laat het id weg voor een nieuwe, of gebruik een id "
                                                  "van deze dienst."]})


def _guarded(change, *args: Any, **kwargs: Any) -> None:
    """Run a change; the row-version check of a concurrent one fails at its flush: a 412 too."""
    try:
        change(*args, **kwargs)
    except StaleDataError:
        raise PreconditionFailed(_STALE) from None


@bp.route("/services", methods=["GET"])
@api_require(Permission.socialmap_service_edit, _NO_ACCESS)
@bp.arguments(ServiceListArgs, location="query")
@bp.response(200, ServicePageSchema)
@bp.problems((400, "Ongeldige invoer"), (401, "Niet ingelogd"),
           (403, "Geen toegang (of een token zonder scope `socialmap:write`)"))
def list_services(args):
    """De diensten van uw eigen organisatie op de sociale kaart, in elke status (of alleen
    `status`), te doorzoeken met `q`; op naam, met paginering (`page`, `per_page`)."""
    principal = current_principal()
    organisation = _own_organisation(principal)
    statuses = (args["status"],) if "status" in args else tuple(ServiceStatus)
    result = search_services(db.session, SearchQuery(text=args.get("q", ""), organisation_id=organisation.id,
                                                     statuses=statuses), page=args["page"], per_page=args["per_page"])
    page = result.page
    if page.items:  # the page's tags, contacts and locations in three statements, not three per entry
        db.session.scalars(select(Service).where(Service.id.in_([s.id for s in page.items])).options(
            selectinload(Service.tags), selectinload(Service.contacts), selectinload(Service.locations))).all()
    return {"items": [_body(s) for s in page.items], "page": page.page, "per_page": page.per_page,
            "total": page.total, "pages": page.pages}


@bp.route("/services", methods=["POST"])
@api_require(Permission.socialmap_service_edit, _NO_ACCESS)
@bp.doc(requestBody=body_doc(ServiceWriteArgs))
@bp.response(201, ServiceSchema, headers={**ETAG_HEADER, "Location": {"description": "De nieuwe dienst",
                                                                "schema": {"type": "string"}}})
@bp.problems((400, "Ongeldige invoer (per veld), een onbekend veld, of een naam die de organisatie al heeft"),
           (401, "Niet ingelogd"), (403, "Geen toegang (of een token zonder scope `socialmap:write`)"),
           NOT_JSON)
def create():
    """Zet een nieuwe dienst van uw organisatie op de sociale kaart. Elk ingevuld veld komt in
    de geschiedenis, met deze client als wie het deed."""
    principal = current_principal()
    organisation = _own_organisation(principal)
    data = json_body(ServiceWriteArgs())
    _check_child_ids(None, data)
    service = create_service(db.session, principal, organisation, data)
    body, tag = _body(service), etag(service.version)
    return body, 201, {"ETag": tag, "Location": f"/api/v1/services/{service.uuid}"}


@bp.route("/services/<uuid:service_id>", methods=["GET"])
@api_require(Permission.socialmap_service_edit, _NO_ACCESS)
@bp.response(200, ServiceSchema, headers=ETAG_HEADER)
@bp.problems((401, "Niet ingelogd"), (403, "Geen toegang (of een token zonder scope `socialmap:write`)"),
           (404, "Niet gevonden (of niet van uw organisatie)"))
def get_one(service_id):
    """Eén dienst van uw organisatie, met contactpersonen en locaties."""
    service = get_service(db.session, current_principal(), service_id, for_edit=True)
    return _body(service), {"ETag": etag(service.version)}


@bp.route("/services/<uuid:service_id>", methods=["PATCH"])
@api_require(Permission.socialmap_service_edit, _NO_ACCESS)
@bp.doc(parameters=[if_match_doc("de dienst")], requestBody=body_doc(ServicePatchArgs))
@bp.response(200, ServiceSchema, headers=ETAG_HEADER)
@bp.problems((400, "Ongeldige invoer (per veld) of een onbekend veld"), (401, "Niet ingelogd"),
           (403, "Geen toegang (of een token zonder scope `socialmap:write`)"),
           (404, "Niet gevonden (of niet van uw organisatie)"), STALE, NOT_JSON, NO_IF_MATCH)
def patch(service_id):
    """Wijzig velden van een dienst; wat u weglaat blijft zoals het was (`contacts` en
    `locations` zijn, als u ze stuurt, de hele nieuwe lijst). Vereist `If-Match`. Opslaan telt
    als bevestiging dat de dienst klopt, zoals in het formulier; elke wijziging komt in de
    geschiedenis."""
    principal = current_principal()
    service = get_service(db.session, principal, service_id, for_edit=True)
    check_if_match(service.version, "de dienst", stale=_STALE)
    data = json_body(ServicePatchArgs())
    _check_child_ids(service, data)
    _guarded(update_service, db.session, principal, service, data, expected_version=service.version)
    body, tag = _body(service), etag(service.version)
    return body, {"ETag": tag}


@bp.route("/services/<uuid:service_id>", methods=["DELETE"])
@api_require(Permission.socialmap_service_edit, _NO_ACCESS)
@bp.doc(parameters=[if_match_doc("de dienst")])
@bp.response(204)
@bp.problems((401, "Niet ingelogd"), (403, "Geen toegang (of een token zonder scope `socialmap:write`)"),
           (404, "Niet gevonden (of niet van uw organisatie)"), STALE, NO_IF_MATCH)
def close(service_id):
    """Sluit een dienst: de status wordt `defunct` (opgeheven). Hij verdwijnt uit het zoeken en
    uit `/hsds`; verwijzingen en de geschiedenis blijven kloppen. Vereist `If-Match`."""
    principal = current_principal()
    service = get_service(db.session, principal, service_id, for_edit=True)
    check_if_match(service.version, "de dienst", stale=_STALE)
    _guarded(update_service, db.session, principal, service, {"status": ServiceStatus.defunct},
             expected_version=service.version, counts_as_verification=False)
    return "", 204
