"""The student's own view of the employer's assessments (issue 19, item 4: "visible to the
student"): ``/mijn-gegevens/stagebeoordelingen`` in the student portal, beside "wie mag wat zien"
and "wie heeft mijn gegevens bekeken". The student (or, under 16, the parent or guardian) sees
every submitted assessment of their placements, read-only, each with the earlier scores beside
it. The portal's own subject and decision are used (:func:`consent.views.portal_subject`,
``inzage``), so the read is decided and audited as every portal page is.
"""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from consent.views import portal_empty, portal_read, portal_subject
from network.db import db
from network.web import keyring, login_required_view
from referrals.placements.assessment import assessment_texts
from referrals.placements.assessment_models import AssessmentStatus, PlacementAssessment
from referrals.placements.assessment_reads import comparison, earlier_assessments
from referrals.placements.assessment_views import form_labels
from referrals.placements.blueprint import bp
from referrals.tags import PlacementTag


@bp.get("/mijn-gegevens/stagebeoordelingen")
@login_required_view
def my_assessments():
    actor, student, role, choices = portal_subject()
    if student is None:
        return portal_empty()
    portal_read(actor, student, PlacementTag.assessment_student_view)
    assessments = db.session.scalars(select(PlacementAssessment).where(
        PlacementAssessment.student_id == student.id, PlacementAssessment.status == AssessmentStatus.submitted)
        .order_by(PlacementAssessment.submitted_at.desc())).all()
    shown = []
    for assessment in assessments:
        earlier = earlier_assessments(db.session, assessment)
        shown.append((assessment, earlier, comparison(assessment, earlier), assessment_texts(keyring(), assessment)))
    return render_template("referrals/placements/my_assessments.html", student=student, role=role, choices=choices,
                           shown=shown, **form_labels())
