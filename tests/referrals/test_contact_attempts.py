"""Contact attempts on a follow-up check-in (issue 20, item 5): "niet bereikt" with the day and
how; the check-in stays open until the third attempt, which records it and alerts the region's
RMC once, as "onbekend" does. Bad input gets Dutch field errors and writes nothing; the
situation's new value is allowed by the database on SQLite and PostgreSQL after the migration."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select, text

from network import clock
from network.audit import AuditEvent
from network.clock import AMSTERDAM
from network.db import db
from network.errors import Conflict, ValidationFailed
from network.notifications import Notification
from referrals.checkins import check_in_note, record_check_in, record_exit
from referrals.followup_models import ContactAttempt, ContactMethod
from referrals.models import CheckIn, Situation
from referrals.route_service import add_months, open_route
from tests.conftest import post_form
from tests.factories import bearer, get_token, login, make_api_client
from tests.referrals._world import route_actors, route_world  # noqa: F401  (fixtures)


@pytest.fixture
def exited(session, route_world, route_actors):
    """An entree leaver (two years of follow-up) who left four months ago."""
    route = open_route(session, route_actors["mentor"], route_world["entree"], {})
    exit_date = add_months(clock.today(), -4)
    route.start_date = add_months(exit_date, -12)
    record_exit(session, route_actors["mentor"], route, exit_date)
    session.commit()
    return route


def _attempt(day: dt.date, method: str = "telefoon", **extra) -> dict:
    return {"situation": "niet_bereikt", "attempt_date": day, "attempt_method": method, **extra}


def _alerts(session) -> list[int]:
    return list(session.scalars(select(Notification.account_id).where(Notification.kind == "checkin:rmc-alert")))


def test_three_attempts_alert_the_rmc_once(session, route_world, route_actors, keyring, exited):
    check_in, mentor, today = exited.check_ins[0], route_actors["mentor"], clock.today()
    assert record_check_in(session, mentor, keyring, check_in, _attempt(today - dt.timedelta(days=9))) == []
    assert record_check_in(session, mentor, keyring, check_in,
                           _attempt(today - dt.timedelta(days=5), "email", note="Mail onbeantwoord")) == []
    session.commit()
    assert check_in.recorded_at is None and check_in.situation is None and _alerts(session) == []
    alerted = record_check_in(session, mentor, keyring, check_in, _attempt(today, "huisbezoek"))
    session.commit()
    assert alerted == [route_world["rmc"].id]
    assert check_in.situation is Situation.niet_bereikt and check_in.recorded_at and check_in.rmc_alerted_at
    assert [(a.method, a.recorded_by_name) for a in check_in.attempts] == [
        (ContactMethod.telefoon, mentor.name), (ContactMethod.email, mentor.name),
        (ContactMethod.huisbezoek, mentor.name)]
    assert check_in_note(keyring, check_in) == "Mail onbeantwoord"
    assert _alerts(session) == [route_world["rmc_staff"].id]
    title = session.scalar(select(Notification.title).where(Notification.kind == "checkin:rmc-alert"))
    assert "na 3 pogingen niet bereikt" in title and route_world["entree"].last_name not in title
    # a fourth: the check-in is recorded, nothing more (no second alert, no fourth attempt)
    with pytest.raises(Conflict):
        record_check_in(session, mentor, keyring, check_in, _attempt(today))
    session.rollback()
    assert len(_alerts(session)) == 1
    assert session.scalar(select(func.count(ContactAttempt.id))) == 3
    events = list(session.scalars(select(AuditEvent.event_type).where(
        AuditEvent.object_type == "check_in", AuditEvent.object_id == str(check_in.id)).order_by(AuditEvent.id)))
    assert events == ["checkin:attempt"] * 3 + ["checkin:record", "checkin:rmc-alert"]


def test_reached_after_two_attempts_records_without_an_alert(session, route_actors, keyring, exited):
    check_in, mentor, today = exited.check_ins[0], route_actors["mentor"], clock.today()
    record_check_in(session, mentor, keyring, check_in, _attempt(today - dt.timedelta(days=3), "brief"))
    record_check_in(session, mentor, keyring, check_in, _attempt(today))
    assert record_check_in(session, mentor, keyring, check_in, {"situation": "werkend"}) == []
    session.commit()
    assert check_in.situation is Situation.werkend and len(check_in.attempts) == 2 and not _alerts(session)


@pytest.mark.parametrize(("data", "field", "words"), [
    ({"attempt_method": "telefoon"}, "attempt_date", "Vul de datum"),
    ({"attempt_date": "future", "attempt_method": "telefoon"}, "attempt_date", "in de toekomst"),
    ({"attempt_date": "before_exit", "attempt_method": "telefoon"}, "attempt_date", "vóór de uitstroom"),
    ({"attempt_date": "today"}, "attempt_method", "Kies hoe"),
    ({"attempt_date": "today", "attempt_method": "duif"}, "attempt_method", "Kies hoe"),
])
def test_a_bad_attempt_is_refused_and_nothing_written(session, route_actors, keyring, exited, data, field, words):
    days = {"future": clock.today() + dt.timedelta(days=1), "today": clock.today(),
            "before_exit": exited.exit_date - dt.timedelta(days=1)}
    data = {k: days.get(v, v) if k == "attempt_date" else v for k, v in data.items()}
    check_in = exited.check_ins[0]
    with pytest.raises(ValidationFailed) as exc:
        record_check_in(session, route_actors["mentor"], keyring, check_in, {"situation": "niet_bereikt", **data})
    assert words in str(exc.value.errors[field][0])
    session.rollback()
    assert session.scalar(select(func.count(ContactAttempt.id))) == 0
    assert session.get(CheckIn, check_in.id).recorded_at is None


def test_outsiders_record_no_attempt(session, route_actors, keyring, exited):
    from network.errors import NotFound
    for name in ("other_mentor", "partner", "far_rmc_staff"):
        with pytest.raises(NotFound):
            record_check_in(session, route_actors[name], keyring, exited.check_ins[0], _attempt(clock.today()))
    assert session.scalar(select(func.count(ContactAttempt.id))) == 0


def test_eighteen_months_later_the_rmc_records_three_attempts_and_sees_the_alert(
        app, client, session, route_world, route_actors, keyring, exited, time_machine):
    """Time machine: 18 months after the exit the RMC tries three times on the 18-month check-in;
    the third alerts its own staff, once; the follow-up job run twice reminds once."""
    from network.scheduler import job_by_id
    from referrals.jobs import register_jobs
    register_jobs()
    job = job_by_id("referrals.followup")
    eighteen = next(c for c in exited.check_ins if c.months == 18)
    due = eighteen.due_date
    time_machine.move_to(dt.datetime.combine(due, dt.time(9), AMSTERDAM), tick=False)
    job.run(app)
    assert job.run(app) == "reminded 0, closed 0"
    rmc = route_actors["rmc_staff"]
    for days_ago, method in ((6, "telefoon"), (3, "email"), (0, "brief")):
        record_check_in(db.session, rmc, keyring, db.session.get(CheckIn, eighteen.id),
                        _attempt(due - dt.timedelta(days=days_ago), method))
        db.session.commit()
    db.session.expire_all()
    found = db.session.get(CheckIn, eighteen.id)
    assert found.situation is Situation.niet_bereikt and found.rmc_alerted_at is not None
    assert _alerts(db.session) == [route_world["rmc_staff"].id]
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "checkin:attempt")
                              .order_by(AuditEvent.id.desc()).limit(1))
    assert audit.purpose == "rmc-nazorg" and audit.basis == "legal_task:rmc-nazorg"
    # the RMC opens the alert's link: the finding and the three attempts
    login(client, route_world["rmc_staff"])
    link = db.session.scalar(select(Notification.link).where(Notification.kind == "checkin:rmc-alert"))
    page = client.get(link).get_data(as_text=True)
    assert "Niet bereikt" in page and "per telefoon" in page and "per e-mail" in page and "per brief" in page


# -- the page ------------------------------------------------------------------------------------

def test_the_check_in_page_records_attempts(client, session, route_world, exited):
    check_in = exited.check_ins[0]
    url = f"/trajecten/nazorg/{check_in.id}"
    login(client, route_world["mentor"])
    page = client.get(url).get_data(as_text=True)
    assert "Niet bereikt" in page and "Huisbezoek" in page and "niet_bereikt" not in page.replace(
        'value="niet_bereikt"', "").replace("f-situation-niet_bereikt", "")
    bad = post_form(client, url, {"situation": "niet_bereikt", "attempt_method": "telefoon", "note": "Geen gehoor"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "Vul de datum van de contactpoging in." in html and "Geen gehoor" in html
    today = clock.today().isoformat()
    saved = post_form(client, url, {"situation": "niet_bereikt", "attempt_date": today, "attempt_method": "telefoon"})
    assert saved.status_code == 302 and saved.headers["Location"].endswith(url)
    shown = client.get(url).get_data(as_text=True)
    assert "(1 van 3)" in shown and "per telefoon" in shown and clock.today().strftime("%d-%m-%Y") in shown
    assert session.scalar(select(func.count(ContactAttempt.id))) == 1


# -- the migration -------------------------------------------------------------------------------

def test_the_migration_allows_niet_bereikt_and_nothing_else_new(app_ctx):
    """The situation's CHECK constraint is replaced (not added beside the old one), on the
    dialect the tests run on; down to the previous revision and up again."""
    downgrade(revision="b3f7e0a2c9d4")
    upgrade()
    engine = db.engine
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'referral_check_in'")).scalar()
            checks = [part for part in sql.split("CONSTRAINT") if "CHECK" in part]
        else:
            checks = list(conn.execute(text(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'referral_check_in'::regclass AND contype = 'c'")).scalars())
    assert len(checks) == 1 and "niet_bereikt" in checks[0] and "uitgevallen" in checks[0]


# -- the API -------------------------------------------------------------------------------------

def test_the_api_records_attempts_and_the_third_alerts(app, client, session, route_world, exited, monkeypatch):
    monkeypatch.setitem(app.config, "TOKEN_RATE_LIMIT", "10000 per minute")
    api_client, secret = make_api_client(route_world["school"], ["referrals:read", "referrals:write"],
                                         name="Leerlingvolgsysteem")
    session.commit()
    headers = {**bearer(get_token(client, api_client, secret)), "Content-Type": "application/json"}
    url = f"/api/v1/routes/{exited.id}/check-ins"
    today = clock.today().isoformat()

    def post(body):
        return client.post(url, data=json.dumps(body), headers=headers)

    bad = post({"months": 3, "situation": "niet_bereikt", "attempt_method": "telefoon"})
    assert bad.status_code == 400 and bad.mimetype == "application/problem+json"
    assert "attempt_date" in {e["field"] for e in bad.get_json()["errors"]}
    for method in ("telefoon", "email"):
        response = post({"months": 3, "situation": "niet_bereikt", "attempt_date": today, "attempt_method": method})
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["recorded_at"] is None
    response = post({"months": 3, "situation": "niet_bereikt", "attempt_date": today, "attempt_method": "huisbezoek"})
    body = response.get_json()
    assert body["situation"] == "niet_bereikt" and body["rmc_alerted_at"] is not None
    assert [a["method"] for a in body["attempts"]] == ["telefoon", "email", "huisbezoek"]
    assert _alerts(session) == [route_world["rmc_staff"].id]


def test_the_timeline_shows_each_attempt(session, route_actors, keyring, exited):
    from referrals.route_timeline import timeline
    mentor = route_actors["mentor"]
    record_check_in(session, mentor, keyring, exited.check_ins[0], _attempt(clock.today(), "huisbezoek"))
    session.commit()
    titles = [str(e.title) for e in timeline(session, mentor, keyring, exited).entries if e.kind == "checkin"]
    assert titles == ["Nazorg na 3 maanden: niet bereikt (Huisbezoek)"]
