"""The hub admin's pages for partner systems' API clients: create (the secret shown once, not
cached), rotate, revoke, last use; Dutch field errors that keep what was typed."""

from __future__ import annotations

import re

from sqlalchemy import select

from network.models import OrganisationType, Role
from network.oauth import ApiClient
from tests.conftest import post_form
from tests.factories import OrganisationFactory, RegionFactory, bearer, get_token, login, make_member

_SECRET = re.compile(r"<dt>Geheim</dt><dd><code>([^<]+)</code>")


def _world(session):
    region = RegionFactory()
    gemeente = OrganisationFactory(region=region, type=OrganisationType.gemeente, name="Gemeente Teststad")
    hub = OrganisationFactory(region=region, type=OrganisationType.hub)
    admin = make_member(Role.hub_admin, hub)
    coordinator = make_member(Role.coordinator, hub)
    session.commit()
    return gemeente, admin, coordinator


def test_admin_creates_a_client_and_sees_the_secret_once(client, session):
    gemeente, admin, _ = _world(session)
    login(client, admin)
    page = f"/beheer/organisaties/{gemeente.id}/api-clients"
    assert "nog geen API-client" in client.get(page).get_data(as_text=True)
    response = post_form(client, page, {"name": "Zaaksysteem", "scopes": ["referrals:read", "referrals:write"]})
    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    secret = _SECRET.search(response.get_data(as_text=True)).group(1)
    api_client = session.scalars(select(ApiClient)).one()
    assert api_client.scopes == ["referrals:read", "referrals:write"] and secret not in api_client.secret_hash
    token = get_token(client, api_client, secret)
    assert client.get("/api/v1/referrals", headers=bearer(token)).status_code == 200
    listing = client.get(page).get_data(as_text=True)
    assert api_client.client_id in listing and secret not in listing


def test_rotate_gives_a_new_secret_and_revoke_stops_the_client(client, session):
    gemeente, admin, _ = _world(session)
    login(client, admin)
    page = f"/beheer/organisaties/{gemeente.id}/api-clients"
    first = _SECRET.search(post_form(client, page, {"name": "Suite", "scopes": ["referrals:read"]})
                           .get_data(as_text=True)).group(1)
    api_client = session.scalars(select(ApiClient)).one()
    rotated = post_form(client, page, {}, post_url=f"{page}/{api_client.id}/nieuw-geheim")
    assert rotated.status_code == 200 and rotated.headers["Cache-Control"] == "no-store"
    second = _SECRET.search(rotated.get_data(as_text=True)).group(1)
    assert second != first
    old = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": api_client.client_id,
                                            "client_secret": first})
    assert old.status_code == 401
    token = get_token(client, api_client, second)
    revoked = post_form(client, page, {}, post_url=f"{page}/{api_client.id}/intrekken", follow_redirects=True)
    assert "is ingetrokken" in revoked.get_data(as_text=True)
    assert client.get("/api/v1/referrals", headers=bearer(token)).status_code == 401


def test_invalid_form_keeps_what_was_typed(client, session):
    gemeente, admin, _ = _world(session)
    login(client, admin)
    page = f"/beheer/organisaties/{gemeente.id}/api-clients"
    response = post_form(client, page, {"name": "Mijn systeem", "scopes": []})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Kies een of meer bekende scopes." in html and 'value="Mijn systeem"' in html
    response = post_form(client, page, {"name": "", "scopes": ["referrals:read"]})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Geef de client een naam" in html
    assert re.search(r'value="referrals:read"\s+checked', html)
    assert session.scalars(select(ApiClient)).all() == []


def test_only_the_hub_admin_manages_clients(client, session):
    gemeente, _, coordinator = _world(session)
    login(client, coordinator)
    assert client.get(f"/beheer/organisaties/{gemeente.id}/api-clients").status_code == 403
