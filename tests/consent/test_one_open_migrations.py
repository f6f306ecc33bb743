"""The migrations that make "one active consent per student, recipient and purpose" and "one
open agreement of each kind per student" unique indexes: a database that already holds such a
pair (made by two requests at once before them) is not changed behind anyone's back; the
upgrade stops and names the pair, and goes through once one of them is withdrawn or ended in
Schakel."""

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


def test_the_upgrade_names_duplicate_open_agreements_and_runs_once_one_is_ended(session, world, actors, keyring,
                                                                                caplog):
    import datetime as dt
    import uuid

    from sqlalchemy import insert, select, update

    from consent.agreements.models import Agreement, AgreementKind, AgreementStatus
    from consent.agreements.service import create_agreement

    plan = create_agreement(session, actors["mentor"], keyring, world["student"], AgreementKind.plan)
    session.commit()
    plan_id = plan.id
    session.remove()
    downgrade(revision="8a41d2c7e9f3")
    try:
        table = Agreement.__table__
        with db.engine.begin() as conn:  # the second plan of a double click, as it was made before
            row = dict(conn.execute(select(table).where(table.c.id == plan_id)).mappings().one())
            twin = uuid.uuid4()
            conn.execute(insert(table).values({**row, "id": twin, "verify_code": "TWEEDEPLAN"}))
        with pytest.raises(SystemExit):
            upgrade()
        named = re.search(r"agreements ([0-9a-f-]{36}), ([0-9a-f-]{36})\)\. End all but one", caplog.text)
        assert named and {uuid.UUID(n) for n in named.groups()} == {plan_id, twin}, caplog.text
        db.session.remove()
        # ended as Schakel ends it, but in SQL: the models of today read columns this older schema
        # lacks (agreement_signature.previous, issue 18); the upgrade looks at the status only
        with db.engine.begin() as conn:
            conn.execute(update(table).where(table.c.id == twin).values(
                status=AgreementStatus.ended, end_reason="Dubbel aangemaakt", ended_at=dt.datetime.now(dt.UTC)))
    finally:
        db.session.remove()
        upgrade()
    assert "ux_agreement_one_open" in {i["name"] for i in inspect(db.engine).get_indexes("agreement")}
