"""The region's dashboard (``/regio``) and the list of overdue referrals
(``/regio/achterstallig``) for the uitstroomcoördinator; the hub admin chooses a region. Only
aggregates and organisations: no student data on these pages or in their CSV files. The
region's follow-up term per school level is set here too (``/regio/nazorgtermijn``)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import select

from network import clock
from network.audit import AuditAction, record
from network.clock import utcnow
from network.db import db
from network.errors import ValidationFailed
from network.models import Region, Role
from network.permissions import Permission
from network.web import current_principal, operations_health, redirect_to, require
from referrals.dashboard import dashboard_table, region_dashboard, table_csv
from referrals.deadlines import overdue_referrals
from referrals.followup_models import TERM_MAX, TERM_MIN
from referrals.followup_terms import LEVEL_LABELS, RMC_TERM, region_terms, set_region_term
from referrals.placements.protocol_reads import overdue_by_school
from referrals.tags import ReferralTag

bp = Blueprint("regio", __name__, url_prefix="/regio")


def _region_arg() -> int | None:
    value = request.args.get("regio", "")
    return int(value) if value.isdigit() else None


def _regions(principal) -> list[Region]:
    """The hub admin's choice of region (others see their own only)."""
    if principal.role is not Role.hub_admin:
        return []
    return list(db.session.scalars(select(Region).order_by(Region.name)))


def number(value) -> str:
    """A figure as the locale writes it (``2,5`` in Dutch); ints as they are."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return format_decimal(value, format="#,##0.0")
    return format_decimal(value)


@bp.app_template_filter("figure")
def _figure(value):
    return number(value) if isinstance(value, int | float) or value is None else value


@bp.get("/")
@require(Permission.region_dashboard)
def dashboard():
    principal = current_principal()
    board = region_dashboard(db.session, principal, region_id=_region_arg(), today=clock.today(), now=utcnow())
    return render_template("referrals/dashboard/index.html", board=board, regions=_regions(principal),
                           health=operations_health(),
                           placements_overdue=overdue_by_school(db.session, board.region.id, today=clock.today()))


@bp.get("/export.csv")
@require(Permission.region_dashboard)
def export_csv():
    """One table of the dashboard as CSV (``?tabel=status|acceptatie|uitkomsten|...``); logged."""
    principal = current_principal()
    key = request.args.get("tabel", "status")
    region, table = dashboard_table(db.session, principal, key, region_id=_region_arg(), today=clock.today(),
                                    now=utcnow())
    if table is None:
        abort(404)
    record(db.session, principal, action=AuditAction.export, event_type=ReferralTag.dashboard_export,
           object_type="region", object_id=region.id, detail={"table": key})
    return Response(table_csv(table), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="schakel-{region.code}-{key}.csv"'})


@bp.get("/achterstallig")
@require(Permission.referral_overdue)
def overdue():
    principal = current_principal()
    page = request.args.get("pagina", "1")
    result = overdue_referrals(db.session, principal, region_id=_region_arg(),
                               page=int(page) if page.isdigit() else 1, today=clock.today())
    # the region was loaded (and checked) by overdue_referrals: this get is the identity map's
    region = db.session.get(Region, _region_arg() or principal.region_id)
    return render_template("referrals/dashboard/overdue.html", result=result, region=region,
                           regions=_regions(principal), today=clock.today())


@bp.route("/nazorgtermijn", methods=["GET", "POST"])
@require(Permission.followup_term_manage)
def followup_terms():
    """The region's follow-up term per school level: one small form per level (the
    uitstroomcoördinator of the region; the hub admin any region)."""
    principal = current_principal()
    region_id = _region_arg()
    values, errors, level = {}, {}, None
    if request.method == "POST":
        level, values = request.form.get("level", ""), request.form.to_dict()
        try:
            changed = set_region_term(db.session, principal, region_id, level, request.form.get("months"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
        else:
            message = _("De nazorgtermijn is opgeslagen.") if changed else _("De nazorgtermijn was al zo ingesteld.")
            return redirect_to("regio.followup_terms", message, regio=region_id)
    region, rows = region_terms(db.session, principal, region_id)
    html = render_template("referrals/dashboard/followup_terms.html", region=region, rows=rows,
                           regions=_regions(principal), level_labels=LEVEL_LABELS, values=values, errors=errors,
                           error_level=level, term_min=TERM_MIN, term_max=TERM_MAX, rmc_term=RMC_TERM)
    return html, 400 if errors else 200
