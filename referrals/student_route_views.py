"""The student's own route in the portal (``/mijn-gegevens/route``, issue 20, item 7): the
route's phases, the school-naar-werk-gesprek, the eindgesprek, the exit, the follow-up check-ins
and the referrals about the student (to whom, for what, how it stands), in B1 Dutch in the "je"
form, with no codes. The
portal's own subject and decision are used (:func:`consent.views.portal_subject`, purpose
``inzage``), so the read is decided and audited as every portal page is. The route's name
follows the school type (PrO/VSO: Route van school naar werk; entree: arbeidsmarktroute; mbo:
Transitieroute). Nothing here changes anything.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from consent.views import portal_empty, portal_read, portal_subject
from network.db import db
from network.models import SchoolLevel
from network.web import keyring, login_required_view
from referrals.checkins import check_in_note
from referrals.eindgesprek import eindgesprek_answers, read_back, route_eindgesprekken
from referrals.intake import answered_sections, intake_answers, route_intakes
from referrals.models import CheckIn, Referral, Route
from referrals.route_exit import DESTINATION_LABELS, WAY_OUT_LABELS, exit_details, route_exit
from referrals.route_timeline import SITUATION_LABELS
from referrals.states import ReferralStatus
from referrals.tags import RouteTag

bp = Blueprint("my_route", __name__)

#: the phases as a student reads them
STUDENT_PHASES = {
    "aanmelding": _l("Je bent aangemeld"), "gesprek": _l("Het gesprek over school en werk"),
    "plan": _l("Je plan voor school en werk"), "eindstage": _l("Je (laatste) stage"),
    "afronding": _l("Je rondt je opleiding af"), "eerste_baan": _l("Je eerste baan"),
    "duurzaam_werk": _l("Je werk houden"),
}
#: the eindgesprek's questions as a student reads them
STUDENT_QUESTIONS = {
    "still_to_learn": _l("Wat je nog wilt leren op je werk"),
    "obstacles": _l("Wat lastig kan worden, zoals wonen, geld of vervoer"),
    "support": _l("De hulp die je na school nodig hebt"),
    "lifelong_learning": _l("Hoe je kunt blijven leren"),
    "alternative": _l("Wat je doet als er geen baan komt"),
    "step_note": _l("Over de tussenstap"),
    "partners_note": _l("Afspraken over wie je na school helpt"),
    "student_words": _l("Wat je zelf zei"),
}


#: how a referral about them stands, as a student reads it (drafts are not shown: nothing was sent)
S = ReferralStatus
REFERRAL_WORDS = {
    S.requested: _l("Verstuurd. Ze kijken of ze je kunnen helpen."),
    S.accepted: _l("Ze gaan je helpen."), S.in_progress: _l("Ze helpen je nu."),
    S.on_hold: _l("Even gepauzeerd."), S.completed: _l("Klaar."),
    S.rejected: _l("Ze kunnen je niet helpen. Je school zoekt met je verder."),
    S.failed: _l("Het is niet gelukt. Je school zoekt met je verder."), S.cancelled: _l("Ingetrokken."),
    S.entered_in_error: _l("Per ongeluk aangemaakt; niet verstuurd."),
}


def route_name(level: SchoolLevel | None):
    if level in (SchoolLevel.pro, SchoolLevel.vso):
        return _l("Route van school naar werk")
    if level is SchoolLevel.entree:
        return _l("Arbeidsmarktroute")
    return _l("Transitieroute")


@bp.get("/mijn-gegevens/route")
@login_required_view
def page():
    actor, student, role, choices = portal_subject()
    if student is None:
        return portal_empty()
    portal_read(actor, student, RouteTag.student_view)
    route = db.session.scalar(select(Route).where(Route.student_id == student.id)
                              .options(selectinload(Route.phases), selectinload(Route.school)))
    talks, left, details, intakes, check_ins = [], None, {}, [], []
    if route is not None:
        intakes = [(i, answered_sections(intake_answers(keyring(), i))) for i in route_intakes(db.session, route)]
        talks = [(g, read_back(db.session, eindgesprek_answers(keyring(), g)))
                 for g in route_eindgesprekken(db.session, route)]
        left = route_exit(db.session, route)
        details = exit_details(keyring(), left)
        check_ins = [(c, check_in_note(keyring(), c)) for c in db.session.scalars(
            select(CheckIn).where(CheckIn.route_id == route.id).order_by(CheckIn.due_date))]
    referrals = db.session.scalars(select(Referral).where(
        Referral.student_id == student.id, Referral.status.not_in([S.draft, S.entered_in_error]))
        .options(selectinload(Referral.to_organisation), selectinload(Referral.service))
        .order_by(Referral.id.desc())).all()
    return render_template("referrals/routes/my_route.html", student=student, role=role, choices=choices,
                           route=route, name=route_name(student.level), phases=STUDENT_PHASES,
                           questions=STUDENT_QUESTIONS, talks=talks, left=left, details=details, intakes=intakes,
                           check_ins=check_ins, situation_labels=SITUATION_LABELS, referrals=referrals,
                           referral_words=REFERRAL_WORDS,
                           way_out_labels=WAY_OUT_LABELS, destination_labels=DESTINATION_LABELS)
