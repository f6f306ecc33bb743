"""Backup and restore as the README tells an operator (issue 8, "Backups"): ``schakel backup``
of a hub with the demo region and a sealed audit log, ``schakel restore`` into a fresh empty
database, ``schakel db upgrade`` and ``schakel audit verify``: every row is back, the audit
chain verifies, the encrypted BSNs open with the secrets file (which the backup does not hold)
and the hub serves the restored database. The refusals lose nothing: no overwritten backup, no
restore over data, no dump of the other engine. Runs on the engine of the suite (SQLite file or
a new PostgreSQL database on ``TEST_DATABASE_URL``'s server)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, inspect, select, table, text

from network.crypto import FieldRef, Keyring
from network.models import Student
from tests.reliability.served import Hub, environment, own_database, schakel


def _ok(result) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {name: conn.execute(select(func.count()).select_from(table(name))).scalar_one()
                    for name in inspect(conn).get_table_names()}
    finally:
        engine.dispose()


def _bsns(url: str, keyring: Keyring) -> dict[int, str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            # through the model's column types: SQLite keeps a UUID as 32 hex digits
            rows = conn.execute(select(Student.id, Student.bsn_encrypted)
                                .where(Student.bsn_encrypted.is_not(None))).all()
    finally:
        engine.dispose()
    return {row.id: keyring.decrypt(row.bsn_encrypted, FieldRef("student", "bsn", str(row.id))) for row in rows}


def _with(env: dict[str, str], url: str) -> dict[str, str]:
    return {**env, "DATABASE_URL": url}


@pytest.fixture(scope="module")
def hub_with_data(tmp_path_factory):
    """A migrated hub database with the demo region, its audit log sealed; development mode,
    because the demo region is refused in production. Made once for the module (three CLI runs,
    ~15 s): no test here writes to it, each restores into a database of its own."""
    tmp = tmp_path_factory.mktemp("source")
    with own_database(tmp) as url:
        env, secret_values = environment(url, tmp)
        env["SCHAKEL_ENV"] = "development"
        _ok(schakel(env, "db", "upgrade"))
        _ok(schakel(env, "demo", "seed"))
        _ok(schakel(env, "audit", "seal"))
        yield url, env, Keyring(secret_values)


def test_a_backup_restored_into_a_fresh_database_is_whole_and_its_audit_chain_verifies(hub_with_data, tmp_path):
    source_url, env, keyring = hub_with_data
    source_verify = _ok(schakel(env, "audit", "verify"))
    dump = tmp_path / "schakel-backup.dump"
    assert "written to" in _ok(schakel(env, "backup", str(dump)))
    assert dump.stat().st_size > 0
    assert not list(tmp_path.glob(".*.partial")), "no partial file is left beside the backup"

    # a backup is never overwritten: the same name again is refused and the file is unchanged
    before = dump.read_bytes()
    again = schakel(env, "backup", str(dump))
    assert again.returncode != 0 and "already exists" in again.stderr
    assert dump.read_bytes() == before

    restore_dir = tmp_path / "restore"
    restore_dir.mkdir()
    with own_database(restore_dir) as target_url:
        target = _with(env, target_url)
        assert "restored" in _ok(schakel(target, "restore", str(dump)))
        _ok(schakel(target, "db", "upgrade"))  # nothing to do: the backup is of this release
        verified = _ok(schakel(target, "audit", "verify"))
        assert verified.startswith("audit log OK")
        # the same events and checkpoints as the source ("audit log OK: N events, M signed checkpoints")
        assert verified.split("(")[0] == source_verify.split("(")[0]

        source_counts, target_counts = _counts(source_url), _counts(target_url)
        assert source_counts == target_counts
        assert target_counts["student"] > 0 and target_counts["audit_event"] > 0

        # encrypted fields open with the secrets file, which is not in the backup
        bsns = _bsns(target_url, keyring)
        assert bsns and bsns == _bsns(source_url, keyring)
        assert all(bsn not in dump.read_bytes().decode("latin-1") for bsn in bsns.values())

        # restoring again over the restored data is refused, and nothing changes
        refused = schakel(target, "restore", str(dump))
        assert refused.returncode != 0 and "not empty" in refused.stderr
        assert _counts(target_url) == target_counts

        # the hub serves the restored database
        hub = Hub({**target, "SCHAKEL_ENV": "production"}, tmp_path / "hub.log", workers=1).start()
        try:
            assert hub.request("GET", "/healthz")[0] == 200
            assert hub.request("GET", "/api/v1/openapi.json")[0] == 200
        finally:
            hub.stop()

        # the check is not vacuous: one changed event in the restored copy breaks the chain
        engine = create_engine(target_url)
        with engine.begin() as conn:
            conn.execute(text("UPDATE audit_event SET event_type = 'student:tampered' "
                              "WHERE id = (SELECT min(id) FROM audit_event)"))
        engine.dispose()
        broken = schakel(target, "audit", "verify")
        assert broken.returncode == 1 and "AUDIT LOG BROKEN" in broken.stderr


def test_restore_refuses_a_file_that_is_not_a_backup_of_this_engine(hub_with_data, tmp_path):
    _, env, _ = hub_with_data
    wrong = tmp_path / "wrong.bak"
    sqlite = env["DATABASE_URL"].startswith("sqlite")
    # the other engine's backup format: a PostgreSQL custom dump's header for SQLite, and the reverse
    wrong.write_bytes(b"PGDMP\x01\x0e\x00" + b"\x00" * 100 if sqlite else b"SQLite format 3\x00" + b"\x00" * 100)
    restore_dir = tmp_path / "restore"
    restore_dir.mkdir()
    with own_database(restore_dir) as target_url:
        result = schakel(_with(env, target_url), "restore", str(wrong))
        assert result.returncode != 0
        assert ("not a SQLite backup" if sqlite else "not a PostgreSQL custom-format dump") in result.stderr
        assert "Traceback" not in result.stderr
        assert _counts(target_url) == {}


def test_a_damaged_backup_is_refused_and_the_target_stays_empty(hub_with_data, tmp_path):
    _, env, _ = hub_with_data
    dump = tmp_path / "backup.dump"
    _ok(schakel(env, "backup", str(dump)))
    damaged = tmp_path / "damaged.dump"
    data = dump.read_bytes()
    damaged.write_bytes(data[: len(data) // 2])  # cut off halfway, as a failed copy would be
    restore_dir = tmp_path / "restore"
    restore_dir.mkdir()
    with own_database(restore_dir) as target_url:
        result = schakel(_with(env, target_url), "restore", str(damaged))
        assert result.returncode != 0
        assert "Traceback" not in result.stderr
        assert not any(_counts(target_url).values()), "a failed restore leaves no rows behind"


def test_backup_of_a_missing_directory_is_a_clear_error(hub_with_data, tmp_path):
    _, env, _ = hub_with_data
    result = schakel(env, "backup", str(tmp_path / "nowhere" / "backup.dump"))
    assert result.returncode != 0 and "does not exist" in result.stderr
    assert not Path(tmp_path / "nowhere").exists()
