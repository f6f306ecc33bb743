"""No secret, password, reset token or BSN in application logs, request URLs or redirects,
through the flows that handle them: login, password reset, and registering a student."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import subprocess
import sys
import threading
import urllib.request
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from network.db import db
from network.models import OutboxMessage, Role, Student
from network.request_log import json_formatter, mask_query
from tests.conftest import post_form
from tests.factories import PASSWORD, OrganisationFactory, RegionFactory, login, make_member

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
    # every request left its line, and the JSON lines (LOG_FORMAT=json) carry no more than the text
    request_lines = [record for record in all_logs.records if record.name == "schakel.request"]
    assert len(request_lines) >= len(urls) // 2
    assert any(record.path == "/leerlingen/<uuid:student_id>" for record in request_lines)
    formatter = json_formatter()
    text += "\n" + "\n".join(formatter.format(record) for record in all_logs.records)
    for secret in (BSN, PASSWORD, "fout-wachtwoord-123", token, app.config["SECRET_KEY"], account.email, "Jansen",
                   student_url):
        assert secret not in text, "a secret or a personal detail reached the logs"
    for url in urls:
        assert BSN not in url and PASSWORD not in url
    # the reset link redirects away at once, so the token is in no later URL or page
    assert all(token not in url for url in urls[-1:])


def _access_log_of_a_real_server(app, path: str) -> tuple[int, str]:
    """GET ``path`` from the app on werkzeug's server (``schakel run``): the test client writes
    no access log, the server does."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="access-log-server", daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}{path}", timeout=10) as response:
            return response.status, response.read().decode()
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.mark.parametrize("typed", [BSN, "111.222.333", "111 222 333"])
def test_a_bsn_typed_into_a_search_box_stays_out_of_the_access_log(app, session, client, all_logs, typed):
    school = OrganisationFactory(region=RegionFactory(), school=True)
    login(client, make_member(Role.zorgcoordinator, school))
    assert client.get("/leerlingen", query_string={"q": typed}).status_code == 200  # the student search works

    status, html = _access_log_of_a_real_server(app, f"/sociale-kaart?{urlencode({'q': typed, 'pagina': 1})}")
    assert status == 200 and f'value="{typed}"' in html  # the sociale kaart's search still gets the text
    text = "\n".join(record.getMessage() for record in all_logs.records)
    assert "GET /sociale-kaart?q=[BSN]&pagina=1 HTTP/1.1" in text  # the request is logged, its BSN masked
    assert BSN not in re.sub(r"[ .+]", "", text.replace("%20", ""))  # nor with its separators taken out


def test_gunicorn_access_log_masks_a_bsn_in_the_query_and_the_referrer(app, caplog):
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    config = Config()
    config.set("accesslog", "-")
    gunicorn_log = Logger(config)  # gunicorn's own access logger, as a worker runs it (default format)
    caplog.set_level(logging.INFO, logger="gunicorn.access")
    gunicorn_log.access_log.addHandler(caplog.handler)
    try:
        query = "q=111.222.333&pagina=2"
        environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"/leerlingen?{query}", "PATH_INFO": "/leerlingen",
                   "QUERY_STRING": query, "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
                   "HTTP_REFERER": f"https://schakel.example/leerlingen?q={BSN}"}
        response = SimpleNamespace(status="200 OK", sent=512, headers=[])
        request = SimpleNamespace(headers=[("Referer", environ["HTTP_REFERER"])])
        gunicorn_log.access(response, request, environ, dt.timedelta(milliseconds=12))
    finally:
        gunicorn_log.access_log.removeHandler(caplog.handler)
        for handler in list(gunicorn_log.access_log.handlers):
            gunicorn_log.access_log.removeHandler(handler)
    [line] = [record.getMessage() for record in caplog.records if record.name == "gunicorn.access"]
    assert '"GET /leerlingen?q=[BSN]&pagina=2 HTTP/1.1" 200 512 "https://schakel.example/leerlingen?q=[BSN]"' in line
    assert "111.222.333" not in line and BSN not in line


@pytest.mark.parametrize(("query", "logged"), [
    ("q=Jansen&pagina=2", "q=Jansen&pagina=2"),  # names, and numbers that are no BSN, stay as typed
    ("q=123456789", "q=123456789"),  # nine digits that fail the 11-proef
    ("q=Sanne+111+222+333", "q=[BSN]"),  # a BSN inside other text masks the whole value
    ("categorie=werk&q=11122233-3", "categorie=werk&q=[BSN]"),
])
def test_only_query_values_that_hold_a_bsn_are_masked(query, logged):
    assert mask_query(query) == logged


def test_each_request_logs_one_line_with_its_template_status_and_duration(app, client, session, all_logs):
    school = OrganisationFactory(region=RegionFactory(), school=True)
    login(client, make_member(Role.zorgcoordinator, school))
    client.get("/leerlingen/42424242-4242-4242-4242-424242424242", headers={"X-Request-ID": "abcdef0123456789"})
    client.get("/bestaat-niet/jan.jansen@example.org")
    client.get("/healthz")
    [found] = [record for record in all_logs.records
               if record.name == "schakel.request" and record.request_id == "abcdef0123456789"]
    assert found.status == 404  # no such student: the route matched, the student did not
    assert (found.request_id, found.method, found.path) == ("abcdef0123456789", "GET", "/leerlingen/<uuid:student_id>")
    assert isinstance(found.duration_ms, float) and found.levelno == logging.INFO
    unmatched = [r for r in all_logs.records if r.name == "schakel.request" and r.path == "<geen route>"]
    assert len(unmatched) == 1 and "jan.jansen" not in unmatched[0].getMessage()
    probe = [r for r in all_logs.records if r.name == "schakel.request" and r.path == "/healthz"]
    assert probe[0].levelno == logging.DEBUG  # monitoring's probes do not bury the rest
    parsed = json.loads(json_formatter().format(found))
    assert {key: parsed[key] for key in ("level", "logger", "method", "path", "status", "request_id")} == {
        "level": "INFO", "logger": "schakel.request", "method": "GET", "path": "/leerlingen/<uuid:student_id>",
        "status": 404, "request_id": "abcdef0123456789"}
    assert "42424242" not in json.dumps(parsed)


def test_log_format_json_writes_json_lines_from_the_first_process_log(tmp_path):
    """A process whose root logger is not set up yet (gunicorn, ``schakel``) gets JSON lines."""
    script = (
        "from network import create_app\nfrom network.db import db\n"
        f"app = create_app({{'TESTING': True, 'SQLALCHEMY_DATABASE_URI': 'sqlite:///{tmp_path}/t.db', "
        "'LOG_FORMAT': 'json'})\n"
        "with app.app_context():\n    db.create_all()\n"
        "app.test_client().get('/bestaat-niet')\n"
    )
    env = {**os.environ, "SCHAKEL_INSTANCE_PATH": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60,
                            check=True)
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    [request_line] = [line for line in lines if line["logger"] == "schakel.request"]
    assert request_line["status"] == 404 and request_line["path"] == "<geen route>"
    assert all(line.startswith("{") for line in result.stderr.splitlines() if line.strip())
