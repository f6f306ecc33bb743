"""The school-naar-werk-gesprek (seed 001, appendix 3.1) as a structured form on a route.

The questions are data (:data:`INTAKE_SECTIONS`), so the form, its schema and the read-out
all follow one list. The answers are one JSON document, encrypted with the route's associated
data (:meth:`referrals.models.Intake.content_ref`): they speak of support needs and home.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from network import clock
from network.audit import AuditAction, record
from network.crypto import Keyring
from network.errors import ValidationFailed
from network.permissions import Principal
from network.schemas import FormSchema
from referrals.models import Intake, Route, RoutePhase
from referrals.route_service import PURPOSE_SCHOOL, SCHOOL_BASIS, require_route_manager
from referrals.tags import IntakeTag

TEXT, AREA, YESNO = "text", "textarea", "yesno"
MAX_ANSWER = 2000


@dataclass(frozen=True)
class Question:
    code: str
    label: Any
    kind: str = AREA
    hint: Any = None
    required: bool = False


Q = Question

#: (section title, questions), in the order of the format in seed 001, appendix 3.1
INTAKE_SECTIONS: tuple[tuple[Any, tuple[Question, ...]], ...] = (
    (_l("Uitgangssituatie"), (
        Q("talked_with", _l("Gesprek met"), TEXT, _l("Wie waren erbij (naam en functie)?")),
        Q("referred_by", _l("Door wie is de student aangemeld?"), TEXT),
        Q("starting_point", _l("Uitgangssituatie"),
          hint=_l("Opleidingsrelevante informatie uit het studentvolgsysteem.")),
        Q("benefit_indication", _l("Uitkering, indicatie banenafspraak of doelgroepregister"),
          hint=_l("Laat leeg als er niets is; anders: welke?")),
    )),
    (_l("Wensen en kansen"), (
        Q("dream_job", _l("Wat is je wensberoep?"), TEXT),
        Q("childhood_job", _l("Wat wilde je vroeger worden?"), TEXT),
        Q("vacancies", _l("Zijn er vacatures in dat beroep?")),
        Q("labour_market_view", _l("Heb je zicht op je kansen op de arbeidsmarkt in het beroep waarvoor je wordt "
                                   "opgeleid?")),
        Q("plans_after", _l("Heb je al een idee wat je gaat doen na afloop van de opleiding?")),
        Q("questions_after", _l("Welke vragen heb je nu al over de periode na school?")),
    )),
    (_l("Sollicitatievaardigheden"), (
        Q("has_cv", _l("Heb je een cv?"), YESNO),
        Q("has_letter", _l("Heb je een sollicitatiebrief?"), YESNO),
        Q("exp_social_media", _l("Heb je ervaring met solliciteren via sociale media?"), YESNO),
        Q("exp_interview", _l("Heb je ervaring met een sollicitatiegesprek?"), YESNO),
        Q("application_support", _l("Heb je behoefte aan meer begeleiding bij het solliciteren? Waaraan?"),
          hint=_l("Denk aan sollicitatietraining, leren netwerken, een LinkedIn-profiel maken, jezelf presenteren.")),
    )),
    (_l("Bijbaan en werkervaring"), (
        Q("side_job", _l("Heb je een bijbaan of werkervaring? Wat en welke taken? Werd je begeleid, en hoe?")),
        Q("contract", _l("Soort contract"), TEXT),
    )),
    (_l("Stages"), (
        Q("internships", _l("Welke stages heb je gelopen? Welke rol had je, wat deed je precies?")),
        Q("internship_support", _l("Welke begeleiding en specifieke ondersteuning kreeg je, en van wie?")),
        Q("went_well", _l("Wat deed je goed? Wat vond je leuk?")),
        Q("learned", _l("Wat heb je over jezelf en over je kwaliteiten geleerd?")),
        Q("went_less", _l("Wat ging je minder goed af? Wat heb je nodig bij een volgende (eind)stage?")),
    )),
    (_l("De overgang naar werk"), (
        Q("support_expected", _l("Welke ondersteuning verwacht je, wil je of heb je nodig bij de overgang van "
                                 "school naar werk?")),
        Q("who_can_help", _l("Wie zou je daarbij kunnen helpen?")),
    )),
    (_l("Mobiliteit"), (
        Q("driving_licence", _l("Rijbewijs (soort, geldig tot)"), TEXT),
        Q("own_transport", _l("Heb je eigen vervoer?"), YESNO),
        Q("other_transport", _l("Ander soort vervoer"), TEXT),
        Q("travel_time", _l("Gewenste reistijd"), TEXT),
    )),
    (_l("Doelen en aanpak"), (
        Q("other_questions", _l("Heb je nog andere vragen, opmerkingen of suggesties? Is er verder nog iets wat "
                                "ik moet weten?")),
        Q("summary", _l("Samenvatting: welke ondersteuning heeft de student nodig?"), required=True),
        Q("parties_to_involve", _l("Welke partijen moeten hierbij betrokken worden?")),
        Q("parties_involved", _l("Welke partijen zijn al betrokken?")),
        Q("follow_up", _l("Vervolgafspraken (datum en actie)")),
        Q("may_contact", _l("AVG: met wie mag contact worden opgenomen?"),
          hint=_l("Alleen wie de student noemt; gegevens delen met een organisatie vraagt een grondslag.")),
    )),
)

QUESTIONS: dict[str, Question] = {q.code: q for _title, questions in INTAKE_SECTIONS for q in questions}
YESNO_LABELS = {"ja": _l("Ja"), "nee": _l("Nee")}


def _schema_fields() -> dict[str, fields.Field]:
    result: dict[str, fields.Field] = {"held_on": fields.Date(required=True)}
    for q in QUESTIONS.values():
        if q.kind == YESNO:
            result[q.code] = fields.String(load_default=None, validate=validate.OneOf(
                list(YESNO_LABELS), error=_l("Kies ja of nee.")))
        else:
            extra = {"required": True} if q.required else {"load_default": None}
            result[q.code] = fields.String(**extra, validate=validate.Length(
                max=MAX_ANSWER, error=_l("Houd het antwoord korter dan %(max)s tekens.", max=MAX_ANSWER)))
    return result


#: the form's schema, built from :data:`INTAKE_SECTIONS`
IntakeArgs = FormSchema.from_dict(_schema_fields(), name="IntakeArgs")


def record_intake(session: Session, actor: Principal, keyring: Keyring, route: Route, data: dict[str, Any], *,
                  today: dt.date | None = None) -> Intake:
    """Record a school-naar-werk-gesprek on ``route`` (school staff of the route's school).

    :param data: loaded :data:`IntakeArgs`: ``held_on`` and the answers (empty ones are left out).
        The first conversation marks the phase ``gesprek`` reached on ``held_on``.
    """
    today = today or clock.today()
    require_route_manager(actor, route)
    held_on = data.get("held_on")
    if held_on is None:
        raise ValidationFailed(errors={"held_on": [_l("Vul de datum van het gesprek in.")]})
    if held_on > today:
        raise ValidationFailed(errors={"held_on": [_l("Het gesprek ligt in de toekomst. Leg het vast als het "
                                                      "gehouden is.")]})
    answers = {code: data[code] for code in QUESTIONS if data.get(code)}
    if not answers.get("summary"):
        raise ValidationFailed(errors={"summary": [_l("Vat samen welke ondersteuning de student nodig heeft.")]})
    intake = Intake(route_id=route.id, held_on=held_on, recorded_by_account_id=actor.account_id,
                    recorded_by_name=actor.name)
    intake.content_encrypted = keyring.encrypt(json.dumps(answers, ensure_ascii=False, sort_keys=True),
                                               intake.content_ref())
    session.add(intake)
    gesprek = next((p for p in route.phases if p.phase is RoutePhase.gesprek), None)
    if gesprek is not None and gesprek.reached_date is None:
        gesprek.reached_date = held_on
    if route.phase is RoutePhase.aanmelding:
        route.phase = RoutePhase.gesprek
    session.flush()  # the intake id for the audit event
    record(session, actor, action=AuditAction.create, event_type=IntakeTag.record, object_type="intake",
           object_id=intake.id, student_id=route.student_id, purpose=PURPOSE_SCHOOL, basis=SCHOOL_BASIS,
           detail={"route_id": route.id, "held_on": held_on.isoformat(), "answered": sorted(answers)})
    return intake


def intake_answers(keyring: Keyring, intake: Intake) -> dict[str, str]:
    return json.loads(keyring.decrypt(intake.content_encrypted, intake.content_ref()))


def route_intakes(session: Session, route: Route) -> list[Intake]:
    return list(session.scalars(select(Intake).where(Intake.route_id == route.id)
                                .order_by(Intake.held_on.desc(), Intake.id.desc())))


def answered_sections(answers: dict[str, str]) -> list[tuple[Any, list[tuple[Question, Any]]]]:
    """The answers in the form's order, for reading back (unanswered questions left out)."""
    result = []
    for title, questions in INTAKE_SECTIONS:
        rows = [(q, YESNO_LABELS.get(answers[q.code], answers[q.code]) if q.kind == YESNO else answers[q.code])
                for q in questions if answers.get(q.code)]
        if rows:
            result.append((title, rows))
    return result
