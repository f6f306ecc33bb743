"""The end of a route at school (``/trajecten/<id>/…``): the eindgesprek (its form and a
recorded one) and the structured exit (the form that records or corrects it, prefilled with the
plan's retourticket). Routes of :data:`referrals.route_views.bp`.

Every page decides (and audits) the read of the student first, asking the plan category: the
eindgesprek and the retourticket speak of the student's plan. After a failed form the unit of
work was rolled back, so the route is loaded and decided again.
"""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _

from network.access import Category
from network.audit import AuditAction
from network.db import db
from network.errors import Conflict, Forbidden, NotFound
from network.events import EventTag
from network.permissions import Permission
from network.web import current_principal, keyring, redirect_to, require, submit
from referrals.eindgesprek import (
    QUESTIONS,
    STEP_LABELS,
    EindgesprekArgs,
    eindgesprek_answers,
    partner_organisations,
    read_back,
    record_eindgesprek,
)
from referrals.exit_models import Eindgesprek
from referrals.route_exit import (
    DESTINATION_LABELS,
    WAY_OUT_LABELS,
    StructuredExitArgs,
    exit_details,
    plan_retourticket,
    record_structured_exit,
    route_exit,
)
from referrals.route_service import decide_route, find_route
from referrals.route_views import bp
from referrals.tags import EindgesprekTag, ExitTag, RouteTag

#: what these pages read of the student: the name, the programme and the plan
END_CATEGORIES = (Category.contact, Category.education, Category.plan)


def _decided(route_id: int, event_type: EventTag, action: AuditAction = AuditAction.read):
    principal = current_principal()
    route = find_route(db.session, principal, route_id)
    decision = decide_route(db.session, principal, route, event_type=event_type, action=action,
                            categories=END_CATEGORIES)
    if not decision.permits(Category.plan):
        raise Forbidden(_("U heeft geen grondslag om het plan van deze leerling in te zien."))
    return principal, route, decision


def _exit_values(route) -> dict[str, str]:
    """The exit form's values: the recorded exit, else the plan's retourticket."""
    found = route_exit(db.session, route)
    values = {"exit_date": route.exit_date.isoformat() if route.exit_date else "",
              "startkwalificatie": {True: "ja", False: "nee"}.get(route.startkwalificatie, "onbekend"),
              "version": str(route.version)}
    if found is None:
        values["retourticket"] = plan_retourticket(db.session, keyring(), route) or ""
        return values
    return {**values, **exit_details(keyring(), found), "way_out": found.way_out.value,
            "destination": found.destination.value, "certificates": "\n".join(found.certificates),
            "confirm": "true" if found.contradiction_confirmed else ""}


def _exit_page(route, decision, *, values=None, errors=None, conflict=None, status=200):
    html = render_template("referrals/routes/exit.html", route=route, student=route.student, decision=decision,
                           Category=Category,
                           values=values if values is not None else _exit_values(route), errors=errors or {},
                           conflict=conflict, way_outs=list(WAY_OUT_LABELS.items()),
                           destinations=list(DESTINATION_LABELS.items()),
                           has_exit=route_exit(db.session, route) is not None)
    return html, status


@bp.route("/<int:route_id>/uitstroom", methods=["GET", "POST"])
@require(Permission.route_manage)
def exit_school(route_id):
    if request.method == "GET":
        _principal, route, decision = _decided(route_id, ExitTag.form)
        return _exit_page(route, decision)
    principal, route, _decision = _decided(route_id, RouteTag.exit, AuditAction.update)
    values = request.form.to_dict()
    try:
        _done, errors = submit(StructuredExitArgs, request.form, lambda data: record_structured_exit(
            db.session, principal, keyring(), route, data, expected_version=data.pop("version", None)))
    except Conflict as exc:
        db.session.rollback()
        _principal, route, decision = _decided(route_id, ExitTag.form)
        values["version"] = str(route.version)
        return _exit_page(route, decision, values=values, conflict=str(exc.detail), status=409)
    if not errors:
        return redirect_to("routes.detail", _("De uitstroom is vastgelegd; de nazorgcontacten zijn gepland."),
                           route_id=route_id)
    _principal, route, decision = _decided(route_id, ExitTag.form)
    return _exit_page(route, decision, values=values, errors=errors, status=400)


@bp.route("/<int:route_id>/eindgesprek", methods=["GET", "POST"])
@require(Permission.route_manage)
def eindgesprek(route_id):
    posted = request.method == "POST"
    principal, route, _decision = _decided(route_id, EindgesprekTag.form,
                                           AuditAction.create if posted else AuditAction.read)
    values, errors, chosen = {}, {}, []
    if posted:
        values, chosen = request.form.to_dict(), request.form.getlist("partners")
        made, errors = submit(EindgesprekArgs, request.form, lambda data: record_eindgesprek(
            db.session, principal, keyring(), route, data, partners=chosen))
        if not errors:
            return redirect_to("routes.eindgesprek_detail", _("Het eindgesprek is vastgelegd."), route_id=route_id,
                               eindgesprek_id=made.id)
        principal, route, _decision = _decided(route_id, EindgesprekTag.form)
    html = render_template("referrals/routes/eindgesprek.html", route=route, student=route.student, values=values,
                           errors=errors, questions=QUESTIONS, steps=list(STEP_LABELS.items()),
                           partners=partner_organisations(db.session, route), chosen={str(c) for c in chosen})
    return html, 400 if errors else 200


@bp.get("/<int:route_id>/eindgesprek/<int:eindgesprek_id>")
@require(Permission.route_view)
def eindgesprek_detail(route_id, eindgesprek_id):
    principal = current_principal()
    route = find_route(db.session, principal, route_id)
    found = db.session.get(Eindgesprek, eindgesprek_id)
    if found is None or found.route_id != route.id:
        raise NotFound()
    _principal, route, _decision = _decided(route_id, EindgesprekTag.view)
    html = render_template("referrals/routes/eindgesprek_detail.html", route=route, student=route.student,
                           found=found, answers=read_back(db.session, eindgesprek_answers(keyring(), found)))
    return html
