"""Who decides for a student: the student, a parent or guardian, or a curator or mentor.

The rules (UAVG art. 5; Burgerlijk Wetboek boek 1, titels 16 en 19):

- from 16 on the student consents themself; under 16 a parent or guardian
  (:class:`~consent.models.Representation` with relation ``ouder``/``voogd``/other) does;
- an adult (18 or older) can be put under **curatele** or **mentorschap** by the kantonrechter.
  School staff record the measure as a representation with relation ``curator`` or ``mentor``
  and the court decision as evidence (court, date, reference; an end date if the decision has
  one). While it runs (from the decision date, until its end date or until staff end it), the
  curator or mentor acts for the student in the portal, whatever the student's age:

  - **curatele**: the curator decides on every consent; the student does not consent or
    withdraw alone;
  - **mentorschap** covers care and support matters ("verzorging, verpleging, behandeling en
    begeleiding"). Kept simple here: a consent that covers a special category (support
    need/health, justice: :data:`~network.access.SPECIAL_CATEGORIES`) is the mentor's to give
    or withdraw; a consent without one is the student's own.

A measure that ended (end date passed, or ended by staff) gives the decision back to the
student from the next request on. Parents of an adult never decide, measure or not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent.models import Channel, GivenBy, Relation, Representation
from consent.tags import ConsentTag
from network.access import SPECIAL_CATEGORIES, Category
from network.audit import AuditAction, record
from network.clock import age_on, under_consent_age
from network.errors import Forbidden, ValidationFailed
from network.models import Account, Student
from network.permissions import Principal, can_manage_student

#: the relations a court appoints (for adults); the others are parents and guardians (under 16)
MEASURES = frozenset({Relation.curator, Relation.mentor})
#: the age from which curatele and mentorschap exist (adults)
MEASURE_MIN_AGE = 18
#: the representative's relation as the consent text names it ("Ik, ..., curator van ...")
RELATION_WORDS = {Relation.parent: "ouder", Relation.guardian: "voogd", Relation.other: "wettelijk vertegenwoordiger",
                  Relation.curator: "curator", Relation.mentor: "mentor"}


def measure_runs(representation: Representation, today: dt.date) -> bool:
    """Whether a curatele or mentorschap is in force on ``today``."""
    return (representation.relation in MEASURES and representation.ended_at is None
            and representation.decision_date is not None and representation.decision_date <= today
            and (representation.ends_on is None or representation.ends_on >= today))


def acts_now(representation: Representation, student: Student, today: dt.date) -> bool:
    """Whether this representation lets its account act for the student today: a running
    measure, or a parent or guardian of a student under 16."""
    if representation.ended_at is not None:
        return False
    if representation.relation in MEASURES:
        return measure_runs(representation, today)
    return under_consent_age(student.date_of_birth, today)


def representing(session: Session, account_id: int | None, student: Student,
                 today: dt.date) -> Representation | None:
    """The representation through which ``account_id`` acts for ``student`` today (one statement)."""
    if account_id is None or account_id == student.account_id:
        return None
    found = session.scalar(select(Representation).where(
        Representation.account_id == account_id, Representation.student_id == student.id,
        Representation.ended_at.is_(None)))
    return found if found is not None and acts_now(found, student, today) else None


def active_measure(session: Session, student: Student, today: dt.date) -> Representation | None:
    """The curatele or mentorschap in force for the student today, if any. None without a query
    for a student under 18: a measure is recorded for adults only (:func:`record_measure`)."""
    if age_on(student.date_of_birth, today) < MEASURE_MIN_AGE:
        return None
    rows = session.scalars(select(Representation).where(
        Representation.student_id == student.id, Representation.relation.in_(MEASURES),
        Representation.ended_at.is_(None)).order_by(Representation.id)).all()
    return next((r for r in rows if measure_runs(r, today)), None)


def measure_decides(measure: Representation, categories: Iterable[Category | str]) -> bool:
    """Whether the curator or mentor (not the student) decides on a consent for ``categories``:
    under curatele always; under mentorschap when it covers a special category."""
    if measure.relation is Relation.curator:
        return True
    return bool({Category(c) for c in categories} & SPECIAL_CATEGORIES)


def _measure_message(measure: Representation):
    if measure.relation is Relation.curator:
        return _l("Deze leerling staat onder curatele. De curator (%(name)s) beslist over de toestemming, niet de "
                  "leerling alleen.", name=measure.account.name)
    return _l("Deze leerling staat onder mentorschap. Over gevoelige gegevens (ondersteuning, gezondheid) beslist de "
              "mentor (%(name)s), niet de leerling alleen.", name=measure.account.name)


NOT_THE_MENTOR = _l("Deze leerling staat onder mentorschap. Over deze gegevens beslist de leerling zelf; de mentor "
                    "beslist alleen over gevoelige gegevens (ondersteuning, gezondheid).")


def check_giver(session: Session, student: Student, channel: Channel, given_by: GivenBy, relation: Relation | None,
                categories: set[Category], today: dt.date, errors: dict[str, list[str]]) -> None:
    """Whether the one giving a consent may give it (see the module docstring)."""
    field_ = "representative_name" if channel is not Channel.portal else "__all__"
    measure = active_measure(session, student, today)
    if measure is not None:
        if measure_decides(measure, categories):
            if given_by is GivenBy.student or relation is not measure.relation:
                errors.setdefault(field_, []).append(_measure_message(measure))
        elif given_by is GivenBy.representative:
            errors.setdefault(field_, []).append(NOT_THE_MENTOR)
        return
    if given_by is GivenBy.representative and relation in MEASURES:
        errors.setdefault(field_, []).append(_l(
            "Voor deze leerling is geen lopende curatele of mentorschap vastgelegd. Leg die eerst vast, met de "
            "uitspraak van de kantonrechter."))
        return
    under_age = under_consent_age(student.date_of_birth, today)
    if under_age and given_by is GivenBy.student:
        errors.setdefault(field_, []).append(
            _l("De leerling is jonger dan 16. Een ouder of voogd (wettelijk vertegenwoordiger) geeft de toestemming."))
    if not under_age and given_by is GivenBy.representative:
        errors.setdefault("representative_name", []).append(
            _l("De leerling is %(age)s jaar en geeft zelf toestemming. Een wettelijk vertegenwoordiger kan dat "
               "vanaf 16 jaar niet meer namens de leerling doen.", age=age_on(student.date_of_birth, today)))


def may_decide(role: str, representation: Representation | None, measure: Representation | None,
               categories: Iterable[Category | str]) -> bool:
    """Whether the student (``role`` ``self``) or a representative decides on a consent for
    ``categories`` while ``measure`` runs (None: no measure, both as before)."""
    if measure is None:
        return True
    decides = measure_decides(measure, categories)
    if role == "self":
        return not decides
    return decides and representation is not None and representation.id == measure.id


def check_withdrawer(session: Session, role: str | None, representation: Representation | None, student: Student,
                     categories: Iterable[Category | str], today: dt.date) -> None:
    """Under a measure the student (or mentor) withdraws only what they decide on; school staff
    (``role`` None) record what the right person told them."""
    if role is None:
        return
    measure = active_measure(session, student, today)
    if not may_decide(role, representation, measure, categories):
        raise Forbidden(_measure_message(measure) if role == "self" else NOT_THE_MENTOR)


@dataclass
class WhoDecides:
    """Who decides about the student's data today, for the portal ("wie beslist over je gegevens")."""

    #: ``self``, ``guardian`` (under 16), ``curatele`` or ``mentorschap``
    kind: str
    names: list[str] = field(default_factory=list)
    measure: Representation | None = None


