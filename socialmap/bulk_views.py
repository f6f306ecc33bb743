"""More pages of the sociale kaart (on :data:`socialmap.blueprint.bp`, with
:mod:`socialmap.views`): the spreadsheet import (upload, preview with per-row problems, confirm or
cancel), the XLSX export, the employer matcher and the full HSDS download for coordinators (the ``schakel socialmap``
commands are in :mod:`socialmap.cli`)."""

from __future__ import annotations

import io
import os
import tempfile
import uuid

from flask import Response, render_template, request, send_file, stream_with_context
from flask_babel import gettext as _

from network.audit import AuditAction, record
from network.db import db
from network.errors import NotFound
from network.models import Region
from network.permissions import Permission
from network.web import current_principal, redirect_to, require
from socialmap.blueprint import PER_PAGE, bp
from socialmap.exchange import stream_package
from socialmap.imports import (
    can_create_organisations,
    cancel_import,
    confirm_import,
    get_pending,
    preview,
    stage_import,
)
from socialmap.matching import SupportNeeds, match_employers
from socialmap.spreadsheet import REQUIRED_COLUMNS, SpreadsheetError, xlsx_file
from socialmap.tags import SocialmapTag
from socialmap.views import VOCABULARIES, audited_export
from socialmap.vocab import OFFERS, TARGET_GROUPS

# -- spreadsheet import ----------------------------------------------------------------------


@bp.route("/sociale-kaart/import", methods=["GET", "POST"])
@require(Permission.socialmap_import)
def import_upload():
    principal = current_principal()
    error = None
    if request.method == "POST":
        upload = request.files.get("bestand")
        if upload is None or not upload.filename:
            error = _("Kies een bestand (.csv of .xlsx).")
        else:
            region = db.session.get(Region, principal.region_id)
            try:
                pending = stage_import(db.session, principal, region, upload.filename, upload.read())
            except SpreadsheetError as exc:
                db.session.rollback()
                error = exc.message
            else:
                return redirect_to("socialmap.import_preview", None, import_id=pending.id)
    return render_template("socialmap/import.html", error=error, columns=REQUIRED_COLUMNS), 400 if error else 200


@bp.get("/sociale-kaart/import/<uuid:import_id>")
@require(Permission.socialmap_import)
def import_preview(import_id: uuid.UUID):
    principal = current_principal()
    pending = get_pending(db.session, principal, import_id)
    return render_template("socialmap/import_preview.html", pending=pending, data=preview(pending),
                           can_create=can_create_organisations(principal))


@bp.post("/sociale-kaart/import/<uuid:import_id>/bevestigen")
@require(Permission.socialmap_import)
def import_confirm(import_id: uuid.UUID):
    principal = current_principal()
    pending = get_pending(db.session, principal, import_id)
    choices = {key[len("org-"):]: value for key, value in request.form.items() if key.startswith("org-")}
    names = {str(i): key for i, key in enumerate(preview(pending)["organisations"])}
    result = confirm_import(db.session, principal, pending, {names[k]: v for k, v in choices.items() if k in names})
    return redirect_to("socialmap.index", _(
        "Import verwerkt: %(created)d nieuw, %(updated)d bijgewerkt, %(skipped)d overgeslagen.",
        created=result.created, updated=result.updated, skipped=result.skipped))


@bp.post("/sociale-kaart/import/<uuid:import_id>/annuleren")
@require(Permission.socialmap_import)
def import_cancel(import_id: uuid.UUID):
    principal = current_principal()
    pending = get_pending(db.session, principal, import_id)
    if pending.status != "pending":
        raise NotFound(_("Deze import is al afgehandeld."))
    cancel_import(db.session, principal, pending)
    return redirect_to("socialmap.import_upload", _("De import is geannuleerd; er is niets opgeslagen."))


# -- XLSX export -----------------------------------------------------------------------------


@bp.get("/sociale-kaart/export.xlsx")
@require(Permission.socialmap_export)
def export_xlsx():
    """The entries matching the current filters as an Excel workbook (an audited export)."""
    services = audited_export("xlsx")

    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        xlsx_file(services, path, include_personal=True)
        with open(path, "rb") as workbook:
            content = io.BytesIO(workbook.read())  # compressed: a few MB for the whole country
    finally:
        os.remove(path)
    return send_file(content, as_attachment=True, download_name="sociale-kaart.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


# -- employers for a support need ------------------------------------------------------------


@bp.get("/sociale-kaart/werkgevers")
def employers():
    """Which employers meet a student's support needs (typed in by staff; no student data)."""

    args = request.args
    needs = SupportNeeds(
        offers=tuple(c for c in args.getlist("aanbod") if c in OFFERS),
        target_groups=tuple(c for c in args.getlist("doelgroep") if c in TARGET_GROUPS),
        sector=(args.get("sector") or "").strip()[:120] or None,
        gemeente=(args.get("gemeente") or "").strip()[:120] or None,
        sbb_only=args.get("sbb") == "1")
    page = args.get("pagina", 1, type=int) or 1
    result, matches = (None, [])
    if not needs.empty:
        result, matches = match_employers(db.session, needs, page=page, per_page=PER_PAGE)
    values = {"aanbod": list(needs.offers), "doelgroep": list(needs.target_groups), "sector": needs.sector or "",
              "gemeente": needs.gemeente or "", "sbb": needs.sbb_only}
    return render_template("socialmap/employers.html", needs=needs, result=result, matches=matches, values=values,
                           offer_options=[(c, _(label)) for c, label in OFFERS.items()],
                           group_options=[(c, _(label)) for c, label in TARGET_GROUPS.items()], **VOCABULARIES)


# -- HSDS full export ------------------------------------------------------------------------


@bp.get("/sociale-kaart/export-hsds.json")
@require(Permission.socialmap_import)
def export_hsds():
    """The whole map as one HSDS package, with contact persons (coordinators and hub admin;
    an audited export), streamed in flat memory."""

    principal = current_principal()
    record(db.session, principal, action=AuditAction.export, event_type=SocialmapTag.service_export,
           object_type="socialmap_service", detail={"format": "hsds"})
    response = Response(stream_with_context(stream_package(db.session, include_personal=True)),
                        mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="sociale-kaart-hsds.json"'
    return response
