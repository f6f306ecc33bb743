"""The beheer pages: organisations and accounts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from network.audit import AuditEvent
from network.db import db
from network.models import Account, Membership, Organisation, OrganisationType, Role, WebSession
from tests.conftest import post_form
from tests.factories import OrganisationFactory, RegionFactory, login, make_member


@pytest.fixture
def region(session):
    return RegionFactory(name="Waalrand", code="waalrand")


@pytest.fixture
def hub(region):
    return OrganisationFactory(region=region, type=OrganisationType.hub, name="Schakel Waalrand")


@pytest.fixture
def admin(client, hub):
    account = make_member(Role.hub_admin, hub, name="Beheerder")
    login(client, account)
    return account


def test_hub_admin_creates_school(client, admin, region):
    response = post_form(client, "/beheer/organisaties/nieuw",
                         {"region_id": str(region.id), "name": "ROC Nijmegen", "type": "school", "brin": "25lx",
                          "website": "https://www.roc.nl"})
    assert response.status_code == 302
    school = db.session.scalar(select(Organisation).where(Organisation.name == "ROC Nijmegen"))
    assert school.brin == "25LX" and response.headers["Location"].endswith(f"/beheer/organisaties/{school.id}")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "25LX" in html and "De organisatie is toegevoegd." in html


def test_organisation_form_errors_keep_input(client, admin, region):
    response = post_form(client, "/beheer/organisaties/nieuw",
                         {"region_id": str(region.id), "name": "Bakkerij de Korst", "type": "werkgever",
                          "kvk": "123", "website": "geen-url"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Een KvK-nummer bestaat uit 8 cijfers." in html and "https://" in html
    assert 'value="Bakkerij de Korst"' in html


def test_duplicate_name_is_field_error(client, admin, region):
    OrganisationFactory(region=region, name="Gemeente Nijmegen")
    response = post_form(client, "/beheer/organisaties/nieuw",
                         {"region_id": str(region.id), "name": "Gemeente Nijmegen", "type": "gemeente"})
    assert response.status_code == 400
    assert "al een organisatie met deze naam" in response.get_data(as_text=True)


def test_edit_organisation(client, admin, region):
    organisation = OrganisationFactory(region=region, name="UWV Nijmegen", type=OrganisationType.uwv)
    url = f"/beheer/organisaties/{organisation.id}/bewerken"
    page = client.get(url).get_data(as_text=True)
    assert 'value="UWV Nijmegen"' in page
    response = post_form(client, url, {"name": "UWV Rijk van Nijmegen", "type": "uwv", "version": "1",
                                       "is_active": "1"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Organisation, organisation.id).name == "UWV Rijk van Nijmegen"
    stale = post_form(client, url, {"name": "Weer anders", "type": "uwv", "version": "1", "is_active": "1"})
    assert stale.status_code == 409 and "intussen gewijzigd" in stale.get_data(as_text=True)


def test_create_account_with_first_membership(client, admin, region):
    school = OrganisationFactory(region=region, school=True)
    response = post_form(client, "/beheer/accounts/nieuw",
                         {"name": "Joke de Mentor", "email": "Joke@ROC.nl", "organisation_id": str(school.id),
                          "role": "mentor", "title": "SLB'er"})
    assert response.status_code == 302
    account = db.session.scalar(select(Account).where(Account.email == "joke@roc.nl"))
    assert [(m.organisation_id, m.role) for m in account.memberships] == [(school.id, Role.mentor)]
    assert account.password_hash is None


def test_create_account_role_must_fit(client, admin, region):
    gemeente = OrganisationFactory(region=region)
    response = post_form(client, "/beheer/accounts/nieuw",
                         {"name": "X", "email": "x@gemeente.nl", "organisation_id": str(gemeente.id),
                          "role": "mentor", "password": "geheim"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Deze rol past niet" in html
    assert 'value="x@gemeente.nl"' in html and "geheim" not in html
    assert db.session.scalar(select(Account).where(Account.email == "x@gemeente.nl")) is None


def test_add_membership_and_deactivate(client, admin, region, app):
    gemeente = OrganisationFactory(region=region)
    rmc = OrganisationFactory(region=region, type=OrganisationType.rmc)
    target = make_member(Role.partner_staff, gemeente)
    other_client = app.test_client()
    login(other_client, target)
    assert _fresh_get(other_client, "/dashboard").status_code == 200
    url = f"/beheer/accounts/{target.id}"
    response = post_form(client, url, {"organisation_id": str(rmc.id), "role": "coordinator"},
                         post_url=f"{url}/lidmaatschappen")
    assert response.status_code == 302
    assert db.session.scalar(select(Membership).where(Membership.account_id == target.id,
                                                      Membership.role == Role.coordinator))
    response = post_form(client, url, {}, post_url=f"{url}/deactiveren")
    assert response.status_code == 302
    db.session.expire_all()
    assert not db.session.get(Account, target.id).is_active
    assert db.session.scalar(select(WebSession).where(WebSession.account_id == target.id)) is None
    assert _fresh_get(other_client, "/dashboard").status_code == 302  # logged out everywhere
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "account:deactivate"))
    assert post_form(client, url, {}, post_url=f"{url}/activeren").status_code == 302
    db.session.expire_all()
    assert db.session.get(Account, target.id).is_active


def _fresh_get(client, url):
    """GET with a second client. The ``session`` fixture keeps one app context open, so ``g``
    (where Flask-Login caches the user and Flask-WTF the CSRF token) would otherwise carry
    over between clients."""
    from flask import g

    for key in ("_login_user", "csrf_token"):  # Flask-Login's user, Flask-WTF's token
        g.pop(key, None)
    try:
        return client.get(url)
    finally:
        for key in ("_login_user", "csrf_token"):
            g.pop(key, None)


def test_cannot_deactivate_self(client, admin):
    url = f"/beheer/accounts/{admin.id}"
    response = post_form(client, url, {}, post_url=f"{url}/deactiveren")
    assert response.status_code == 400 and "eigen account" in response.get_data(as_text=True)


def test_coordinator_sees_own_region_only(client, region, hub):
    coordinator = make_member(Role.coordinator, hub)
    own = OrganisationFactory(region=region, name="Gemeente Binnen")
    foreign = OrganisationFactory(name="Gemeente Buiten")
    own_member = make_member(Role.partner_staff, own, name="Binnen Persoon")
    foreign_member = make_member(Role.partner_staff, foreign, name="Buiten Persoon")
    login(client, coordinator)
    html = client.get("/beheer/organisaties").get_data(as_text=True)
    assert "Gemeente Binnen" in html and "Gemeente Buiten" not in html
    html = client.get("/beheer/accounts").get_data(as_text=True)
    assert "Binnen Persoon" in html and "Buiten Persoon" not in html
    assert client.get(f"/beheer/organisaties/{foreign.id}").status_code == 404
    assert client.get(f"/beheer/accounts/{foreign_member.id}").status_code == 404
    page = client.get(f"/beheer/organisaties/{own.id}").get_data(as_text=True)
    assert "Binnen Persoon" in page
    account_page = client.get(f"/beheer/accounts/{own_member.id}").get_data(as_text=True)
    assert "Rol toevoegen" not in account_page and "Account uitzetten" not in account_page
    assert client.get("/beheer/accounts/nieuw").status_code == 403
    assert client.get("/beheer/organisaties/nieuw").status_code == 403


def test_school_staff_see_organisations_without_members(client, region):
    school = OrganisationFactory(region=region, school=True)
    login(client, make_member(Role.decaan, school, name="Decaan Persoon"))
    html = client.get(f"/beheer/organisaties/{school.id}").get_data(as_text=True)
    assert school.brin in html and "Medewerkers" not in html
    assert client.get("/beheer/accounts").status_code == 403


def test_account_list_filters(client, admin, region):
    organisation = OrganisationFactory(region=region)
    for n in range(3):
        make_member(Role.partner_staff, organisation, name=f"Zoek Mij {n}")
    html = client.get("/beheer/accounts?q=zoek").get_data(as_text=True)
    assert "3 accounts." in html and "beheer/accounts/1\"" not in html
