"""The inbox through its two front doors (the HTML page ``/inbox`` and ``GET /api/v1/referrals``
with a partner system's token) costs the same number of SQL statements whatever the page size
(issue 8), on a varied inbox: referrals from several schools, for many students (some with
consent, some withdrawn, some never given), in every status, owned by different colleagues, to
two services, for two purposes. Lazy loads per distinct object would show up as a count that
grows with the page."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event

import referrals.inbox_views as inbox_views
from consent.service import grant_consent, withdraw_consent
from network.db import db
from network.models import Role
from referrals.models import Referral
from referrals.states import ReferralStatus as S
from referrals.states import ReferralType
from tests.factories import (
    OrganisationFactory,
    StudentFactory,
    bearer,
    get_token,
    login,
    make_api_client,
    make_member,
    principal_for,
)
from tests.referrals.conftest import add_service, born_years_ago

START = dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC)
SMALL, LARGE = 10, 50
#: what one inbox page may cost at most, with one statement to spare. The page: the browser
#: session, account, memberships and acting organisation; the services (for the filter); the rows
#: (student, service, owner, organisations joined in); the decision (consents, legal tasks); the
#: audit insert; the unread-notification count of the layout: 10. The API: the token, the rows,
#: the decision and the audit insert: 5.
HTML_LIMIT, API_LIMIT = 11, 6
STATUSES = (S.requested, S.accepted, S.in_progress, S.on_hold, S.rejected, S.completed, S.failed, S.cancelled)


@pytest.fixture
def big_inbox(session, keyring, rworld):
    """96 referrals to the gemeente from eight schools (each with its own mentor and three
    students), in blocks of eight per school so a bigger page reaches more schools, students and
    colleagues; cycling through the statuses, four owners (and none), both services and two
    purposes. A third of the students consented (for jobcoaching), of whom half withdrew again."""
    gemeente = rworld["gemeente"]
    second = add_service(gemeente, "Werkfit traject", response_days=10)
    schools = [rworld["school"]] + [OrganisationFactory(region=rworld["region"], school=True, name=f"College {n}")
                                    for n in range(2, 9)]
    mentors = [rworld["mentor"]] + [make_member(Role.mentor, school, name=f"Mentor {school.name}")
                                    for school in schools[1:]]
    students = {school.id: [StudentFactory(school=school, date_of_birth=born_years_ago(17 + m),
                                           first_name=f"Leerling{m}", last_name=school.name) for m in range(3)]
                for school in schools}
    for k, (student, mentor) in enumerate((s, mentor) for school, mentor in zip(schools, mentors, strict=True)
                                          for s in students[school.id]):
        if k % 3:
            continue
        consent = grant_consent(session, principal_for(mentor), keyring, student, {
            "recipient_id": gemeente.id, "purpose_code": "jobcoaching", "categories": ["contactgegevens"],
            "channel": "in_person"})
        if k % 2:
            withdraw_consent(session, principal_for(mentor), keyring, consent)
    coaches = [make_member(Role.partner_staff, gemeente, name=f"Jobcoach {n}") for n in (3, 4)]
    owners = [None, rworld["jobcoach"].id, rworld["jobcoach2"].id] + [coach.id for coach in coaches]
    made = []
    for n in range(96):
        school, mentor = schools[(n // 8) % len(schools)], mentors[(n // 8) % len(schools)]
        made.append(Referral(
            student_id=students[school.id][n % 3].id, from_organisation_id=school.id, from_account_id=mentor.id,
            from_name=mentor.name, to_organisation_id=gemeente.id, service_id=(rworld["service"], second)[n % 2].id,
            purpose=("jobcoaching", "begeleiding-naar-werk")[n % 5 == 0], type=ReferralType.transitieroute,
            status=STATUSES[n % len(STATUSES)], categories="contactgegevens", owner_account_id=owners[(n // 4) % 5],
            created_at=START + dt.timedelta(hours=n), sent_at=START + dt.timedelta(hours=n),
            response_due=dt.date(2026, 9, 8) + dt.timedelta(days=n)))
    session.add_all(made)
    session.commit()
    return made


class Counter:
    """The statements sent to the database while counting (a ``before_cursor_execute`` listener)."""

    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, *args):
        self.statements.append(statement)

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self)


def counted(request_page) -> list[str]:
    with Counter() as counter:
        response = request_page()
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return counter.statements


def report(small: list[str], large: list[str]) -> str:
    return "\n".join([f"{len(small)} statements at {SMALL} rows, {len(large)} at {LARGE}:"]
                     + [f"  {s.splitlines()[0][:160]}" for s in large])


@pytest.mark.parametrize("query", ["", "?status=alle"])
def test_html_inbox_costs_the_same_statements_whatever_the_page_size(client, rworld, big_inbox, monkeypatch,
                                                                      query):
    login(client, rworld["jobcoach"])
    client.get(f"/inbox{query}")  # warm up (the first request loads the catalogues etc.)
    counts = {}
    for size in (SMALL, LARGE):
        monkeypatch.setattr(inbox_views, "PER_PAGE", size)
        counts[size] = counted(lambda: client.get(f"/inbox{query}"))
    small, large = counts[SMALL], counts[LARGE]
    assert len(small) == len(large) <= HTML_LIMIT, report(small, large)


def test_api_inbox_costs_the_same_statements_whatever_the_page_size(app, client, session, rworld, big_inbox,
                                                                     monkeypatch):
    monkeypatch.setitem(app.config, "TOKEN_RATE_LIMIT", "10000 per minute")
    api_client, secret = make_api_client(rworld["gemeente"], ["referrals:read", "referrals:write"])
    session.commit()
    headers = bearer(get_token(client, api_client, secret))
    client.get("/api/v1/referrals?limit=5", headers=headers)  # warm up
    small = counted(lambda: client.get(f"/api/v1/referrals?limit={SMALL}", headers=headers))
    large = counted(lambda: client.get(f"/api/v1/referrals?limit={LARGE}", headers=headers))
    assert len(small) == len(large) <= API_LIMIT, report(small, large)
