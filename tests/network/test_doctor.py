"""``schakel doctor`` as an operator runs it: on a healthy hub (production settings, a secrets
file of mode 0600, a live scheduler, an SMTP relay that answers) every line passes and it exits
0; each fault the issue names makes its own line fail and the exit code 1, with a hint; a
database that does not answer ends in seconds without a traceback; the report follows
``--lang`` and ``LANG``; ``--json`` parses. Runs on the suite's database (SQLite or PostgreSQL)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from network.audit import AuditAction, record
from network.clock import utcnow
from network.config import ENV_SETTINGS, generate_secrets, write_secrets_file
from network.crypto import FieldRef
from network.doctor_cli import doctor
from network.models import JobRun, OutboxMessage, OutboxStatus, SchedulerHeartbeat
from network.permissions import system_principal
from network.scheduler import JOBS
from network.tags import StudentTag
from tests.conftest import head_revision
from tests.factories import StudentFactory
from tests.network.test_i18n import english_compiled  # noqa: F401 - a fixture: the English catalog compiled

ROOT = Path(__file__).resolve().parents[2]
#: what the outer environment may hold that would change what the doctor reads
CLEARED = [variable for variable, _parse in ENV_SETTINGS.values()] + [
    "SCHAKEL_CONFIG", "SCHAKEL_INSTANCE_PATH", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"]


def free_port() -> int:
    """A port nothing listens on (bound, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough of an SMTP relay: greets, EHLO with AUTH PLAIN, accepts a login; it refuses
    MAIL, RCPT and DATA and keeps them, so a test can see that nothing was sent."""

    def handle(self) -> None:
        self.wfile.write(b"220 stub ESMTP\r\n")
        for line in self.rfile:
            command = line.strip().upper()
            if command.startswith((b"EHLO", b"HELO")):
                self.wfile.write(b"250-stub\r\n250 AUTH PLAIN\r\n")
            elif command.startswith(b"AUTH"):
                self.server.logins.append(line)
                self.wfile.write(b"235 2.7.0 accepted\r\n")
            elif command.startswith(b"QUIT"):
                self.wfile.write(b"221 bye\r\n")
                return
            elif command.startswith((b"MAIL", b"RCPT", b"DATA")):
                self.server.sending.append(line)
                self.wfile.write(b"502 not here\r\n")
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    server.daemon_threads = True
    server.logins, server.sending = [], []
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_port():
    """A server that takes the connection and never says a word (a database host that hangs)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def hub(app, session, tmp_path, smtp, monkeypatch):
    """A healthy hub as its operator configured it: production, a secrets file of mode 0600
    holding the keys the data was made with, a scheduler that beat and ran every job just now,
    an SMTP relay that answers, Redis when this machine has one. Returns the environment."""
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    secrets_file = tmp_path / "secrets.json"
    write_secrets_file(secrets_file, app.config["SECRETS"])
    env = {"SCHAKEL_ENV": "production", "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "SCHAKEL_SECRETS_FILE": str(secrets_file), "SCHAKEL_BASE_URL": "https://schakel.test.example",
           "MAIL_BACKEND": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.server_address[1]),
           "SMTP_USER": "hub", "SMTP_PASSWORD": "relay-secret", "SCHAKEL_INSTANCE_PATH": str(tmp_path)}
    if _redis_answers():
        env["REDIS_URL"] = "redis://127.0.0.1:6379/0"
    now = utcnow()
    session.add(SchedulerHeartbeat(host="scheduler-1", pid=4242, started_at=now - dt.timedelta(hours=1), beat_at=now))
    for job in JOBS:
        session.add(JobRun(job_id=job.id, slot=now, started_at=now, finished_at=now, outcome="ok"))
    StudentFactory(bsn="123456782")  # a ciphertext under the file's current key
    session.commit()
    return env


