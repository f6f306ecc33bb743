"""The consent package's basis provider for :func:`network.access.decide`.

For a principal acting for an organisation it answers with at most two SQL statements: one for
the student's valid consents to that organisation for the purpose, one for the legal tasks of
the organisation's type for the purpose (with the region check inside the same statement).
Both only count where the purpose names the organisation's type as a recipient
(:class:`~consent.models.PurposeRecipientType`). A legal task with a scope (the RMC's, UWV's)
gives a basis that names it; :func:`network.access.decide` keeps it only for the students the
scope's registered check finds inside (referrals registers the checks: exits and referrals
live there).
A guardian (no acting organisation) costs one statement: the representation. Nothing is cached
across requests, so a withdrawal counts from the very next decision. Errors propagate: decide
catches them and denies everything (fail closed).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from consent.catalogue import LAW_ONLY_CODES
from consent.measures import MEASURES, representing
from consent.models import (
    Consent,
    ConsentItem,
    ConsentStatus,
    LegalTask,
    LegalTaskCategory,
    Purpose,
    PurposeRecipientType,
)
from network import clock
from network.access import Basis, Category
from network.models import Organisation, Student
from network.permissions import Acting, Principal


def _scope(scope) -> str | None:
    """A legal task's scope as :class:`~network.access.Basis` names it (None: no scope)."""
    return str(scope) if scope is not None else None


def _fits(purpose_id, organisation_type):
    """The join condition "this organisation type may receive this purpose's data": a consent or
    legal task outside the catalogue's recipient types gives no basis, whatever the rows say."""
    return ((PurposeRecipientType.purpose_id == purpose_id)
            & (PurposeRecipientType.organisation_type == organisation_type))


def consent_bases(session: Session, principal: Principal, student: Student, purpose: str,
                  requested: frozenset[Category]) -> Iterable[Basis]:
    """Consents and legal tasks that cover (part of) ``requested`` for ``principal``."""
    acting = principal.acting
    if acting is None:
        return _representative_bases(session, principal, student)
    today = clock.today()
    rows = session.execute(
        select(Consent.id, ConsentItem.category)
        .join(ConsentItem, (ConsentItem.consent_id == Consent.id) & ConsentItem.category.not_in(LAW_ONLY_CODES))
        .join(Purpose, Purpose.id == Consent.purpose_id)
        .join(PurposeRecipientType, _fits(Consent.purpose_id, acting.organisation_type))
        .where(Consent.student_id == student.id, Consent.recipient_id == acting.organisation_id,
               Consent.status == ConsentStatus.active, Consent.valid_from <= today, Consent.valid_until >= today,
               Purpose.code == purpose)
    ).all()
    by_consent: dict[int, set[Category]] = {}
    for consent_id, category in rows:
        by_consent.setdefault(consent_id, set()).add(Category(category))
    bases = [Basis("consent", str(cid), frozenset(cats)) for cid, cats in sorted(by_consent.items())]
    school_region = select(Organisation.region_id).where(Organisation.id == student.school_id).scalar_subquery()
    task_rows = session.execute(
        select(LegalTask.code, LegalTask.scope, LegalTaskCategory.category)
        .join(LegalTaskCategory, LegalTaskCategory.legal_task_id == LegalTask.id)
        .join(Purpose, Purpose.id == LegalTask.purpose_id)
        .join(PurposeRecipientType, _fits(LegalTask.purpose_id, LegalTask.organisation_type))
        .where(LegalTask.organisation_type == acting.organisation_type, LegalTask.is_active.is_(True),
               Purpose.code == purpose,
               or_(LegalTask.own_region_only.is_(False), school_region == acting.region_id))
    ).all()
    by_task: dict[tuple[str, str | None], set[Category]] = {}
    for code, scope, category in task_rows:
        by_task.setdefault((code, _scope(scope)), set()).add(Category(category))
    bases += [Basis("legal_task", code, frozenset(cats), scope) for (code, scope), cats in sorted(by_task.items())]
    return bases


