"""The school's placement pages: the school's list, registering a placement on a route, a
placement with its status form, and the edit form.

Every page that shows the student finds the placement (or route) inside the actor's walls
(404), decides and audits the read (403 when denied), then renders; so GET views commit the
audit events with the request. After a failed form the unit of work was rolled back, so the
placement is found and decided again to re-render it with what was typed (after a conflict
with the current row version, so that a second save goes through).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields

from network.access import Category
from network.audit import AuditAction
from network.clock import AMSTERDAM
from network.db import db
from network.errors import Conflict
from network.permissions import Permission
from network.web import current_principal, keyring, redirect_to, require, submit
from referrals.placements.access import (
    decide_placement,
    decide_route_placements,
    find_placement,
    require_manager,
)
from referrals.placements.assessment import placement_assessments
from referrals.placements.blueprint import bp
from referrals.placements.employers import employer_entries
from referrals.placements.forms import (
    employer_groups,
    kind_options,
    new_values,
    placement_values,
    staff_options,
    status_options,
    week_lines,
    week_summary,
)
from referrals.placements.guidance import guidance_summary
from referrals.placements.lifecycle import change_status
from referrals.placements.protocol import contact_notes, placement_contacts
from referrals.placements.protocol_models import HOW_LABELS, WITH_LABELS
from referrals.placements.protocol_models import KIND_LABELS as CONTACT_KIND_LABELS
from referrals.placements.protocol_models import STATUS_LABELS as CONTACT_STATUS_LABELS
from referrals.placements.reads import school_placements
from referrals.placements.schemas import PlacementArgs, StatusArgs
from referrals.placements.service import (
    create_placement,
    learning_goals,
    overlapping,
    plan_internship,
    update_placement,
)
from referrals.placements.states import (
    KIND_LABELS,
    STATUS_LABELS,
    WEEKDAY_LABELS,
    PlacementKind,
    PlacementStatus,
    Weekday,
)
from referrals.route_service import find_route, require_route_manager, school_staff_accounts
from referrals.route_timeline import PHASE_LABELS
from referrals.tags import PlacementTag

PER_PAGE = 25
NO_EMAIL_WARNING = _l("Er is geen e-mailadres van de praktijkopleider ingevuld. Schakel kan de praktijkopleider "
                      "dan later geen persoonlijke link voor de beoordeling sturen; vul het adres aan zodra u het "
                      "weet.")
DONE = {PlacementStatus.running: _l("De status is bijgewerkt: de stage loopt."),
        PlacementStatus.paused: _l("De stage is gepauzeerd."),
        PlacementStatus.completed: _l("De stage is afgerond."),
        PlacementStatus.ended_early: _l("De stage is beëindigd.")}


def base_url() -> str:
    return current_app.config.get("BASE_URL", "")


def _labels() -> dict[str, Any]:
    return {"kind_labels": KIND_LABELS, "status_labels": STATUS_LABELS, "weekday_labels": WEEKDAY_LABELS,
            "weekdays": list(Weekday), "phase_labels": PHASE_LABELS, "Category": Category, "tz": AMSTERDAM}


@bp.get("/trajecten/stages")
@require(Permission.route_view)
def index():
    status = request.args.get("status") or None
    page = request.args.get("pagina", 1, type=int) or 1
    result = school_placements(db.session, current_principal(), status=status, page=page, per_page=PER_PAGE)
    return render_template("referrals/placements/list.html", result=result, status=status, **_labels())


# -- the form ------------------------------------------------------------------------------------

def _render_form(route, decision, *, placement=None, values, errors=None, conflict=None, plan=None,
                 status: int = 200):
    services = employer_entries(db.session, route.school.region_id)
    overlaps = []
    if (errors or {}).get("confirm_overlap"):
        overlaps = _overlaps(route, values, placement)
    html = render_template(
        "referrals/placements/form.html", route=route, student=route.student, decision=decision, placement=placement,
        values=values, errors=errors or {}, conflict=conflict, plan=plan, employer_groups=employer_groups(services),
        kinds=kind_options(), overlaps=overlaps,
        staff=staff_options(school_staff_accounts(db.session, route.school_id)), **_labels())
    return html, status


def _overlaps(route, values, placement):
    try:
        start, end = fields.Date().deserialize(values.get("start_date")), fields.Date().deserialize(
            values.get("end_date"))
    except ValidationError:
        return []
    return overlapping(db.session, route.student_id, start, end, exclude_id=placement.id if placement else None)


@bp.route("/trajecten/<int:route_id>/stages/nieuw", methods=["GET", "POST"])
@require(Permission.route_manage)
def new(route_id):
    principal = current_principal()

    def load():
        route = find_route(db.session, principal, route_id)
        require_route_manager(principal, route)
        return route, decide_route_placements(db.session, principal, route)

    route, decision = load()
    plan, errors = None, {}
    if request.method == "GET":
        plan = plan_internship(db.session, principal, keyring(), route.student)
        values = new_values(route, plan)
        # "Stage registreren bij dit bedrijf" from a proposed employer: the entry (and kind) preselected
        if (chosen := request.args.get("service_id", "")).isdigit():
            values["service_id"] = chosen
        if request.args.get("kind") in {kind.value for kind in PlacementKind}:
            values["kind"] = request.args["kind"]
    else:
        values = request.form.to_dict()
        made, errors = submit(PlacementArgs, request.form, lambda data: create_placement(
            db.session, principal, keyring(), route, data, base_url=base_url()))
        if not errors:
            if not made.can_send_assessment_link:
                flash(str(NO_EMAIL_WARNING), "warning")
            return redirect_to("placements.detail", _("De stage is vastgelegd."), placement_id=made.id)
        route, decision = load()
    return _render_form(route, decision, values=values, errors=errors, plan=plan, status=400 if errors else 200)


@bp.route("/trajecten/stages/<int:placement_id>/bewerken", methods=["GET", "POST"])
@require(Permission.route_manage)
def edit(placement_id):
    principal = current_principal()

    def load():
        placement = find_placement(db.session, principal, placement_id)
        require_manager(principal, placement)
        return placement, decide_placement(db.session, principal, placement, event_type=PlacementTag.form)

    placement, decision = load()
    if request.method == "GET":
        return _render_form(placement.route, decision, placement=placement,
                            values=placement_values(keyring(), placement))
    values = request.form.to_dict()
    errors, conflict = {}, None
    try:
        _done, errors = submit(PlacementArgs, request.form, lambda data: update_placement(
            db.session, principal, keyring(), placement, data, expected_version=data.pop("version", None),
            base_url=base_url()))
    except Conflict as exc:
        db.session.rollback()
        conflict = str(exc.detail)
    if not errors and conflict is None:
        if not placement.can_send_assessment_link:
            flash(str(NO_EMAIL_WARNING), "warning")
        return redirect_to("placements.detail", _("De stage is opgeslagen."), placement_id=placement_id)
    placement, decision = load()
    if conflict:
        values["version"] = str(placement.version)  # the next save goes through, with what was typed
    return _render_form(placement.route, decision, placement=placement, values=values, errors=errors,
                        conflict=conflict, status=409 if conflict else 400)


# -- a placement and its status --------------------------------------------------------------------

def _detail_page(principal, placement, decision, *, values=None, errors=None, conflict=None, status: int = 200):
    html = render_template(
        "referrals/placements/detail.html", placement=placement, route=placement.route,
        student=placement.route.student, decision=decision, goals=learning_goals(keyring(), placement),
        week=week_lines(placement), week_summary=week_summary(placement), steps=status_options(placement),
        values=values or {"version": str(placement.version)}, errors=errors or {}, conflict=conflict,
        can_manage=principal.has(Permission.route_manage) and placement.route.status.value != "closed",
        contacts=[(c, contact_notes(keyring(), c)) for c in placement_contacts(db.session, placement)],
        contact_kind_labels=CONTACT_KIND_LABELS, contact_status_labels=CONTACT_STATUS_LABELS,
        with_labels=WITH_LABELS, how_labels=HOW_LABELS, assessments=placement_assessments(db.session, placement),
        guidance=guidance_summary(db.session, principal, placement.route.student), **_labels())
    return html, status


@bp.get("/trajecten/stages/<int:placement_id>")
@require(Permission.route_view)
def detail(placement_id):
    principal = current_principal()
    placement = find_placement(db.session, principal, placement_id)
    return _detail_page(principal, placement, decide_placement(db.session, principal, placement))


@bp.post("/trajecten/stages/<int:placement_id>/status")
@require(Permission.route_manage)
def change(placement_id):
    principal = current_principal()

    def load(event_type=PlacementTag.view, action=AuditAction.read):
        placement = find_placement(db.session, principal, placement_id)
        return placement, decide_placement(db.session, principal, placement, event_type=event_type, action=action)

    placement, _decision = load(PlacementTag.status_change, AuditAction.update)
    values = request.form.to_dict()
    try:
        event, errors = submit(StatusArgs, request.form, lambda data: change_status(
            db.session, principal, placement, data["status"], reason=data.get("reason"), on_date=data.get("on_date"),
            expected_version=data.get("version"), hired=data.get("hired")))
    except Conflict as exc:
        db.session.rollback()
        placement, decision = load()
        values["version"] = str(placement.version)
        return _detail_page(principal, placement, decision, values=values, conflict=str(exc.detail), status=409)
    if not errors:
        return redirect_to("placements.detail", str(DONE[event.to_status]), placement_id=placement_id)
    placement, decision = load()
    return _detail_page(principal, placement, decision, values=values, errors=errors, status=400)
