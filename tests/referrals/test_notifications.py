"""Notifications (issue 5 item 8): e-mail at once or in a daily digest, the own list with
unread marked, mark one or all read (only the own), open one, settings; CSRF on every form."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from network.db import db
from network.models import OutboxMessage
from network.notifications import (
    Notification,
    NotificationMode,
    get_mode,
    mark_read,
    notify,
    send_digests,
    set_mode,
)
from network.scheduler import job_by_id, run_job_once
from referrals.tags import ReferralNotice
from tests.conftest import csrf_from, post_form
from tests.factories import AccountFactory, login

NOW = dt.datetime(2027, 1, 5, 9, tzinfo=dt.UTC)


def mails(session, to: str | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.next_attempt_at)
    return list(session.scalars(query.where(OutboxMessage.recipient == to) if to else query))


def body(keyring, message: OutboxMessage) -> str:
    return keyring.decrypt(message.body_encrypted, message.body_ref())


def test_immediate_is_mailed_at_once(session, keyring):
    account = AccountFactory()
    notify(session, keyring, [account.id], kind=ReferralNotice.requested, title="Nieuwe verwijzing 12",
           link="/verwijzingen/12", base_url="https://schakel.example", now=NOW)
    session.commit()
    (mail,) = mails(session, account.email)
    assert mail.subject == "Schakel: Nieuwe verwijzing 12"
    assert "https://schakel.example/verwijzingen/12" in body(keyring, mail)
    assert send_digests(session, keyring, now=NOW) == 0  # already e-mailed


def test_digest_waits_for_the_daily_mail_with_everything_then_nothing(session, keyring):
    digest, other = AccountFactory(), AccountFactory()
    set_mode(session, digest.id, NotificationMode.digest)
    for n in range(3):
        notify(session, keyring, [digest.id], kind=ReferralNotice.reminder, title=f"Herinnering {n}",
               link=f"/verwijzingen/{n}", now=NOW)
    session.commit()
    assert mails(session) == []
    assert send_digests(session, keyring, base_url="https://schakel.example", now=NOW + dt.timedelta(hours=20)) == 1
    session.commit()
    (mail,) = mails(session, digest.email)
    assert mail.subject == "Schakel: 3 nieuwe meldingen"
    text = body(keyring, mail)
    assert all(f"Herinnering {n}" in text and f"https://schakel.example/verwijzingen/{n}" in text for n in range(3))
    assert send_digests(session, keyring, now=NOW + dt.timedelta(hours=21)) == 0
    assert mails(session, other.email) == []


def test_the_digest_job_runs_once_per_day(app, session, keyring):
    account = AccountFactory()
    set_mode(session, account.id, "digest")
    notify(session, keyring, [account.id], kind=ReferralNotice.update, title="Iets te doen")
    session.commit()
    job = job_by_id("notifications.digest")
    assert job.interval_seconds(app) == 24 * 3600
    moment = dt.datetime.now(dt.UTC)
    assert run_job_once(app, job, moment) is True
    assert run_job_once(app, job, moment + dt.timedelta(seconds=1)) is False
    db.session.expire_all()
    assert len(mails(db.session, account.email)) == 1


def test_mark_read_touches_only_the_own(session, keyring):
    me, someone = AccountFactory(), AccountFactory()
    (mine,) = notify(session, keyring, [me.id], kind=ReferralNotice.update, title="Voor mij", now=NOW)
    (theirs,) = notify(session, keyring, [someone.id], kind=ReferralNotice.update, title="Voor een ander", now=NOW)
    session.commit()
    assert mark_read(session, me.id, [theirs.id, mine.id], now=NOW) == 1
    session.commit()
    session.refresh(mine), session.refresh(theirs)
    assert mine.read_at is not None and theirs.read_at is None


def seed(session, keyring, account, titles):
    made = [notify(session, keyring, [account.id], kind=ReferralNotice.update, title=t, link="/verwijzingen/7",
                   now=NOW + dt.timedelta(minutes=i))[0] for i, t in enumerate(titles)]
    session.commit()
    return made


def test_the_list_newest_first_with_the_unread_count_in_the_menu(client, session, keyring):
    me = AccountFactory()
    older, newer = seed(session, keyring, me, ["Eerste melding", "Tweede melding"])
    mark_read(session, me.id, [older.id], now=NOW)
    session.commit()
    login(client, me)
    html = client.get("/meldingen/").get_data(as_text=True)
    assert html.index("Tweede melding") < html.index("Eerste melding")
    assert 'class="unread"' in html and "U heeft 1 ongelezen melding." in html
    assert 'class="count-badge">1<' in html
    assert 'class="count-badge">1<' in client.get("/dashboard").get_data(as_text=True)
    assert 'href="/meldingen/#instellingen"' in client.get("/account").get_data(as_text=True)


def test_forms_need_the_csrf_token(client, session, keyring):
    me = AccountFactory()
    (item,) = seed(session, keyring, me, ["Iets"])
    login(client, me)
    for url, data in (("/meldingen/gelezen", {"id": item.id}), ("/meldingen/alles-gelezen", {}),
                      ("/meldingen/openen", {"id": item.id}), ("/meldingen/instellingen", {"mode": "digest"})):
        assert client.post(url, data=data).status_code == 400
    db.session.expire_all()
    assert db.session.get(Notification, item.id).read_at is None and get_mode(db.session, me.id) == "immediate"


def test_mark_one_and_all_read_in_the_browser(client, session, keyring):
    me, someone = AccountFactory(), AccountFactory()
    first, second, third = seed(session, keyring, me, ["Een", "Twee", "Drie"])
    (theirs,) = seed(session, keyring, someone, ["Niet van mij"])
    login(client, me)
    assert post_form(client, "/meldingen/", {"id": first.id}, post_url="/meldingen/gelezen").status_code == 302
    assert post_form(client, "/meldingen/", {"id": theirs.id}, post_url="/meldingen/gelezen").status_code == 302
    db.session.expire_all()
    assert db.session.get(Notification, first.id).read_at is not None
    assert db.session.get(Notification, theirs.id).read_at is None
    response = post_form(client, "/meldingen/", {}, post_url="/meldingen/alles-gelezen", follow_redirects=True)
    assert "Alle meldingen zijn als gelezen gemarkeerd." in response.get_data(as_text=True)
    db.session.expire_all()
    assert all(db.session.get(Notification, n.id).read_at for n in (second, third))
    assert db.session.get(Notification, theirs.id).read_at is None


def test_open_marks_read_and_goes_to_the_target_but_not_for_someone_elses(client, session, keyring):
    me, someone = AccountFactory(), AccountFactory()
    (mine,) = seed(session, keyring, me, ["Open mij"])
    (theirs,) = seed(session, keyring, someone, ["Van een ander"])
    login(client, me)
    response = post_form(client, "/meldingen/", {"id": mine.id}, post_url="/meldingen/openen")
    assert response.status_code == 303 and response.headers["Location"] == "/verwijzingen/7"
    assert post_form(client, "/meldingen/", {"id": theirs.id}, post_url="/meldingen/openen").status_code == 404
    assert post_form(client, "/meldingen/", {"id": "abc"}, post_url="/meldingen/openen").status_code == 400
    db.session.expire_all()
    assert db.session.get(Notification, mine.id).read_at is not None
    assert db.session.get(Notification, theirs.id).read_at is None


@pytest.mark.parametrize("link", ["//evil.example/x", "/\t/evil.example", "/%2F/evil.example", "/\\evil.example",
                                  "https://evil.example/"])
def test_open_goes_only_to_a_page_of_the_hub(client, session, keyring, link):
    """A notification's link goes through the same check as a ``next``: one that a browser could
    read as another host opens the list instead."""
    me = AccountFactory()
    item = notify(session, keyring, [me.id], kind=ReferralNotice.update, title="Vreemde link", link=link, now=NOW)[0]
    session.commit()
    login(client, me)
    response = post_form(client, "/meldingen/", {"id": item.id}, post_url="/meldingen/openen")
    assert response.status_code == 302 and response.headers["Location"] == "/meldingen/"


def test_settings_choose_the_digest_and_refuse_nonsense(client, session):
    me = AccountFactory()
    login(client, me)
    page = client.get("/meldingen/")
    assert page.status_code == 200 and 'value="immediate" checked' in page.get_data(as_text=True)
    response = post_form(client, "/meldingen/", {"mode": "digest"}, post_url="/meldingen/instellingen",
                         follow_redirects=True)
    assert "één keer per dag" in response.get_data(as_text=True)
    assert get_mode(db.session, me.id) is NotificationMode.digest
    token = csrf_from(client.get("/meldingen/").get_data(as_text=True))
    bad = client.post("/meldingen/instellingen", data={"mode": "elk-uur", "csrf_token": token})
    assert bad.status_code == 400 and "Kies hoe u meldingen wilt ontvangen." in bad.get_data(as_text=True)
    db.session.expire_all()
    assert get_mode(db.session, me.id) is NotificationMode.digest


def test_anonymous_visitors_go_to_the_login_page(client):
    response = client.get("/meldingen/")
    assert response.status_code == 302 and "/inloggen" in response.headers["Location"]
