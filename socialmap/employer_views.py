"""The company side of an employer entry in HTML (issue 19, item 5): the form where the entry's
editors fill in what schools ask of a stagebedrijf (``/sociale-kaart/diensten/<id>/stagebedrijf``).
The entry's page shows it (``templates/socialmap/_employer_offer.html``)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_babel import gettext as _

from network.db import db
from network.errors import Conflict, NotFound
from network.permissions import Permission
from network.web import current_principal, redirect_to, require
from socialmap.blueprint import bp
from socialmap.employer_offer import (
    FUNCTION_ROWS,
    NOT_AN_EMPLOYER,
    is_employer_entry,
    offer_values,
    parse_offer,
    save_offer,
)
from socialmap.entries import get_service
from socialmap.schemas import FIELD_LABELS
from socialmap.vocab import ADAPTATIONS, PLACE_KINDS


def _entry(entry_id):
    service = get_service(db.session, current_principal(), entry_id, for_edit=True)
    if not is_employer_entry(service):
        raise NotFound(NOT_AN_EMPLOYER)
    return service


def _render(service, values: dict[str, Any], errors: dict[str, list], status: int = 200, conflict: str | None = None):
    return render_template("socialmap/employer_form.html", service=service, values=values, errors=errors,
                           conflict=conflict, labels=FIELD_LABELS, function_rows=FUNCTION_ROWS,
                           place_kinds=[(code, _(label)) for code, label in PLACE_KINDS.items()],
                           adaptations=[(code, _(label)) for code, label in ADAPTATIONS.items()]), status


@bp.route("/sociale-kaart/diensten/<uuid:entry_id>/stagebedrijf", methods=["GET", "POST"])
@require(Permission.socialmap_service_edit)
def employer_offer(entry_id):
    service = _entry(entry_id)
    if request.method == "GET":
        return _render(service, offer_values(service), {})
    values: dict[str, Any] = request.form.to_dict()
    values["adaptations"] = request.form.getlist("adaptations")
    data, errors = parse_offer(request.form)
    if errors:
        return _render(service, values, errors, 400)
    try:
        save_offer(db.session, current_principal(), service, data)
    except Conflict as exc:
        db.session.rollback()
        service = _entry(entry_id)
        values["version"] = str(service.version)  # the next save goes through, with what was typed
        return _render(service, values, {}, 409, conflict=str(exc.detail))
    return redirect_to("socialmap.detail", _("De gegevens als stagebedrijf zijn opgeslagen."),
                       service_id=service.uuid)
