"""Hub admin: the catalogues of purposes and data categories, and the legal-task bases
(``/beheer/grondslagen``)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from consent.catalogue import RECIPIENT_TYPES
from consent.catalogue_admin import (
    NO_SCOPE,
    create_legal_task,
    create_purpose,
    update_category,
    update_legal_task,
    update_purpose,
)
from consent.models import DataCategory, LegalTask, Purpose, TaskScope
from consent.schemas import (
    CategoryEditArgs,
    LegalTaskCreateArgs,
    LegalTaskEditArgs,
    PurposeCreateArgs,
    PurposeEditArgs,
    RegionScopeArgs,
    form_dict,
)
from consent.task_scopes import FOLLOWUP_LABELS, all_region_settings, region_settings, update_region_settings
from network.access import Category
from network.db import db
from network.directory_schemas import ORGANISATION_TYPE_LABELS
from network.errors import NotFound
from network.models import OrganisationType, Region
from network.permissions import Permission
from network.schemas import load_form
from network.web import current_principal, redirect_to, require, submit

bp = Blueprint("consent_admin", __name__)


@bp.get("/beheer/grondslagen")
@require(Permission.consent_catalogue)
def catalogue():
    categories = db.session.scalars(select(DataCategory).order_by(DataCategory.sort_order)).all()
    purposes = db.session.scalars(select(Purpose).order_by(Purpose.sort_order)
                                  .options(selectinload(Purpose.needed), selectinload(Purpose.recipients))).all()
    tasks = db.session.scalars(select(LegalTask).options(selectinload(LegalTask.items),
                                                         selectinload(LegalTask.purpose))).all()
    return render_template("consent/admin.html", categories=categories, purposes=purposes, tasks=tasks,
                           labels={str(c.code): c.label for c in categories}, type_labels=ORGANISATION_TYPE_LABELS,
                           type_order=RECIPIENT_TYPES, scope_labels=dict(SCOPE_OPTIONS))


#: the organisation types a purpose can name as recipients, in words, for the purpose form
RECIPIENT_TYPE_OPTIONS = [(t.value, ORGANISATION_TYPE_LABELS[t]) for t in RECIPIENT_TYPES]


@bp.route("/beheer/grondslagen/doelen/<int:purpose_id>", methods=["GET", "POST"])
@require(Permission.consent_catalogue)
def purpose_edit(purpose_id):
    purpose = db.session.get(Purpose, purpose_id)
    if purpose is None:
        raise NotFound()
    categories = db.session.scalars(select(DataCategory).order_by(DataCategory.sort_order)).all()
    values = {"label": purpose.label, "description": purpose.description, "is_active": purpose.is_active,
              "categories": [c.value for c in purpose.categories],
              "organisation_types": [t.value for t in purpose.recipient_types]}
    errors: dict = {}
    if request.method == "POST":
        values = form_dict(request.form)
        _done, errors = submit(PurposeEditArgs, values,
                               lambda data: update_purpose(db.session, current_principal(), purpose, data))
        if not errors:
            return redirect_to("consent_admin.catalogue", _("Het doel is opgeslagen."))
    return render_template("consent/admin_purpose.html", purpose=purpose, categories=categories, values=values,
                           errors=errors, type_options=RECIPIENT_TYPE_OPTIONS), 400 if errors else 200


@bp.route("/beheer/grondslagen/doelen/nieuw", methods=["GET", "POST"])
@require(Permission.consent_catalogue)
def purpose_new():
    categories = db.session.scalars(select(DataCategory).order_by(DataCategory.sort_order)).all()
    values: dict = {"is_active": True, "categories": [], "organisation_types": []}
    errors: dict = {}
    if request.method == "POST":
        values = form_dict(request.form)
        _done, errors = submit(PurposeCreateArgs, values,
                               lambda data: create_purpose(db.session, current_principal(), data))
        if not errors:
            return redirect_to("consent_admin.catalogue", _("Het doel is toegevoegd."))
    return render_template("consent/admin_purpose.html", purpose=None, categories=categories, values=values,
                           errors=errors, type_options=RECIPIENT_TYPE_OPTIONS), 400 if errors else 200


@bp.route("/beheer/grondslagen/categorieen/<category_code>", methods=["GET", "POST"])
@require(Permission.consent_catalogue)
def category_edit(category_code):
    try:
        code = Category(category_code)
    except ValueError:
        raise NotFound() from None
    category = db.session.get(DataCategory, code)
    if category is None:
        raise NotFound()
    values = {"label": category.label, "description": category.description, "is_special": category.is_special}
    errors: dict = {}
    if request.method == "POST":
        values = request.form.to_dict()
        data, errors = load_form(CategoryEditArgs, request.form)
        if data is not None:
            update_category(db.session, current_principal(), category, data)
            return redirect_to("consent_admin.catalogue", _("De categorie is opgeslagen."))
    return render_template("consent/admin_category.html", category=category, values=values,
                           errors=errors), 400 if errors else 200


@bp.route("/beheer/grondslagen/wettelijke-taken/<int:task_id>", methods=["GET", "POST"])
@require(Permission.consent_catalogue)
def legal_task_edit(task_id):
    task = db.session.get(LegalTask, task_id)
    if task is None:
        raise NotFound()
    categories = db.session.scalars(select(DataCategory).where(DataCategory.is_special.is_(False))
                                    .order_by(DataCategory.sort_order)).all()
    values = {"label": task.label, "legal_reference": task.legal_reference, "own_region_only": task.own_region_only,
              "is_active": task.is_active, "categories": [c.value for c in task.categories],
              "scope": task.scope.value if task.scope else NO_SCOPE}
    errors: dict = {}
    if request.method == "POST":
        values = form_dict(request.form)
        _done, errors = submit(LegalTaskEditArgs, values,
                               lambda data: update_legal_task(db.session, current_principal(), task, data))
        if not errors:
            return redirect_to("consent_admin.catalogue", _("De wettelijke taak is opgeslagen."))
    return render_template("consent/admin_task.html", task=task, categories=categories, values=values,
                           errors=errors, type_label=ORGANISATION_TYPE_LABELS[task.organisation_type],
                           scope_options=SCOPE_OPTIONS), 400 if errors else 200


#: whom a legal task's law covers, in words (the empty choice: every student within the region rule)
SCOPE_OPTIONS = [(NO_SCOPE, _l("Alle leerlingen (binnen de regioregel)")),
                 (TaskScope.rmc.value, _l("Schoolverlaters zonder startkwalificatie, PrO- en VSO-leerlingen na de "
                                          "uitstroom en de nazorg die de regio koos (RMC)")),
                 (TaskScope.uwv.value, _l("Leerlingen met een lopende aanvraag doelgroepregister (UWV)"))]


@bp.get("/beheer/grondslagen/reikwijdte")
@require(Permission.consent_catalogue)
def scopes():
    """Per region: whom the RMC's and UWV's legal tasks cover."""
    return render_template("consent/admin_scopes.html", regions=all_region_settings(db.session),
                           followup_labels=FOLLOWUP_LABELS)


@bp.route("/beheer/grondslagen/reikwijdte/<int:region_id>", methods=["GET", "POST"])
@require(Permission.consent_catalogue)
def scope_edit(region_id):
    region = db.session.get(Region, region_id)
    if region is None:
        raise NotFound()
    values = {name: (value.value if name == "rmc_route_followup" else value)
              for name, value in region_settings(db.session, region.id).items()}
    errors: dict = {}
    if request.method == "POST":
        values = request.form.to_dict()
        _done, errors = submit(RegionScopeArgs, request.form,
                               lambda data: update_region_settings(db.session, current_principal(), region, data))
        if not errors:
            return redirect_to("consent_admin.scopes", _("De reikwijdte van de wettelijke taken is opgeslagen."))
    return render_template("consent/admin_scope.html", region=region, values=values, errors=errors,
                           followup_options=[(f.value, label) for f, label in FOLLOWUP_LABELS.items()]), \
        400 if errors else 200


#: the organisation types a legal task can be configured for (a school's own task is built in)
TASK_ORGANISATION_TYPES = [t for t in OrganisationType if t not in (OrganisationType.school, OrganisationType.hub)]


@bp.route("/beheer/grondslagen/wettelijke-taken/nieuw", methods=["GET", "POST"])
@require(Permission.consent_catalogue)
def legal_task_new():
    categories = db.session.scalars(select(DataCategory).where(DataCategory.is_special.is_(False))
                                    .order_by(DataCategory.sort_order)).all()
    purposes = db.session.scalars(select(Purpose).order_by(Purpose.sort_order)).all()
    values: dict = {"own_region_only": True, "is_active": True, "categories": [], "scope": NO_SCOPE}
    errors: dict = {}
    if request.method == "POST":
        values = form_dict(request.form)
        _done, errors = submit(LegalTaskCreateArgs, values,
                               lambda data: create_legal_task(db.session, current_principal(), data))
        if not errors:
            return redirect_to("consent_admin.catalogue", _("De wettelijke taak is toegevoegd."))
    return render_template("consent/admin_task.html", task=None, categories=categories, values=values,
                           errors=errors, purpose_options=[(p.id, p.label) for p in purposes],
                           scope_options=SCOPE_OPTIONS,
                           type_options=[(t.value, ORGANISATION_TYPE_LABELS[t]) for t in TASK_ORGANISATION_TYPES]), \
        400 if errors else 200
