"""Stale entries surface by themselves: the daily job asks "klopt dit nog?" once, the signed
link confirms in one click (and expires), and the coordinator's dashboard lists them."""

from __future__ import annotations

import datetime as dt
import re

import time_machine

from network.db import db
from network.models import OrganisationType, OutboxMessage, Role
from network.scheduler import JOBS
from socialmap.jobs import FRESHNESS_JOB
from socialmap.models import Service
from tests.conftest import csrf_from
from tests.factories import OrganisationFactory, login, make_member

DAY = dt.timedelta(days=1)


def _run(app, when):
    """The job as the scheduler runs it, on a given day (the link's signature is dated then)."""
    with time_machine.travel(when, tick=False), app.app_context():
        return FRESHNESS_JOB.run(app)


def _mails(app):
    keyring = app.extensions["schakel.keyring"]
    return [(m.recipient, m.subject, keyring.decrypt(m.body_encrypted, m.body_ref()))
            for m in db.session.query(OutboxMessage).order_by(OutboxMessage.created_at)]


def test_job_is_registered(app):
    assert "socialmap.freshness" in [job.id for job in JOBS]


def test_stale_entries_get_one_mail_with_a_working_link(app, client, region_map):
    start = region_map["services"]["jobcoach"].verified_at
    assert _run(app, start + 10 * DAY) == "asked 0"
    later = start + 181 * DAY
    # only the jobcoach has an e-mail address to ask; the others are marked as due all the same
    assert _run(app, later) == "asked 1"
    assert db.session.query(Service).filter(Service.verify_requested_at.is_(None)).count() == 0
    assert _run(app, later + DAY) == "asked 0"  # asked once, not every day
    mails = _mails(app)
    to_jobcoach = [m for m in mails if m[0] == "l.verhoeven@waalstede.example"]
    assert len(to_jobcoach) == 1
    _recipient, subject, body = to_jobcoach[0]
    assert subject.startswith("Klopt dit nog?") and "Jobcoach team jongeren" in subject
    link = re.search(r"http\S+/sociale-kaart/bevestig/(\S+)", body).group(0)
    path = link.split("127.0.0.1:5000")[-1]
    with time_machine.travel(later + DAY, tick=False):
        page = client.get(path)
        assert page.status_code == 200 and "Ja, dit klopt nog" in page.get_data(as_text=True)
        response = client.post(path, data={"csrf_token": csrf_from(page.get_data(as_text=True))})
        assert response.status_code == 200 and "Dank u wel" in response.get_data(as_text=True)
        db.session.expire_all()
        service = db.session.get(Service, region_map["services"]["jobcoach"].id)
        assert service.verify_requested_at is None
        assert service.assurer_email == "l.verhoeven@waalstede.example"
        # the same link cannot confirm twice
        assert "al gebruikt" in client.get(path).get_data(as_text=True)
    # not stale any more: the job leaves it alone (the others have no address to ask)
    assert _run(app, later + 40 * DAY) == "asked 0"


def test_links_expire(app, client, region_map):
    start = region_map["services"]["jobcoach"].verified_at
    later = start + 181 * DAY
    _run(app, later)
    body = _mails(app)[0][2]
    path = re.search(r"/sociale-kaart/bevestig/\S+", body).group(0)
    with time_machine.travel(later + 31 * DAY, tick=False):
        assert client.get(path).status_code == 410
    assert client.get(path[:-3] + "abc").status_code == 404


def test_verify_days_is_configurable(app, region_map, monkeypatch):
    monkeypatch.setitem(app.config, "SOCIALMAP_VERIFY_DAYS", 30)
    start = region_map["services"]["schuld"].verified_at
    assert _run(app, start + 31 * DAY) == "asked 1"


def test_dashboard_lists_stale_entries_of_the_region(client, region_map):
    hub = OrganisationFactory(region=region_map["region"], type=OrganisationType.hub)
    login(client, make_member(Role.coordinator, hub))
    assert "Alle diensten zijn actueel." in client.get("/sociale-kaart/actualiteit").get_data(as_text=True)
    service = db.session.get(Service, region_map["services"]["schuld"].id)
    service.verified_at -= 200 * DAY  # an entry nobody looked at for 200 days
    db.session.commit()
    text = client.get("/sociale-kaart/actualiteit").get_data(as_text=True)
    assert "Schuldhulpverlening jongeren" in text and "niet actueel" in text
    detail = client.get(f"/sociale-kaart/diensten/{service.uuid}").get_data(as_text=True)
    assert "niet gecontroleerd" in detail


def test_a_check_just_before_midnight_utc_counts_for_the_dutch_day(session, region_map, system):
    """"Klopt dit nog?": yes, at 00:30 on New Year's Day in Nijmegen is 23:30 UTC the day before:
    the entry is checked on 1 January (assured_date)."""
    from socialmap.entries import verify_service

    service = region_map["services"]["jobcoach"]
    verify_service(session, system, service, now=dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC))
    assert service.assured_date == dt.date(2027, 1, 1)
