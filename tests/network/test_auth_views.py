"""The login pages: password, lockout, rate limit, CSRF, the TOTP second factor, the account
page and the password reset by e-mail (through the outbox).

Requests here run without the test holding an app context open: Flask would reuse that
context for every request, and with it ``g`` (Flask-Login's cached user, Flask-WTF's token), so
logging out or in as someone else would not show. Data is made and read in short contexts
(:func:`new_account`, :func:`events`, :func:`load`).
"""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re
from types import SimpleNamespace

import pyotp
import pytest
from sqlalchemy import func, select

from network.audit import AuditEvent, AuditOutcome
from network.db import db
from network.models import Account, OrganisationType, OutboxMessage, Role
from network.outbox import RecordingBackend
from tests.conftest import csrf_from, extra_app, test_config
from tests.factories import PASSWORD, AccountFactory, OrganisationFactory, make_member

NEW_PASSWORD = "zeven-groene-kikkers-op-een-tak"
T0 = dt.datetime(2026, 11, 23, 9, 0, 5, tzinfo=dt.UTC)
GENERIC = "E-mailadres of wachtwoord klopt niet."


# -- helpers (test_sessions.py uses them too) ---------------------------------------------

def web_login(client, email, password=PASSWORD, **extra):
    token = csrf_from(client.get("/inloggen").get_data(as_text=True))
    return client.post("/inloggen", data={"email": email, "password": password, "csrf_token": token, **extra})


def page_post(client, page_url, post_url, data):
    token = csrf_from(client.get(page_url).get_data(as_text=True))
    return client.post(post_url, data={**data, "csrf_token": token})


