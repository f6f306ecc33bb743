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
    AuditOutcome,
    add_event,
    event_values,
    record_many,
)
from network.errors import Forbidden
from network.events import EventTag
from network.models import Role, Student
from network.permissions import Acting, Principal
from network.tags import StudentTag

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
    """Why a read is lawful: ``kind`` is ``legal_task``, ``consent`` or ``self``. A legal task
    whose law covers only some students names its ``scope`` (see :func:`register_task_scope`)."""

    kind: str
    ref: str
    categories: frozenset[Category]
    scope: str | None = None

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
#: the same for many (student, purpose) pairs at once: answers {(student id, purpose): bases}
BatchProvider = Callable[[Session, Principal, list[tuple[Student, str]], frozenset[Category]],
                         dict[tuple[Any, str], list[Basis]]]
#: the same for one student and several organisations (what would each be allowed, with no
#: read of the student's data): answers {(organisation id, purpose): bases}
OrganisationsProvider = Callable[[Session, Student, list[tuple[Acting, str]], frozenset[Category]],
                                 dict[tuple[int, str], list[Basis]]]
_providers: list[BasisProvider] = []
_batch_providers: dict[BasisProvider, BatchProvider] = {}
_organisation_providers: dict[BasisProvider, OrganisationsProvider] = {}


def register_basis_provider(provider: BasisProvider, *, batch: BatchProvider | None = None,
                            organisations: OrganisationsProvider | None = None) -> BasisProvider:
    """Add a source of bases (consent/ registers the student's consents). Idempotent.

    ``batch`` answers for a whole list page in a fixed number of statements; without it a list
    asks ``provider`` once per student. ``organisations`` does the same for
    :func:`bases_for_organisations` (one student, several recipients).
    """
    if provider not in _providers:
        _providers.append(provider)
    if batch is not None:
        _batch_providers[provider] = batch
    if organisations is not None:
        _organisation_providers[provider] = organisations
    return provider


#: words for purposes that are not in the consent catalogue (a feature's own reads, e.g. the
#: begeleidingsformulier's), for the student's access log; registered by the feature
PURPOSE_LABELS: dict[str, Any] = {}


def register_purpose_label(code: str, label: Any) -> None:
    """Name a feature's own purpose (``label``: a lazy Dutch string) for "wie heeft mijn gegevens bekeken"."""
    PURPOSE_LABELS[code] = label


#: which of ``students`` a legal task's law covers now (the facts are the student's: an exit, a
#: report, an open matter, and the settings of the region of the student's school): the ids of
#: those in scope. One call answers for a whole list in a fixed number of statements.
TaskScope = Callable[[Session, list[Student]], set[Any]]
_scopes: dict[str, TaskScope] = {}


def register_task_scope(kind: str, check: TaskScope) -> TaskScope:
    """Name the check of a legal task's scope (``referrals`` registers the RMC's and UWV's: the
    data they need, exits and referrals, lives there). A basis with a scope nobody registered
    gives nothing: fail closed."""
    _scopes[kind] = check
    return check


def _in_scope(session: Session, bases: dict[Any, list[Basis]], students: dict[Any, Student]) -> dict[Any, list[Basis]]:
    """``bases`` (by key) without the scoped legal-task bases of students outside their scope:
    one check per scope kind for all keys at once. ``students`` maps each key to its student."""
    wanted: dict[str, dict[Any, Student]] = {}
    for key, found in bases.items():
        for basis in found:
            if basis.scope is not None:
                wanted.setdefault(basis.scope, {})[students[key].id] = students[key]
    if not wanted:
        return bases
    inside = {kind: _scopes[kind](session, list(group.values())) if kind in _scopes else set()
              for kind, group in wanted.items()}

    return {key: [b for b in found if b.scope is None or students[key].id in inside[b.scope]]
            for key, found in bases.items()}


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
            bases = _in_scope(session, {student.id: bases}, {student.id: student})[student.id]
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
                  action: AuditAction, event_type: EventTag) -> dict:
    return event_values(principal, action=action, event_type=event_type, outcome=outcome,
                        object_type="student", object_id=student.id, student_id=student.id,
                        purpose=decision.purpose, basis=decision.basis_label,
                        detail={"requested": sorted(decision.requested), "allowed": sorted(decision.allowed)})


