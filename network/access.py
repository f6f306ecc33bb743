"""The one access decision for student data.

Every read or export of a student's data asks :func:`decide`, which answers which of the asked
categories are allowed and on what basis, writes one audit event for the decision (allowed or
denied), and fails closed: any error means nothing is allowed.

The decision lives in ``network`` because the core's own student pages need it and ``network``
may not import a feature. Its bases come from two places: the legal tasks below (the school's
own students, the data subject themself) and the basis providers that features register —
``consent`` registers the student's consents (``register_basis_provider``). ``consent.decide``
is this function.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from network.audit import (
    AuditAction,
    AuditEvent,
    AuditOutcome,
    event_values,
    record_many,
)
from network.errors import Forbidden
from network.models import Student
from network.permissions import Principal

log = logging.getLogger(__name__)


class Category(enum.StrEnum):
    """Data categories of a student. Special categories (AVG art. 9/10) are marked below."""

    contact = "contactgegevens"
    education = "opleiding"
    bsn = "bsn"
    life_domains = "leefgebieden"
    support = "ondersteuningsbehoefte"  # health/support need: art. 9
    justice = "justitie"  # art. 10
    plan = "school-naar-werk-plan"


SPECIAL_CATEGORIES = frozenset({Category.support, Category.justice})


@dataclass(frozen=True)
class Basis:
    """Why a read is lawful: ``kind`` is ``legal_task``, ``consent`` or ``self``."""

    kind: str
    ref: str
    categories: frozenset[Category]

    def __str__(self) -> str:
        return f"{self.kind}:{self.ref}"


@dataclass(frozen=True)
class Decision:
    purpose: str
    requested: frozenset[Category]
    allowed: frozenset[Category]
    bases: tuple[Basis, ...]

    @property
    def denied(self) -> frozenset[Category]:
        return self.requested - self.allowed

    def permits(self, category: Category) -> bool:
        return category in self.allowed

    @property
    def basis_label(self) -> str | None:
        return ",".join(str(b) for b in self.bases) or None

    def require(self, *categories: Category) -> Decision:
        if not all(c in self.allowed for c in categories):
            raise Forbidden("U heeft geen grondslag om deze gegevens van de leerling in te zien.")
        return self


BasisProvider = Callable[[Session, Principal, Student, str, frozenset[Category]], Iterable[Basis]]
_providers: list[BasisProvider] = []


def register_basis_provider(provider: BasisProvider) -> BasisProvider:
    """Add a source of bases (consent/ registers the student's consents). Idempotent."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


#: purposes for which the school's own staff work with their own students (onderwijstaak)
SCHOOL_PURPOSES = frozenset({"leerlingbegeleiding", "registratie", "verwijzing"})
_SCHOOL_CATEGORIES = frozenset({Category.contact, Category.education, Category.bsn,
                                Category.life_domains, Category.plan})


def _legal_bases(principal: Principal, student: Student, purpose: str) -> list[Basis]:
    bases = []
    if principal.is_school_staff and principal.organisation_id == student.school_id and purpose in SCHOOL_PURPOSES:
        # The school registered the student and holds this data under its educational task
        # (WEB/WVO); special categories still need the student's explicit consent.
        bases.append(Basis("legal_task", "onderwijstaak", _SCHOOL_CATEGORIES))
    if principal.account_id is not None and student.account_id == principal.account_id:
        bases.append(Basis("self", "betrokkene", frozenset(Category)))  # AVG art. 15
    return bases


def _decide(session: Session, principal: Principal, student: Student, purpose: str,
            requested: frozenset[Category]) -> tuple[Decision, AuditOutcome]:
    outcome = AuditOutcome.success
    try:
        bases = _legal_bases(principal, student, purpose)
        covered = frozenset().union(*(b.categories for b in bases)) if bases else frozenset()
        if not requested <= covered:
            # Only ask the providers (queries) for what the legal bases leave open: a school
            # reading its own students costs no query, so a list decides per student cheaply.
            for provider in _providers:
                bases.extend(provider(session, principal, student, purpose, requested))
        allowed: set[Category] = set()
        for basis in bases:
            allowed |= basis.categories & requested
        decision = Decision(purpose, requested, frozenset(allowed), tuple(b for b in bases if b.categories & requested))
    except Exception:
        log.exception("Access decision failed for student %r; denying", str(student.id))
        decision = Decision(purpose, requested, frozenset(), ())
        outcome = AuditOutcome.failure
    if outcome is AuditOutcome.success and not decision.allowed:
        outcome = AuditOutcome.denied
    return decision, outcome


def _audit_values(principal: Principal, student: Student, decision: Decision, outcome: AuditOutcome,
                  action: AuditAction, event_type: str) -> dict:
    return event_values(principal, action=action, event_type=event_type, outcome=outcome,
                        object_type="student", object_id=student.id, student_id=student.id,
                        purpose=decision.purpose, basis=decision.basis_label,
                        detail={"requested": sorted(decision.requested), "allowed": sorted(decision.allowed)})


def decide(session: Session, principal: Principal, student: Student, purpose: str,
           categories: Iterable[Category], *, action: AuditAction = AuditAction.read,
           event_type: str = "student:view") -> Decision:
    """Decide which of ``categories`` ``principal`` may process for ``purpose``, and audit it.

    Fails closed: an error in any basis source denies everything (and is logged as a failure).
    """
    decision, outcome = _decide(session, principal, student, purpose, frozenset(Category(c) for c in categories))
    session.add(AuditEvent(**_audit_values(principal, student, decision, outcome, action, event_type)))
    return decision


def decide_many(session: Session, principal: Principal, students: Iterable[Student], purpose: str,
                categories: Iterable[Category], *, action: AuditAction = AuditAction.read,
                event_type: str = "student:list") -> dict[Any, Decision]:
    """:func:`decide` for every student of a list page, with all audit events written in one
    statement, so a page's statement count does not grow with its size."""
    requested = frozenset(Category(c) for c in categories)
    decisions, rows = {}, []
    for student in students:
        decision, outcome = _decide(session, principal, student, purpose, requested)
        decisions[student.id] = decision
        rows.append(_audit_values(principal, student, decision, outcome, action, event_type))
    record_many(session, rows)
    return decisions
