"""The begeleidingsformulier's pages (issue 19, item 3).

The student (or, under 16, the parent or guardian), in the portal beside "wie mag wat zien":

- ``GET /mijn-gegevens/begeleidingsformulier``: the form, to write or rewrite, and the choice
  of who reads it; a read of their own data, decided and audited as every portal page;
- ``POST /mijn-gegevens/begeleidingsformulier``: save the texts (a save by someone else in
  between is a 409 that keeps what was typed);
- ``POST /mijn-gegevens/begeleidingsformulier/delen``: the choice, in one step.

School staff: ``GET /trajecten/stages/<id>/begeleidingsformulier`` inside the placement's walls
(404 outside), then the form's own decision: only a role the student ticked reads it; anyone
else gets a 403 with no data, and the denial is in the student's access log.
"""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _

from consent.views import portal_empty, portal_read, portal_subject
from network import clock
from network.db import db
from network.errors import Conflict, Forbidden, ValidationFailed
from network.permissions import Permission
from network.web import current_principal, keyring, login_required_view, redirect_to, require
from referrals.placements.access import find_placement
from referrals.placements.blueprint import bp
from referrals.placements.guidance import (
    FIELDS,
    NOT_SHARED,
    SHARE_LABELS,
    ShareWith,
    find_form,
    read_form,
    save_form,
    set_sharing,
    shared_names,
)
from referrals.tags import PlacementTag


def _own_page(actor, student, role, choices, *, values=None, errors=None, share_errors=None, conflict=None,
              status=200):
    """The portal page; the read is decided (the form's own purpose when there is one)."""
    form = find_form(db.session, student)
    if form is not None:
        read = read_form(db.session, actor, keyring(), student, event_type=PlacementTag.guidance_own_view)
        texts = read.texts
    else:
        portal_read(actor, student, PlacementTag.guidance_own_view)
        texts = {}
    shown = values if values is not None else {**texts, "version": str(form.version) if form else ""}
    return render_template(
        "referrals/placements/my_guidance.html", student=student, role=role, choices=choices, form=form,
        values=shown, errors=errors or {}, share_errors=share_errors or {}, conflict=conflict, fields=FIELDS,
        share_options=[(s.value, SHARE_LABELS[s]) for s in ShareWith],
        shared=set(form.shared_with if form else [])), status


@bp.get("/mijn-gegevens/begeleidingsformulier")
@login_required_view
def my_guidance():
    actor, student, role, choices = portal_subject()
    if student is None:
        return portal_empty()
    return _own_page(actor, student, role, choices)


@bp.post("/mijn-gegevens/begeleidingsformulier")
@login_required_view
def my_guidance_save():
    actor, student, role, choices = portal_subject()
    if student is None:
        return portal_empty(), 404
    version = request.form.get("version", "")
    try:
        save_form(db.session, actor, keyring(), student, request.form, today=clock.today(),
                  expected_version=int(version) if version.isdigit() else None)
    except ValidationFailed as exc:
        db.session.rollback()
        return _own_page(actor, student, role, choices, values=request.form, errors=exc.errors, status=400)
    except Conflict as exc:
        db.session.rollback()
        form = find_form(db.session, student)
        typed = {**request.form, "version": str(form.version) if form else ""}
        return _own_page(actor, student, role, choices, values=typed, conflict=exc.detail, status=409)
    return redirect_to("placements.my_guidance", _("Je begeleidingsformulier is opgeslagen."), leerling=student.id)


@bp.post("/mijn-gegevens/begeleidingsformulier/delen")
@login_required_view
def my_guidance_share():
    actor, student, role, choices = portal_subject()
    if student is None:
        return portal_empty(), 404
    try:
        form = set_sharing(db.session, actor, student, request.form.getlist("shared_with"), today=clock.today())
    except ValidationFailed as exc:
        db.session.rollback()
        return _own_page(actor, student, role, choices, share_errors=exc.errors, status=400)
    names = shared_names(form)
    message = (_("Je keuze is opgeslagen. Dit mag je formulier nu lezen: %(who)s.", who=", ".join(names)) if names
               else _("Je keuze is opgeslagen. Niemand anders kan je formulier nu lezen."))
    return redirect_to("placements.my_guidance", message, leerling=student.id)


@bp.get("/trajecten/stages/<int:placement_id>/begeleidingsformulier")
@require(Permission.route_view)
def guidance(placement_id):
    principal = current_principal()
    placement = find_placement(db.session, principal, placement_id)
    if find_form(db.session, placement.student_id) is None:  # nothing to read: the student is not loaded
        return render_template("referrals/placements/guidance.html", placement=placement, read=None, refused=None)
    student = placement.route.student
    try:
        read = read_form(db.session, principal, keyring(), student)
    except Forbidden:
        return render_template("referrals/placements/guidance.html", placement=placement, read=None,
                               refused=str(NOT_SHARED)), 403
    return render_template("referrals/placements/guidance.html", placement=placement, read=read, refused=None,
                           student=student, fields=FIELDS, shared=shared_names(read.form) if read else [],
                           colleagues=bool(read and ShareWith.collegas.value in read.form.shared_with))
