"""The student's own route in the portal (``/mijn-gegevens/route``, issue 20, item 7): the
route's phases, the eindgesprek and the exit, in B1 Dutch in the "je" form, with no codes. The
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
from referrals.eindgesprek import eindgesprek_answers, read_back, route_eindgesprekken
from referrals.models import Route
from referrals.route_exit import DESTINATION_LABELS, WAY_OUT_LABELS, exit_details, route_exit
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
    talks, left, details = [], None, {}
    if route is not None:
        talks = [(g, read_back(db.session, eindgesprek_answers(keyring(), g)))
                 for g in route_eindgesprekken(db.session, route)]
        left = route_exit(db.session, route)
        details = exit_details(keyring(), left)
    return render_template("referrals/routes/my_route.html", student=student, role=role, choices=choices,
                           route=route, name=route_name(student.level), phases=STUDENT_PHASES,
                           questions=STUDENT_QUESTIONS, talks=talks, left=left, details=details,
                           way_out_labels=WAY_OUT_LABELS, destination_labels=DESTINATION_LABELS)
