"""The employer's assessment for a company with accounts in the hub (issue 19, item 4: "an
employer organisation with accounts in the hub gets it in its inbox instead").

- ``GET /stagebeoordelingen``: the company's assessments, open ones first. The list names the
  internship (kind, function, dates), not the student, so it reads nothing of a student.
- ``GET``/``POST /stagebeoordelingen/<id>``: the same form as the personal link's, signed by the
  logged-in staff member; the student's first name and, if the student shared it with the
  praktijkopleider, the begeleidingsformulier are decided and audited
  (:func:`~referrals.placements.guidance.link_view`). Another company's assessment, or one sent
  as a link, is a 404; revoked or expired a 410; submitted shows that it is done.
"""

from __future__ import annotations

from flask import render_template, request, url_for
from flask_babel import lazy_gettext as _l

from network import clock
from network.db import db
from network.errors import NotFound, ValidationFailed
from network.permissions import Permission
from network.web import current_principal, keyring, require
from referrals.placements.assessment import check_inbox, inbox_assessments, submit_assessment
from referrals.placements.assessment_views import link_page, posted_answers
from referrals.placements.blueprint import bp
from referrals.placements.states import KIND_LABELS

NOT_FOUND = _l("Deze beoordeling bestaat niet, of is niet voor uw bedrijf.")


@bp.get("/stagebeoordelingen")
@require(Permission.placement_assess)
def inbox():
    principal = current_principal()
    now = clock.utcnow()
    rows = inbox_assessments(db.session, principal, now=now)
    return render_template("referrals/placements/assessment_inbox.html", rows=rows, now=now,
                           kind_labels=KIND_LABELS)


@bp.route("/stagebeoordelingen/<int:assessment_id>", methods=["GET", "POST"])
@require(Permission.placement_assess)
def inbox_form(assessment_id):
    principal = current_principal()
    check = check_inbox(db.session, principal, assessment_id)
    if check.state == "invalid":
        raise NotFound(str(NOT_FOUND))
    if check.state in ("expired", "revoked"):
        return link_page(check.state, inbox=True, status=410)
    if check.state == "submitted":
        return link_page("submitted", inbox=True)
    action = url_for("placements.inbox_form", assessment_id=assessment_id)
    if request.method == "GET":
        return link_page("ok", check.assessment, actor=principal, action=action, inbox=True)
    try:
        submit_assessment(db.session, principal, keyring(), check.assessment, posted_answers(request.form))
    except ValidationFailed as exc:
        db.session.rollback()
        check = check_inbox(db.session, principal, assessment_id)
        return link_page("ok", check.assessment, actor=principal, action=action, inbox=True, values=request.form,
                         errors=exc.errors, status=400)
    return link_page("thanks", inbox=True)
