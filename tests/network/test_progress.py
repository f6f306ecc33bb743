"""Progress of long work: on a terminal a bar with the count and the time left (on stderr);
without one, and with ``--quiet``, nothing; ``--json`` stays parseable. The long functions
report through ``on_progress(done, total)`` and end at ``(total, total)``. The commands run as
an operator runs them, under a pseudo-terminal (the ``pty`` module) and through a pipe."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
import time_machine

from network.audit import AuditAction, record
from network.audit_chain import seal_all
from network.audit_verify import verify
from network.backup import backup, restore
from network.config import write_secrets_file
from network.crypto import Keyring
from network.db import db
from network.keys import add_field_key, reencrypt
from network.permissions import system_principal
from network.progress import progress
from network.tags import StudentTag
from socialmap.exchange import stream_package
from tests.bench.harness.seed import TICK, _Rows
from tests.factories import StudentFactory
from tests.reliability.served import own_database
from tests.socialmap.conftest import categories, region_map  # noqa: F401 - fixtures

ROOT = Path(__file__).resolve().parents[2]
SCHAKEL = str(Path(sys.executable).parent / "schakel")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Calls(list):
    """An ``on_progress`` that keeps what it heard."""

    def __call__(self, done: int, total: int) -> None:
        self.append((done, total))

    def check(self) -> None:
        assert self, "no progress reported"
        assert all(0 <= done <= total for done, total in self), self
        assert [done for done, _total in self] == sorted(done for done, _total in self), self
        assert self[-1][0] == self[-1][1] > 0, self


# -- the bar ---------------------------------------------------------------------------------

def test_on_a_terminal_a_bar_with_count_and_time_left():
    screen = Terminal()
    with time_machine.travel(dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC), tick=False) as clock:
        with progress("re-encrypting", stream=screen) as on_progress:
            on_progress(0, 100)
            clock.shift(1.5)
            on_progress(25, 100)
            clock.shift(1.5)
            on_progress(50, 100)
            shown = screen.getvalue()
            on_progress(100, 100)
    [half] = [frame for frame in screen.getvalue().split("\r") if "50/100" in frame]
    assert "re-encrypting" in shown and "50%" in half
    assert half.endswith("00:00:03")  # 50 done in 3 s: 3 s to go
    assert "100/100" in screen.getvalue() and screen.getvalue().endswith("\n")


def test_no_terminal_and_quiet_print_nothing():
    """Nobody watches: the work gets no ``on_progress`` (and does not count its total)."""
    for stream, quiet in ((io.StringIO(), False), (Terminal(), True)):
        with progress("backup", stream=stream, quiet=quiet) as on_progress:
            assert on_progress is None
        assert stream.getvalue() == ""


def test_a_total_that_grows_or_is_zero():
    screen = Terminal()
    with progress("sealing", stream=screen) as on_progress:
        on_progress(0, 0)  # nothing to do: no bar at all
        assert screen.getvalue() == ""
        on_progress(3, 4)
        on_progress(6, 6)  # events written while sealing
    assert "6/6" in screen.getvalue()


# -- the long functions report -----------------------------------------------------------------

def _events(session, count: int) -> None:
    for _ in range(count):
        record(session, system_principal(), action=AuditAction.create, event_type=StudentTag.create)
    session.commit()


def test_seal_and_verify_report_progress(session, keyring):
    _events(session, 7)
    sealed = Calls()
    assert seal_all(lambda: session, keyring, batch=3, on_progress=sealed) == 7
    assert sealed == [(0, 7), (3, 7), (6, 7), (7, 7)]
    checked = Calls()
    report = verify(session, keyring, chunk=2, on_progress=checked)
    assert report.ok and checked[-1] == (7, 7) and len(checked) == 4
    checked.check()


def test_reencrypt_reports_progress(session, app):
    for bsn in ("123456782", "111222333", "999999990"):
        StudentFactory(bsn=bsn)
    session.commit()
    rotated, _kid = add_field_key(app.config["SECRETS"])
    calls = Calls()
    assert reencrypt(session, Keyring(rotated), batch=2, on_progress=calls) == 3
    assert calls == [(0, 3), (2, 3), (3, 3)]
    session.rollback()


def test_backup_and_restore_report_progress(app, session, tmp_path):
    _events(session, 3)
    made = Calls()
    with app.app_context():
        backup(db.engine, tmp_path / "hub.backup", on_progress=made)
    made.check()
    restored = Calls()
    from sqlalchemy import create_engine

    with own_database(tmp_path) as url:
        engine = create_engine(url)
        try:
            restore(tmp_path / "hub.backup", engine, on_progress=restored)
        finally:
            engine.dispose()
    restored.check()


def test_hsds_export_reports_services_and_organisations(session, region_map):
    calls = Calls()
    text = "".join(stream_package(session, include_personal=False, batch=4, on_progress=calls))
    assert json.loads(text)["services"]
    services = len(json.loads(text)["services"])
    organisations = len(json.loads(text)["organizations"])
    assert calls[-1] == (services + organisations, services + organisations) and len(calls) >= 3
    calls.check()


def test_the_bench_seed_counts_its_rows():
    calls = Calls()
    rows = _Rows(calls, total=2 * TICK + 7)
    assert sum(1 for _ in rows.counted({"n": i} for i in range(2 * TICK))) == 2 * TICK
    rows.add(7)
    assert calls == [(TICK, 2 * TICK + 7), (2 * TICK, 2 * TICK + 7), (2 * TICK + 7, 2 * TICK + 7)]


# -- the commands, under a pseudo-terminal and through a pipe -----------------------------------

@pytest.fixture
def sealed_hub(app, session, keyring, tmp_path):
    """The test database with a sealed audit log, and the environment of a hub on it."""
    _events(session, 30)
    seal_all(lambda: session, keyring)
    secrets_file = tmp_path / "secrets.json"
    write_secrets_file(secrets_file, app.config["SECRETS"])
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("SCHAKEL_", "DATABASE_URL", "REDIS_URL", "MAIL_", "SMTP_", "AUDIT_"))}
    env.update(SCHAKEL_ENV="development", DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               SCHAKEL_SECRETS_FILE=str(secrets_file), SCHAKEL_INSTANCE_PATH=str(tmp_path), PYTHONPATH=str(ROOT),
               TERM="xterm")
    return env


def on_pty(args: list[str], env: dict[str, str], *, stdout_pipe: bool = False) -> tuple[int, str, str]:
    """Run ``args`` with stderr (and stdin, and stdout unless ``stdout_pipe``) on a pseudo-terminal;
    returns the exit code, what the terminal showed, and the piped stdout."""
    main, secondary = pty.openpty()
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdin=secondary, stderr=secondary,
                               stdout=subprocess.PIPE if stdout_pipe else secondary)
    os.close(secondary)
    shown, deadline = b"", time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 1)
        if not ready:
            if process.poll() is not None:
                break
            continue
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the other end is closed
            break
        if not chunk:
            break
        shown += chunk
    piped = ""
    if stdout_pipe:
        with process.stdout:
            piped = process.stdout.read().decode()
    code = process.wait(timeout=30)
    os.close(main)
    return code, shown.decode(errors="replace"), piped


def test_audit_verify_on_a_terminal_shows_a_bar(sealed_hub):
    code, shown, _ = on_pty([SCHAKEL, "audit", "verify"], sealed_hub)
    assert code == 0, shown
    assert "verifying the audit log" in shown and "30/30" in shown and "100%" in shown and "\r" in shown
    assert "audit log OK: 30 events" in shown


def test_audit_verify_through_a_pipe_and_quiet_print_no_bar(sealed_hub):
    piped = subprocess.run([SCHAKEL, "audit", "verify"], cwd=ROOT, env=sealed_hub, capture_output=True, text=True,
                           timeout=120, check=False)
    assert piped.returncode == 0 and piped.stderr == "" and "\r" not in piped.stdout
    assert piped.stdout.startswith("audit log OK: 30 events")
    code, shown, _ = on_pty([SCHAKEL, "audit", "verify", "--quiet"], sealed_hub)
    assert code == 0 and "verifying" not in shown and "30/30" not in shown and "audit log OK" in shown


def test_audit_verify_json_stays_json_with_the_bar_on_stderr(sealed_hub):
    code, shown, piped = on_pty([SCHAKEL, "audit", "verify", "--json"], sealed_hub, stdout_pipe=True)
    assert code == 0
    report = json.loads(piped)
    assert report["ok"] is True and report["checked"] == 30
    assert "30/30" in shown and "{" not in shown  # the bar on the terminal, the JSON on stdout


def test_every_long_command_has_quiet(app):
    runner = app.test_cli_runner()
    for command in (["audit", "verify"], ["audit", "seal"], ["keys", "reencrypt"], ["backup"], ["restore"],
                    ["socialmap", "export-hsds"], ["demo", "seed"]):
        assert "--quiet" in runner.invoke(args=[*command, "--help"]).output, command
