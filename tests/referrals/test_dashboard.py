"""The coordinator's dashboard (issue 5 item 9) and overdue list: aggregates right on a small
region, CSV for Dutch Excel, no student data anywhere, tenant walls, constant statements."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import event

from network.db import db
from network.errors import NotFound
from network.models import OrganisationType
from referrals.dashboard import months_before, region_dashboard
from referrals.deadlines import overdue_referrals
from referrals.models import CheckIn, Route, RouteStatus, Situation
from referrals.states import Outcome, ReferralStatus
from tests.factories import OrganisationFactory, StudentFactory, login, principal_for
from tests.referrals._sla_world import STUDENT_NAMES, UTC, add_service, make_referral, sla  # noqa: F401

S = ReferralStatus
TODAY = dt.date(2027, 2, 1)
NOW = dt.datetime(2027, 2, 1, 10, tzinfo=UTC)
NAMES = (*STUDENT_NAMES, "Zilvana", "Quarkstra")


def at(day: int, hour: int = 9, month: int = 1) -> dt.datetime:
    return dt.datetime(2027, month, day, hour, tzinfo=UTC)


def route(world, exit_date, situation=None, months=12, school="school"):
    student = StudentFactory(school=world[school], first_name="Zilvana", last_name="Quarkstra")
    item = Route(student_id=student.id, school_id=world[school].id, start_date=exit_date - dt.timedelta(days=365),
                 exit_date=exit_date, status=RouteStatus.followup)
    if situation is not None:
        item.check_ins = [CheckIn(months=months, due_date=exit_date + dt.timedelta(days=30 * months),
                                  situation=situation, recorded_at=NOW, recorded_by_name="Mentor Jansen")]
    db.session.add(item)
    db.session.commit()
    world.setdefault("route_students", []).append(student)
    return student


@pytest.fixture
def on_today():
    """The pages use the real clock: put it on :data:`NOW`."""
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def region_data(sla):
    w = sla
    make_referral(w, status=S.requested, response_due=dt.date(2027, 1, 4))  # overdue
    make_referral(w, status=S.requested, response_due=dt.date(2027, 2, 8), student="student2")
    make_referral(w, status=S.draft)
    make_referral(w, status=S.accepted, sent_at=at(4), answered_at=at(6))            # 2 working days, 48 h
    make_referral(w, status=S.accepted, sent_at=at(8), answered_at=at(11, 13))       # 1 working day, 76 h
    make_referral(w, status=S.rejected, sent_at=at(8), answered_at=at(9))
    # 2025 leavers: werkend, opleiding, uitgevallen, work by a completed referral, unknown (a 3-month check-in only)
    exit_2025 = dt.date(2025, 7, 1)
    route(w, exit_2025, Situation.werkend)
    route(w, exit_2025, Situation.opleiding)
    route(w, exit_2025, Situation.uitgevallen)
    by_referral = route(w, exit_2025)
    route(w, exit_2025, Situation.opleiding, months=3)
    route(w, dt.date(2024, 7, 1), Situation.werkend)
    route(w, dt.date(2026, 6, 1), Situation.werkend)  # not 12 months ago yet
    w["by_referral"] = by_referral
    make_referral(w, status=S.completed, sent_at=at(12), answered_at=at(19), outcome=Outcome.werk,  # 5 wd, 168 h
                  student="by_referral")
    make_referral(w, status=S.in_progress, to="uwv", service="uwv_service", sent_at=at(11),
                  answered_at=at(14, 15))                                                 # 3 wd, 78 h
    # the other region: must not show up anywhere
    make_referral(w, status=S.requested, to="far_gemeente", service="far_service", school="far_school",
                  student="far_student", response_due=dt.date(2027, 1, 4))
    route(w, exit_2025, Situation.werkend, school="far_school")
    return w


def board_of(world, actor="coordinator", region=None):
    return region_dashboard(db.session, principal_for(world[actor]), region_id=region, today=TODAY, now=NOW)


def test_months_before():
    assert months_before(dt.date(2027, 2, 1), 12) == dt.date(2026, 2, 1)
    assert months_before(dt.date(2028, 2, 29), 12) == dt.date(2027, 2, 28)
    assert months_before(dt.date(2027, 3, 31), 1) == dt.date(2027, 2, 28)


def test_the_aggregates(region_data):
    board = board_of(region_data)
    status = board.tables["status"]
    assert status.rows[0] == ["Gemeente Teststad", 2, 2, 0, 0, 1, 0, 1, 0, 0, 6]
    assert status.rows[1] == ["UWV Testrand", 0, 0, 1, 0, 0, 0, 0, 0, 0, 1]
    assert status.rows[2][1:] == [2, 2, 1, 0, 1, 0, 1, 0, 0, 7]
    assert board.overdue == 1
    assert (board.accepted, board.median_days, board.median_hours) == (4, 2.5, 77.0)
    accept = board.tables["acceptatie"].rows
    assert accept[0] == ["Gemeente Teststad", 3, 2, 76.0] and accept[1] == ["UWV Testrand", 1, 3, 78.0]
    outcomes = board.tables["uitkomsten"].rows
    assert outcomes == [["2024", 1, 1, 0, 0, 0, 0, 100.0], ["2025", 5, 1, 1, 1, 1, 1, 60.0]]
    assert board.tables["verwijzingsuitkomsten"].rows[0] == ["Werk", 1]


def test_another_regions_coordinator_sees_nothing_of_it(region_data):
    board = board_of(region_data, "far_coordinator")
    assert board.region.name == "Elders" and board.overdue == 1
    assert [row[0] for row in board.tables["status"].rows] == ["Gemeente Elders", "Totaal"]
    assert board.tables["uitkomsten"].rows == [["2025", 1, 1, 0, 0, 0, 0, 100.0]]
    with pytest.raises(NotFound):
        board_of(region_data, "far_coordinator", region=region_data["region"].id)
    assert board_of(region_data, "admin", region=region_data["far"].id).region.name == "Elders"


def test_the_overdue_list(region_data):
    coordinator = principal_for(region_data["coordinator"])
    page = overdue_referrals(db.session, coordinator, region_id=None, page=1, today=TODAY)
    (row,) = page.items
    assert (page.total, row.to_organisation, row.service, row.from_organisation) == (
        1, "Gemeente Teststad", "Jobcoaching jongeren", "ROC Testrand")
    assert row.working_days_overdue == 20 and row.response_due == dt.date(2027, 1, 4)
    assert not {"student", "student_id", "name"} & set(vars(row))
    with pytest.raises(NotFound):
        overdue_referrals(db.session, principal_for(region_data["far_coordinator"]),
                          region_id=region_data["region"].id, page=1, today=TODAY)


def test_the_pages_show_no_student_data(client, region_data, on_today):
    login(client, region_data["coordinator"])
    pages = [client.get(url) for url in ("/regio/", "/regio/achterstallig")]
    pages += [client.get(f"/regio/export.csv?tabel={key}")
              for key in ("status", "acceptatie", "uitkomsten", "verwijzingsuitkomsten")]
    assert [p.status_code for p in pages] == [200] * 6
    html = pages[0].get_data(as_text=True)
    assert "Gemeente Teststad" in html and "Gemeente Elders" not in html
    assert html.count('role="img"') == 4 and 'aria-labelledby="c-status-title"' in html
    assert '<title id="c-status-title">' in html
    assert "Gemeente Teststad" in pages[1].get_data(as_text=True)
    for page in pages:
        text = page.get_data(as_text=True)
        assert not [name for name in NAMES if name in text], page.request.path
        assert str(region_data["student"].id) not in text


def test_csv_for_dutch_excel(client, region_data, on_today):
    werkgever = OrganisationFactory(region=region_data["region"], type=OrganisationType.werkgever,
                                    name="=HYPERLINK(1) BV")
    region_data["werkgever"], region_data["werkgever_service"] = werkgever, add_service(werkgever, "Leerbaan")
    make_referral(region_data, status=S.requested, to="werkgever", service="werkgever_service",
                  response_due=dt.date(2027, 3, 1))
    login(client, region_data["coordinator"])
    response = client.get("/regio/export.csv?tabel=status")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())
    lines = raw.decode("utf-8-sig").split("\r\n")
    assert lines[0].startswith("Organisatie;Aangevraagd;Geaccepteerd;")
    assert "'=HYPERLINK(1) BV;1;0;0;0;0;0;0;0;0;1" in lines
    accept = client.get("/regio/export.csv?tabel=acceptatie").get_data().decode("utf-8-sig")
    assert "Regio;4;2,5;77,0" in accept
    assert client.get("/regio/export.csv?tabel=leerlingen").status_code == 404


def test_walls_on_the_pages(client, region_data, on_today):
    region_id = region_data["region"].id
    login(client, region_data["jobcoach"])
    assert client.get("/regio/").status_code == 403
    assert client.get("/regio/achterstallig").status_code == 403
    login(client, region_data["far_coordinator"])
    assert "Gemeente Teststad" not in client.get("/regio/").get_data(as_text=True)
    for url in (f"/regio/?regio={region_id}", f"/regio/achterstallig?regio={region_id}",
                f"/regio/export.csv?tabel=status&regio={region_id}"):
        assert client.get(url).status_code == 404
    login(client, region_data["admin"])
    html = client.get(f"/regio/?regio={region_data['far'].id}").get_data(as_text=True)
    assert "Gemeente Elders" in html and "Gemeente Teststad" not in html and '<select id="f-regio"' in html


def test_a_constant_number_of_statements(region_data):
    def count() -> int:
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        db.session.expire_all()
        coordinator = principal_for(region_data["coordinator"])
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            region_dashboard(db.session, coordinator, region_id=None, today=TODAY, now=NOW)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    before = count()
    for n in range(5):
        organisation = OrganisationFactory(region=region_data["region"], name=f"Zorg {n}", type=OrganisationType.zorg)
        region_data[f"zorg{n}"] = organisation
        region_data[f"zorg{n}_service"] = add_service(organisation, "Begeleiding")
        make_referral(region_data, status=S.accepted, to=f"zorg{n}", service=f"zorg{n}_service", answered_at=at(30))
        route(region_data, dt.date(2023, 7, 1), Situation.werkend)
    # one statement per table: the instruments (item 4) and the warm hand-over at exit (item 3) added two
    assert count() == before <= 8
