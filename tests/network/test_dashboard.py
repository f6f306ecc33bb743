"""The landing page after login, for every kind of account."""

from __future__ import annotations

from network.models import Role
from tests.factories import AccountFactory, OrganisationFactory, RegionFactory, login, make_member


def test_account_without_membership_lands_on_a_page_not_a_403(client, session):
    guardian = AccountFactory(name="Ouder van Daan")
    login(client, guardian)
    response = client.get("/dashboard")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Naar Mijn gegevens" in html and "/mijn-gegevens" in html


def test_school_staff_see_their_next_step(client, session):
    school = OrganisationFactory(region=RegionFactory(), school=True, name="ROC Waalrand")
    login(client, make_member(Role.mentor, school))
    html = client.get("/dashboard").get_data(as_text=True)
    assert "Leerling registreren" in html and "Naar Mijn gegevens" not in html


def test_anonymous_goes_to_login(client):
    response = client.get("/dashboard")
    assert response.status_code == 302 and "/inloggen" in response.headers["Location"]
