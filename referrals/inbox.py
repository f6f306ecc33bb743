"""Lists of referrals: the partner inbox (referrals to my organisation) and the school's sent
list, with filters and cursor pagination (newest first, keyset on ``(created_at, id)``).

A page costs a fixed number of statements whatever its size: one for the rows (student,
service, owner and both organisations joined in), the access decision for the whole page (its
batch form: the consents and legal tasks of all the page's students at once) and one audit
insert. Whatever a row shows must be loaded here: a relationship left to load lazily costs a
statement per distinct object on the page (per sending school, per colleague), so the count
would grow with the page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, contains_eager, joinedload

from network import clock
from network.access import Category, Decision, decide_each
from network.crypto import b64url_decode, b64url_encode
from network.errors import Forbidden, ValidationFailed
from network.models import Account, Role, Student
from network.permissions import Principal
from referrals.models import Referral
from referrals.states import OPEN, ReferralStatus
from referrals.tags import ReferralTag
from socialmap.models import Service

MAX_PAGE = 100


@dataclass
class InboxFilters:
    #: a status value, ``open`` (all open states) or None (all)
    status: str | None = None
    service_id: int | None = None
    #: ``overdue`` (answer deadline passed) or ``week`` (due within 7 days)
    due: str | None = None
    #: ``me`` (assigned to me) or ``none`` (unassigned)
    owner: str | None = None


@dataclass
class InboxRow:
    referral: Referral
    #: the student's name if the viewer has a basis for contact data now, else None
    student_name: str | None
    decision: Decision | None


@dataclass
class InboxPage:
    rows: list[InboxRow]
    next_cursor: str | None
    per_page: int


def encode_cursor(created_at: dt.datetime, referral_id: int) -> str:
    return b64url_encode(f"{created_at.isoformat()}|{referral_id}".encode())


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        raw = b64url_decode(cursor).decode()
        stamp, ident = raw.split("|")
        when = dt.datetime.fromisoformat(stamp)
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return when, int(ident)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed(errors={"cursor": ["Ongeldige cursor; begin opnieuw op de eerste pagina."]}) from None


def _apply_filters(query, actor: Principal, filters: InboxFilters, today: dt.date):
    if filters.status == "open":
        query = query.where(Referral.status.in_(sorted(OPEN)))
    elif filters.status:
        try:
            query = query.where(Referral.status == ReferralStatus(filters.status))
        except ValueError:
            raise ValidationFailed(errors={"status": ["Onbekende status."]}) from None
    if filters.service_id:
        query = query.where(Referral.service_id == filters.service_id)
    if filters.due == "overdue":
        query = query.where(Referral.status == ReferralStatus.requested, Referral.response_due < today)
    elif filters.due == "week":
        query = query.where(Referral.status == ReferralStatus.requested,
                            Referral.response_due <= today + dt.timedelta(days=7))
    if filters.owner == "me":
        query = query.where(Referral.owner_account_id == actor.account_id)
    elif filters.owner == "none":
        query = query.where(Referral.owner_account_id.is_(None))
    return query


#: what a list row needs of the joined rows (the decision: id, school, account; the name) —
#: not their other columns (a service's description, an account's hashes); measured ~10 % less
#: CPU per page (tests/bench/test_referral_speed.py). Anything else loads on first use.
_STUDENT_COLUMNS = (Student.id, Student.school_id, Student.account_id, Student.first_name, Student.last_name)
_SERVICE_COLUMNS = (Service.id, Service.name, Service.organisation_id)
_OWNER_COLUMNS = (Account.id, Account.name, Account.is_active)
#: the sending and receiving organisations (the inbox's "Van", the API's ``from_organisation`` and
#: ``to_organisation``): joined in whole, as they are small rows that other code in the same
#: request may use (the acting organisation is among them)
_ORGANISATIONS = (Referral.from_organisation, Referral.to_organisation)


def _page(session: Session, actor: Principal, query, *, cursor: str | None, per_page: int, purpose_of) -> InboxPage:
    per_page = max(1, min(int(per_page), MAX_PAGE))
    if cursor:
        when, ident = decode_cursor(cursor)
        query = query.where(or_(Referral.created_at < when, and_(Referral.created_at == when, Referral.id < ident)))
    referrals = session.scalars(
        query.join(Referral.student).join(Referral.service)
        .options(contains_eager(Referral.student).load_only(*_STUDENT_COLUMNS),
                 contains_eager(Referral.service).load_only(*_SERVICE_COLUMNS),
                 joinedload(Referral.owner).load_only(*_OWNER_COLUMNS),
                 *(joinedload(relation, innerjoin=True) for relation in _ORGANISATIONS))
        .order_by(Referral.created_at.desc(), Referral.id.desc()).limit(per_page + 1)
    ).unique().all()
    more = len(referrals) > per_page
    referrals = referrals[:per_page]
    decisions = decide_each(session, actor, [(r.student, purpose_of(r)) for r in referrals], [Category.contact],
                            event_type=ReferralTag.list) if referrals else {}
    rows = []
    for referral in referrals:
        decision = decisions.get((referral.student_id, purpose_of(referral)))
        name = referral.student.full_name if decision and decision.permits(Category.contact) else None
        rows.append(InboxRow(referral, name, decision))
    last = referrals[-1] if referrals else None
    return InboxPage(rows, encode_cursor(last.created_at, last.id) if more and last else None, per_page)


def list_inbox(session: Session, actor: Principal, filters: InboxFilters | None = None, *, cursor: str | None = None,
               per_page: int = 25, today: dt.date | None = None) -> InboxPage:
    """Referrals to the actor's organisation (never drafts), newest first."""

    if actor.role is not Role.partner_staff or actor.organisation_id is None:
        raise Forbidden("Alleen medewerkers van een partnerorganisatie hebben een inbox.")
    query = select(Referral).where(Referral.to_organisation_id == actor.organisation_id,
                                   Referral.status != ReferralStatus.draft)
    query = _apply_filters(query, actor, filters or InboxFilters(), today or clock.today())
    return _page(session, actor, query, cursor=cursor, per_page=per_page, purpose_of=lambda r: r.purpose)


def list_sent(session: Session, actor: Principal, filters: InboxFilters | None = None, *, cursor: str | None = None,
              per_page: int = 25, today: dt.date | None = None, student_id: Any = None) -> InboxPage:
    """Referrals the actor's school made (drafts included), newest first."""

    if not actor.is_school_staff:
        raise Forbidden("Alleen schoolmedewerkers verwijzen.")
    query = select(Referral).where(Referral.from_organisation_id == actor.organisation_id)
    if student_id is not None:
        query = query.where(Referral.student_id == student_id)
    filters = filters or InboxFilters()
    if filters.owner == "me":
        query = query.where(Referral.from_account_id == actor.account_id)
        filters = InboxFilters(filters.status, filters.service_id, filters.due, None)
    query = _apply_filters(query, actor, filters, today or clock.today())
    return _page(session, actor, query, cursor=cursor, per_page=per_page, purpose_of=lambda r: "verwijzing")


def services_in_inbox(session: Session, actor: Principal) -> list[tuple[int, str]]:
    """The actor's organisation's services (for the inbox filter)."""
    return [(i, n) for i, n in session.execute(select(Service.id, Service.name).where(
        Service.organisation_id == actor.organisation_id).order_by(Service.name)).all()]