def decide(session: Session, principal: Principal, student: Student, purpose: str,
           categories: Iterable[Category], *, action: AuditAction = AuditAction.read,
           event_type: EventTag = StudentTag.view) -> Decision:
    """Decide which of ``categories`` ``principal`` may process for ``purpose``, and audit it.

    Fails closed: an error in any basis source denies everything (and is logged as a failure).
    """
    decision, outcome = _decide(session, principal, student, purpose, frozenset(Category(c) for c in categories))
    add_event(session, _audit_values(principal, student, decision, outcome, action, event_type))
    return decision


def decide_many(session: Session, principal: Principal, students: Iterable[Student], purpose: str,
                categories: Iterable[Category], *, action: AuditAction = AuditAction.read,
                event_type: EventTag = StudentTag.list) -> dict[Any, Decision]:
    """:func:`decide` for every student of a list page, with all audit events written in one
    statement, so a page's statement count does not grow with its size."""
    decisions = decide_each(session, principal, [(s, purpose) for s in students], categories, action=action,
                            event_type=event_type)
    return {student_id: decision for (student_id, _purpose), decision in decisions.items()}


def decide_each(session: Session, principal: Principal, pairs: Iterable[tuple[Student, str]],
                categories: Iterable[Category], *, action: AuditAction = AuditAction.read,
                event_type: EventTag = StudentTag.list) -> dict[tuple[Any, str], Decision]:
    """:func:`decide` for many (student, purpose) pairs, e.g. an inbox of referrals made for
    different purposes. Providers with a batch form answer the whole list at once, so the
    statement count stays fixed whatever the list's length; one audit statement for all.
    Fails closed per provider: an error denies what that provider would have allowed."""
    requested = frozenset(Category(c) for c in categories)
    pairs = list(dict.fromkeys((student, purpose) for student, purpose in pairs))
    legal = {(s.id, p): _legal_bases(principal, s, p) for s, p in pairs}
    open_pairs = [(s, p) for s, p in pairs
                  if not requested <= frozenset().union(*(b.categories for b in legal[(s.id, p)]))]
    extra, failed = _provider_bases(session, principal, open_pairs, requested)
    decisions, rows = {}, []
    for student, purpose in pairs:
        key = (student.id, purpose)
        if key in failed:
            decision, outcome = Decision(purpose, requested, frozenset(), ()), AuditOutcome.failure
        else:
            decision, outcome = _pair_decision(purpose, requested, legal[key] + extra.get(key, []))
        decisions[key] = decision
        rows.append(_audit_values(principal, student, decision, outcome, action, event_type))
    record_many(session, rows)
    return decisions


def _provider_bases(session: Session, principal: Principal, open_pairs: list[tuple[Student, str]],
                    requested: frozenset[Category]) -> tuple[dict[tuple[Any, str], list[Basis]], set[tuple[Any, str]]]:
    """The bases the registered providers give for the pairs the legal tasks leave open, and
    the pairs whose provider failed (those are denied: fail closed per provider)."""
    extra: dict[tuple[Any, str], list[Basis]] = {}
    failed: set[tuple[Any, str]] = set()
    for provider in _providers:
        if not open_pairs:
            break
        try:
            _ask_provider(provider, session, principal, open_pairs, requested, extra)
        except Exception:
            log.exception("Access decision failed for a list of %d students; denying", len(open_pairs))
            failed.update((s.id, p) for s, p in open_pairs)
    try:
        extra = _in_scope(session, extra, {(s.id, p): s for s, p in open_pairs})
    except Exception:
        log.exception("A legal task's scope failed for a list of %d students; denying", len(open_pairs))
        failed.update(key for key, found in extra.items() if any(b.scope for b in found))
        extra = {key: [b for b in found if b.scope is None] for key, found in extra.items()}
    return extra, failed


