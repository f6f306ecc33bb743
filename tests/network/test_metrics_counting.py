"""What ``/metrics`` counts where it happens: failed logins and lockouts, 429 refusals, outbox
deliveries by kind and outcome; that no label ever holds a person's data; the token command;
and the multiprocess mode, where every process writes its counts into one directory and a
scrape adds them up (in subprocesses: prometheus-client chooses its storage at import)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import stat
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy.orm import Session

from network.clock import utcnow
from network.config import generate_secrets, write_secrets_file
from network.db import db
from network.models import Role
from network.outbox import RecordingBackend, deliver_due, enqueue_email
from tests.conftest import extra_app, test_config
from tests.factories import OrganisationFactory, StudentFactory, login, make_member
from tests.network.test_auth_views import new_account, web_login
from tests.network.test_metrics import in_context, scrape, value
from tests.network.test_webhooks import partner, queue_event, subscribe  # noqa: F401 - partner is a fixture

ROOT = Path(__file__).resolve().parents[2]


def delta(before: dict, after: dict, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


# -- counted where it happens --------------------------------------------------------------------

def test_failed_logins_and_a_lockout_are_counted(app, client):
    account = new_account(app)
    before = scrape(client, app)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert web_login(client, account.email, "fout-fout-fout-fout").status_code == 400
    assert web_login(client, account.email).status_code == 400  # the right password, but locked
    assert web_login(client, "onbekend@voorbeeld.nl", "fout-fout-fout-fout").status_code == 400
    after = scrape(client, app)
    failures = app.config["LOGIN_MAX_FAILURES"]
    assert delta(before, after, "schakel_login_failures_total", reason="bad_password") == failures
    assert delta(before, after, "schakel_login_lockouts_total") == 1
    assert delta(before, after, "schakel_login_failures_total", reason="locked") == 1
    assert delta(before, after, "schakel_login_failures_total", reason="unknown_account") == 1


def test_a_429_is_counted_as_a_rate_limit_refusal(app, tmp_path):
    config = test_config(tmp_path, LOGIN_RATE_LIMIT="2 per minute",
                         SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    with extra_app(config) as limited:
        client = limited.test_client()
        before = scrape(client, limited)
        statuses = [web_login(client, "iemand@voorbeeld.nl", "fout-fout-fout-fout").status_code for _ in range(3)]
        after = scrape(client, limited)
    assert statuses == [400, 400, 429]
    assert delta(before, after, "schakel_rate_limit_refusals_total", endpoint="auth.login") == 1
    assert delta(before, after, "schakel_http_requests_total", endpoint="auth.login", method="POST", status="429") == 1


class Answers:
    """A webhook sender whose receiver answers these statuses, in turn."""

    def __init__(self, *statuses: int):
        self.statuses = list(statuses)

    def send(self, url: str, headers: dict[str, str], body: bytes) -> int:
        return self.statuses.pop(0)


def test_webhook_and_email_deliveries_are_counted_by_outcome(app, client, session, keyring, partner):
    subscribe(session, keyring, partner["principal"], "http://127.0.0.1:9/hooks")
    queue_event(session, keyring)
    enqueue_email(session, keyring, to="sanne@voorbeeld.nl", subject="Herinnering", body="Hallo")
    session.commit()
    mail = RecordingBackend()
    mail.fail_times = 1
    before = scrape(client, app)
    start = utcnow()
    for moment, answers in ((start, Answers(503)), (start + dt.timedelta(seconds=30), Answers(200))):
        deliver_due(lambda: Session(db.engine), keyring, mail, app.config, moment, webhook_sender=answers)
    after = scrape(client, app)
    for kind in ("webhook", "email"):
        assert delta(before, after, "schakel_outbox_deliveries_total", kind=kind, outcome="failed") == 1
        assert delta(before, after, "schakel_outbox_deliveries_total", kind=kind, outcome="sent") == 1
        assert delta(before, after, "schakel_outbox_deliveries_total", kind=kind, outcome="dead") == 0


# -- no person in a label ------------------------------------------------------------------------

#: a label value from the code: an endpoint name, a method, a reason, a kind, a job id
_NAME = re.compile(r"[a-z][a-z_.-]*|GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS")


def test_no_label_holds_an_address_an_id_a_name_or_a_path(app, client):
    def world():
        school = OrganisationFactory(school=True)
        staff = make_member(Role.zorgcoordinator, school, email="m.jansen@school.example", name="Marieke Jansen")
        student = StudentFactory(school=school, first_name="Femke", last_name="Zwanenburg",
                                 email="femke@leerling.example")
        enqueue_email(db.session, app.extensions["schakel.keyring"], to=staff.email, subject="Welkom", body="Hallo")
        db.session.commit()
        return staff, str(student.id), str(staff.id)

    staff, student_id, staff_id = in_context(app, world)
    web_login(client, "m.jansen@school.example", "fout-fout-fout-fout")
    web_login(client, "femke@leerling.example", "fout-fout-fout-fout")
    login(client, staff)
    assert client.get(f"/leerlingen/{student_id}").status_code == 200
    assert client.get(f"/leerlingen/{uuid.uuid4()}").status_code == 404
    client.get("/sociale-kaart", query_string={"q": "Femke Zwanenburg 123456782"})
    samples = scrape(client, app)
    personal = ("@", "/", "Femke", "Zwanenburg", "Marieke", "Jansen", "123456782", student_id, staff_id)
    labels = [(name, key, val) for name, pairs in samples for key, val in pairs]
    assert any(val == "students.detail" for _, key, val in labels)  # counted, under its endpoint name
    for name, key, val in labels:
        if key == "status":
            assert re.fullmatch(r"[1-5]\d\d", val), (name, key, val)
        elif key == "le":
            float(val)
        else:
            assert _NAME.fullmatch(val), (name, key, val)
            assert not any(part in val for part in personal), (name, key, val)
            assert not re.search(r"\d", val), (name, key, val)


# -- the token ------------------------------------------------------------------------------------

def test_the_token_command_adds_a_token_to_an_older_secrets_file(app, tmp_path):
    secrets_file = tmp_path / "secrets.json"
    write_secrets_file(secrets_file, {k: v for k, v in generate_secrets().items() if k != "metrics_token"})
    config = test_config(tmp_path, SECRETS=None, SECRETS_FILE=str(secrets_file),
                         SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    with extra_app(config) as hub:
        runner = hub.test_cli_runner()
        assert "metrics token: not set" in runner.invoke(args=["keys", "status"]).output
        first = runner.invoke(args=["keys", "metrics-token"])
        assert first.exit_code == 0, first.output
        token = json.loads(secrets_file.read_text())["metrics_token"]
        assert len(token) >= 43 and first.stdout.strip() == token and "restart" in first.stderr
        again = runner.invoke(args=["keys", "metrics-token"])  # shows the token, changes nothing
        assert again.stdout.strip() == token and again.stderr == ""
        written = runner.invoke(args=["keys", "metrics-token", "--output", str(tmp_path / "prometheus" / "token")])
        assert written.exit_code == 0 and token not in written.output
        assert (tmp_path / "prometheus" / "token").read_text() == token + "\n"
        assert stat.S_IMODE(os.stat(tmp_path / "prometheus" / "token").st_mode) == 0o600
        rotated = runner.invoke(args=["keys", "metrics-token", "--rotate"])
        new = rotated.stdout.strip()
        assert new != token and json.loads(secrets_file.read_text())["metrics_token"] == new
    assert stat.S_IMODE(os.stat(secrets_file).st_mode) == 0o600
    with extra_app(config) as restarted:  # the new token is read at start
        response = restarted.test_client().get("/metrics", headers={"Authorization": f"Bearer {new}"})
        assert response.status_code == 200
        assert "metrics token: set" in restarted.test_cli_runner().invoke(args=["keys", "status"]).output


# -- several processes -----------------------------------------------------------------------------

_PROCESS = """
import json, sys
from network import create_app
role, url, secrets_file = sys.argv[1:4]
app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRETS": json.load(open(secrets_file)),
                  "MAIL_BACKEND": "null", "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False}})
