"""The inbox at the service layer: a page costs the same few SQL statements whatever its size,
and cursor pages follow each other without gaps or repeats, filters included."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event

from network.db import db
from referrals.inbox import InboxFilters, list_inbox, list_sent
from referrals.models import Referral
from referrals.states import ReferralStatus as S
from referrals.states import ReferralType
from tests.factories import StudentFactory

START = dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def many(session, rworld):
    """60 referrals to the gemeente for 12 students (only Sanne has consent; hers is the newest,
    so every page mixes allowed and denied decisions), two by two sharing one ``created_at`` so
    the cursor's tie-breaker on the id is exercised."""
    students = [rworld["student"], rworld["other_student"]] + [StudentFactory(school=rworld["school"])
                                                                for _n in range(10)]
    made = []
    for n in range(60):
        status = (S.requested, S.accepted, S.in_progress, S.rejected)[n % 4]
        made.append(Referral(student_id=students[(59 - n) % len(students)].id, from_organisation_id=rworld["school"].id,
                             from_name="Mentor Jansen", to_organisation_id=rworld["gemeente"].id,
                             service_id=rworld["service"].id, purpose="jobcoaching", type=ReferralType.transitieroute,
                             status=status, categories="contactgegevens",
                             owner_account_id=rworld["jobcoach"].id if n % 3 == 0 else None,
                             created_at=START + dt.timedelta(hours=n // 2), sent_at=START,
                             response_due=dt.date(2026, 9, 1) + dt.timedelta(days=n)))
    session.add_all(made)
    session.commit()
    return made


def count_statements(run) -> int:
    statements: list[str] = []

    def listener(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        run()
        db.session.flush()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return len(statements)


@pytest.mark.parametrize("lister, actor", [(list_inbox, "jobcoach"), (list_sent, "mentor")])
def test_a_page_costs_the_same_few_statements_whatever_its_size(session, ractors, many, lister, actor):
    principal = ractors[actor]
    small = count_statements(lambda: lister(session, principal, per_page=5))
    session.rollback()
    big = count_statements(lambda: lister(session, principal, per_page=50))
    session.rollback()
    assert small == big <= 6, (small, big)
    page = lister(session, principal, per_page=5)
    later = count_statements(lambda: lister(session, principal, cursor=page.next_cursor, per_page=50))
    assert later <= 6
    session.rollback()


def test_cursor_pages_follow_without_repeats(session, ractors, many):
    seen, cursor = [], None
    while True:
        page = list_inbox(session, ractors["jobcoach"], InboxFilters(status="open"), cursor=cursor, per_page=7)
        seen += [row.referral.id for row in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            break
    expected = sorted((r for r in many if r.status is not S.rejected), key=lambda r: (r.created_at, r.id),
                      reverse=True)
    assert seen == [r.id for r in expected] and len(set(seen)) == len(seen) == 45
    session.rollback()


def test_names_only_for_students_with_a_basis(session, rworld, ractors, many):
    page = list_inbox(session, ractors["jobcoach"], per_page=50)
    named = {row.student_name for row in page.rows if row.student_name}
    assert named == {"Sanne Jobzoeker"}
    assert all(row.student_name is None for row in page.rows if row.referral.student_id != rworld["student"].id)
    session.rollback()
