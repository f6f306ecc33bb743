"""The instruments page of a route (``/trajecten/<id>/instrumenten``): the instruments of the
move into work the reader may see, and the form to record one. School staff of the route's
school see and record all of them; staff of a gemeente or UWV with a basis for the student see
and record those of their own law. Every read decides (and audits) first, so GET commits; a
reader without a basis gets 404, as for a route that does not exist.
"""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _
from marshmallow import fields

from network.access import Category
from network.audit import AuditAction
from network.db import db
from network.models import OrganisationType
from network.permissions import Permission
from network.schemas import FormSchema
from network.web import current_principal, keyring, redirect_to, require, submit
from referrals.instruments import (
    FUNDER_LABELS,
    KIND_LABELS,
    REGISTER_LABELS,
    InstrumentArgs,
    arranging_organisations,
    by_law_indicated,
    end_instrument,
    instrument_access,
    instrument_note,
    owner_type,
    record_instrument,
    route_instruments,
)
from referrals.instruments_models import InstrumentKind, RegisterStatus
from referrals.route_views import bp
from referrals.tags import InstrumentTag


def _kinds(access) -> list[tuple[str, str]]:
    """The kinds the reader may record: all for the school, its own law's for a partner."""
    kinds = [k for k in InstrumentKind if access.reader is OrganisationType.school
             or k in (InstrumentKind.jobcoach, InstrumentKind.werkplekaanpassing)
             or owner_type(kind=k) is access.reader]
    return [(k.value, KIND_LABELS[k]) for k in kinds]


class EndArgs(FormSchema):
    end_date = fields.Date(load_default=None)


def _endable(access, instruments) -> set[int]:
    """The instruments whose end the reader may set: the school any, a partner its own law's."""
    if not access.can_record:
        return set()
    return {i.id for i in instruments if access.reader is OrganisationType.school or owner_type(i) is access.reader}


def _page(access, *, values=None, errors=None, status=200, ending=None, end_errors=None, end_value=""):
    principal = current_principal()
    route = access.route
    instruments = route_instruments(db.session, access)
    defaults = {"register_status": RegisterStatus.geindiceerd.value if by_law_indicated(route) else "",
                "arranged_by_name": principal.name, "arranged_by_organisation_id": str(principal.organisation_id)}
    values = {**defaults, **(values or {})}
    html = render_template(
        "referrals/routes/instruments.html", route=route, student=route.student, decision=access.decision,
        Category=Category, access=access, instruments=instruments,
        notes={i.id: instrument_note(keyring(), i) for i in instruments},
        kind_labels=KIND_LABELS, register_labels=REGISTER_LABELS, funder_labels=FUNDER_LABELS,
        kinds=_kinds(access), organisations=arranging_organisations(db.session, route),
        by_law=by_law_indicated(route), values=values, errors=errors or {},
        is_school=access.reader is OrganisationType.school, endable=_endable(access, instruments), ending=ending,
        end_errors=end_errors or {}, end_value=end_value)
    return html, status


@bp.get("/<int:route_id>/instrumenten")
@require(Permission.referral_view)
def instruments(route_id):
    return _page(instrument_access(db.session, current_principal(), route_id))


@bp.post("/<int:route_id>/instrumenten")
@require(Permission.referral_view)
def record(route_id):
    principal = current_principal()
    access = instrument_access(db.session, principal, route_id, action=AuditAction.create,
                               event_type=InstrumentTag.form)
    values = request.form.to_dict()
    _made, errors = submit(InstrumentArgs, request.form,
                           lambda data: record_instrument(db.session, principal, keyring(), access, data))
    if not errors:
        return redirect_to("routes.instruments", _("Het instrument is vastgelegd."), route_id=route_id)
    access = instrument_access(db.session, principal, route_id, event_type=InstrumentTag.form)
    return _page(access, values=values, errors=errors, status=400)


@bp.post("/<int:route_id>/instrumenten/<int:instrument_id>/einde")
@require(Permission.referral_view)
def end(route_id, instrument_id):
    principal = current_principal()
    access = instrument_access(db.session, principal, route_id, action=AuditAction.update,
                               event_type=InstrumentTag.form)
    _done, errors = submit(EndArgs, request.form, lambda data: end_instrument(
        db.session, principal, access, instrument_id, data.get("end_date")))
    if not errors:
        return redirect_to("routes.instruments", _("De einddatum is vastgelegd."), route_id=route_id)
    access = instrument_access(db.session, principal, route_id, event_type=InstrumentTag.form)
    return _page(access, status=400, ending=instrument_id, end_errors=errors,
                 end_value=request.form.get("end_date", ""))