def who_decides(session: Session, student: Student, today: dt.date) -> WhoDecides:
    """Who decides about the student's consents today (two statements at most)."""
    measure = active_measure(session, student, today)
    if measure is not None:
        kind = "curatele" if measure.relation is Relation.curator else "mentorschap"
        return WhoDecides(kind, [measure.account.name], measure)
    if under_consent_age(student.date_of_birth, today):
        reps = session.scalars(select(Representation).where(
            Representation.student_id == student.id, Representation.ended_at.is_(None),
            Representation.relation.not_in(MEASURES))).all()
        names = [r.account.name for r in reps] or ([student.parent_name] if student.parent_name else [])
        return WhoDecides("guardian", names)
    return WhoDecides("self")


def record_measure(session: Session, actor: Principal, student: Student, data: dict[str, Any], *,
                   today: dt.date) -> Representation:
    """Record a curatele or mentorschap: the account with ``email`` becomes the student's curator
    or mentor, with the kantonrechter's decision as evidence. Only school staff of the student's
    school; only for an adult; one running measure per student. Nothing is written on bad input.

    :param data: ``email``, ``relation`` (``curator``/``mentor``), ``court``, ``decision_date``,
        ``decision_reference`` and optionally ``ends_on``.
    """
    if not can_manage_student(actor, student):
        raise Forbidden(_l("Alleen de school van de leerling kan een curatele of mentorschap vastleggen."))
    errors: dict[str, list[str]] = {}
    account = session.scalar(select(Account).where(Account.email == (data.get("email") or "").strip().lower()))
    if account is None:
        errors["email"] = [_l("Er is geen account met dit e-mailadres. Vraag de beheerder er een aan te maken.")]
    elif account.id == student.account_id:
        errors["email"] = [_l("Dit is het account van de leerling zelf.")]
    relation = Relation(data["relation"])
    court = (data.get("court") or "").strip()
    reference = (data.get("decision_reference") or "").strip()
    decided, ends_on = data.get("decision_date"), data.get("ends_on")
    if not court:
        errors["court"] = [_l("Vul de rechtbank in die de uitspraak deed, bijvoorbeeld Rechtbank Gelderland.")]
    if not reference:
        errors["decision_reference"] = [_l("Vul het zaaknummer van de uitspraak in.")]
    if decided is None:
        errors["decision_date"] = [_l("Vul de datum van de uitspraak in.")]
    elif decided > today:
        errors["decision_date"] = [_l("De datum van de uitspraak ligt in de toekomst. Leg de maatregel vast als "
                                      "de kantonrechter heeft beslist.")]
    elif ends_on is not None and ends_on < decided:
        errors["ends_on"] = [_l("De einddatum ligt vóór de datum van de uitspraak.")]
    age = age_on(student.date_of_birth, today)
    if age < MEASURE_MIN_AGE:
        errors["relation"] = [_l("De leerling is %(age)s jaar. Curatele en mentorschap zijn er alleen voor "
                                 "volwassenen (18 jaar of ouder). Voor een jongere leerling beslist een ouder of "
                                 "voogd.", age=age)]
    running = active_measure(session, student, today)
    if running is not None and (account is None or running.account_id != account.id):
        errors["relation"] = [_l("Er is al een curatele of mentorschap vastgelegd (%(name)s). Beëindig die eerst.",
                                 name=running.account.name)]
    if errors:
        raise ValidationFailed(errors=errors)
    representation = session.scalar(select(Representation).where(Representation.account_id == account.id,
                                                                  Representation.student_id == student.id))
    values = {"relation": relation, "court": court, "decision_date": decided, "decision_reference": reference,
              "ends_on": ends_on, "ended_at": None, "recorded_by_account_id": actor.account_id,
              "recorded_by_name": actor.name}
    if representation is None:
        representation = Representation(account_id=account.id, student_id=student.id, **values)
        session.add(representation)
    else:
        for name, value in values.items():
            setattr(representation, name, value)
    session.flush()  # the id for the audit event
    record(session, actor, action=AuditAction.create, event_type=ConsentTag.representative,
           object_type="representation", object_id=representation.id, student_id=student.id, purpose="registratie",
           basis="legal_task:onderwijstaak",
           detail={"relation": relation.value, "account_id": account.id, "court": court, "reference": reference,
                   "decision_date": decided.isoformat(), "ends_on": ends_on.isoformat() if ends_on else None})
    return representation
