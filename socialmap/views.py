"""The sociale kaart in HTML (``/sociale-kaart``): search and browse, a page per entry and per
organisation (public: active entries without contact persons; members also see those), the
entry form, the one-click capacity and verification buttons, the confirm link of the
"klopt dit nog?" e-mail, the coordinator's freshness dashboard and the category catalogue."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, render_template, request, stream_with_context
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from network.audit import AuditAction, record
from network.clock import utcnow
from network.db import db
from network.errors import Conflict, NotFound, ValidationFailed
from network.models import Organisation, OrganisationType
from network.permissions import Permission, Role
from network.web import current_principal, redirect_to, require
from socialmap import freshness
from socialmap.blueprint import PER_PAGE, bp
from socialmap.catalogue import save_category
from socialmap.entries import (
    can_edit_service,
    create_service,
    editable_organisations,
    get_service,
    is_member,
    list_categories,
    set_capacity,
    update_service,
    verify_service,
)
from socialmap.entry_changes import service_history
from socialmap.models import (
    CapacityStatus,
    Category,
    Service,
    ServiceStatus,
    TagVocabulary,
)
from socialmap.schemas import CONTACT_ROWS, FIELD_LABELS, form_to_raw, load_service
from socialmap.search import SearchQuery, search_services
from socialmap.spreadsheet import csv_lines
from socialmap.tags import SocialmapTag
from socialmap.vocab import (
    ADAPTATIONS,
    CAPACITY_LABELS,
    OFFERS,
    ORGANISATION_TYPE_LABELS,
    PLACE_KINDS,
    STATUS_LABELS,
    TARGET_GROUPS,
)

VOCABULARIES = {"capacity_labels": CAPACITY_LABELS, "status_labels": STATUS_LABELS, "target_groups": TARGET_GROUPS,
                "offers": OFFERS, "type_labels": ORGANISATION_TYPE_LABELS, "labels": FIELD_LABELS,
                "TagVocabulary": TagVocabulary, "place_kinds": list(PLACE_KINDS.items()),
                "adaptation_labels": ADAPTATIONS}


def _assurer_email() -> str | None:
    return getattr(current_user, "email", None) if current_user.is_authenticated else None


def _choice(value: str | None, allowed) -> Any:
    """A filter value from the query string, or None when it is not one of ``allowed``."""
    for option in allowed:
        if value == str(getattr(option, "value", option)):
            return option
    return None


def _search_query(args, member: bool) -> SearchQuery:
    internal = {"intern": True, "extern": False}.get(args.get("intern", ""))
    statuses = (ServiceStatus.active,)
    if member and args.get("status") == "alle":
        statuses = tuple(ServiceStatus)
    return SearchQuery(
        text=args.get("q", "").strip()[:100], category=args.get("categorie") or None,
        organisation_type=_choice(args.get("soort"), OrganisationType),
        gemeente=(args.get("gemeente") or "").strip()[:120] or None,
        target_group=_choice(args.get("doelgroep"), TARGET_GROUPS), offer=_choice(args.get("aanbod"), OFFERS),
        capacity=_choice(args.get("capaciteit"), CapacityStatus), internal=internal, statuses=statuses)


@bp.get("/sociale-kaart")
def index():
    principal = current_principal()
    query = _search_query(request.args, is_member(principal))
    page = request.args.get("pagina", 1, type=int) or 1
    result = search_services(db.session, query, page=page, per_page=PER_PAGE)
    return render_template("socialmap/search.html", result=result, query=query, args=request.args,
                           categories=list_categories(db.session), member=is_member(principal),
                           can_add=principal.has(Permission.socialmap_service_edit), **VOCABULARIES)


@bp.get("/sociale-kaart/diensten/<uuid:service_id>")
def detail(service_id):
    principal = current_principal()
    service = get_service(db.session, principal, service_id)
    member = is_member(principal)
    return render_template("socialmap/detail.html", service=service, member=member,
                           can_edit=can_edit_service(principal, service.organisation),
                           history=service_history(db.session, service, include_personal=member),
                           has_profile_view=principal.has(Permission.employer_profile_view),
                           stale_after=_verify_days(), now=utcnow(), **VOCABULARIES)


@bp.get("/sociale-kaart/organisaties/<int:organisation_id>")
def organisation(organisation_id: int):
    principal = current_principal()
    org = db.session.get(Organisation, organisation_id)
    if org is None or not org.is_active:
        raise NotFound(_("Deze organisatie bestaat niet."))
    statuses = tuple(ServiceStatus) if is_member(principal) else (ServiceStatus.active,)
    result = search_services(db.session, SearchQuery(organisation_id=org.id, statuses=statuses), per_page=100)
    return render_template("socialmap/organisation.html", organisation=org, services=result.page.items,
                           can_add=can_edit_service(principal, org), **VOCABULARIES)


def _form_values(service: Service) -> dict[str, Any]:
    values: dict[str, Any] = {name: "" if getattr(service, name) is None else getattr(service, name)
                              for name in ("name", "description", "department", "url", "email", "phone",
                                           "minimum_age", "maximum_age", "eligibility_description",
                                           "area_postcodes", "opening_hours", "sector", "response_days")}
    values.update(capacity=service.capacity.value if service.capacity else "", status=service.status.value,
                  is_internal=service.is_internal, sbb_recognised=service.sbb_recognised,
                  categories=[c.code for c in service.categories],
                  target_groups=service.tag_codes(TagVocabulary.target_group),
                  offers=service.tag_codes(TagVocabulary.offer),
                  gemeenten=", ".join(service.tag_codes(TagVocabulary.gemeente)), version=service.version)
    for index, contact in enumerate(service.contacts[:CONTACT_ROWS]):
        for name in ("id", "name", "title", "email", "phone"):
            values[f"contact-{index}-{name}"] = "" if getattr(contact, name) is None else str(getattr(contact, name))
    if service.locations:
        location = service.locations[0]
        for name in ("id", "name", "address", "postal_code", "city", "description"):
            values[f"location-{name}"] = "" if getattr(location, name) is None else str(getattr(location, name))
    return values


def _render_form(service: Service | None, values: dict[str, Any], errors: dict[str, list[str]], status: int = 200,
                 **extra: Any):
    principal = current_principal()
    organisations = [] if service else editable_organisations(db.session, principal)
    options = {
        "organisations": [(o.id, o.name) for o in organisations],
        "categories": [(c.code, _(c.name)) for c in list_categories(db.session)],
        "statuses": [(s.value, _(label)) for s, label in STATUS_LABELS.items()],
        "capacities": [(c.value, _(label)) for c, label in CAPACITY_LABELS.items()],
        "target_groups": [(code, _(label)) for code, label in TARGET_GROUPS.items()],
        "offers": [(code, _(label)) for code, label in OFFERS.items()],
    }
    return render_template("socialmap/form.html", service=service, values=values, errors=errors, options=options,
                           contact_rows=CONTACT_ROWS, **VOCABULARIES, **extra), status


@bp.route("/sociale-kaart/diensten/nieuw", methods=["GET", "POST"])
@require(Permission.socialmap_service_edit)
def create():
    principal = current_principal()
    organisations = editable_organisations(db.session, principal)
    if request.method == "GET":
        values = {"organisation_id": principal.organisation_id, "status": "active"}
        return _render_form(None, values, {})
    values = request.form.to_dict()
    values.update({key: request.form.getlist(key) for key in ("categories", "target_groups", "offers")})
    data, errors = load_service(form_to_raw(request.form))
    org = next((o for o in organisations if data and o.id == data.get("organisation_id")), None)
    if data is not None and org is None:
        errors = {"organisation_id": [_("Kies een organisatie uit de lijst.")]}
    if errors:
        return _render_form(None, values, errors, 400)
    data.pop("version", None)
    data.pop("organisation_id", None)
    try:
        service = create_service(db.session, principal, org, data, assurer_email=_assurer_email())
    except ValidationFailed as exc:
        db.session.rollback()
        return _render_form(None, values, exc.errors, 400)
    return redirect_to("socialmap.detail", _("De dienst staat op de sociale kaart."), service_id=service.uuid)


@bp.route("/sociale-kaart/diensten/<uuid:service_id>/bewerken", methods=["GET", "POST"])
@require(Permission.socialmap_service_edit)
def edit(service_id):
    principal = current_principal()
    service = get_service(db.session, principal, service_id, for_edit=True)
    if request.method == "GET":
        return _render_form(service, _form_values(service), {})
    values = request.form.to_dict()
    values.update({key: request.form.getlist(key) for key in ("categories", "target_groups", "offers")})
    data, errors = load_service(form_to_raw(request.form))
    if errors:
        return _render_form(service, values, errors, 400)
    version = data.pop("version", None)
    data.pop("organisation_id", None)
    try:
        update_service(db.session, principal, service, data, expected_version=version, assurer_email=_assurer_email())
    except (Conflict, ValidationFailed) as exc:
        db.session.rollback()
        service = get_service(db.session, principal, service_id, for_edit=True)
        if isinstance(exc, Conflict):
            values["version"] = service.version
            return _render_form(service, values, {}, 409, conflict=str(exc.detail))
        return _render_form(service, values, exc.errors, 400)
    return redirect_to("socialmap.detail", _("De wijzigingen zijn opgeslagen."), service_id=service.uuid)


@bp.post("/sociale-kaart/diensten/<uuid:service_id>/capaciteit")
@require(Permission.socialmap_service_edit)
def capacity(service_id):
    principal = current_principal()
    service = get_service(db.session, principal, service_id, for_edit=True)
    set_capacity(db.session, principal, service, request.form.get("capacity", ""))
    label = _(CAPACITY_LABELS[service.capacity])
    return redirect_to("socialmap.detail", _("Capaciteit bijgewerkt: %(label)s.", label=label),
                               service_id=service.uuid)


@bp.post("/sociale-kaart/diensten/<uuid:service_id>/bevestigen")
@require(Permission.socialmap_service_edit)
def verify(service_id):
    principal = current_principal()
    service = get_service(db.session, principal, service_id, for_edit=True)
    verify_service(db.session, principal, service, assurer_email=_assurer_email())
    return redirect_to("socialmap.detail", _("Bevestigd: de gegevens kloppen nog."), service_id=service.uuid)


@bp.route("/sociale-kaart/bevestig/<token>", methods=["GET", "POST"])
def confirm_link(token: str):
    """The "klopt dit nog?" link: GET shows the entry and one button (link scanners only GET),
    POST confirms."""
    check = freshness.check_confirm_token(db.session, current_app.config["SECRET_KEY"], token,
                                          max_age_days=current_app.config.get("SOCIALMAP_LINK_DAYS",
                                                                              freshness.DEFAULT_LINK_DAYS))
    if check.state == "invalid":
        abort(404)
    if check.state == "ok" and request.method == "POST":
        service = check.service
        verify_service(db.session, freshness.link_principal(service), service,
                       assurer_email=freshness.service_recipient(service))
        return render_template("socialmap/confirm.html", state="confirmed", service=service)
    status = 410 if check.state == "expired" else 200
    return render_template("socialmap/confirm.html", state=check.state, service=check.service, token=token), status


def _verify_days() -> int:
    return int(current_app.config.get("SOCIALMAP_VERIFY_DAYS", freshness.DEFAULT_VERIFY_DAYS))


@bp.get("/sociale-kaart/actualiteit")
@require(Permission.socialmap_freshness_view)
def dashboard():
    principal = current_principal()
    region_id = None if principal.role is Role.hub_admin else principal.region_id
    now = utcnow()
    days = _verify_days()
    page = request.args.get("pagina", 1, type=int) or 1
    stale = db.session.scalars(freshness.stale_query(now, days, region_id).limit(PER_PAGE).offset(
        (page - 1) * PER_PAGE)).all()
    summary = freshness.freshness_summary(db.session, now, days, region_id)
    return render_template("socialmap/dashboard.html", stale=stale, summary=summary, days=days, now=now,
                           page=page, per_page=PER_PAGE, **VOCABULARIES)


@bp.route("/sociale-kaart/categorieen", methods=["GET", "POST"])
@require(Permission.socialmap_category_manage)
def categories():

    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            save_category(db.session, current_principal(), values)
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
        else:
            return redirect_to("socialmap.categories", _("De categorie is opgeslagen."))
    all_categories = db.session.scalars(select(Category).order_by(Category.position, Category.name)).all()
    return render_template("socialmap/categories.html", categories=all_categories, values=values,
                           errors=errors), 400 if errors else 200


def audited_export(fmt: str):
    """Audit an export of the entries matching the current filters (one unit of work), then
    yield them page by page, so a large export streams with flat memory."""

    query = _search_query(request.args, True)
    record(db.session, current_principal(), action=AuditAction.export, event_type=SocialmapTag.service_export,
           object_type="socialmap_service", detail={"format": fmt})

    def services():
        page = 1
        while True:
            result = search_services(db.session, query, page=page, per_page=100)
            yield from result.page.items
            if page >= result.page.pages:
                return
            page += 1

    return services()


@bp.get("/sociale-kaart/export.csv")
@require(Permission.socialmap_export)
def export_csv():
    """The entries matching the current filters as a CSV for Dutch Excel (an audited export)."""


    services = audited_export("csv")
    response = Response(stream_with_context(csv_lines(services, include_personal=True)),
                        mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = 'attachment; filename="sociale-kaart.csv"'
    return response

