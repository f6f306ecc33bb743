"""Server-side sessions as seen from the browser: a new id at login, logout, password change,
password reset and deactivation end them on the server; cookie flags."""

from __future__ import annotations

from sqlalchemy import func, select

from network import identity
from network.db import db
from network.models import Account, WebSession
from network.permissions import system_principal
from tests.conftest import extra_app, test_config
from tests.factories import PASSWORD
from tests.network.test_auth_views import NEW_PASSWORD, load, logout, new_account, page_post, web_login

COOKIE = "schakel"


def sid(client, name=COOKIE, domain="localhost") -> str | None:
    cookie = client.get_cookie(name, domain=domain)
    return cookie.value if cookie else None


def session_rows(app, account_id=None) -> int:
    query = select(func.count()).select_from(WebSession)
    if account_id is not None:
        query = query.where(WebSession.account_id == account_id)
    return load(app, lambda: db.session.scalar(query))


def with_cookie(app, value):
    """A second browser that presents a copied session cookie."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, value, domain="localhost")
    return thief


def test_login_gives_a_new_session_id(client, app):
    account = new_account(app)
    client.get("/inloggen")
    before = sid(client)
    assert before
    web_login(client, account.email)
    after = sid(client)
    assert after and after != before
    assert with_cookie(app, before).get("/account").status_code == 302  # the pre-login id is dead
    assert with_cookie(app, after).get("/account").status_code == 200
    assert session_rows(app, account.id) == 1


def test_logout_deletes_the_server_side_row(client, app):
    account = new_account(app)
    web_login(client, account.email)
    stolen = sid(client)
    assert session_rows(app, account.id) == 1
    response = logout(client)
    assert session_rows(app, account.id) == 0
    assert any(h.startswith(f"{COOKIE}=;") for h in response.headers.getlist("Set-Cookie"))
    assert with_cookie(app, stolen).get("/account").status_code == 302


def test_password_change_ends_other_sessions_and_keeps_this_browser(client, app):
    account = new_account(app)
    laptop, phone = client, app.test_client()
    web_login(laptop, account.email)
    web_login(phone, account.email)
    old_laptop = sid(laptop)
    assert session_rows(app, account.id) == 2
    response = page_post(laptop, "/account", "/account/wachtwoord", {
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_repeat": NEW_PASSWORD})
    assert response.status_code == 302
    assert phone.get("/account").status_code == 302
    assert laptop.get("/account").status_code == 200
    assert sid(laptop) != old_laptop
    assert with_cookie(app, old_laptop).get("/account").status_code == 302
    assert session_rows(app, account.id) == 1


def test_deactivation_ends_sessions(client, app):
    account = new_account(app)
    web_login(client, account.email)
    assert client.get("/account").status_code == 200

    def deactivate():
        identity.deactivate_account(db.session, system_principal(), db.session.get(Account, account.id))
        db.session.commit()

    load(app, deactivate)
    assert session_rows(app, account.id) == 0
    assert client.get("/account").status_code == 302
    assert web_login(client, account.email).status_code == 400  # and it cannot log in again


def test_session_cookie_flags_in_development(client):
    response = client.get("/inloggen")
    [cookie] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{COOKIE}=")]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie


def test_session_cookie_flags_in_production(app, tmp_path):
    config = test_config(tmp_path, SCHAKEL_ENV="production", BASE_URL="https://hub.example", MAIL_BACKEND="smtp",
                         TESTING=False, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    with extra_app(config) as production:
        assert production.config["SCHAKEL_ENV"] == "production"
        client = production.test_client()
        response = client.get("/inloggen", base_url="https://hub.example")
        assert response.status_code == 200
        [cookie] = [h for h in response.headers.getlist("Set-Cookie") if "schakel=" in h]
        assert cookie.startswith("__Host-schakel=")
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
        assert "Domain=" not in cookie  # __Host- cookies may not name a domain
        assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
        insecure = client.get("/inloggen", base_url="http://hub.example")
        assert insecure.status_code in (301, 302) and insecure.location.startswith("https://")
    assert app.test_client().get("/healthz").status_code == 200  # the shared app is unchanged