def _ask_provider(provider: BasisProvider, session: Session, principal: Principal,
                  open_pairs: list[tuple[Student, str]], requested: frozenset[Category],
                  extra: dict[tuple[Any, str], list[Basis]]) -> None:
    """Add one provider's bases to ``extra``: in one call where it has a batch form, else pair by pair."""
    batch = _batch_providers.get(provider)
    if batch is not None:
        for key, bases in batch(session, principal, open_pairs, requested).items():
            extra.setdefault(key, []).extend(bases)
    else:
        for student, purpose in open_pairs:
            extra.setdefault((student.id, purpose), []).extend(
                provider(session, principal, student, purpose, requested))


def _pair_decision(purpose: str, requested: frozenset[Category], bases: list[Basis]) -> tuple[Decision, AuditOutcome]:
    """What the bases of one pair allow together, and the audit outcome: denied when nothing."""
    allowed = frozenset().union(*(b.categories & requested for b in bases)) if bases else frozenset()
    decision = Decision(purpose, requested, allowed, tuple(b for b in bases if b.categories & requested))
    outcome = AuditOutcome.success if allowed else AuditOutcome.denied
    return decision, outcome


def _acting_for(organisation) -> Acting:
    return Acting(membership_id=0, organisation_id=organisation.id, organisation_name=organisation.name,
                  organisation_type=organisation.type, region_id=organisation.region_id, role=Role.partner_staff)


def bases_for_organisations(session: Session, student: Student, wanted: Iterable[tuple[Any, str]],
                            categories: Iterable[Category]) -> dict[tuple[int, str], Decision]:
    """:func:`bases_for_organisation` for several (organisation, purpose) pairs of one student,
    in a fixed number of statements (an agreement's consistency check over all its parties).
    Nothing of the student is read, so nothing is audited. Fails closed per provider."""
    requested = frozenset(Category(c) for c in categories)
    pairs = list(dict.fromkeys((_acting_for(org), purpose) for org, purpose in wanted))
    bases: dict[tuple[int, str], list[Basis]] = {
        (acting.organisation_id, purpose): _legal_bases(Principal(name=acting.organisation_name, acting=acting),
                                                        student, purpose)
        for acting, purpose in pairs}
    failed = False
    for provider in _providers:
        many = _organisation_providers.get(provider)
        try:
            if many is not None:
                for key, found in many(session, student, pairs, requested).items():
                    bases.setdefault(key, []).extend(found)
            else:
                for acting, purpose in pairs:
                    bases[(acting.organisation_id, purpose)].extend(provider(
                        session, Principal(name=acting.organisation_name, acting=acting), student, purpose, requested))
        except Exception:
            log.exception("Basis look-up for %d organisations failed; denying", len(pairs))
            failed = True
    try:
        bases = _in_scope(session, bases, dict.fromkeys(bases, student))
    except Exception:
        log.exception("A legal task's scope failed for %d organisations; denying", len(pairs))
        failed = True
    result = {}
    for acting, purpose in pairs:
        found = [] if failed else bases[(acting.organisation_id, purpose)]
        allowed = frozenset().union(*(b.categories & requested for b in found)) if found else frozenset()
        result[(acting.organisation_id, purpose)] = Decision(purpose, requested, allowed,
                                                             tuple(b for b in found if b.categories & requested))
    return result


def bases_for_organisation(session: Session, organisation, student: Student, purpose: str,
                           categories: Iterable[Category]) -> Decision:
    """What ``organisation``'s staff would be allowed for ``purpose`` (no audit: nothing of the
    student is read). The referral wizard uses it to offer only categories with a basis for the
    recipient; the recipient's own reads still go through :func:`decide`."""
    acting = Acting(membership_id=0, organisation_id=organisation.id, organisation_name=organisation.name,
                    organisation_type=organisation.type, region_id=organisation.region_id, role=Role.partner_staff)
    decision, _outcome = _decide(session, Principal(name=organisation.name, acting=acting), student, purpose,
                                 frozenset(Category(c) for c in categories))
    return decision
