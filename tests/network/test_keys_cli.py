"""Key rotation as an operator runs it: rotate, restart (a new app reads the secrets file),
re-encrypt, retire the old key — and the data stays readable throughout."""

from __future__ import annotations

import json
import os
import stat

from sqlalchemy import select

from network.db import db
from network.models import Student
from tests.conftest import extra_app, test_config
from tests.factories import StudentFactory

BSN = "123456782"


def _restart(tmp_path, app):
    """The hub after a restart: the same database, secrets read from the file, not passed in."""
    return extra_app(test_config(tmp_path, SECRETS=None, SECRETS_FILE=str(tmp_path / "secrets.json"),
                                 SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"]))


def _bsn(app) -> str:
    with app.app_context():
        student = db.session.scalar(select(Student))
        return student.get_bsn(app.extensions["schakel.keyring"])


def test_rotate_reencrypt_retire(tmp_path, app):
    with _restart(tmp_path, app) as first:
        secrets_file = tmp_path / "secrets.json"
        assert stat.S_IMODE(os.stat(secrets_file).st_mode) == 0o600
        old_kid = json.loads(secrets_file.read_text())["field_key_current"]
        with first.app_context():
            StudentFactory(bsn=BSN)
        result = first.test_cli_runner().invoke(args=["keys", "rotate-field-key"])
        assert result.exit_code == 0, result.output
    new_kid = json.loads(secrets_file.read_text())["field_key_current"]
    assert new_kid != old_kid

    with _restart(tmp_path, app) as second:
        assert _bsn(second) == BSN  # old ciphertext still decrypts with the old key
        runner = second.test_cli_runner()
        refused = runner.invoke(args=["keys", "retire-field-key", old_kid])
        assert refused.exit_code != 0 and "still use" in refused.output
        done = runner.invoke(args=["keys", "reencrypt"])
        assert done.exit_code == 0 and "re-encrypted 1 values" in done.output
        status = runner.invoke(args=["keys", "status"])
        assert f"'{new_kid}': 1" in status.output and BSN not in status.output
        retired = runner.invoke(args=["keys", "retire-field-key", old_kid])
        assert retired.exit_code == 0, retired.output
    assert list(json.loads(secrets_file.read_text())["field_keys"]) == [new_kid]

    with _restart(tmp_path, app) as third:
        assert _bsn(third) == BSN


def test_rotate_signing_key_keeps_old_key_published(tmp_path, app):
    with _restart(tmp_path, app) as first:
        old_kid = first.extensions["schakel.keyring"].signing_key_current
        assert first.test_cli_runner().invoke(args=["keys", "rotate-signing-key"]).exit_code == 0
    with _restart(tmp_path, app) as second:
        kids = [k["kid"] for k in second.test_client().get("/.well-known/jwks.json").json["keys"]]
        assert kids[0] == second.extensions["schakel.keyring"].signing_key_current != old_kid
        assert old_kid in kids


def test_init_secrets_refuses_to_overwrite(tmp_path):
    from click.testing import CliRunner

    from network.cli import init_secrets

    path = tmp_path / "prod.json"
    runner = CliRunner()
    assert runner.invoke(init_secrets, ["--path", str(path)]).exit_code == 0
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    before = path.read_text()
    again = runner.invoke(init_secrets, ["--path", str(path)])
    assert again.exit_code != 0 and path.read_text() == before


def test_every_encrypted_column_is_known_to_key_rotation(app):
    """A column that reencrypt does not know keeps the old key, and retiring that key would
    make it unreadable: every ``*_encrypted`` column of every model must be registered."""
    from network.keys import ENCRYPTED_COLUMNS
    from network.models_index import import_all_models

    import_all_models()
    stored = {(mapper.class_.__name__, attribute.key) for mapper in db.Model.registry.mappers
              for attribute in mapper.column_attrs if attribute.key.endswith("_encrypted")}
    known = {(column.model.__name__, column.attribute) for column in ENCRYPTED_COLUMNS}
    assert stored - known == set()
    assert len(stored) >= 12


def test_reencrypt_covers_the_features_and_nothing_is_lost_after_retiring(tmp_path, app):
    """The demo region holds referrals (details, events, intakes), agreements and outbox
    messages: after rotate → reencrypt → retire every value of every column still opens."""
    from network.keys import ENCRYPTED_COLUMNS, count_by_key

    with _restart(tmp_path, app) as first:
        assert first.test_cli_runner().invoke(args=["demo", "seed"]).exit_code == 0
        old_kid = json.loads((tmp_path / "secrets.json").read_text())["field_key_current"]
        assert first.test_cli_runner().invoke(args=["keys", "rotate-field-key"]).exit_code == 0
    with _restart(tmp_path, app) as second:
        runner = second.test_cli_runner()
        assert runner.invoke(args=["keys", "reencrypt"]).exit_code == 0
        retired = runner.invoke(args=["keys", "retire-field-key", old_kid])
        assert retired.exit_code == 0, retired.output
    with _restart(tmp_path, app) as third, third.app_context():
        keyring = third.extensions["schakel.keyring"]
        assert old_kid not in count_by_key(db.session)
        opened = {}
        for column in ENCRYPTED_COLUMNS:
            attribute = getattr(column.model, column.attribute)
            for row in db.session.scalars(select(column.model).where(attribute.is_not(None))):
                keyring.decrypt(getattr(row, column.attribute), column.ref(row))
                opened[column.model.__name__] = opened.get(column.model.__name__, 0) + 1
        assert {"Student", "Referral", "ReferralEvent", "AgreementVersion"} <= set(opened), opened
