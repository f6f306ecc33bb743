"""The employer's assessment pages (issue 19, item 4).

School staff (the placement's walls and decision, as the placement page):

- ``POST /trajecten/stages/<id>/beoordeling``: send (or send again) the personal link;
- ``POST …/beoordeling/<a>/intrekken``: revoke it;
- ``GET …/beoordeling/<a>`` and ``…/beoordeling/<a>/pdf``: the result, read-only, with the
  student's earlier assessments beside it; decided and audited.

The praktijkopleider (no account): ``/stagebeoordeling/<placement uuid>/<token>``, GET shows the
form, POST submits it. Public, rate-limited per address (``VERIFY_RATE_LIMIT``, as the other
public code pages), CSRF-protected; an unknown token, or one opened under another placement, is
404, an expired or revoked one 410, a used one shows the thanks; none of them shows any data.
The page shows the student's first name, the company, the function and the werkprocessen (decided
under the school's stageovereenkomst), and the student's begeleidingsformulier only when the
student shared it with the praktijkopleider (:func:`~referrals.placements.guidance.link_view`:
both reads go through ``consent.decide`` and are in the student's access log).
"""

from __future__ import annotations

from flask import current_app, make_response, render_template, request, url_for
from flask_babel import gettext as _

from network.access import Category
from network.db import db
from network.errors import Conflict, Forbidden, ValidationFailed
from network.extensions import limiter
from network.permissions import Permission
from network.web import current_principal, keyring, redirect_to, require
from referrals.placements.access import decide_placement, find_placement
from referrals.placements.assessment import (
    assessment_texts,
    check_link,
    link_principal,
    revoke_link,
    send_link,
    submit_assessment,
)
from referrals.placements.assessment_form import (
    ATTENTION,
    ATTENTION_INTRO,
    ATTENTION_LABELS,
    COMPETENCE_SCALE,
    DEVELOP_QUESTION,
    GROUPS,
    HIRE_QUESTION,
    IF_NOT_QUESTION,
    IF_SO_QUESTION,
    ITEMS,
    TASK_SCALE,
    YES_NO,
)
from referrals.placements.assessment_pdf import render_assessment_pdf
from referrals.placements.assessment_plan import copy_into_plan
from referrals.placements.assessment_reads import TRENDS, comparison, earlier_assessments, find_assessment
from referrals.placements.blueprint import bp
from referrals.placements.guidance import FIELDS as GUIDANCE_FIELDS
from referrals.placements.guidance import link_view
from referrals.placements.states import KIND_LABELS
from referrals.placements.views import _detail_page, base_url
from referrals.tags import PlacementTag

link_limit = limiter.limit(lambda: current_app.config["VERIFY_RATE_LIMIT"])


def form_labels() -> dict:
    return {"groups": GROUPS, "task_scale": TASK_SCALE, "competence_scale": COMPETENCE_SCALE, "yes_no": YES_NO,
            "attention_items": ATTENTION, "attention_intro": ATTENTION_INTRO, "attention_labels": ATTENTION_LABELS,
            "hire_question": HIRE_QUESTION, "develop_question": DEVELOP_QUESTION, "if_not_question": IF_NOT_QUESTION,
            "if_so_question": IF_SO_QUESTION, "kind_labels": KIND_LABELS, "trends": TRENDS, "Category": Category}


@bp.post("/trajecten/stages/<int:placement_id>/beoordeling")
@require(Permission.route_manage)
def assessment_send(placement_id):
    principal = current_principal()
    placement = find_placement(db.session, principal, placement_id)
    try:
        assessment, _address = send_link(db.session, principal, keyring(), placement, base_url=base_url(),
                                         link_days=int(current_app.config.get("PLACEMENT_ASSESSMENT_LINK_DAYS", 30)))
    except ValidationFailed as exc:
        db.session.rollback()
        placement = find_placement(db.session, principal, placement_id)
        return _detail_page(principal, placement, decide_placement(db.session, principal, placement),
                            conflict=exc.detail, status=400)
    if assessment.in_inbox:
        message = _("De beoordeling staat klaar voor %(company)s in Schakel; de medewerkers van het bedrijf krijgen "
                    "een melding.", company=placement.company_name)
    else:
        message = _("De link voor de beoordeling is verstuurd naar %(email)s.", email=placement.trainer_email)
    return redirect_to("placements.detail", message, placement_id=placement_id)


@bp.post("/trajecten/stages/<int:placement_id>/beoordeling/<int:assessment_id>/intrekken")
@require(Permission.route_manage)
def assessment_revoke(placement_id, assessment_id):
    principal = current_principal()
    assessment = find_assessment(db.session, principal, placement_id, assessment_id)
    try:
        revoke_link(db.session, principal, assessment)
    except Conflict as exc:
        db.session.rollback()
        placement = find_placement(db.session, principal, placement_id)
        return _detail_page(principal, placement, decide_placement(db.session, principal, placement),
                            conflict=exc.detail, status=409)
    return redirect_to("placements.detail", _("De link is ingetrokken: hij werkt niet meer."),
                       placement_id=placement_id)


