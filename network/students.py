"""Students: register, edit, list and look up the data subjects of the hub.

School staff register and edit the students of the school they act for (the school's
educational task is the basis, see :mod:`network.access`). Every read of a student goes through
:func:`network.access.decide`, which writes the audit event; the list writes one event per page.
Services flush but never commit; BSNs never reach a log, an audit detail or a URL.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, load_only
from sqlalchemy.orm.exc import StaleDataError

from network.access import Category, Decision, decide, decide_many
from network.audit import AuditAction, record
from network.crypto import Keyring
from network.db import Page, escape_like
from network.errors import Conflict, Forbidden, NotFound, ValidationFailed
from network.events import EventTag
from network.models import OrganisationType, Role, Student
from network.permissions import Principal, can_manage_student
from network.tags import StudentTag

#: the purpose under which school staff work with their own students
PURPOSE_GUIDANCE = "leerlingbegeleiding"
PURPOSE_REGISTRATION = "registratie"

#: the plain fields of the sign-up form (the BSN is handled apart)
STUDENT_FIELDS = ("first_name", "last_name", "date_of_birth", "email", "phone", "address", "postcode", "city",
                  "parent_name", "parent_email", "parent_phone", "programme", "level", "expected_exit_date")
#: which data category each field belongs to (for showing only what the decision allows)
FIELD_CATEGORIES = {
    **{name: Category.contact for name in ("email", "phone", "address", "postcode", "city", "parent_name",
                                           "parent_email", "parent_phone", "date_of_birth")},
    **{name: Category.education for name in ("programme", "level", "expected_exit_date")},
}
#: what the list shows of each student: name and date of birth (contact), programme (education)
LIST_CATEGORIES = frozenset({Category.contact, Category.education})
_LIST_COLUMNS = (Student.id, Student.school_id, Student.account_id, Student.first_name, Student.last_name,
                 Student.date_of_birth, Student.programme, Student.level, Student.expected_exit_date, Student.version)

CONFLICT_MESSAGE = _l("Iemand anders heeft deze leerling intussen gewijzigd. Uw invoer staat hieronder nog: "
                      "controleer de gegevens en sla opnieuw op.")
_DUPLICATE_BSN = _l("Er is op uw school al een leerling met dit BSN.")


def _require_school_staff(actor: Principal) -> None:
    acting = actor.acting
    if not (actor.is_school_staff and acting and acting.organisation_type is OrganisationType.school):
        raise Forbidden(_l("Alleen medewerkers van een school kunnen leerlingen registreren en bewerken."))


def _bsn_taken(session: Session, keyring: Keyring, school_id: int, bsn: str, *, other_than: Any = None) -> bool:
    query = select(Student.id).where(Student.school_id == school_id,
                                     Student.bsn_index == keyring.blind_index("bsn", bsn))
    if other_than is not None:
        query = query.where(Student.id != other_than)
    return session.scalar(query) is not None


def register_student(session: Session, actor: Principal, keyring: Keyring, data: dict[str, Any]) -> Student:
    """Register a student at the school the actor acts for.

    :param data: loaded :class:`~network.student_schemas.StudentArgs`; ``bsn`` is optional and
        already 11-proef checked; a BSN already registered at this school is a field error.
    """
    _require_school_staff(actor)
    bsn = data.get("bsn")
    if bsn and _bsn_taken(session, keyring, actor.organisation_id, bsn):
        raise ValidationFailed(errors={"bsn": [_DUPLICATE_BSN]})
    student = Student(id=uuid.uuid4(), school_id=actor.organisation_id,
                      **{name: data.get(name) for name in STUDENT_FIELDS})
    student.set_bsn(keyring, bsn)
    session.add(student)
    session.flush()  # surface constraint errors (the per-school BSN index) here
    record(session, actor, action=AuditAction.create, event_type=StudentTag.create, object_type="student",
           object_id=student.id, student_id=student.id, purpose=PURPOSE_REGISTRATION, basis="legal_task:onderwijstaak",
           detail={"fields": sorted(name for name in STUDENT_FIELDS if data.get(name) is not None)
                   + (["bsn"] if bsn else [])})
    return student


def update_student(session: Session, actor: Principal, keyring: Keyring, student: Student, data: dict[str, Any],
                   expected_version: int) -> list[str]:
    """Change a student's details; returns the names of the changed fields.

    :param data: loaded :class:`~network.student_schemas.StudentEditArgs`. ``bsn`` replaces
        the BSN when given; ``remove_bsn`` clears it; leave both out to keep it.
    :param expected_version: the row version the editor loaded. If someone saved in between,
        raises :class:`Conflict` and changes nothing.
    """
    _require_school_staff(actor)
    if not can_manage_student(actor, student):
        raise Forbidden(_l("U kunt alleen leerlingen van uw eigen school bewerken."))
    if student.version != expected_version:
        raise Conflict(CONFLICT_MESSAGE, current_version=student.version)
    bsn = data.get("bsn")
    if bsn and _bsn_taken(session, keyring, student.school_id, bsn, other_than=student.id):
        raise ValidationFailed(errors={"bsn": [_DUPLICATE_BSN]})
    changed = [name for name in STUDENT_FIELDS if name in data and getattr(student, name) != data[name]]
    for name in changed:
        setattr(student, name, data[name])
    if bsn:
        if student.get_bsn(keyring) != bsn:
            student.set_bsn(keyring, bsn)
            changed.append("bsn")
    elif data.get("remove_bsn") and student.bsn_encrypted:
        student.set_bsn(keyring, None)
        changed.append("bsn")
    if not changed:
        return changed
    try:
        session.flush()  # the row-version check runs here: a concurrent save makes it fail
    except StaleDataError as exc:
        raise Conflict(CONFLICT_MESSAGE) from exc
    record(session, actor, action=AuditAction.update, event_type=StudentTag.update, object_type="student",
           object_id=student.id, student_id=student.id, purpose=PURPOSE_GUIDANCE, basis="legal_task:onderwijstaak",
           detail={"fields": sorted(changed)})
    return changed


def list_students(session: Session, actor: Principal, *, q: str | None = None, page: int = 1,
                  per_page: int = 25) -> Page:
    """One page of the acting school's students, by name, optionally filtered on name words.

    Two queries whatever the page size (count and page; no BSN columns loaded), plus one
    access decision per student shown (audited as ``student:list``; the audit rows are
    inserted together when the unit of work flushes).
    """
    _require_school_staff(actor)
    conditions = [Student.school_id == actor.organisation_id]
    for word in (q or "").split()[:5]:
        pattern = f"%{escape_like(word.lower())}%"
        conditions.append(or_(func.lower(Student.first_name).like(pattern, escape="\\"),
                              func.lower(Student.last_name).like(pattern, escape="\\")))
    total = session.scalar(select(func.count(Student.id)).where(*conditions)) or 0
    page = max(1, page)
    items = list(session.scalars(
        select(Student).where(*conditions).options(load_only(*_LIST_COLUMNS, raiseload=True))
        .order_by(func.lower(Student.last_name), func.lower(Student.first_name), Student.id)
        .offset((page - 1) * per_page).limit(per_page)))
    # Every student shown is a read of that student's data: one decision (and audit event)
    # each, so the list appears in every listed student's "wie heeft mijn gegevens bekeken".
    # For the school's own students the legal task covers these categories without a query.
    decisions = decide_many(session, actor, items, PURPOSE_GUIDANCE, LIST_CATEGORIES, event_type=StudentTag.list)
    shown = [student for student in items if decisions[student.id].allowed == LIST_CATEGORIES]
    return Page(shown, total, page, per_page)


def student_in_walls(actor: Principal, student: Student) -> bool:
    """Whether ``student`` exists for ``actor`` at all (else: 404). School staff see their own
    school's students, a student themself; partners and coordinators of the school's region may
    ask (a consent can give them a basis, which :func:`decide` then answers)."""
    if actor.account_id is not None and student.account_id == actor.account_id:
        return True
    if actor.is_school_staff:
        return student.school_id == actor.organisation_id
    if actor.role in (Role.partner_staff, Role.coordinator):
        return student.school.region_id == actor.region_id
    return False


def get_student(session: Session, actor: Principal, student_id: Any, *, purpose: str,
                categories: Any, action: AuditAction = AuditAction.read,
                event_type: EventTag = StudentTag.view) -> tuple[Student, Decision]:
    """Load a student and decide what ``actor`` may see of it for ``purpose``.

    :class:`NotFound` for an unknown id or a student outside the actor's walls (nothing is
    audited: nothing was shown); otherwise the decision is audited by :func:`decide`, and a
    decision that allows none of ``categories`` is :class:`Forbidden`.
    """
    try:
        key = student_id if isinstance(student_id, uuid.UUID) else uuid.UUID(str(student_id))
    except ValueError:
        raise NotFound(_l("Deze leerling bestaat niet, of u heeft er geen toegang toe.")) from None
    student = session.get(Student, key)
    if student is None or not student_in_walls(actor, student):
        raise NotFound(_l("Deze leerling bestaat niet, of u heeft er geen toegang toe."))
    decision = decide(session, actor, student, purpose, categories, action=action, event_type=event_type)
    if not decision.allowed:
        raise Forbidden(_l("U heeft geen grondslag om gegevens van deze leerling in te zien."))
    return student, decision
