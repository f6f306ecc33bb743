"""The stageprotocol's pages: recording a contact (planned or not) and moving a planned one
("actie op maat"), the stagebegeleider's list of contacts due or late (the zorgcoördinator's
for the whole school), and the visitekaartje as a print page and a PDF.

Every page that shows the student finds the placement inside the actor's walls (404), decides
and audits the read (403 when denied), then renders. A failed form was rolled back: the
placement is found and decided again to re-render it with what was typed.
"""

from __future__ import annotations

from flask import Response, render_template, request
from flask_babel import gettext as _

from network.access import Category
from network.audit import AuditAction
from network.db import db
from network.errors import ValidationFailed
from network.permissions import Permission
from network.web import current_principal, keyring, redirect_to, require
from referrals.placements.access import decide_placement, find_placement, require_manager
from referrals.placements.blueprint import bp
from referrals.placements.protocol import (
    EVALUATION_TOPICS,
    find_contact,
    move_contact,
    record_contact,
)
from referrals.placements.protocol_card import render_card_pdf
from referrals.placements.protocol_models import HOW_LABELS, KIND_LABELS, WITH_LABELS, ContactKind
from referrals.placements.protocol_reads import SCHOOL, card, due_contacts, scope_for
from referrals.placements.states import KIND_LABELS as PLACEMENT_KIND_LABELS
from referrals.tags import PlacementTag

PER_PAGE = 25
_CONTACT = "/trajecten/stages/<int:placement_id>/contacten"


def _load(principal, placement_id, contact_id=None, *, event_type=PlacementTag.form, action=AuditAction.read):
    placement = find_placement(db.session, principal, placement_id)
    require_manager(principal, placement)
    decision = decide_placement(db.session, principal, placement, event_type=event_type, action=action)
    contact = find_contact(db.session, placement, contact_id) if contact_id else None
    return placement, decision, contact


def _contact_id() -> int | None:
    value = request.values.get("contact", "")
    return int(value) if value.isdigit() else None


def _form(placement, decision, contact, *, values, errors=None, move_values=None, move_errors=None, status=200):
    html = render_template(
        "referrals/placements/contact_form.html", placement=placement, route=placement.route,
        student=placement.route.student, decision=decision, contact=contact, values=values, errors=errors or {},
        move_values=move_values or {}, move_errors=move_errors or {},
        is_evaluation=contact is not None and contact.kind is ContactKind.evaluation,
        topics=EVALUATION_TOPICS, Category=Category, kind_labels=KIND_LABELS,
        placement_kind_labels=PLACEMENT_KIND_LABELS,
        with_options=[(k.value, label) for k, label in WITH_LABELS.items()],
        how_options=[(k.value, label) for k, label in HOW_LABELS.items()])
    return html, status


@bp.route(_CONTACT + "/vastleggen", methods=["GET", "POST"])
@require(Permission.route_manage)
def record(placement_id):
    principal = current_principal()
    placement, decision, contact = _load(principal, placement_id, _contact_id())
    if request.method == "GET":
        return _form(placement, decision, contact, values={})
    values = request.form.to_dict()
    try:
        record_contact(db.session, principal, keyring(), placement, values, contact=contact)
    except ValidationFailed as exc:
        db.session.rollback()
        placement, decision, contact = _load(principal, placement_id, _contact_id())
        return _form(placement, decision, contact, values=values, errors=exc.errors, status=400)
    return redirect_to("placements.detail", _("Het contact is vastgelegd."), placement_id=placement_id)


@bp.post(_CONTACT + "/<int:contact_id>/verplaatsen")
@require(Permission.route_manage)
def move(placement_id, contact_id):
    principal = current_principal()
    placement, _decision, contact = _load(principal, placement_id, contact_id)
    values = request.form.to_dict()
    try:
        move_contact(db.session, principal, placement, contact, values.get("due_date"), values.get("move_reason"))
    except ValidationFailed as exc:
        db.session.rollback()
        placement, decision, contact = _load(principal, placement_id, contact_id)
        return _form(placement, decision, contact, values={}, move_values=values, move_errors=exc.errors,
                     status=400)
    return redirect_to("placements.detail", _("Het contact is verplaatst."), placement_id=placement_id)


@bp.get("/trajecten/stagecontacten")
@require(Permission.route_view)
def contacts():
    principal = current_principal()
    scope = scope_for(principal, request.args.get("wie"))
    page = request.args.get("pagina", 1, type=int) or 1
    result = due_contacts(db.session, principal, scope=scope, page=page, per_page=PER_PAGE)
    return render_template("referrals/placements/contacts.html", result=result, scope=scope, SCHOOL=SCHOOL,
                           can_see_school=scope_for(principal, SCHOOL) == SCHOOL, kind_labels=KIND_LABELS,
                           placement_kind_labels=PLACEMENT_KIND_LABELS)


def _card(placement_id, action):
    principal = current_principal()
    placement = find_placement(db.session, principal, placement_id)
    decision = decide_placement(db.session, principal, placement, event_type=PlacementTag.card, action=action)
    return placement, decision, card(db.session, placement)


@bp.get("/trajecten/stages/<int:placement_id>/visitekaartje")
@require(Permission.route_view)
def card_page(placement_id):
    placement, decision, people = _card(placement_id, AuditAction.read)
    return render_template("referrals/placements/card.html", placement=placement, student=placement.route.student,
                           decision=decision, people=people, Category=Category,
                           placement_kind_labels=PLACEMENT_KIND_LABELS)


@bp.get("/trajecten/stages/<int:placement_id>/visitekaartje.pdf")
@require(Permission.route_view)
def card_pdf(placement_id):
    placement, decision, people = _card(placement_id, AuditAction.export)
    name = placement.route.student.full_name if decision.permits(Category.contact) else None
    body = render_card_pdf(placement, name, people)
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="visitekaartje-stage-{placement.id}.pdf"'})
