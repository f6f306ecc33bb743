"""Students as the JSON API reads them: a school's own students, and for a partner organisation
the students who gave it a basis.

A school reads its own students under its educational task (:func:`network.students.list_students`
and :func:`~network.students.get_student`, as its HTML pages do). A partner organisation has no
students of its own in the core: which students gave it a basis is consent data, and ``network``
imports no feature. So a feature registers a *subject finder* (:func:`register_subject_finder`;
``consent`` registers the student's valid consents): a select of ``(student_id, purpose)`` rows
for an organisation, which says which students to list and for which purposes to decide.

Every student listed or read is decided by :func:`network.access.decide_each` (``consent.decide``)
and audited, allowed or denied; the callers show only what the decisions allow. Services flush
nothing themselves (the audit rows go with the caller's unit of work) and never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select, union
from sqlalchemy.orm import Session, load_only

from network.access import Category, Decision, decide_each
from network.db import Page
from network.errors import Forbidden, NotFound, ValidationFailed
from network.models import Organisation, Student
from network.permissions import Principal
from network.students import LIST_CATEGORIES, PURPOSE_GUIDANCE, get_student, list_students, student_in_walls
from network.tags import StudentTag

#: what a school reads of one of its own students (as its student page)
SCHOOL_DETAIL_CATEGORIES = (Category.contact, Category.education, Category.bsn)
#: a partner's read asks for every category (as its shared-data page); the answer says which
PARTNER_DETAIL_CATEGORIES = tuple(Category)
NOT_FOUND = "Deze leerling bestaat niet, of uw organisatie heeft er geen grondslag voor."

_LIST_COLUMNS = (Student.id, Student.school_id, Student.account_id, Student.first_name, Student.last_name,
                 Student.date_of_birth, Student.programme, Student.level, Student.expected_exit_date)

#: organisation id -> select of (student_id, purpose): the students who gave it a basis, and for what
SubjectFinder = Callable[[int], Select]
_finders: list[SubjectFinder] = []


def register_subject_finder(finder: SubjectFinder) -> SubjectFinder:
    """Add a source of "who gave this organisation a basis" (idempotent). The select's columns
    must be labelled ``student_id`` and ``purpose``."""
    if finder not in _finders:
        _finders.append(finder)
    return finder


def _subjects(organisation_id: int):
    """The registered finders' rows for ``organisation_id`` as one subquery, or None."""
    selects = [finder(organisation_id) for finder in _finders]
    if not selects:
        return None
    return (union(*selects) if len(selects) > 1 else selects[0]).subquery("subjects")


@dataclass(frozen=True)
class Shown:
    """One student as the caller may see them."""

    student: Student
    #: the categories allowed, over every purpose decided
    allowed: frozenset[Category]
    #: the purposes with a basis
    purposes: tuple[str, ...]
    #: the decisions behind it (a detail read; a school's list page keeps them in the audit log)
    decisions: tuple[Decision, ...] = ()


def _parse_id(student_id: Any) -> uuid.UUID:
    try:
        return student_id if isinstance(student_id, uuid.UUID) else uuid.UUID(str(student_id))
    except ValueError:
        raise NotFound(NOT_FOUND) from None


