"""The warm hand-over at exit (``/trajecten/<id>/uitstroom/overdracht``, issue 20, item 3): the
form on the exit page that makes it (a referral marked ``at_exit``, see
:mod:`referrals.exit_handover`). Routes of :data:`referrals.route_views.bp`.

The page decides (and audits) the read of the student first, asking the plan category (the
hand-over carries the plan). After a failed form the unit of work was rolled back, so the route
is loaded and decided again.
"""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from consent.models import DataCategory
from network.access import Category
from network.audit import AuditAction
from network.db import db
from network.errors import Conflict
from network.permissions import Permission
from network.web import keyring, redirect_to, require, submit
from referrals.dashboard import STATUS_LABELS
from referrals.exit_handover import (
    ExitHandoverArgs,
    handover_purposes,
    handover_services,
    make_exit_handover,
    plan_choice,
    route_exit_handovers,
    signed_plan_versions,
)
from referrals.exit_views import _decided
from referrals.route_exit import route_exit
from referrals.route_views import bp
from referrals.signup import SHAREABLE
from referrals.tags import ExitTag
from referrals.wizard_service import new_client_token


def _page(route, decision, *, values, errors=None, chosen=(), conflict=None, status=200):
    values = {"client_token": new_client_token(), **values}
    html = render_template(
        "referrals/routes/exit_handover.html", route=route, student=route.student, decision=decision,
        values=values, errors=errors or {}, chosen=set(chosen), conflict=conflict,
        services=handover_services(db.session, route), purposes=handover_purposes(db.session),
        plans=[(plan_choice(a.id, v.number), a, v) for a, v in signed_plan_versions(db.session, route)],
        categories=list(SHAREABLE),
        category_labels={c.code.value: c.label for c in db.session.scalars(select(DataCategory))},
        handovers=route_exit_handovers(db.session, route),
        route_exit=route_exit(db.session, route), Category=Category, status_labels=STATUS_LABELS)
    return html, status


@bp.route("/<int:route_id>/uitstroom/overdracht", methods=["GET", "POST"])
@require(Permission.route_manage)
def exit_handover(route_id):
    if request.method == "GET":
        _principal, route, decision = _decided(route_id, ExitTag.handover_form)
        return _page(route, decision, values={})
    principal, route, _decision = _decided(route_id, ExitTag.handover_form, AuditAction.create)
    values, chosen = request.form.to_dict(), request.form.getlist("categories")
    try:
        made, errors = submit(ExitHandoverArgs, request.form, lambda data: make_exit_handover(
            db.session, principal, keyring(), route, data, categories=chosen,
            base_url=current_app.config.get("BASE_URL", "")))
    except Conflict as exc:
        db.session.rollback()
        _principal, route, decision = _decided(route_id, ExitTag.handover_form)
        return _page(route, decision, values=values, chosen=chosen, conflict=str(exc.detail), status=409)
    if not errors:
        return redirect_to("routes.exit_handover", _("De warme overdracht is verstuurd (verwijzing nr. %(id)s). "
                                                     "De ontvanger bevestigt hem in de inbox.", id=made.id),
                           route_id=route_id)
    _principal, route, decision = _decided(route_id, ExitTag.handover_form)
    return _page(route, decision, values=values, errors=errors, chosen=chosen, status=400)
