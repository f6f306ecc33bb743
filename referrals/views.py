"""The referral wizard for school staff (``/verwijzingen/nieuw``, ``/verwijzingen/<id>/bewerken``).

Five steps, each a plain HTML form that works without JavaScript: 1 choose the student (a GET
form: nothing to save yet), 2 find the service on the sociale kaart (the first POST: it makes
the draft, with a one-time ``client_token`` so a double submit is one draft), 3 the sign-up
form, 4 the data categories (only those the recipient has a basis for), 5 the preview of
exactly what the recipient will see, then send. Every POST saves the draft
(:func:`referrals.wizard_service.save_draft`), so leaving to record a consent loses nothing; a draft
continues where it was (``?stap=``).

Every page that shows the student reads it through :func:`network.access.decide` (purpose
``verwijzing``: the school's educational task) and commits that audit event. The school-side
pages of sent referrals are in :mod:`referrals.sent_views` (the same blueprint,
:mod:`referrals.blueprint`).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from network.access import Category
from network.db import db
from network.errors import Conflict, NotFound, ValidationFailed
from network.events import EventTag
from network.permissions import Permission, can_manage_student
from network.schemas import load_form
from network.students import get_student, list_students
from network.web import current_principal, keyring, redirect_to, require
from referrals import wizard_views as pages
from referrals.blueprint import bp
from referrals.inbox import InboxFilters, list_sent
from referrals.schemas import (
    CategoriesStepArgs,
    SendArgs,
    ServiceStepArgs,
    SignupStepArgs,
    details_from,
    form_raw,
)
from referrals.sent_views import show_conflict
from referrals.service import SENDER, get_referral, side_of
from referrals.states import ReferralStatus
from referrals.tags import ReferralTag
from referrals.transitions import transition
from referrals.wizard_service import new_client_token, save_draft, send_referral
from socialmap.models import Service, ServiceStatus

NO_STUDENT = _l("Deze leerling bestaat niet, of u heeft er geen toegang toe.")


def _base_url() -> str:
    return current_app.config.get("BASE_URL", "")


def load_student(student_id: Any, *, event_type: EventTag = ReferralTag.wizard):
    """The student (404 outside the school's walls), read for referral: decided and audited."""
    principal = current_principal()
    student, _decision = get_student(db.session, principal, student_id, purpose="verwijzing",
                                     categories=[Category.contact, Category.education], event_type=event_type)
    if not can_manage_student(principal, student):
        raise NotFound(NO_STUDENT)
    return student


def _load_draft(referral_id: Any):
    """A draft of the actor's school and its student; a referral already sent goes to its page."""
    principal = current_principal()
    referral = get_referral(db.session, principal, referral_id)
    if side_of(principal, referral) != SENDER:
        raise NotFound()
    student = load_student(referral.student_id)
    return referral, student


def _step_arg(value: Any, referral) -> int:
    try:
        step = int(value)
    except (TypeError, ValueError):
        return pages.resume_step(keyring(), referral)
    return min(max(step, 2), 5)


def _after_save(referral, step: int):
    """Where a saved step goes: the button pressed (``ga``: verder / terug / opslaan)."""
    go = request.form.get("ga", "verder")
    target = {"verder": step + 1, "terug": step - 1}.get(go, step)
    target = min(max(target, 2), 5)
    message = _("Het concept is opgeslagen.") if target == step else None
    return redirect_to("referrals.edit", message, referral_id=referral.id, stap=target)


def _finish(html_status):
    return html_status


# -- step 1 and 2 of a new referral -----------------------------------------------------------

@bp.route("/nieuw", methods=["GET", "POST"])
@require(Permission.referral_create)
def new():
    """Step 1 (choose the student) and step 2 (choose the service), which makes the draft."""
    principal = current_principal()
    if request.method == "POST":
        return _create_draft()
    student_id = request.args.get("student")
    if not student_id:
        q = request.args.get("q", "").strip()[:100]
        page = request.args.get("pagina", 1, type=int) or 1
        result = list_students(db.session, principal, q=q or None, page=page, per_page=25)
        return _finish(render_template("referrals/wizard/student.html", result=result, q=q, step=1,
                                       steps=pages.STEPS, referral=None))
    student = load_student(student_id)
    token = (request.args.get("token") or "")[:64] or new_client_token()
    values = {"client_token": token, "service_id": request.args.get("service_id", "")}
    return _finish(pages.render_new_service_step(student, values, {}))


def _check_choice(data: dict[str, Any]) -> None:
    """Step 2's own check: only an active entry of the sociale kaart (sending checks again)."""
    service = db.session.get(Service, data["service_id"])
    if service is not None and (service.status is not ServiceStatus.active or not service.organisation.is_active):
        raise ValidationFailed(errors={"service_id": [
            _("Deze dienst is niet actief; kies een andere dienst op de sociale kaart.")]})


def _create_draft():
    principal = current_principal()
    values = form_raw(request.form)
    if not request.form.get("student"):
        flash(_("Kies eerst een leerling."), "info")
        return redirect(url_for("referrals.new"))
    student = load_student(request.form.get("student"))
    data, errors = load_form(ServiceStepArgs, request.form)
    referral = None
    if data is not None:
        try:
            _check_choice(data)
            referral = save_draft(db.session, principal, keyring(), student,
                                  {"service_id": data["service_id"], "client_token": data.get("client_token")})
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    if errors:
        student = load_student(student.id)
        return _finish(pages.render_new_service_step(student, values, errors, status=400))
    if referral.status is not ReferralStatus.draft:  # a double submit of a referral already sent
        return redirect_to("referrals.detail", referral_id=referral.id)
    return redirect_to("referrals.edit", _("Het concept is opgeslagen."), referral_id=referral.id, stap=3)


# -- steps 2 to 5 of a draft ------------------------------------------------------------------

@bp.route("/<int:referral_id>/bewerken", methods=["GET", "POST"])
@require(Permission.referral_create)
def edit(referral_id: int):
    referral, student = _load_draft(referral_id)
    if referral.status is not ReferralStatus.draft:
        flash(_("Deze verwijzing is al verstuurd; u ziet hier de stand van zaken."), "info")
        return redirect(url_for("referrals.detail", referral_id=referral.id))
    if request.method == "GET":
        step = _step_arg(request.args.get("stap"), referral)
        return _finish(pages.render_step(step, referral, student, None, {}))
    step = _step_arg(request.form.get("stap"), referral)
    if step == 5:
        return redirect(url_for("referrals.edit", referral_id=referral.id, stap=5))
    values = form_raw(request.form, lists=("categories",))
    schema = {2: ServiceStepArgs, 3: SignupStepArgs, 4: CategoriesStepArgs}[step]
    data, errors = load_form(schema, values)
    if data is not None:
        try:
            changes = _step_changes(step, data, referral, student)
            save_draft(db.session, current_principal(), keyring(), student, changes, referral=referral)
        except ValidationFailed as exc:
            errors = exc.errors
        except Conflict as exc:
            return _again(referral_id, step, values, {}, status=409, conflict=str(exc.detail))
    if errors:
        return _again(referral_id, step, values, errors, status=400)
    return _after_save(referral, step)


def _step_changes(step: int, data: dict[str, Any], referral, student) -> dict[str, Any]:
    """What step ``step`` changes in the draft (raises ValidationFailed for the step's own rules)."""
    changes: dict[str, Any] = {"expected_version": data.get("version")}
    if step == 2:
        _check_choice(data)
        changes["service_id"] = data["service_id"]
    elif step == 3:
        purposes = {p.code for p in pages.fitting_purposes(referral)}
        if data.get("purpose") not in purposes:
            active = {p.code for p in pages.active_purposes()}
            raise ValidationFailed(errors={"purpose": [
                _("%(org)s mag voor dit doel geen gegevens krijgen. Kies een doel dat bij deze organisatie past.",
                  org=referral.service.organisation.name) if data.get("purpose") in active
                else _("Kies het doel van de verwijzing.")]})
        if data.get("type") is None:
            raise ValidationFailed(errors={"type": [_("Kies de soort aanmelding.")]})
        changes.update(purpose=data["purpose"], type=data["type"].value, details=details_from(data))
    else:
        pages.check_categories(referral, student, data["categories"])
        changes["categories"] = data["categories"]
    return changes


def _again(referral_id: int, step: int, values: dict[str, Any], errors: dict[str, list[str]], *, status: int,
           **extra: Any):
    """Nothing was saved: show the step again with what was typed, freshly loaded (and audited)."""
    db.session.rollback()
    referral, student = _load_draft(referral_id)
    if values is not None:
        values = dict(values, version=str(referral.version))
    return _finish(pages.render_step(step, referral, student, values, errors, status=status, **extra))


# -- step 5: send ----------------------------------------------------------------------------

@bp.post("/<int:referral_id>/versturen")
@require(Permission.referral_create)
def send(referral_id: int):
    """Send the draft. A second POST of the same send finds the referral sent and shows it."""
    principal = current_principal()
    referral = get_referral(db.session, principal, referral_id)
    if side_of(principal, referral) != SENDER:
        raise NotFound()
    load_student(referral.student_id, event_type=ReferralTag.send)
    values = form_raw(request.form)
    data, errors = load_form(SendArgs, values)
    if data is not None:
        try:
            send_referral(db.session, principal, keyring(), referral, response_due=data.get("response_due"),
                          expected_version=data.get("version"), base_url=_base_url())
        except ValidationFailed as exc:
            errors = exc.errors
        except Conflict as exc:
            if referral.status is not ReferralStatus.draft:  # sent or closed meanwhile: show its page
                return show_conflict(referral_id, exc)
            return _again(referral_id, 5, values, {}, status=409, conflict=str(exc.detail))
    if errors:
        step = min(pages.step_of(name) for name in errors)
        return _again(referral_id, step, values if step == 5 else None, errors, status=400)
    return redirect_to("referrals.detail", _("De verwijzing is verstuurd naar %(org)s.",
                                                     org=referral.to_organisation.name), referral_id=referral.id)


# -- drafts ----------------------------------------------------------------------------------

@bp.get("/concepten")
@require(Permission.referral_create)
def drafts():
    principal = current_principal()
    page = list_sent(db.session, principal, InboxFilters(status="draft", owner=request.args.get("van") or None),
                     cursor=request.args.get("cursor") or None)
    return _finish(render_template("referrals/wizard/drafts.html", page=page, mine=request.args.get("van") == "me",
                                   resume=lambda r: pages.resume_step(keyring(), r)))


@bp.post("/<int:referral_id>/verwijderen")
@require(Permission.referral_create)
def delete_draft(referral_id: int):
    """Delete a draft: it is cancelled with the reason "concept verwijderd" (the history stays)."""
    principal = current_principal()
    referral = get_referral(db.session, principal, referral_id)
    if side_of(principal, referral) != SENDER:
        raise NotFound()
    if referral.status is not ReferralStatus.draft:
        raise Conflict(_("Alleen een concept kan worden verwijderd; trek een verstuurde verwijzing in."))
    try:
        transition(db.session, principal, keyring(), referral, ReferralStatus.cancelled, reason="concept verwijderd",
                   expected_version=request.form.get("version", type=int), base_url=_base_url())
    except Conflict as exc:
        db.session.rollback()
        flash(str(exc.detail), "error")
        return redirect(url_for("referrals.drafts"))
    return redirect_to("referrals.drafts", _("Het concept is verwijderd."))

