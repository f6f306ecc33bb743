"""The migration that makes "one active consent per student, recipient and purpose" a unique
index: a database that already holds such a pair (recorded by two grants at once before it) is
not changed behind anyone's back; the upgrade stops and names the pair, and goes through once
one of them is withdrawn in Schakel."""

from __future__ import annotations

import re

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from consent.models import Consent
from consent.service import grant_consent, withdraw_consent
from network.db import db
from tests.consent.conftest import grant_data

BEFORE = "3c1f0a9e5b27"


def test_the_upgrade_names_duplicate_active_consents_and_runs_once_they_are_gone(session, world, actors, keyring,
                                                                                 caplog):
    consent = grant_consent(session, actors["student_account"], keyring, world["student"], grant_data(world))
    session.commit()
    consent_id = consent.id
    session.remove()
    downgrade(revision=BEFORE)
    try:
        columns = ", ".join(c["name"] for c in inspect(db.engine).get_columns("consent") if c["name"] != "id")
        with db.engine.begin() as conn:  # the second grant of a double click, as it was recorded before
            conn.execute(text(f"INSERT INTO consent ({columns}) SELECT {columns} FROM consent WHERE id = :id"),
                         {"id": consent_id})
        with pytest.raises(SystemExit):  # flask-migrate: the error logged, exit status 1
            upgrade()
        assert re.search(rf"consents {consent_id}, \d+\)\. Withdraw all but one", caplog.text), caplog.text
        assert "ux_consent_one_active" not in {i["name"] for i in inspect(db.engine).get_indexes("consent")}
        db.session.remove()
        withdraw_consent(db.session, actors["student_account"], keyring, db.session.get(Consent, consent_id))
        db.session.commit()
    finally:
        db.session.remove()
        upgrade()
    assert "ux_consent_one_active" in {i["name"] for i in inspect(db.engine).get_indexes("consent")}