def _result(placement_id: int, assessment_id: int):
    principal = current_principal()
    assessment = find_assessment(db.session, principal, placement_id, assessment_id)
    decision = decide_placement(db.session, principal, assessment.placement, event_type=PlacementTag.assessment_view)
    earlier = earlier_assessments(db.session, assessment)
    return assessment, decision, earlier


@bp.get("/trajecten/stages/<int:placement_id>/beoordeling/<int:assessment_id>")
@require(Permission.route_view)
def assessment_result(placement_id, assessment_id):
    return _result_page(*_result(placement_id, assessment_id))


def _result_page(assessment, decision, earlier, *, problem=None, status=200):
    placement = assessment.placement
    can_manage = current_principal().has(Permission.route_manage)
    return render_template("referrals/placements/assessment_result.html", assessment=assessment,
                           placement=placement, route=placement.route, student=placement.route.student,
                           decision=decision, earlier=earlier, rows=comparison(assessment, earlier),
                           texts=assessment_texts(keyring(), assessment), can_manage=can_manage, problem=problem,
                           **form_labels()), status


@bp.get("/trajecten/stages/<int:placement_id>/beoordeling/<int:assessment_id>/pdf")
@require(Permission.route_view)
def assessment_pdf(placement_id, assessment_id):
    assessment, decision, earlier = _result(placement_id, assessment_id)
    student = assessment.placement.route.student
    name = student.full_name if decision.permits(Category.contact) else None
    pdf = render_assessment_pdf(assessment, name, assessment_texts(keyring(), assessment),
                                comparison(assessment, earlier), len(earlier))
    response = make_response(pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="beoordeling-stage-{assessment.id}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/trajecten/stages/<int:placement_id>/beoordeling/<int:assessment_id>/naar-plan")
@require(Permission.route_manage)
def assessment_to_plan(placement_id, assessment_id):
    principal = current_principal()
    assessment = find_assessment(db.session, principal, placement_id, assessment_id)
    try:
        version = copy_into_plan(db.session, principal, keyring(), assessment)
    except (Conflict, Forbidden) as exc:
        db.session.rollback()
        assessment, decision, earlier = _result(placement_id, assessment_id)
        return _result_page(assessment, decision, earlier, problem=exc.detail, status=409)
    return redirect_to("placements.assessment_result",
                       _("De scores staan in de vaardigheden van het plan (versie %(n)s), met de beoordeling als "
                         "bron.", n=version.number), placement_id=placement_id, assessment_id=assessment_id)


# -- the praktijkopleider's page -------------------------------------------------------------------

def posted_answers(form) -> dict:
    """The assessment form as posted (through the link or in the company's inbox), for :func:`submit_assessment`."""
    return {"werkprocessen": {key[3:]: form.get(key) for key in form if key.startswith("wp_")},
            "competences": {key[2:]: form.get(key) for key in form if key.startswith("c_") and key[2:] in ITEMS},
            "hire": form.get("hire"), "develop": form.get("develop"), "if_not": form.get("if_not"),
            "if_so": form.get("if_so"), "toelichting": form.get("toelichting"),
            "attention": form.getlist("attention"), "confirm": form.get("confirm") == "ja",
            "signed_name": form.get("signed_name")}


def link_page(state: str, assessment=None, *, actor=None, action=None, inbox=False, values=None, errors=None,
              status=200):
    """The praktijkopleider's form (or what became of it), through the link or in the inbox."""
    ticked = values.getlist("attention") if values is not None else []
    placement = assessment.placement if assessment is not None and state == "ok" else None
    view = link_view(db.session, actor, keyring(), placement) if placement is not None else None
    return render_template(
        "referrals/placements/assessment_link.html", state=state, assessment=assessment, placement=placement,
        first_name=view.first_name if view else None, action=action, inbox=inbox, values=values or {},
        errors=errors or {}, ticked=ticked, view=view, guidance_fields=GUIDANCE_FIELDS, **form_labels()), status


@bp.route("/stagebeoordeling/<uuid:placement_uuid>/<token>", methods=["GET", "POST"])
@link_limit
def assessment_link(placement_uuid, token):
    check = check_link(db.session, placement_uuid, token)
    if check.state == "invalid":
        return link_page("invalid", status=404)
    if check.state in ("expired", "revoked"):
        return link_page(check.state, status=410)
    if check.state == "submitted":
        return link_page("submitted")
    actor = link_principal(current_principal(), check.assessment)
    action = url_for("placements.assessment_link", placement_uuid=placement_uuid, token=token)
    if request.method == "GET":
        return link_page("ok", check.assessment, actor=actor, action=action)
    try:
        submit_assessment(db.session, actor, keyring(), check.assessment, posted_answers(request.form))
    except ValidationFailed as exc:
        db.session.rollback()
        check = check_link(db.session, placement_uuid, token)
        return link_page("ok", check.assessment, actor=actor, action=action, values=request.form, errors=exc.errors,
                         status=400)
    return link_page("thanks", status=200)
