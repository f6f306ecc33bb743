"""Student pages of school staff: the list, sign-up, detail and edit (``/leerlingen``).

Every page that shows a student is a read that leaves an audit event (through
:func:`network.access.decide` or the list's own event); the request's unit of work commits it
after the page is rendered (network.transaction), so nothing on the page is reloaded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from network.access import Category
from network.audit import AuditAction
from network.db import db
from network.errors import Conflict, Forbidden, ValidationFailed
from network.events import EventTag
from network.permissions import Permission, can_manage_student
from network.schemas import load_form
from network.student_schemas import (
    FIELD_LABELS,
    LEVEL_LABELS,
    StudentArgs,
    StudentEditArgs,
)
from network.students import (
    PURPOSE_GUIDANCE,
    STUDENT_FIELDS,
    get_student,
    list_students,
    register_student,
    update_student,
)
from network.tags import StudentTag
from network.web import current_principal, keyring, redirect_to, require, submit

bp = Blueprint("students", __name__)

PER_PAGE = 25
DETAIL_CATEGORIES = (Category.contact, Category.education, Category.bsn)


def _load(student_id: Any, *, action: AuditAction = AuditAction.read, event_type: EventTag = StudentTag.view):
    """The student and the access decision; a denied decision stays in the audit log."""
    return get_student(db.session, current_principal(), student_id, purpose=PURPOSE_GUIDANCE,
                       categories=DETAIL_CATEGORIES, action=action, event_type=event_type)


def _form_values(student) -> dict[str, str]:
    values = {}
    for name in STUDENT_FIELDS:
        value = getattr(student, name)
        if isinstance(value, dt.date):
            value = value.isoformat()
        values[name] = "" if value is None else str(getattr(value, "value", value))
    values["version"] = str(student.version)
    return values


def _render_form(template_values: dict[str, Any], status: int = 200):
    options = {"levels": [(level.value, label) for level, label in LEVEL_LABELS.items()], "labels": FIELD_LABELS}
    return render_template("students/form.html", **options, **template_values), status


@bp.get("/leerlingen")
@require(Permission.student_list)
def index():
    q = request.args.get("q", "").strip()[:100]
    page = request.args.get("pagina", 1, type=int) or 1
    result = list_students(db.session, current_principal(), q=q or None, page=page, per_page=PER_PAGE)
    html = render_template("students/list.html", result=result, q=q, level_labels=LEVEL_LABELS)
    return html


@bp.route("/leerlingen/nieuw", methods=["GET", "POST"])
@require(Permission.student_create)
def create():
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = request.form.to_dict()
        student, errors = submit(StudentArgs, request.form,
                                 lambda data: register_student(db.session, current_principal(), keyring(), data))
        if not errors:
            return redirect_to("students.detail", _("De leerling is geregistreerd."), student_id=student.id)
    return _render_form({"values": values, "errors": errors, "student": None, "bsn_allowed": True},
                        400 if errors else 200)


@bp.get("/leerlingen/<uuid:student_id>")
@require(Permission.student_view)
def detail(student_id):
    principal = current_principal()
    student, decision = _load(student_id)
    masked_bsn = student.masked_bsn(keyring()) if decision.permits(Category.bsn) else None
    html = render_template("students/detail.html", student=student, decision=decision, Category=Category,
                           masked_bsn=masked_bsn, labels=FIELD_LABELS, level_labels=LEVEL_LABELS,
                           can_edit=principal.has(Permission.student_update) and can_manage_student(principal, student))
    return html


@bp.route("/leerlingen/<uuid:student_id>/bewerken", methods=["GET", "POST"])
@require(Permission.student_update)
def edit(student_id):
    principal = current_principal()
    posted = request.method == "POST"
    student, decision = _load(student_id, event_type=StudentTag.edit,
                              action=AuditAction.update if posted else AuditAction.read)
    if not can_manage_student(principal, student):
        raise Forbidden(_("U kunt alleen leerlingen van uw eigen school bewerken."))
    if not (decision.permits(Category.contact) and decision.permits(Category.education)):
        raise Forbidden(_("U heeft geen grondslag om deze gegevens van de leerling te bewerken."))
    bsn_allowed = decision.permits(Category.bsn)
    if not posted:
        return _finish_form(student, _form_values(student), {}, bsn_allowed)

    values = request.form.to_dict()
    data, errors = load_form(StudentEditArgs, request.form)
    if data is None:
        return _finish_form(student, values, errors, bsn_allowed, status=400)
    if not bsn_allowed:
        data.pop("bsn", None)
        data.pop("remove_bsn", None)
    try:
        update_student(db.session, principal, keyring(), student, data, data["version"])
    except (Conflict, ValidationFailed) as exc:
        # Nothing is saved; show the form again with the user's input, freshly loaded (and
        # audited) so that the hidden version is the current one.
        db.session.rollback()
        student, decision = _load(student_id, event_type=StudentTag.edit)
        if isinstance(exc, Conflict):
            current = _form_values(student)
            changed = [FIELD_LABELS[name] for name in STUDENT_FIELDS if current[name] != (values.get(name) or "")]
            values["version"] = current["version"]
            return _finish_form(student, values, {}, bsn_allowed, status=409, conflict=str(exc.detail),
                                changed_labels=changed)
        return _finish_form(student, values, exc.errors, bsn_allowed, status=400)
    return redirect_to("students.detail", _("De gegevens zijn opgeslagen."), student_id=student.id)


def _finish_form(student, values, errors, bsn_allowed, status=200, **extra):
    masked = student.masked_bsn(keyring()) if bsn_allowed else None
    response = _render_form({"values": values, "errors": errors, "student": student, "bsn_allowed": bsn_allowed,
                             "masked_bsn": masked, **extra}, status)
    return response
