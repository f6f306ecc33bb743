"""Route pages (``/trajecten``): the school's routes, opening a route from the student page, the
route with its phases and dates, the school-naar-werk-gesprek, the exit, the follow-up
check-ins, the timeline, and the RMC's page for a follow-up alert.

Every page that shows a student decides (and audits) first, so these GET views commit; after
a failed form the unit of work was rolled back, so the route is loaded and decided again.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from network.access import Category
from network.audit import AuditAction
from network.clock import AMSTERDAM
from network.db import db
from network.errors import Conflict, Forbidden, NotFound
from network.events import EventTag
from network.permissions import Permission, can_manage_student
from network.students import PURPOSE_GUIDANCE, get_student
from network.web import current_principal, keyring, redirect_to, require, submit
from referrals.checkins import ATTEMPTS_BEFORE_ALERT, find_check_in, record_check_in
from referrals.eindgesprek import route_eindgesprekken
from referrals.exit_handover import needs_exit_handover, route_exit_handovers, routes_missing_handover
from referrals.instruments import FUNDER_LABELS, REGISTER_LABELS, school_route_instruments
from referrals.instruments import KIND_LABELS as INSTRUMENT_LABELS
from referrals.intake import (
    INTAKE_SECTIONS,
    YESNO_LABELS,
    IntakeArgs,
    answered_sections,
    intake_answers,
    record_intake,
    route_intakes,
)
from referrals.models import ALERT_SITUATIONS, Intake, Route, RoutePhase, RouteStatus, Situation
from referrals.placements.reads import route_placements
from referrals.placements.states import KIND_LABELS, STATUS_LABELS
from referrals.route_exit import DESTINATION_LABELS, WAY_OUT_LABELS, route_exit
from referrals.route_schemas import CheckInArgs, OpenRouteArgs, UpdateRouteArgs
from referrals.route_service import (
    decide_route,
    find_route,
    followup_end,
    is_route_school_staff,
    list_routes,
    open_route,
    school_staff_accounts,
    update_route,
)
from referrals.route_timeline import CONTACT_METHOD_LABELS, PHASE_LABELS, SITUATION_LABELS
from referrals.route_timeline import timeline as build_timeline
from referrals.tags import CheckinTag, IntakeTag, RouteTag

bp = Blueprint("routes", __name__, url_prefix="/trajecten")

PER_PAGE = 25
def _status_labels():
    return {"active": _("Loopt"), "followup": _("Nazorg"), "closed": _("Afgesloten")}



def _route(route_id: int, *, event_type: EventTag = RouteTag.view, action: AuditAction = AuditAction.read,
           categories=None):
    principal = current_principal()
    route = find_route(db.session, principal, route_id)
    kwargs = {"categories": categories} if categories else {}
    decision = decide_route(db.session, principal, route, event_type=event_type, action=action, **kwargs)
    return principal, route, decision


@bp.get("")
@require(Permission.route_view)
def index():
    status = request.args.get("status") or None
    page = request.args.get("pagina", 1, type=int) or 1
    result = list_routes(db.session, current_principal(), status=status, page=page, per_page=PER_PAGE)
    html = render_template("referrals/routes/list.html", result=result, status=status,
                           status_labels=_status_labels(), phase_labels=PHASE_LABELS,
                           missing_handover=routes_missing_handover(db.session, [r.route.id for r in result.items]))
    return html


@bp.route("/nieuw/<uuid:student_id>", methods=["GET", "POST"])
@require(Permission.route_manage)
def new(student_id):
    principal = current_principal()

    def load():
        found, decision = get_student(db.session, principal, student_id, purpose=PURPOSE_GUIDANCE,
                                     categories=[Category.contact, Category.education], event_type=RouteTag.open_form)
        if not can_manage_student(principal, found):
            raise Forbidden(_("Alleen de school van de leerling opent een traject."))
        return found

    student = load()
    existing = db.session.scalar(select(Route.id).where(Route.student_id == student.id))
    if existing is not None:
        return redirect_to("routes.detail", _("Deze leerling heeft al een traject."), route_id=existing)
    values, errors = {}, {}
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            route, errors = submit(OpenRouteArgs, request.form,
                                   lambda data: open_route(db.session, principal, student, data))
        except Conflict as exc:  # opened by a colleague, or by a double click, a moment ago
            db.session.rollback()
            flash(str(exc.detail), "info")
            return redirect(url_for("routes.detail", route_id=exc.extra["route_id"]))
        if not errors:
            return redirect_to("routes.detail", _("Het traject is geopend."), route_id=route.id)
        student = load()
    else:
        values = {"expected_exit_date": student.expected_exit_date.isoformat() if student.expected_exit_date else "",
                  "responsible_account_id": str(principal.account_id)}
    html = render_template("referrals/routes/new.html", student=student, values=values, errors=errors,
                           staff=school_staff_accounts(db.session, student.school_id))
    return html, 400 if errors else 200


def _route_values(route) -> dict[str, str]:
    values = {"phase": route.phase.value, "responsible_account_id": str(route.responsible_account_id or ""),
              "expected_exit_date": route.expected_exit_date.isoformat() if route.expected_exit_date else "",
              "doelgroepregister_open": route.doelgroepregister_open, "version": str(route.version),
              "startkwalificatie": {True: "ja", False: "nee"}.get(route.startkwalificatie, "onbekend")}
    for row in route.phases:
        for kind in ("planned", "reached"):
            day = getattr(row, f"{kind}_date")
            values[f"{kind}_{row.phase.value}"] = day.isoformat() if day else ""
    return values


def _detail_page(principal, route, decision, *, values=None, errors=None, form=None, status=200, conflict=None):
    html = render_template(
        "referrals/routes/detail.html", route=route, student=route.student, decision=decision, Category=Category,
        values=values or _route_values(route), errors=errors or {}, form=form, conflict=conflict,
        staff=school_staff_accounts(db.session, route.school_id), phases=list(RoutePhase),
        phase_labels=PHASE_LABELS, situation_labels=SITUATION_LABELS, status_labels=_status_labels(),
        intakes=route_intakes(db.session, route), followup_end=followup_end(route),
        eindgesprekken=route_eindgesprekken(db.session, route), route_exit=route_exit(db.session, route),
        way_out_labels=WAY_OUT_LABELS, destination_labels=DESTINATION_LABELS,
        placements=route_placements(db.session, principal, route, decision=decision),
        placement_kinds=KIND_LABELS, placement_statuses=STATUS_LABELS,
        instruments=school_route_instruments(db.session, principal, route), kind_labels=INSTRUMENT_LABELS,
        register_labels=REGISTER_LABELS, funder_labels=FUNDER_LABELS,
        exit_handovers=route_exit_handovers(db.session, route), needs_handover=needs_exit_handover(db.session, route),
        can_manage=principal.has(Permission.route_manage) and route.status is not RouteStatus.closed)
    return html, status


@bp.get("/<int:route_id>")
@require(Permission.route_view)
def detail(route_id):
    principal, route, decision = _route(route_id)
    return _detail_page(principal, route, decision)


@bp.post("/<int:route_id>/bewerken")
@require(Permission.route_manage)
def update(route_id):
    principal, route, _decision = _route(route_id, event_type=RouteTag.update, action=AuditAction.update)
    values = request.form.to_dict()
    try:
        _done, errors = submit(UpdateRouteArgs, request.form, lambda data: update_route(
            db.session, principal, route, data, expected_version=data.pop("version", None)))
    except Conflict as exc:
        db.session.rollback()
        principal, route, decision = _route(route_id)
        values["version"] = str(route.version)
        return _detail_page(principal, route, decision, values=values, form="update", status=409,
                            conflict=str(exc.detail))
    if not errors:
        return redirect_to("routes.detail", _("Het traject is opgeslagen."), route_id=route_id)
    principal, route, decision = _route(route_id)
    return _detail_page(principal, route, decision, values=values, errors=errors, form="update", status=400)


@bp.route("/<int:route_id>/gesprek", methods=["GET", "POST"])
@require(Permission.route_manage)
def intake(route_id):
    posted = request.method == "POST"
    principal, route, decision = _route(route_id, event_type=IntakeTag.form,
                                        action=AuditAction.create if posted else AuditAction.read)
    values, errors = {}, {}
    if posted:
        values = request.form.to_dict()
        made, errors = submit(IntakeArgs, request.form,
                              lambda data: record_intake(db.session, principal, keyring(), route, data))
        if not errors:
            return redirect_to("routes.intake_detail", _("Het gesprek is vastgelegd."), route_id=route_id,
                                       intake_id=made.id)
        principal, route, decision = _route(route_id, event_type=IntakeTag.form)
    html = render_template("referrals/routes/intake.html", route=route, student=route.student, values=values,
                           errors=errors, sections=INTAKE_SECTIONS, yesno=list(YESNO_LABELS.items()))
    return html, 400 if errors else 200


@bp.get("/<int:route_id>/gesprek/<int:intake_id>")
@require(Permission.route_view)
def intake_detail(route_id, intake_id):
    principal = current_principal()
    route = find_route(db.session, principal, route_id)
    found = db.session.get(Intake, intake_id)
    if found is None or found.route_id != route.id:
        raise NotFound()
    decision = decide_route(db.session, principal, route, event_type=IntakeTag.view,
                          categories=(Category.contact, Category.education, Category.life_domains, Category.plan))
    if not decision.permits(Category.plan):
        raise Forbidden(_("U heeft geen grondslag om dit gesprek in te zien."))
    html = render_template("referrals/routes/intake_detail.html", route=route, student=route.student, intake=found,
                           sections=answered_sections(intake_answers(keyring(), found)))
    return html


@bp.get("/<int:route_id>/tijdlijn")
@require(Permission.route_view)
def timeline(route_id):
    principal = current_principal()
    route = find_route(db.session, principal, route_id)
    result = build_timeline(db.session, principal, keyring(), route)
    html = render_template("referrals/routes/timeline.html", route=route, student=route.student, timeline=result,
                           Category=Category, tz=AMSTERDAM)
    return html


def _check_in(check_in_id, *, event_type: EventTag, action: AuditAction = AuditAction.read):
    principal = current_principal()
    found = find_check_in(db.session, principal, check_in_id)
    decision = decide_route(db.session, principal, found.route, event_type=event_type, action=action)
    return principal, found, decision


@bp.route("/nazorg/<int:check_in_id>", methods=["GET", "POST"])
@require(Permission.checkin_record)
def check_in(check_in_id):
    posted = request.method == "POST"
    principal, found, decision = _check_in(check_in_id, event_type=CheckinTag.form,
                                           action=AuditAction.update if posted else AuditAction.read)
    values, errors = {}, {}
    if posted:
        values = request.form.to_dict()
        alerted, errors = submit(CheckInArgs, request.form, lambda data: record_check_in(
            db.session, principal, keyring(), found, data, base_url=current_app.config.get("BASE_URL", "")))
        if not errors and found.recorded_at is None:  # a "niet bereikt" attempt: the check-in stays open
            message = _("De contactpoging is vastgelegd (%(num)d van %(max)d). Na de derde wordt het RMC "
                        "gewaarschuwd.", num=len(found.attempts), max=ATTEMPTS_BEFORE_ALERT)
            return redirect_to("routes.check_in", message, check_in_id=check_in_id)
        if not errors:
            message = _("Het nazorgcontact is vastgelegd.")
            if alerted:
                message += " " + _("Het RMC is gewaarschuwd en neemt contact op met de oud-leerling.")
            elif values.get("situation") in ALERT_SITUATIONS and not found.rmc_alerted_at:
                message += " " + _("Er is geen RMC in deze regio gevonden: waarschuw het RMC zelf.")
            if is_route_school_staff(principal, found.route):
                return redirect_to("routes.detail", message, route_id=found.route_id)
            return redirect_to("routes.rmc_alert", message, check_in_id=check_in_id)
        principal, found, decision = _check_in(check_in_id, event_type=CheckinTag.form)
    html = render_template("referrals/routes/check_in.html", check_in=found, route=found.route,
                           student=found.route.student, decision=decision, Category=Category, values=values,
                           errors=errors, situations=[(s.value, SITUATION_LABELS[s.value]) for s in Situation],
                           situation_labels=SITUATION_LABELS, attempts_needed=ATTEMPTS_BEFORE_ALERT,
                           methods=list(CONTACT_METHOD_LABELS.items()), method_labels=CONTACT_METHOD_LABELS,
                           is_school=is_route_school_staff(principal, found.route))
    return html, 400 if errors else 200


@bp.get("/nazorg/<int:check_in_id>/rmc")
@require(Permission.checkin_record)
def rmc_alert(check_in_id):
    """The RMC's page for a follow-up alert: the check-in's finding and the young person's
    contact data, as the RMC's legal task (``rmc-nazorg``) allows."""
    principal, found, decision = _check_in(check_in_id, event_type=CheckinTag.rmc_view)
    html = render_template("referrals/routes/rmc_alert.html", check_in=found, route=found.route,
                           student=found.route.student, decision=decision, Category=Category,
                           situation_labels=SITUATION_LABELS, method_labels=CONTACT_METHOD_LABELS,
                           is_school=is_route_school_staff(principal, found.route))
    return html