client = app.test_client()
if role == "worker":
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    assert client.get("/wachtwoord-herstellen/x").status_code == 404
else:
    token = app.config["SECRETS"]["metrics_token"]
    print(client.get("/metrics", headers={"Authorization": "Bearer " + token}).get_data(as_text=True))
"""


def _process(role: str, url: str, secrets_file: Path, directory: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory), "PYTHONPATH": str(ROOT),
           "SCHAKEL_INSTANCE_PATH": str(directory.parent)}
    done = subprocess.run([sys.executable, "-c", _PROCESS, role, url, str(secrets_file)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done


def test_with_the_multiprocess_directory_a_scrape_adds_up_every_process(app, tmp_path):
    """Two processes that ran before count in a third one's scrape; their live gauges (the
    database pool) left with them (``mark_process_dead`` at exit), their counters stay. The
    directory is made by the first process that needs it."""
    directory = tmp_path / "metrics"
    secrets_file = tmp_path / "secrets.json"
    write_secrets_file(secrets_file, generate_secrets())
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    for _ in range(2):
        _process("worker", url, secrets_file, directory)
    assert sorted(path.name.split("_")[0] for path in directory.iterdir()) == ["counter", "counter", "histogram",
                                                                               "histogram"]
    text = _process("scraper", url, secrets_file, directory).stdout
    assert 'schakel_http_requests_total{endpoint="main.healthz",method="GET",status="200"} 6.0' in text
    assert 'schakel_http_requests_total{endpoint="auth.reset_link",method="GET",status="404"} 2.0' in text
    assert 'schakel_http_request_duration_seconds_count{endpoint="main.healthz",method="GET"} 6.0' in text
    assert "schakel_db_pool_size 5.0" in text  # the scraper's pool only: the others ended
    assert "schakel_scheduler_healthy 0.0" in text and "schakel_outbox_pending_messages 0.0" in text


def test_an_empty_multiprocess_setting_means_none():
    """A blank ``PROMETHEUS_MULTIPROC_DIR=`` in an env file must not send prometheus-client's
    files into the working directory."""
    code = ("import network.metrics as m, prometheus_client.values as v; "
            "print(v.ValueClass.__name__, m.MULTIPROCESS_DIR)")
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": ""},
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stdout.split() == ["MutexValue", "None"], done.stderr
