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
import re
import shutil
import sqlite3
import subprocess  # nosec B404 # only for pg_dump and pg_restore, in _run
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import URL, inspect, text
from sqlalchemy.engine import Engine

#: ``on_progress(done, total)`` (network.progress shows it; this module knows no terminal)
OnProgress = Callable[[int, int], None]

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that could not be made; the message says why and what to do."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size_bytes: int
    engine: str


def backup(engine: Engine, target: Path, on_progress: OnProgress | None = None) -> BackupResult:
    """Write a consistent backup of ``engine``'s database to ``target`` (which must not exist).
    The file appears under its name only when complete. ``on_progress(done, total)``: kB of
    table data dumped (PostgreSQL, weighed by each table's size), pages copied (SQLite)."""
    target = Path(target)
    if target.exists():
        raise BackupError(f"{target} already exists; choose a new file name (backups are never overwritten)")
    if not target.parent.is_dir():
        raise BackupError(f"directory {target.parent} does not exist")
    partial = target.with_name(f".{target.name}.partial")
    try:
        if engine.dialect.name == "sqlite":
            # one step: a copy made in steps starts again whenever the running hub writes between them
            _sqlite_backup(_sqlite_path(engine.url), partial, on_progress=on_progress, pages=-1)
        elif engine.dialect.name == "postgresql":
            counter = _DumpProgress(_table_sizes(engine), on_progress) if on_progress is not None else None
            _run(["pg_dump", "--format=custom", "--file", str(partial)], engine.url, on_line=counter)
            if counter is not None:
                counter.finish()
        else:
            raise BackupError(f"no backup for the {engine.dialect.name} engine (SQLite and PostgreSQL only)")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(target, target.stat().st_size, engine.dialect.name)


def restore(source: Path, engine: Engine, on_progress: OnProgress | None = None) -> None:
    """Restore the backup ``source`` into ``engine``'s database, which must hold no tables.
    ``on_progress(done, total)``: entries of the dump restored (PostgreSQL: tables, their data,
    indexes, constraints), pages copied (SQLite)."""
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
        # in steps: nobody writes to a backup file while it is read
        _sqlite_backup(source, Path(_sqlite_path(engine.url)), on_progress=on_progress, pages=1024)
    elif engine.dialect.name == "postgresql":
        if not head.startswith(PG_DUMP_MAGIC):
            raise BackupError(f"{source} is not a PostgreSQL custom-format dump (made with `schakel backup` or "
                              "`pg_dump --format=custom`)")
        counter = _RestoreProgress(_dump_entries(source), on_progress) if on_progress is not None else None
        _run(["pg_restore", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
              str(source)], engine.url, on_line=counter)
        if counter is not None:
            counter.finish()
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


def _sqlite_backup(source: str | Path, target: Path, *, on_progress: OnProgress | None = None,
                   pages: int = -1) -> None:
    src = sqlite3.connect(_read_only(source), uri=True)
    dst = sqlite3.connect(target)

    def step(status: int, remaining: int, total: int) -> None:
        if on_progress is not None:
            on_progress(total - remaining, total)

    try:
        src.backup(dst, pages=pages, progress=step)
    finally:
        dst.close()
        src.close()
    _sqlite_check(target)


def _run(command: list[str], url: URL, *, on_line: Callable[[str], None] | None = None) -> None:
    """Run a PostgreSQL client tool against ``url``; the password goes in the environment, not
    on the command line (where ``ps`` would show it). With ``on_line`` the tool runs
    ``--verbose`` and each line it writes to stderr is passed on as it comes."""
    program = shutil.which(command[0])
    if program is None:
        raise BackupError(f"{command[0]} is not installed (Debian: apt-get install postgresql-client)")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    dsn = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    arguments = [program, *command[1:], *(["--verbose"] if on_line else []), "--dbname", dsn]
    # B603: a fixed PostgreSQL tool found on PATH, an argument list (no shell), and the hub's own
    # database URL; nothing comes from a request
    with subprocess.Popen(arguments, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,  # nosec B603
                          text=True) as process:
        tail: deque[str] = deque(maxlen=40)  # the end of what it said, for the error message
        for line in process.stderr:
            tail.append(line)
            if on_line is not None:
                on_line(line)
        returncode = process.wait()
    if returncode != 0:
        said = "".join(line for line in tail if not _is_chatter(line)) or "".join(tail)
        raise BackupError(f"{command[0]} failed ({returncode}): {said.strip()[-800:]}")


def _is_chatter(line: str) -> bool:
    """A ``--verbose`` progress line, not an error."""
    return bool(_VERBOSE.match(line)) and "error" not in line.lower()


_VERBOSE = re.compile(r"^pg_(dump|restore): (?!error|warning|detail|hint)")
#: pg_dump --verbose: the table whose data it starts to write
_DUMPING = re.compile(r'^pg_dump: dumping contents of table "(?:[^"]+)\.([^"]+)"')
#: pg_restore --verbose: one line per entry of the dump it restores
_RESTORING = re.compile(r"^pg_restore: (creating|processing data for|executing) ")


def _table_sizes(engine: Engine) -> dict[str, int]:
    """Each table's size in kB (at least one), the weight of its part of a dump."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT c.relname, pg_table_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%'")).all()
    return {name: max(1, size // 1024) for name, size in rows}


class _DumpProgress:
    """Counts pg_dump's tables as done when it starts on the next one, weighed by size."""

    def __init__(self, sizes: dict[str, int], on_progress: OnProgress) -> None:
        self.sizes, self.on_progress = sizes, on_progress
        self.total, self.done, self.current = sum(sizes.values()), 0, 0
        on_progress(0, self.total)

    def __call__(self, line: str) -> None:
        match = _DUMPING.match(line)
        if match:
            self.done += self.current
            self.current = self.sizes.get(match.group(1), 1)
            self.on_progress(min(self.done, self.total), self.total)

    def finish(self) -> None:
        self.on_progress(self.total, self.total)


def _dump_entries(source: Path) -> int:
    """How many entries pg_restore will restore from ``source`` (its table of contents)."""
    program = shutil.which("pg_restore")
    if program is None:
        raise BackupError("pg_restore is not installed (Debian: apt-get install postgresql-client)")
    listed = subprocess.run([program, "--list", str(source)], capture_output=True, text=True,  # nosec B603
                            check=False)
    return sum(1 for line in listed.stdout.splitlines() if line.strip() and not line.startswith(";"))


class _RestoreProgress:
    """Counts the entries pg_restore reports as it restores them."""

    def __init__(self, total: int, on_progress: OnProgress) -> None:
        self.total, self.done, self.on_progress = total, 0, on_progress
        on_progress(0, total)

    def __call__(self, line: str) -> None:
        if _RESTORING.match(line):
            self.done += 1
            self.on_progress(min(self.done, self.total), self.total)

    def finish(self) -> None:
        self.on_progress(self.total, self.total)
