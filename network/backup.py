"""Backups of the hub's database, and restoring one into an empty database.

``schakel backup FILE`` and ``schakel restore FILE`` (README, "Backups and restore"):

- **SQLite**: SQLite's online backup API (``sqlite3.Connection.backup``) copies a consistent
  snapshot while the hub keeps running, WAL included; copying the file with ``cp`` during
  writes can give a torn copy. The copy is integrity-checked before it gets its final name.
- **PostgreSQL**: ``pg_dump --format=custom`` (one consistent snapshot, the dump a DBA expects);
  restored with ``pg_restore --no-owner --no-privileges --single-transaction --exit-on-error``,
  so a failed restore leaves the target empty, not half-filled.

A backup never holds the keys: the secrets file is backed up separately (README). Restore only
into an empty database, then run ``schakel db upgrade`` (a backup from an older release) and
``schakel audit verify``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess  # nosec B404 # only for pg_dump and pg_restore, in _run
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import URL, inspect
from sqlalchemy.engine import Engine

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that could not be made; the message says why and what to do."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size_bytes: int
    engine: str


def backup(engine: Engine, target: Path) -> BackupResult:
    """Write a consistent backup of ``engine``'s database to ``target`` (which must not exist).
    The file appears under its name only when complete."""
    target = Path(target)
    if target.exists():
        raise BackupError(f"{target} already exists; choose a new file name (backups are never overwritten)")
    if not target.parent.is_dir():
        raise BackupError(f"directory {target.parent} does not exist")
    partial = target.with_name(f".{target.name}.partial")
    try:
        if engine.dialect.name == "sqlite":
            _sqlite_backup(_sqlite_path(engine.url), partial)
        elif engine.dialect.name == "postgresql":
            _run(["pg_dump", "--format=custom", "--file", str(partial)], engine.url)
        else:
            raise BackupError(f"no backup for the {engine.dialect.name} engine (SQLite and PostgreSQL only)")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(target, target.stat().st_size, engine.dialect.name)


def restore(source: Path, engine: Engine) -> None:
    """Restore the backup ``source`` into ``engine``'s database, which must hold no tables."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    with source.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    tables = inspect(engine).get_table_names()
    engine.dispose()
    if tables:
        raise BackupError(f"the target database is not empty ({len(tables)} tables); restore only into a new, "
                          "empty database")
    if engine.dialect.name == "sqlite":
        if not head.startswith(SQLITE_MAGIC):
            raise BackupError(f"{source} is not a SQLite backup (made with `schakel backup` on SQLite)")
        _sqlite_check(source)
        _sqlite_backup(source, Path(_sqlite_path(engine.url)))
    elif engine.dialect.name == "postgresql":
        if not head.startswith(PG_DUMP_MAGIC):
            raise BackupError(f"{source} is not a PostgreSQL custom-format dump (made with `schakel backup` or "
                              "`pg_dump --format=custom`)")
        _run(["pg_restore", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
              str(source)], engine.url)
    else:
        raise BackupError(f"no restore for the {engine.dialect.name} engine (SQLite and PostgreSQL only)")


def _sqlite_path(url: URL) -> str:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up or restore into")
    return url.database


def _read_only(path: str | Path) -> str:
    return Path(path).resolve().as_uri() + "?mode=ro"


def _sqlite_check(path: Path) -> None:
    conn = sqlite3.connect(_read_only(path), uri=True)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable SQLite database: {exc}") from exc
    finally:
        conn.close()
    if result != "ok":
        raise BackupError(f"{path} fails SQLite's integrity check: {result}")


def _sqlite_backup(source: str | Path, target: Path) -> None:
    src = sqlite3.connect(_read_only(source), uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    _sqlite_check(target)


def _run(command: list[str], url: URL) -> None:
    """Run a PostgreSQL client tool against ``url``; the password goes in the environment, not
    on the command line (where ``ps`` would show it)."""
    program = shutil.which(command[0])
    if program is None:
        raise BackupError(f"{command[0]} is not installed (Debian: apt-get install postgresql-client)")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    dsn = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    # B603: a fixed PostgreSQL tool found on PATH, an argument list (no shell), and the hub's own
    # database URL; nothing comes from a request
    completed = subprocess.run([program, *command[1:], "--dbname", dsn], env=env, capture_output=True,  # nosec B603
                               text=True, check=False)
    if completed.returncode != 0:
        raise BackupError(f"{command[0]} failed ({completed.returncode}): {completed.stderr.strip()[-800:]}")
