"""The hub served as in production, for the reliability tests: gunicorn with gthread workers
(README, Production) on a database of its own (a SQLite file, or a new PostgreSQL database on
the server of ``TEST_DATABASE_URL``), migrated with ``schakel db upgrade``, behind a simulated
TLS proxy (``X-Forwarded-Proto: https``), with its own secrets file."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from network.config import generate_secrets, write_secrets_file
from tests.conftest import TEST_DATABASE_URL

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HTTPS = {"X-Forwarded-Proto": "https"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _admin_url() -> str:
    return TEST_DATABASE_URL.replace("postgresql+psycopg://", "postgresql://", 1)


@contextmanager
def own_database(tmp: Path):
    """A fresh empty database URL for the served hub, dropped afterwards."""
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp / 'served.db'}"
        return
    import psycopg

    name = f"reliability_{secrets.token_hex(4)}"
    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = TEST_DATABASE_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(_admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def environment(url: str, tmp: Path) -> tuple[dict[str, str], dict]:
    """The production environment of the served hub, and its secrets."""
    secret_values = generate_secrets()
    path = tmp / "secrets.json"
    write_secrets_file(path, secret_values)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SCHAKEL_", "DATABASE_URL", "REDIS_URL", "MAIL_", "SMTP_", "TEST_DATABASE_URL"))}
    env.update({"SCHAKEL_ENV": "production", "DATABASE_URL": url, "SCHAKEL_SECRETS_FILE": str(path),
                "SCHAKEL_INSTANCE_PATH": str(tmp), "SCHAKEL_BASE_URL": "https://schakel.test.example",
                "MAIL_BACKEND": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": "9", "SCHAKEL_PROXY_HOPS": "1",
                "API_CLIENT_RATE_LIMIT": "1000000 per minute", "TOKEN_RATE_LIMIT": "1000000 per minute",
                "PYTHONPATH": str(ROOT)})
    return env, secret_values


def schakel(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "schakel"), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


class Hub:
    """``gunicorn -w WORKERS -k gthread --threads 4`` on a free port."""

    def __init__(self, env: dict[str, str], log: Path, workers: int = 2, args: tuple[str, ...] = ()):
        self.env, self.log_path, self.workers_wanted, self.args = env, log, workers, args
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def start(self, timeout: float = 60) -> Hub:
        self.port = free_port()
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), *self.args, "-w", str(self.workers_wanted), "-k", "gthread", "--threads", "4",
             "--graceful-timeout", "5", "-b", f"127.0.0.1:{self.port}", "network:create_app()"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                if self.request("GET", "/healthz", timeout=2)[0] == 200 and len(self.workers()) == self.workers_wanted:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the hub did not come up in {timeout} s:\n{self.tail()}")

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def workers(self) -> list[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def kill_worker(self) -> int:
        pid = self.workers()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def kill_all(self) -> None:
        """kill -9 of the whole server: the master and every worker, at once."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def request(self, method: str, path: str, *, body: dict | None = None, headers: dict | None = None,
                timeout: float = 15) -> tuple[int, dict[str, str], bytes]:
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {**HTTPS, **(headers or {})}
        if data is not None:
            all_headers.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                         headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def token(self, client_id: str, secret: str) -> str:
        import base64
        import urllib.parse

        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/oauth/token", method="POST",
            data=urllib.parse.urlencode({"grant_type": "client_credentials"}).encode(),
            headers={**HTTPS, "Authorization": f"Basic {basic}",
                     "Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(request, timeout=15) as response:
            return json.loads(response.read())["access_token"]
