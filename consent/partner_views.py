"""Partner staff: the students who shared data with their organisation (``/gedeeld``), and one
student's data for one purpose: exactly the categories :func:`network.access.decide` allows,
decided afresh on every request (a withdrawal counts from the next one)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import select

from consent.models import Consent, ConsentStatus, Purpose
from consent.tags import ConsentTag
from network import clock
from network.access import Category, decide
from network.db import db
from network.errors import NotFound
from network.models import Student
from network.permissions import Permission
from network.students import student_in_walls
from network.web import current_principal, keyring, require

bp = Blueprint("consent_partner", __name__)


@bp.get("/gedeeld")
@require(Permission.consent_shared_view)
def shared():
    """The consents given to the acting organisation that are valid today (no student data:
    the names come from the decision on the student's page)."""
    principal = current_principal()
    today = clock.today()
    consents = db.session.scalars(select(Consent).where(
        Consent.recipient_id == principal.organisation_id, Consent.status == ConsentStatus.active,
        Consent.valid_from <= today, Consent.valid_until >= today).order_by(Consent.given_at.desc()).limit(200)).all()
    return render_template("consent/shared.html", consents=consents)


@bp.get("/gedeeld/<uuid:student_id>")
@require(Permission.consent_shared_view)
def student(student_id):
    """One student's data for one purpose, as far as :func:`decide` allows; without any basis
    the page does not exist (404, as for an unknown id)."""
    principal = current_principal()
    found = db.session.get(Student, student_id)
    if found is None or not student_in_walls(principal, found):
        raise NotFound()
    purposes = db.session.scalars(select(Purpose).where(Purpose.is_active.is_(True)).order_by(Purpose.sort_order)).all()
    code = request.args.get("doel") or (purposes[0].code if purposes else "")
    purpose = next((p for p in purposes if p.code == code), None)
    if purpose is None:
        raise NotFound()
    decision = decide(db.session, principal, found, purpose.code, list(Category), event_type=ConsentTag.shared_view)
    if not decision.allowed:
        # The same answer as an unknown id (as the API gives): a partner must not learn that a
        # student exists from a page that says "no basis". decide() has audited the denial.
        raise NotFound()
    bsn = found.masked_bsn(keyring()) if decision.permits(Category.bsn) else None
    html = render_template("consent/shared_student.html", student=found, decision=decision, purpose=purpose,
                           purposes=purposes, Category=Category, masked_bsn=bsn)
    return html
