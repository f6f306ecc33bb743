"""The student's own placements in the portal (``/mijn-gegevens/stages``): each internship with
its company, days and hours, learning goals and werkprocessen, and its visitekaartje (who to call
when), so the student does not depend on a printed card. The portal's own subject and decision
are used (:func:`consent.views.portal_subject`, purpose ``inzage``), so the read is decided and
audited as every portal page is. The student or guardian reads; nothing here changes anything.
"""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from consent.views import portal_empty, portal_read, portal_subject
from network.db import db
from network.web import keyring, login_required_view
from referrals.models import Route
from referrals.placements.blueprint import bp
from referrals.placements.forms import week_lines, week_summary
from referrals.placements.models import Placement
from referrals.placements.protocol_reads import card
from referrals.placements.service import learning_goals
from referrals.placements.states import KIND_LABELS, STATUS_LABELS, PlacementStatus
from referrals.tags import PlacementTag

#: the placements whose visitekaartje the student still needs
CURRENT = frozenset({PlacementStatus.planned, PlacementStatus.running, PlacementStatus.paused})


@bp.get("/mijn-gegevens/stages")
@login_required_view
def my_placements():
    actor, student, role, choices = portal_subject()
    if student is None:
        return portal_empty()
    portal_read(actor, student, PlacementTag.student_view)
    placements = db.session.scalars(
        select(Placement).where(Placement.student_id == student.id)
        .options(selectinload(Placement.route).selectinload(Route.school), selectinload(Placement.supervisor),
                 selectinload(Placement.organisation), selectinload(Placement.proposal))
        .order_by(Placement.start_date.desc())).all()
    shown = [(p, learning_goals(keyring(), p), week_lines(p), week_summary(p),
              card(db.session, p) if p.status in CURRENT else []) for p in placements]
    return render_template("referrals/placements/my_placements.html", student=student, role=role, choices=choices,
                           shown=shown, kind_labels=KIND_LABELS, status_labels=STATUS_LABELS)
