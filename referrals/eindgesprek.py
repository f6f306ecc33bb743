"""The eindgesprek (seed 004, "Eindgesprek op school") as a structured form on a route.

The begeleider and the student take stock before the exit: what the student still wants to
learn at work, options for a leven lang ontwikkelen, the alternative if no job follows, whether
an intermediate step (sociale onderneming, beschut werk, dagbesteding) is needed, the partners
of the region who carry the warm hand-over, and the student's own words. As the intake: the
questions are data, the answers one JSON document encrypted with the route's associated data
(:meth:`referrals.exit_models.Eindgesprek.content_ref`); school staff of the route's school
record it; every read is decided (:func:`referrals.route_service.decide_route`) and audited.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from network import clock
from network.audit import AuditAction, record
from network.crypto import Keyring
from network.errors import ValidationFailed
from network.models import Organisation, OrganisationType
from network.permissions import Principal
from network.schemas import FormSchema
from referrals.exit_models import Eindgesprek, IntermediateStep
from referrals.intake import AREA, MAX_ANSWER, Question
from referrals.models import Route
from referrals.route_service import PURPOSE_SCHOOL, SCHOOL_BASIS, require_route_manager
from referrals.tags import EindgesprekTag

Q = Question

#: the items of seed 004's eindgesprek, in its order; the partners and the step are asked apart
QUESTIONS: tuple[Question, ...] = (
    Q("still_to_learn", _l("Wat wil de student nog leren op de werkvloer?")),
    Q("obstacles", _l("Welke regelzaken kunnen een struikelblok worden?"),
      hint=_l("Bijvoorbeeld wonen, geld, vervoer of de overgang naar 18+.")),
    Q("support", _l("Welke ondersteuning is nodig na school?")),
    Q("lifelong_learning", _l("Welke mogelijkheden zijn er om te blijven leren (leven lang ontwikkelen)?"),
      hint=_l("Bij de werkgever, een certificaat, een praktijkverklaring of later alsnog niveau 2 in de BBL.")),
    Q("alternative", _l("Wat is het alternatief als er geen baan volgt?"),
      hint=_l("Bijvoorbeeld als de werkgever de stageplek niet omzet in een baan.")),
    Q("step_note", _l("Toelichting op de tussenstap"), AREA),
    Q("partners_note", _l("Afspraken met de partners over de warme overdracht")),
    Q("student_words", _l("In de woorden van de student"), required=True,
      hint=_l("Wat de student zelf zegt over de stap na school.")),
)
QUESTION_CODES = {q.code: q for q in QUESTIONS}

STEP_LABELS = {
    IntermediateStep.geen.value: _l("Geen tussenstap nodig"),
    IntermediateStep.sociale_onderneming.value: _l("Sociale onderneming"),
    IntermediateStep.beschut_werk.value: _l("Beschut werk"),
    IntermediateStep.dagbesteding.value: _l("Dagbesteding"),
}
#: who may carry the warm hand-over: the region's partners (not schools, employers or the hub)
PARTNER_TYPES = frozenset({OrganisationType.gemeente, OrganisationType.uwv, OrganisationType.wsp,
                           OrganisationType.rmc, OrganisationType.sbb, OrganisationType.leerwerkloket,
                           OrganisationType.mee, OrganisationType.zorg, OrganisationType.other})


def _schema_fields() -> dict[str, fields.Field]:
    result: dict[str, fields.Field] = {
        "held_on": fields.Date(required=True, error_messages={"required": _l("Vul de datum van het gesprek in.")}),
        "step": fields.String(load_default=IntermediateStep.geen.value, validate=validate.OneOf(
            list(STEP_LABELS), error=_l("Kies of er een tussenstap nodig is."))),
    }
    for q in QUESTIONS:  # the required words of the student are the service's check (one message)
        result[q.code] = fields.String(load_default=None, validate=validate.Length(
            max=MAX_ANSWER, error=_l("Houd het antwoord korter dan %(max)s tekens.", max=MAX_ANSWER)))
    return result


#: the form's schema; the partners (a list of checkboxes) are passed beside it
EindgesprekArgs = FormSchema.from_dict(_schema_fields(), name="EindgesprekArgs")


def partner_organisations(session: Session, route: Route) -> list[Organisation]:
    """The active partner organisations of the region of the route's school (the directory)."""
    region = select(Organisation.region_id).where(Organisation.id == route.school_id).scalar_subquery()
    return list(session.scalars(select(Organisation).where(
        Organisation.region_id == region, Organisation.is_active.is_(True),
        Organisation.type.in_(list(PARTNER_TYPES))).order_by(Organisation.name)))