def secret_on(html: str) -> str:
    return re.search(r'class="totp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")


def other_code(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def enrol_via_web(client, account, when):
    """Log in with the password (forced enrolment) and confirm a code; returns the secret."""
    response = web_login(client, account.email)
    assert response.status_code == 302 and response.location.endswith("/account/tweestapsverificatie")
    secret = secret_on(client.get("/account/tweestapsverificatie").get_data(as_text=True))
    response = page_post(client, "/account/tweestapsverificatie", "/account/tweestapsverificatie",
                         {"code": pyotp.TOTP(secret).at(when)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return secret


def logout(client):
    token = csrf_from(client.get("/account").get_data(as_text=True))
    return client.post("/uitloggen", data={"csrf_token": token})


def new_account(app, role: Role | None = None, org_type: OrganisationType = OrganisationType.gemeente,
                **kwargs) -> SimpleNamespace:
    """An account (with one membership when ``role`` is given), made in its own app context."""
    with app.app_context():
        account = make_member(role, OrganisationFactory(type=org_type), **kwargs) if role else AccountFactory(**kwargs)
        made = SimpleNamespace(id=account.id, email=account.email)
        db.session.remove()
    return made


def load(app, fn):
    """Run ``fn()`` against the database in a short app context."""
    with app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()


def events(app, event_type):
    return load(app, lambda: [SimpleNamespace(outcome=e.outcome, account_id=e.account_id, detail=e.detail)
                              for e in db.session.execute(select(AuditEvent).where(AuditEvent.event_type == event_type)
                                                          .order_by(AuditEvent.id)).scalars()])


@pytest.fixture
def mail(app, monkeypatch):
    backend = RecordingBackend()
    monkeypatch.setitem(app.extensions, "schakel.mail_backend", backend)
    return backend


# -- password login ----------------------------------------------------------------------

def test_login_page_is_accessible(client):
    html = client.get("/inloggen").get_data(as_text=True)
    assert '<label for="f-email">' in html and 'autocomplete="username"' in html
    assert 'autocomplete="current-password"' in html and 'name="csrf_token"' in html
    assert 'href="/wachtwoord-vergeten"' in html


def test_login_success_redirects_audits_and_stamps(client, app):
    account = new_account(app, Role.partner_staff)
    response = web_login(client, account.email.upper())
    assert response.status_code == 302 and response.location == "/dashboard"
    assert client.get("/dashboard").status_code == 200
    [event] = events(app, "auth:login")
    assert event.outcome is AuditOutcome.success and event.account_id == account.id
    assert load(app, lambda: db.session.get(Account, account.id).last_login_at) is not None


@pytest.mark.parametrize("email,password", [("bekend@voorbeeld.nl", "niet-het-goede-wachtwoord"),
                                            ("onbekend@voorbeeld.nl", PASSWORD)])
def test_failed_login_answers_the_same_generic_message(client, app, email, password):
    new_account(app, email="bekend@voorbeeld.nl")
    response = web_login(client, email, password)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and GENERIC in html
    assert f'value="{email}"' in html and password not in html  # e-mail kept, password not
    assert client.get("/dashboard").status_code == 302
    [event] = events(app, "auth:login")
    assert event.outcome is AuditOutcome.failure and password not in (event.detail or "")


def test_empty_form_gets_field_errors(client):
    response = web_login(client, "", "")
    assert response.status_code == 400 and "Vul uw e-mailadres in." in response.get_data(as_text=True)


def test_lockout_after_failures_then_unlock_after_waiting(client, app, time_machine):
    time_machine.move_to(T0, tick=False)
    account = new_account(app)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert GENERIC in web_login(client, account.email, "fout-fout-fout-fout").get_data(as_text=True)
    right_but_locked = web_login(client, account.email)
    assert right_but_locked.status_code == 400 and "minuten geblokkeerd" in right_but_locked.get_data(as_text=True)
    assert "Wachtwoord vergeten" in right_but_locked.get_data(as_text=True)
    assert events(app, "auth:login")[-1].outcome is AuditOutcome.denied
    time_machine.move_to(T0 + dt.timedelta(minutes=app.config["LOGIN_LOCKOUT_MINUTES"], seconds=1), tick=False)
    assert web_login(client, account.email).status_code == 302


def _failure(response) -> tuple[int, str]:
    """The status and the visible message of a failed login."""
    html = response.get_data(as_text=True)
    match = re.search(r'<div class="error-summary" role="alert"[^>]*>(.*?)</div>', html, re.S)
    return response.status_code, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


def test_a_locked_account_answers_as_an_unknown_address(client, app, time_machine):
    """The lockout must not tell which addresses have an account: the same number of tries
    (wrong passwords, then the right one) on a real account and on an unknown address get
    the same status and message, while the real account is locked all the same."""
    time_machine.move_to(T0, tick=False)
    account = new_account(app)
    tries = app.config["LOGIN_MAX_FAILURES"] + 2
    known = [web_login(client, account.email, "fout-fout-fout-fout") for _ in range(tries)]
    known.append(web_login(client, account.email))
    unknown = [web_login(client, "niemand@voorbeeld.nl", "fout-fout-fout-fout") for _ in range(tries)]
    unknown.append(web_login(client, "niemand@voorbeeld.nl"))
    assert [_failure(r) for r in known] == [_failure(r) for r in unknown]
    assert _failure(known[-1])[0] == 400 and GENERIC in _failure(known[-1])[1]
    assert events(app, "auth:login")[tries].outcome is AuditOutcome.denied  # the right password, refused


#: ``next`` values a browser could follow to another host (or that would split the header)
HOSTILE_NEXT = [
    "//evil.example/x", "///evil.example", "/\t/evil.example", "/\n/evil.example", "\t//evil.example",
    " //evil.example", "/\r\nSet-Cookie: sessie=gestolen", "/\x7f/evil.example", "/\u2028/evil.example",
    "/\u200b/evil.example", "/\\evil.example", "\\\\evil.example", "\\/evil.example",
    "https://evil.example/", "HTTPS:evil.example", "javascript:alert(1)", "evil.example", "",
    "/%09/evil.example", "/%0d%0aSet-Cookie:%20x=1", "/%2F/evil.example", "%2F%2Fevil.example",
    "/%5Cevil.example", "/%5C%5Cevil.example", "/%252F%252Fevil.example", "/%%32%66/evil.example",
    "/%25252525252F/evil.example",
]


def _hidden_next(html: str) -> str | None:
    """The ``next`` the login form posts (the language switch of every page has one too)."""
    form = html.split('action="/inloggen"', 1)[1].split("</form>", 1)[0]
    match = re.search(r'name="next" value="([^"]*)"', form)
    return html_lib.unescape(match.group(1)) if match else None


@pytest.mark.parametrize("hostile", HOSTILE_NEXT)
def test_login_never_redirects_off_site(client, app, hostile):
    """A link ``/inloggen?next=…`` from an attacker, through the real form (GET, then POST
    what the page holds), a forged POST, and a visit while logged in: each lands on a local
    path (the dashboard), never on another host, never a 500."""
    account = new_account(app)
    page = client.get("/inloggen", query_string={"next": hostile})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    form = {"email": account.email, "password": PASSWORD, "csrf_token": csrf_from(html)}
    if _hidden_next(html) is not None:
        form["next"] = _hidden_next(html)
    assert client.post("/inloggen", data=form).headers["Location"] == "/dashboard"
    assert client.get("/inloggen", query_string={"next": hostile}).headers["Location"] == "/dashboard"
    logout(client)
    forged = web_login(client, account.email, next=hostile)
    assert forged.status_code == 302 and forged.headers["Location"] == "/dashboard"


@pytest.mark.parametrize("local", ["/account", "/sociale-kaart?q=jeugd%20zorg&pagina=2", "/meldingen/"])
def test_login_follows_a_local_next(client, app, local):
    account = new_account(app)
    html = client.get("/inloggen", query_string={"next": local}).get_data(as_text=True)
    assert _hidden_next(html) == local
    assert web_login(client, account.email, next=local).headers["Location"] == local


def test_login_is_rate_limited_with_a_dutch_page(app, tmp_path):
    config = test_config(tmp_path, LOGIN_RATE_LIMIT="3 per minute",
                         SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    with extra_app(config) as limited:
        client = limited.test_client()
        statuses = [web_login(client, "iemand@voorbeeld.nl", "fout-fout-fout-fout").status_code for _ in range(4)]
        assert statuses == [400, 400, 400, 429]
        assert "te vaak geprobeerd" in web_login(client, "iemand@voorbeeld.nl", "x").get_data(as_text=True)
        assert client.get("/inloggen").status_code == 200  # only POST counts


def test_post_without_csrf_token_is_refused(client, app):
    account = new_account(app)
    assert client.post("/inloggen", data={"email": account.email, "password": PASSWORD}).status_code == 400
    web_login(client, account.email)
    assert client.post("/uitloggen").status_code == 400
    assert client.get("/account").status_code == 200  # still logged in


def test_logout_ends_the_session(client, app):
    account = new_account(app)
    web_login(client, account.email)
    response = logout(client)
    assert response.status_code == 302 and "uitgelogd=1" in response.location
    assert "U bent uitgelogd." in client.get(response.location).get_data(as_text=True)
    assert client.get("/account").status_code == 302
    assert events(app, "auth:logout")


# -- the second factor -------------------------------------------------------------------

@pytest.mark.parametrize("role", [Role.hub_admin, Role.coordinator])
def test_roles_that_need_mfa_enrol_then_give_a_code_at_every_login(client, app, time_machine, role):
    account = new_account(app, role, OrganisationType.hub)
    time_machine.move_to(T0, tick=False)
    response = web_login(client, account.email)
    assert response.location.endswith("/account/tweestapsverificatie")
    assert client.get("/dashboard").status_code == 302  # not logged in yet
    html = client.get("/account/tweestapsverificatie").get_data(as_text=True)
    secret, token = secret_on(html), csrf_from(html)
    assert "otpauth://totp/Schakel:" in html and 'autocomplete="one-time-code"' in html and "<script" not in html
    wrong = client.post("/account/tweestapsverificatie",
                        data={"code": other_code(pyotp.TOTP(secret).at(T0)), "csrf_token": token})
    assert wrong.status_code == 400 and "klopt niet" in wrong.get_data(as_text=True)
    assert secret_on(wrong.get_data(as_text=True)) == secret  # the same key after a wrong code
    response = client.post("/account/tweestapsverificatie",
                           data={"code": pyotp.TOTP(secret).at(T0), "csrf_token": token})
    assert response.status_code == 302 and response.location == "/dashboard"
    assert client.get("/dashboard").status_code == 200
    enabled, stored = load(app, lambda: (db.session.get(Account, account.id).totp_enabled,
                                         db.session.get(Account, account.id).totp_secret_encrypted))
    assert enabled and secret not in stored

    logout(client)
    later = T0 + dt.timedelta(minutes=2)
    time_machine.move_to(later, tick=False)
    response = web_login(client, account.email)
    assert response.location.endswith("/inloggen/code")
    assert client.get("/dashboard").status_code == 302
    bad = page_post(client, "/inloggen/code", "/inloggen/code", {"code": other_code(pyotp.TOTP(secret).at(later))})
    assert bad.status_code == 400 and "klopt niet" in bad.get_data(as_text=True)
    good = page_post(client, "/inloggen/code", "/inloggen/code", {"code": pyotp.TOTP(secret).at(later)})
    assert good.status_code == 302 and good.location == "/dashboard"
    assert client.get("/dashboard").status_code == 200

    logout(client)  # the same code again, in the same 30 seconds: a replay
    web_login(client, account.email)
    replay = page_post(client, "/inloggen/code", "/inloggen/code", {"code": pyotp.TOTP(secret).at(later)})
    assert replay.status_code == 400
    assert client.get("/dashboard").status_code == 302


def test_partner_staff_is_not_forced_but_may_switch_totp_on_and_off(client, app, time_machine):
    account = new_account(app, Role.partner_staff)
    time_machine.move_to(T0, tick=False)
    assert web_login(client, account.email).location == "/dashboard"
    account_page = client.get("/account").get_data(as_text=True)
    assert "Tweestapsverificatie staat uit" in account_page
    secret = secret_on(client.get("/account/tweestapsverificatie").get_data(as_text=True))
    token = csrf_from(account_page)
    response = client.post("/account/tweestapsverificatie", data={"code": pyotp.TOTP(secret).at(T0),
                                                                  "csrf_token": token})
    assert response.location == "/account"
    logout(client)
    later = T0 + dt.timedelta(minutes=1)
    time_machine.move_to(later, tick=False)
    assert web_login(client, account.email).location.endswith("/inloggen/code")
    page_post(client, "/inloggen/code", "/inloggen/code", {"code": pyotp.TOTP(secret).at(later)})
    response = page_post(client, "/account", "/account/tweestapsverificatie/uit", {"password": PASSWORD})
    assert response.location == "/account"
    assert "Tweestapsverificatie staat uit" in client.get("/account").get_data(as_text=True)


def test_pending_second_factor_expires(client, app, time_machine):
    account = new_account(app, Role.coordinator, OrganisationType.hub)
    time_machine.move_to(T0, tick=False)
    web_login(client, account.email)
    time_machine.move_to(T0 + dt.timedelta(minutes=11), tick=False)
    response = client.get("/account/tweestapsverificatie")
    assert response.status_code == 302 and "/inloggen" in response.location


def test_a_logged_in_session_with_a_pending_marker_is_ended(client, app):
    account = new_account(app)
    web_login(client, account.email)
    with client.session_transaction() as s:
        s["mfa_pending"] = {"account_id": account.id, "at": "2026-01-01T00:00:00+00:00"}
    assert client.get("/dashboard").status_code == 302
    assert client.get("/account").status_code == 302


# -- account page: password change -------------------------------------------------------

def test_change_password_on_the_account_page(client, app):
    account = new_account(app)
    web_login(client, account.email)
    html = client.get("/account").get_data(as_text=True)
    assert 'autocomplete="new-password"' in html
    wrong = page_post(client, "/account", "/account/wachtwoord", {
        "current_password": "niet-mijn-wachtwoord", "new_password": NEW_PASSWORD, "new_password_repeat": NEW_PASSWORD})
    assert wrong.status_code == 400 and "huidige wachtwoord klopt niet" in wrong.get_data(as_text=True)
    assert NEW_PASSWORD not in wrong.get_data(as_text=True)
    common = page_post(client, "/account", "/account/wachtwoord", {
        "current_password": PASSWORD, "new_password": "wachtwoord123", "new_password_repeat": "wachtwoord123"})
    assert common.status_code == 400 and "veelgebruikte" in common.get_data(as_text=True)
    mismatch = page_post(client, "/account", "/account/wachtwoord", {
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_repeat": NEW_PASSWORD + "!"})
    assert mismatch.status_code == 400 and "niet gelijk" in mismatch.get_data(as_text=True)
    done = page_post(client, "/account", "/account/wachtwoord", {
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_repeat": NEW_PASSWORD})
    assert done.status_code == 302
    assert "Uw wachtwoord is gewijzigd" in client.get("/account").get_data(as_text=True)
    logout(client)
    assert web_login(client, account.email, PASSWORD).status_code == 400
    assert web_login(client, account.email, NEW_PASSWORD).status_code == 302


# -- password reset by e-mail ------------------------------------------------------------

def _reset_link(mail: RecordingBackend) -> str:
    [email] = mail.sent
    return re.search(r"http://127\.0\.0\.1:5000(/wachtwoord-herstellen/\S+)", email.body).group(1)


def request_reset(client, email):
    response = page_post(client, "/wachtwoord-vergeten", "/wachtwoord-vergeten", {"email": email})
    response.close()  # the after-commit delivery runs when the response is closed
    return response


def test_reset_flow_end_to_end_through_the_outbox(client, mail, app):
    account = new_account(app, email="reset@voorbeeld.nl")
    other = app.test_client()
    web_login(other, account.email)
    response = request_reset(client, "Reset@Voorbeeld.nl")
    assert response.status_code == 302 and response.location == "/wachtwoord-vergeten/verstuurd"
    assert "Als dit e-mailadres bij Schakel bekend is" in client.get(response.location).get_data(as_text=True)
    [email] = mail.sent
    assert email.to == "reset@voorbeeld.nl" and email.subject == "Nieuw wachtwoord instellen voor Schakel"
    assert "60 minuten geldig" in email.body
    link = _reset_link(mail)

    opened = client.get(link)  # the token leaves the address bar at once
    assert opened.status_code == 302 and opened.location == "/wachtwoord-herstellen"
    form = client.get(opened.location)
    assert form.status_code == 200 and form.headers["Cache-Control"] == "no-store"
    assert 'autocomplete="new-password"' in form.get_data(as_text=True)
    assert link.rsplit("/", 1)[1] not in form.get_data(as_text=True)
    token = csrf_from(form.get_data(as_text=True))
    short = client.post(opened.location, data={"new_password": "kort", "new_password_repeat": "kort",
                                               "csrf_token": token})
    assert short.status_code == 400 and "minstens" in short.get_data(as_text=True)
    done = client.post(opened.location, data={"new_password": NEW_PASSWORD, "new_password_repeat": NEW_PASSWORD,
                                              "csrf_token": token})
    assert done.status_code == 302 and done.location == "/inloggen"
    assert other.get("/account").status_code == 302  # sessions elsewhere ended
    again = client.get(link)
    assert again.status_code == 410 and "al gebruikt" in again.get_data(as_text=True)
    assert web_login(client, account.email, PASSWORD).status_code == 400
    assert web_login(client, account.email, NEW_PASSWORD).status_code == 302
    assert events(app, "auth:password_reset")


def test_reset_request_answers_the_same_for_unknown_addresses(client, mail, app):
    response = request_reset(client, "niemand@voorbeeld.nl")
    assert response.status_code == 302 and response.location == "/wachtwoord-vergeten/verstuurd"
    assert mail.sent == []
    assert load(app, lambda: db.session.scalar(select(func.count()).select_from(OutboxMessage))) == 0


def test_reset_request_needs_an_address(client):
    response = page_post(client, "/wachtwoord-vergeten", "/wachtwoord-vergeten", {"email": "geen-adres"})
    assert response.status_code == 400 and "geldig e-mailadres" in response.get_data(as_text=True)


def test_expired_and_unknown_reset_links(client, mail, app, time_machine):
    time_machine.move_to(T0, tick=False)
    account = new_account(app)
    request_reset(client, account.email)
    link = _reset_link(mail)
    time_machine.move_to(T0 + dt.timedelta(hours=app.config["PASSWORD_RESET_HOURS"], seconds=1), tick=False)
    expired = client.get(link)
    assert expired.status_code == 410 and "verlopen" in expired.get_data(as_text=True)
    unknown = client.get("/wachtwoord-herstellen/bestaat-niet")
    assert unknown.status_code == 404 and "niet geldig" in unknown.get_data(as_text=True)


def test_reset_lifts_a_lockout(client, mail, app):
    account = new_account(app)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        web_login(client, account.email, "fout-fout-fout-fout")
    request_reset(client, account.email)
    link = _reset_link(mail)
    client.get(link)
    page_post(client, "/wachtwoord-herstellen", "/wachtwoord-herstellen",
              {"new_password": NEW_PASSWORD, "new_password_repeat": NEW_PASSWORD})
    assert web_login(client, account.email, NEW_PASSWORD).status_code == 302


# -- the development mailbox -------------------------------------------------------------

def test_dev_mailbox_shows_outbox_mail_to_logged_in_users(client, app):
    account = new_account(app)
    request_reset(client, account.email)
    assert client.get("/dev/mailbox").status_code == 302  # testing: log in first
    web_login(client, account.email)
    html = client.get("/dev/mailbox").get_data(as_text=True)
    assert "Nieuw wachtwoord instellen voor Schakel" in html and "/wachtwoord-herstellen/" in html


def test_dev_mailbox_is_gone_with_another_backend(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "null")
    web_login(client, new_account(app).email)
    assert client.get("/dev/mailbox").status_code == 404