def _representative_bases(session: Session, principal: Principal, student: Student) -> list[Basis]:
    """A parent or guardian of a student under 16 (UAVG art. 5), or the curator or mentor of a
    running curatele or mentorschap (BW 1:381, 1:453), sees what the student sees."""
    representation = representing(session, principal.account_id, student, clock.today())
    if representation is None:
        return []
    ref = representation.relation.value if representation.relation in MEASURES else "wettelijk-vertegenwoordiger"
    return [Basis("representative", ref, frozenset(Category))]


def consent_bases_many(session: Session, principal: Principal, pairs: list[tuple[Student, str]],
                       requested: frozenset[Category]) -> dict[tuple[object, str], list[Basis]]:
    """:func:`consent_bases` for a list page: at most three statements for any number of pairs
    (consents, legal tasks, and the schools' regions when a task is for the own region only)."""
    acting = principal.acting
    if acting is None:
        return {(s.id, p): _representative_bases(session, principal, s) for s, p in pairs}
    today = clock.today()
    student_ids = {s.id for s, _p in pairs}
    purposes = {p for _s, p in pairs}
    result: dict[tuple[object, str], list[Basis]] = {}
    by_consent: dict[tuple[object, str, int], set[Category]] = {}
    for student_id, code, consent_id, category in session.execute(
        select(Consent.student_id, Purpose.code, Consent.id, ConsentItem.category)
        .join(ConsentItem, (ConsentItem.consent_id == Consent.id) & ConsentItem.category.not_in(LAW_ONLY_CODES))
        .join(Purpose, Purpose.id == Consent.purpose_id)
        .join(PurposeRecipientType, _fits(Consent.purpose_id, acting.organisation_type))
        .where(Consent.student_id.in_(student_ids), Consent.recipient_id == acting.organisation_id,
               Consent.status == ConsentStatus.active, Consent.valid_from <= today, Consent.valid_until >= today,
               Purpose.code.in_(purposes))
    ):
        by_consent.setdefault((student_id, code, consent_id), set()).add(Category(category))
    for (student_id, code, consent_id), cats in sorted(by_consent.items(), key=lambda kv: kv[0][2]):
        result.setdefault((student_id, code), []).append(Basis("consent", str(consent_id), frozenset(cats)))
    tasks: dict[tuple[str, str, bool, str | None], set[Category]] = {}
    for purpose_code, code, own_region, scope, category in session.execute(
        select(Purpose.code, LegalTask.code, LegalTask.own_region_only, LegalTask.scope, LegalTaskCategory.category)
        .join(LegalTaskCategory, LegalTaskCategory.legal_task_id == LegalTask.id)
        .join(Purpose, Purpose.id == LegalTask.purpose_id)
        .join(PurposeRecipientType, _fits(LegalTask.purpose_id, LegalTask.organisation_type))
        .where(LegalTask.organisation_type == acting.organisation_type, LegalTask.is_active.is_(True),
               Purpose.code.in_(purposes))
    ):
        tasks.setdefault((purpose_code, code, own_region, _scope(scope)), set()).add(Category(category))
    regions: dict[int, int] = {}
    if any(own for _p, _c, own, _s in tasks):
        school_ids = {s.school_id for s, _p in pairs}
        regions = dict(session.execute(select(Organisation.id, Organisation.region_id)
                                       .where(Organisation.id.in_(school_ids))).all())
    for student, purpose in pairs:
        for (purpose_code, code, own_region, scope), cats in sorted(tasks.items(), key=lambda kv: kv[0][:3]):
            if purpose_code == purpose and (not own_region or regions.get(student.school_id) == acting.region_id):
                result.setdefault((student.id, purpose), []).append(Basis("legal_task", code, frozenset(cats), scope))
    return result