def _partner_ids(session: Session, route: Route, raw: Any) -> list[int]:
    """The chosen partner ids, each an organisation of :func:`partner_organisations`."""
    allowed = {o.id for o in partner_organisations(session, route)}
    chosen = []
    for value in raw or []:
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = None
        if number not in allowed:
            raise ValidationFailed(errors={"partners": [_l("Kies partners uit de lijst van de regio.")]})
        if number not in chosen:
            chosen.append(number)
    return chosen


def record_eindgesprek(session: Session, actor: Principal, keyring: Keyring, route: Route, data: dict[str, Any],
                       *, partners: list[Any] | None = None, today: dt.date | None = None) -> Eindgesprek:
    """Record the eindgesprek on ``route`` (school staff of the route's school).

    :param data: loaded :data:`EindgesprekArgs`: ``held_on``, ``step`` and the answers (empty
        ones are left out).
    :param partners: the ids of the region's partners who carry the warm hand-over.
    :raises ValidationFailed: a date in the future, no words of the student, a partner outside
        the region: nothing is written.
    """
    today = today or clock.today()
    require_route_manager(actor, route)
    errors: dict[str, list[Any]] = {}
    held_on = data.get("held_on")
    if held_on is None:
        errors["held_on"] = [_l("Vul de datum van het gesprek in.")]
    elif held_on > today:
        errors["held_on"] = [_l("Het gesprek ligt in de toekomst. Leg het vast als het gehouden is.")]
    elif held_on < route.start_date:
        errors["held_on"] = [_l("Het gesprek ligt vóór de start van het traject.")]
    answers: dict[str, Any] = {code: data[code].strip() for code in QUESTION_CODES if (data.get(code) or "").strip()}
    if not answers.get("student_words"):
        errors["student_words"] = [_l("Schrijf op wat de student zelf zegt over de stap na school.")]
    try:
        chosen = _partner_ids(session, route, partners)
    except ValidationFailed as exc:
        errors.update(exc.errors)
        chosen = []
    if errors:
        raise ValidationFailed(errors=errors)
    answers["step"] = data.get("step") or IntermediateStep.geen.value
    answers["partners"] = chosen
    made = Eindgesprek(route_id=route.id, held_on=held_on, recorded_by_account_id=actor.account_id,
                       recorded_by_name=actor.name)
    made.content_encrypted = keyring.encrypt(json.dumps(answers, ensure_ascii=False, sort_keys=True),
                                             made.content_ref())
    session.add(made)
    session.flush()  # the id for the audit event
    record(session, actor, action=AuditAction.create, event_type=EindgesprekTag.record, object_type="eindgesprek",
           object_id=made.id, student_id=route.student_id, purpose=PURPOSE_SCHOOL, basis=SCHOOL_BASIS,
           detail={"route_id": route.id, "held_on": held_on.isoformat(), "step": answers["step"],
                   "partners": chosen, "answered": sorted(k for k in answers if k in QUESTION_CODES)})
    return made


def eindgesprek_answers(keyring: Keyring, found: Eindgesprek) -> dict[str, Any]:
    return json.loads(keyring.decrypt(found.content_encrypted, found.content_ref()))


def route_eindgesprekken(session: Session, route: Route) -> list[Eindgesprek]:
    return list(session.scalars(select(Eindgesprek).where(Eindgesprek.route_id == route.id)
                                .order_by(Eindgesprek.held_on.desc(), Eindgesprek.id.desc())))


def read_back(session: Session, answers: dict[str, Any]) -> dict[str, Any]:
    """The answers for reading: (question, answer) rows in the form's order, the step in words and
    the partners by name (an organisation gone from the directory is left out)."""
    ids = [int(i) for i in answers.get("partners") or []]
    names = dict(session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))).all()) \
        if ids else {}
    return {"rows": [(q, answers[q.code]) for q in QUESTIONS if answers.get(q.code)],
            "step": STEP_LABELS.get(answers.get("step") or "geen", STEP_LABELS["geen"]),
            "partners": [names[i] for i in ids if i in names]}