def run(env: dict[str, str], *args: str):
    result = CliRunner().invoke(doctor, list(args), env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output, result.output
    return result


def line(output: str, title: str) -> str:
    """The report's line for ``title`` (with its hint, when it failed)."""
    lines = output.splitlines()
    for index, text_ in enumerate(lines):
        if text_[2:].startswith(title + ":") or text_[2:] == title:
            hint = lines[index + 1] if index + 1 < len(lines) and lines[index + 1].startswith("    → ") else ""
            return text_ + ("\n" + hint if hint else "")
    raise AssertionError(f"no line {title!r} in:\n{output}")


def failed(output: str) -> list[str]:
    return [text_[2:].split(":")[0] for text_ in output.splitlines() if text_.startswith("✗ ")]


def test_a_healthy_hub_passes(hub, smtp):
    result = run(hub)
    assert result.exit_code == 0, result.output
    assert failed(result.output) == []
    assert line(result.output, "Geheimenbestand").startswith("✓")
    assert "PostgreSQL" in line(result.output, "Database") or "SQLite" in line(result.output, "Database")
    assert line(result.output, "Migraties").startswith("✓ Migraties: bij de nieuwste")
    assert "ingelogd als hub" in line(result.output, "SMTP")
    assert smtp.logins and smtp.sending == []  # logged in, sent nothing
    assert all(line(result.output, f"Taak {job.id}").startswith("✓") for job in JOBS)
    assert "1 versleutelde waarde, alle sleutels aanwezig" in line(result.output, "Sleutels in gebruik")
    assert result.output.splitlines()[-1].startswith("Alles in orde")


def test_json_parses_and_says_the_same(hub):
    result = run(hub, "--json")
    report = json.loads(result.output)
    assert result.exit_code == 0 and report["ok"] is True and report["language"] == "nl"
    ids = [check["id"] for check in report["checks"]]
    assert ids[:7] == ["config", "secrets", "database", "migrations", "redis", "smtp", "base_url"]
    assert ids[7] == "scheduler" and ids[-4:] == ["outbox", "dead_letters", "audit", "keys"]
    assert {check["status"] for check in report["checks"]} <= {"ok", "skip"}
    secrets_ = next(check for check in report["checks"] if check["id"] == "secrets")
    assert secrets_["data"]["field_keys"] == sorted(json.loads(Path(hub["SCHAKEL_SECRETS_FILE"]).read_text())
                                                    ["field_keys"])
    assert secrets_["data"]["metrics_token"] is True and "metrics-token ingesteld" in secrets_["detail"]
    for key in hub_keys(hub):  # key ids, never key material (nor the metrics token)
        assert key not in result.output


def hub_keys(env: dict[str, str]) -> list[str]:
    stored = json.loads(Path(env["SCHAKEL_SECRETS_FILE"]).read_text())
    return [*stored["field_keys"].values(), *stored["signing_keys"].values(), stored["blind_index_key"],
            stored["metrics_token"]]


def test_missing_secrets_file_names_the_path(hub, tmp_path):
    gone = tmp_path / "elders" / "secrets.json"
    result = run({**hub, "SCHAKEL_SECRETS_FILE": str(gone)})
    assert result.exit_code == 1
    assert f"✗ Geheimenbestand: {gone} bestaat niet" in result.output
    assert f"schakel init-secrets --path {gone}" in line(result.output, "Geheimenbestand")
    assert not gone.exists()  # the doctor writes no secrets file, not even in development
    assert line(result.output, "Sleutels in gebruik").startswith("– ")


def test_secrets_file_readable_by_others(hub):
    os.chmod(hub["SCHAKEL_SECRETS_FILE"], 0o644)
    result = run(hub)
    assert result.exit_code == 1 and failed(result.output) == ["Geheimenbestand"]
    assert "modus 0644" in line(result.output, "Geheimenbestand")
    assert f"chmod 600 {hub['SCHAKEL_SECRETS_FILE']}" in line(result.output, "Geheimenbestand")


@pytest.mark.parametrize("break_key, words", [
    (lambda s: s["field_keys"].update({s["field_key_current"]: "c2hvcnQga2V5"}), "veldsleutel {kid} werkt niet"),
    (lambda s: s["signing_keys"].update({s["signing_key_current"]: "bm9wZQ=="}), "ondertekeningssleutel {kid} werkt"),
])
def test_an_unusable_key(hub, break_key, words):
    path = Path(hub["SCHAKEL_SECRETS_FILE"])
    broken = copy.deepcopy(json.loads(path.read_text()))
    break_key(broken)
    write_secrets_file(path, broken)
    kid = broken["field_key_current"] if "veld" in words else broken["signing_key_current"]
    result = run(hub)
    assert result.exit_code == 1 and "Geheimenbestand" in failed(result.output)
    assert words.format(kid=kid) in line(result.output, "Geheimenbestand")


def test_database_that_does_not_answer_ends_in_seconds(hub, silent_port):
    url = f"postgresql+psycopg://schakel@127.0.0.1:{silent_port}/schakel"
    started = time.monotonic()
    result = run({**hub, "DATABASE_URL": url, "DATABASE_CONNECT_TIMEOUT": "2"})
    assert time.monotonic() - started < 10
    assert result.exit_code == 1 and failed(result.output) == ["Database"]
    assert "antwoordt niet" in line(result.output, "Database") and "DATABASE_CONNECT_TIMEOUT" in result.output
    for title in ("Migraties", "Planner", "Uitgaande berichten", "Sleutels in gebruik"):
        assert line(result.output, title).startswith("– ")


def test_closed_database_port_through_the_real_command(hub):
    """The installed ``schakel doctor``, as an operator types it: a clear line, no traceback."""
    env = {key: value for key, value in os.environ.items() if key not in CLEARED}
    env.update(hub, DATABASE_URL=f"postgresql+psycopg://schakel@127.0.0.1:{free_port()}/schakel",
               PYTHONPATH=str(ROOT))
    started = time.monotonic()
    completed = subprocess.run([str(Path(sys.executable).parent / "schakel"), "doctor"], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=60, check=False)
    seconds = time.monotonic() - started
    assert completed.returncode == 1 and seconds < 15, (seconds, completed.stdout, completed.stderr)
    assert "Traceback" not in completed.stdout + completed.stderr
    assert "antwoordt niet" in line(completed.stdout, "Database")


def test_migrations_behind(hub, app, session):
    with app.app_context():
        head = head_revision()
        from alembic.script import ScriptDirectory
        from flask import current_app

        script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
        previous = script.get_revision(head).down_revision
    session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": previous})
    session.commit()
    try:
        result = run(hub)
    finally:
        session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
        session.commit()
    assert result.exit_code == 1 and failed(result.output) == ["Migraties"]
    assert f"1 migratie achter: op {previous}, de nieuwste is {head}" in line(result.output, "Migraties")
    assert "schakel db upgrade" in line(result.output, "Migraties")


def test_redis_down(hub):
    result = run({**hub, "REDIS_URL": f"redis://:hunter2@127.0.0.1:{free_port()}/0"})
    assert result.exit_code == 1 and failed(result.output) == ["Redis"]
    assert "antwoordt niet" in line(result.output, "Redis")
    assert "hunter2" not in result.output  # the password is not printed


def test_smtp_down(hub):
    result = run({**hub, "SMTP_PORT": str(free_port())})
    assert result.exit_code == 1 and failed(result.output) == ["SMTP"]
    assert "Controleer SMTP_HOST" in line(result.output, "SMTP")


def test_http_base_url_in_production(hub):
    result = run({**hub, "SCHAKEL_BASE_URL": "http://schakel.test.example"})
    assert result.exit_code == 1 and failed(result.output) == ["Basis-URL"]
    assert "in productie moet het adres met https:// beginnen" in line(result.output, "Basis-URL")
    # outside production plain http is the developer's own business
    assert run({**hub, "SCHAKEL_BASE_URL": "http://127.0.0.1:5000", "SCHAKEL_ENV": "development"}).exit_code == 0


def test_stale_scheduler_heartbeat(hub, session):
    for beat in session.query(SchedulerHeartbeat):
        beat.beat_at = utcnow() - dt.timedelta(minutes=5)
    session.commit()
    result = run(hub)
    assert result.exit_code == 1 and failed(result.output) == ["Planner"]
    assert "geen hartslag sinds 5 min geleden" in line(result.output, "Planner")
    assert "schakel scheduler run" in line(result.output, "Planner")


def test_a_job_that_stopped_running(hub, session):
    run_ = session.query(JobRun).filter_by(job_id="outbox.deliver").one()
    run_.started_at = utcnow() - dt.timedelta(hours=2)
    session.commit()
    result = run(hub)
    assert failed(result.output) == ["Taak outbox.deliver"]
    assert "niet meer gedraaid sinds 2 uur geleden" in line(result.output, "Taak outbox.deliver")


def test_dead_letters(hub, session, keyring):
    message_id = uuid.uuid4()
    session.add(OutboxMessage(id=message_id, recipient="a@school.example", subject="Herinnering",
                              body_encrypted=keyring.encrypt("x", FieldRef("outbox_message", "body", str(message_id))),
                              status=OutboxStatus.dead, attempts=8))
    session.commit()
    result = run(hub)
    assert result.exit_code == 1 and failed(result.output) == ["Onbestelbare berichten"]
    assert "1 bericht is opgegeven na 8 pogingen" in line(result.output, "Onbestelbare berichten")
    assert "a@school.example" not in result.output


def test_unsealed_audit_events_older_than_the_lag(hub, session):
    event = record(session, system_principal(), action=AuditAction.create, event_type=StudentTag.create)
    event.occurred_at = utcnow() - dt.timedelta(minutes=10)
    session.commit()
    result = run(hub)
    assert result.exit_code == 1 and failed(result.output) == ["Auditlog verzegelen"]
    assert "1 gebeurtenis wacht op verzegeling, de oudste al 10 min" in line(result.output, "Auditlog verzegelen")
    assert "schakel audit seal" in line(result.output, "Auditlog verzegelen")


def test_a_key_id_in_use_but_not_in_the_file(hub, app):
    """A restore with the wrong secrets file: the data's key is not in it."""
    write_secrets_file(Path(hub["SCHAKEL_SECRETS_FILE"]), generate_secrets())
    kid = app.config["SECRETS"]["field_key_current"]
    result = run(hub)
    assert result.exit_code == 1 and failed(result.output) == ["Sleutels in gebruik"]
    assert (f"1 waarde is versleuteld met sleutel {kid}, die niet in het geheimenbestand staat"
            in line(result.output, "Sleutels in gebruik"))


def test_english_with_lang_option_and_from_the_environment(hub, english_compiled):
    by_option = run(hub, "--lang", "en")
    assert by_option.exit_code == 0
    assert line(by_option.output, "Secrets file").startswith("✓") and "All well" in by_option.output
    by_locale = run({**hub, "LANG": "en_US.UTF-8"})
    assert "✓ Secrets file:" in by_locale.output and "Geheimenbestand" not in by_locale.output
    failing = run({**hub, "LANG": "en_US.UTF-8", "SMTP_PORT": str(free_port())})
    assert "Check SMTP_HOST" in line(failing.output, "SMTP") and "1 of " in failing.output
    # LC_ALL outranks LANG (POSIX); a Dutch or unknown locale gives the default, Dutch
    assert "Geheimenbestand" in run({**hub, "LANG": "en_US.UTF-8", "LC_ALL": "nl_NL.UTF-8"}).output
    assert "Geheimenbestand" in run({**hub, "LANG": "C.UTF-8"}).output
    assert json.loads(run(hub, "--json", "--lang", "en").output)["checks"][1]["title"] == "Secrets file"


def test_a_configuration_the_app_refuses_is_still_reported(hub, tmp_path):
    """The app factory would stop at the first problem; the doctor reports each on its line."""
    result = run({**hub, "MAIL_BACKEND": "mailbox", "SCHAKEL_BASE_URL": "http://x.example",
                  "SCHAKEL_SECRETS_FILE": str(tmp_path / "nope.json")})
    assert set(failed(result.output)) == {"Configuratie", "Geheimenbestand", "Basis-URL"}
    assert "MAIL_BACKEND=mailbox is voor ontwikkeling" in line(result.output, "Configuratie")
    unreadable = run({**hub, "SESSION_IDLE_MINUTES": "dertig"})
    assert unreadable.exit_code == 1 and "SESSION_IDLE_MINUTES must be a whole number" in unreadable.output