def consent_bases_for_organisations(session: Session, student: Student, pairs: list[tuple[Acting, str]],
                                    requested: frozenset[Category]) -> dict[tuple[int, str], list[Basis]]:
    """:func:`consent_bases` for one student and several (organisation, purpose) pairs, in two
    statements: the student's valid consents to any of them, and the legal tasks of their types."""
    today = clock.today()
    result: dict[tuple[int, str], list[Basis]] = {}
    wanted = {(acting.organisation_id, purpose) for acting, purpose in pairs}
    purposes = {purpose for _acting, purpose in pairs}
    by_consent: dict[tuple[int, str, int], set[Category]] = {}
    for recipient_id, code, consent_id, category in session.execute(
        select(Consent.recipient_id, Purpose.code, Consent.id, ConsentItem.category)
        .join(ConsentItem, (ConsentItem.consent_id == Consent.id) & ConsentItem.category.not_in(LAW_ONLY_CODES))
        .join(Purpose, Purpose.id == Consent.purpose_id)
        .join(Organisation, Organisation.id == Consent.recipient_id)
        .join(PurposeRecipientType, _fits(Consent.purpose_id, Organisation.type))
        .where(Consent.student_id == student.id, Consent.recipient_id.in_({o for o, _p in wanted}),
               Consent.status == ConsentStatus.active, Consent.valid_from <= today, Consent.valid_until >= today,
               Purpose.code.in_(purposes))
    ):
        if (recipient_id, code) in wanted:
            by_consent.setdefault((recipient_id, code, consent_id), set()).add(Category(category))
    for (recipient_id, code, consent_id), cats in sorted(by_consent.items(), key=lambda kv: kv[0][2]):
        result.setdefault((recipient_id, code), []).append(Basis("consent", str(consent_id), frozenset(cats)))
    school_region = student.school.region_id  # loaded with the agreement or student already, usually
    tasks: dict[tuple[str, str, str, bool, str | None], set[Category]] = {}
    for org_type, purpose_code, code, own_region, scope, category in session.execute(
        select(LegalTask.organisation_type, Purpose.code, LegalTask.code, LegalTask.own_region_only, LegalTask.scope,
               LegalTaskCategory.category)
        .join(LegalTaskCategory, LegalTaskCategory.legal_task_id == LegalTask.id)
        .join(Purpose, Purpose.id == LegalTask.purpose_id)
        .join(PurposeRecipientType, _fits(LegalTask.purpose_id, LegalTask.organisation_type))
        .where(LegalTask.organisation_type.in_({a.organisation_type for a, _p in pairs}),
               LegalTask.is_active.is_(True), Purpose.code.in_(purposes))
    ):
        tasks.setdefault((str(org_type), purpose_code, code, own_region, _scope(scope)), set()).add(Category(category))
    for acting, purpose in pairs:
        for (org_type, purpose_code, code, own_region, scope), cats in sorted(tasks.items(), key=lambda kv: kv[0][:4]):
            if (org_type == str(acting.organisation_type) and purpose_code == purpose
                    and (not own_region or school_region == acting.region_id)):
                result.setdefault((acting.organisation_id, purpose), []).append(
                    Basis("legal_task", code, frozenset(cats), scope))
    return result


def consented_subjects(organisation_id: int):
    """The students with a valid consent to ``organisation_id`` today, and its purposes: the
    partner's list of students in the API (:func:`network.student_reads.register_subject_finder`).
    Legal tasks are not in it: they cover whole groups, not a list of students; a partner reads a
    student under a legal task by naming the purpose."""
    today = clock.today()
    return (select(Consent.student_id.label("student_id"), Purpose.code.label("purpose"))
            .join(Purpose, Purpose.id == Consent.purpose_id)
            .where(Consent.recipient_id == organisation_id, Consent.status == ConsentStatus.active,
                   Consent.valid_from <= today, Consent.valid_until >= today))