def list_students_for(session: Session, actor: Principal, *, q: str | None = None, page: int = 1,
                      per_page: int = 25) -> Page:
    """One page of students for ``actor``: a school's own (by name, ``q`` filters on name
    words), a partner's the students who gave its organisation a basis (by name). Items are
    :class:`Shown`. A fixed number of SQL statements whatever the page size: count, page,
    (partners: the page's purposes, the basis look-up) and one insert of the audit events."""
    page, per_page = max(1, page), max(1, per_page)
    if actor.is_school_staff:
        result = list_students(session, actor, q=q, page=page, per_page=per_page)
        # list_students shows a student only when the decision allowed every list category
        items = [Shown(student, LIST_CATEGORIES, (PURPOSE_GUIDANCE,)) for student in result.items]
        return Page(items, result.total, result.page, result.per_page)
    if q:
        raise ValidationFailed(errors={"q": ["Zoeken op naam kan alleen een school, in de eigen leerlingen."]})
    subjects = _subjects(actor.organisation_id) if actor.organisation_id is not None else None
    if subjects is None:
        return Page([], 0, page, per_page)
    conditions = [Student.id.in_(select(subjects.c.student_id)),
                  Student.school_id.in_(select(Organisation.id).where(Organisation.region_id == actor.region_id))]
    total = session.scalar(select(func.count(Student.id)).where(*conditions)) or 0
    students = list(session.scalars(
        select(Student).where(*conditions).options(load_only(*_LIST_COLUMNS, raiseload=True))
        .order_by(func.lower(Student.last_name), func.lower(Student.first_name), Student.id)
        .offset((page - 1) * per_page).limit(per_page)))
    if not students:
        return Page([], total, page, per_page)
    purposes: dict[Any, list[str]] = {}
    for student_id, purpose in session.execute(
            select(subjects.c.student_id, subjects.c.purpose).distinct()
            .where(subjects.c.student_id.in_([s.id for s in students]))):
        purposes.setdefault(student_id, []).append(purpose)
    pairs = [(student, purpose) for student in students for purpose in sorted(purposes.get(student.id, []))]
    # every student on the page is a read: one decision per (student, purpose), audited together
    decisions = decide_each(session, actor, pairs, LIST_CATEGORIES, event_type=StudentTag.list)
    items = []
    for student in students:
        allowed = [decisions[(student.id, p)] for p in sorted(purposes.get(student.id, []))
                   if decisions[(student.id, p)].allowed]
        if allowed:
            items.append(Shown(student, frozenset().union(*(d.allowed for d in allowed)),
                               tuple(d.purpose for d in allowed)))
    return Page(items, total, page, per_page)


def read_student_for(session: Session, actor: Principal, student_id: Any, *, purpose: str | None = None) -> Shown:
    """One student as ``actor`` may see them, decided (and audited) now.

    A school: its own student under ``purpose`` (default: leerlingbegeleiding). A partner: the
    student for ``purpose``, or for every purpose its organisation has a basis for when none is
    given. :class:`NotFound` for an unknown id, a student outside the walls, or a decision that
    allows nothing; in the last case the denied decision is pending in the session, so the
    caller commits before answering (the attempt stays in the audit log)."""
    if actor.is_school_staff:
        try:
            student, decision = get_student(session, actor, student_id, purpose=purpose or PURPOSE_GUIDANCE,
                                            categories=SCHOOL_DETAIL_CATEGORIES)
        except Forbidden:
            raise NotFound(NOT_FOUND) from None
        return Shown(student, decision.allowed, (decision.purpose,), (decision,))
    student = session.get(Student, _parse_id(student_id))
    if student is None or not student_in_walls(actor, student):
        raise NotFound(NOT_FOUND)
    if purpose:
        purposes = [purpose]
    else:
        subjects = _subjects(actor.organisation_id) if actor.organisation_id is not None else None
        purposes = [] if subjects is None else list(session.scalars(
            select(subjects.c.purpose).distinct().where(subjects.c.student_id == student.id)
            .order_by(subjects.c.purpose)))
    if not purposes:
        raise NotFound(NOT_FOUND)  # nothing asked, nothing shown: no decision to audit
    decisions = decide_each(session, actor, [(student, p) for p in purposes], PARTNER_DETAIL_CATEGORIES,
                            event_type=StudentTag.view)
    allowed = [decisions[(student.id, p)] for p in purposes if decisions[(student.id, p)].allowed]
    if not allowed:
        raise NotFound(NOT_FOUND)
    return Shown(student, frozenset().union(*(d.allowed for d in allowed)), tuple(d.purpose for d in allowed),
                 tuple(allowed))
