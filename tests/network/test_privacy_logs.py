"""No secret, password, reset token or BSN in application logs, request URLs or redirects,
through the flows that handle them: login, password reset, and registering a student."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select

from network.db import db
from network.models import OutboxMessage, Role, Student
from tests.conftest import post_form
from tests.factories import PASSWORD, OrganisationFactory, RegionFactory, make_member

BSN = "111222333"


@pytest.fixture
def all_logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def test_flows_leave_no_secrets_in_logs_or_urls(app, session, client, all_logs, keyring):
    school = OrganisationFactory(region=RegionFactory(), school=True)
    account = make_member(Role.zorgcoordinator, school, email="zorg@roc.example")
    urls = []

    def remember(response):
        urls.append(response.request.url if hasattr(response, "request") else "")
        if response.headers.get("Location"):
            urls.append(response.headers["Location"])
        return response

    # wrong then right password
    remember(post_form(client, "/inloggen", {"email": account.email, "password": "fout-wachtwoord-123"}))
    remember(post_form(client, "/inloggen", {"email": account.email, "password": PASSWORD}))
    # register a student with a BSN, then view and edit it
    response = remember(post_form(client, "/leerlingen/nieuw", {
        "first_name": "Sanne", "last_name": "Jansen", "date_of_birth": "2007-05-14", "level": "mbo2",
        "bsn": BSN}))
    assert response.status_code == 302
    student_url = response.headers["Location"]
    remember(client.get(student_url))
    remember(client.get(student_url + "/bewerken"))
    # a password reset: the token travels by e-mail only
    other = app.test_client()
    remember(post_form(other, "/wachtwoord-vergeten", {"email": account.email}))
    message = db.session.scalar(select(OutboxMessage))
    body = keyring.decrypt(message.body_encrypted, message.body_ref())
    token = re.search(r"/wachtwoord-herstellen/(\S+)", body).group(1)
    remember(other.get(f"/wachtwoord-herstellen/{token}"))

    assert db.session.scalar(select(Student)).bsn_encrypted
    text = "\n".join(record.getMessage() for record in all_logs.records)
    for secret in (BSN, PASSWORD, "fout-wachtwoord-123", token, app.config["SECRET_KEY"]):
        assert secret not in text, "a secret reached the logs"
    for url in urls:
        assert BSN not in url and PASSWORD not in url
    # the reset link redirects away at once, so the token is in no later URL or page
    assert all(token not in url for url in urls[-1:])
