"""The harness's driver: database, seed, servers, load, audit verify, report.

HTTPS: production (``SCHAKEL_ENV=production``) forces an HTTPS redirect and ``Secure``
``__Host-`` cookies (Talisman, network/__init__.py). The bench keeps every production setting
and does what the README's production section does: the hub sits behind one TLS-terminating
proxy (``SCHAKEL_PROXY_HOPS=1``) and every request carries ``X-Forwarded-Proto: https``, as the
proxy would send. TLS itself is not measured (the proxy's work, not the hub's).

Actors: the load school's staff and the measured gemeente's staff log in through the login
form (one session each); the JSON API is called with access tokens the harness gets from
``/oauth/token`` (client credentials, HTTP Basic) for the load school's and the gemeente's API
clients, as their partner systems would. Rate limits are raised (``RAISED_LIMITS``), not off.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import html
import http.client
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from network import clock

ROOT = Path(__file__).resolve().parents[3]
RESULTS = ROOT / "tests" / "bench" / "results"
PG_DB = "bench_h8"
FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "127.0.0.1"}
# README, Production, step 5 (the settings file counts /metrics over the workers)
GUNICORN_ARGS = ["-c", "python:network.gunicorn_conf", "-w", "4", "-k", "gthread", "--threads", "4"]
#: the only production settings the bench changes (see base_env)
RAISED_LIMITS = {"LOGIN_RATE_LIMIT": "1000000 per minute", "VERIFY_RATE_LIMIT": "1000000 per minute",
                 "TOKEN_RATE_LIMIT": "1000000 per minute", "API_CLIENT_RATE_LIMIT": "1000000 per minute"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _bin(name: str) -> str:
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else (shutil.which(name) or name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- database ------------------------------------------------------------------------------------

@contextmanager
def fresh_database(kind: str, tmp: Path, keep: bool):
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'bench.db'}"
        return
    import psycopg

    if PG_DB in {"test", "postgres"} or PG_DB.startswith("test_h") or not re.fullmatch(r"[a-z_][a-z0-9_]*", PG_DB):
        raise SystemExit(f"refusing to (re)create the PostgreSQL database {PG_DB!r}")
    with psycopg.connect("dbname=postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")
    try:
        yield f"postgresql+psycopg:///{PG_DB}"
    finally:
        if not keep:
            with psycopg.connect("dbname=postgres", autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")


def database_version(url: str) -> str:
    if url.startswith("sqlite"):
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    import psycopg

    with psycopg.connect(f"dbname={PG_DB}") as conn:
        return conn.execute("SHOW server_version").fetchone()[0].split()[0].join(["PostgreSQL ", ""])


# -- HTTP helpers (the second process's login, CSRF and probes) --------------------------------

class Http:
    def __init__(self, port: int, cookie_name: str = "__Host-schakel"):
        self.port, self.cookie_name = port, cookie_name

    def request(self, method: str, path: str, cookie: str | None = None, form: dict | None = None,
                headers: dict[str, str] | None = None, json_body: Any = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {**FORWARDED, **(headers or {})}
        if cookie:
            headers["Cookie"] = f"{self.cookie_name}={cookie}"
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"https://127.0.0.1:{self.port}/"
        if json_body is not None:
            body = json.dumps(json_body)
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read().decode("utf-8", "replace")
        new_cookie = cookie
        for name, value in response.getheaders():
            if name.lower() == "set-cookie" and value.startswith(self.cookie_name + "="):
                new_cookie = value.split(";", 1)[0].split("=", 1)[1] or None
        conn.close()
        return response.status, response.getheader("Location") or "", data, new_cookie

    def anonymous_session(self) -> tuple[str, str]:
        status, _, body, cookie = self.request("GET", "/inloggen")
        match = CSRF.search(body)
        if status != 200 or not match or not cookie:
            raise RuntimeError(f"login page: status {status}, csrf {bool(match)}, cookie {bool(cookie)}")
        return cookie, html.unescape(match.group(1))

    def token(self, client_id: str, secret: str) -> str:
        """An access token from ``/oauth/token``: a real client-credentials request (HTTP Basic)."""
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        status, _, body, _ = self.request("POST", "/oauth/token", form={"grant_type": "client_credentials"},
                                          headers={"Authorization": f"Basic {basic}"})
        if status != 200:
            raise RuntimeError(f"token for {client_id}: {status} {body[:200]}")
        return json.loads(body)["access_token"]

    def login(self, email: str, password: str, form_path: str | None = "/leerlingen/nieuw") -> tuple[str, str]:
        """Log in through the real form; returns the session cookie and its CSRF token (taken
        from the form at ``form_path``; none for ``None``)."""
        cookie, token = self.anonymous_session()
        status, location, _, cookie = self.request("POST", "/inloggen", cookie,
                                                   {"email": email, "password": password, "csrf_token": token})
        if status != 302 or "inloggen" in location:
            raise RuntimeError(f"login of {email} failed: {status} {location}")
        if form_path is None:
            return cookie, ""
        status, _, body, cookie = self.request("GET", form_path, cookie)
        match = CSRF.search(body)
        if status != 200 or not match:
            raise RuntimeError(f"form after login: {status}")
        return cookie, html.unescape(match.group(1))


# -- servers -----------------------------------------------------------------------------------

class Server:
    def __init__(self, app_spec: str, env: dict[str, str], log_path: Path):
        self.port = free_port()
        self.log = open(log_path, "w")
        # the web server's counts for /metrics (README, Monitoring), next to its log; not for the CLI commands
        env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(log_path.parent / f"metrics-{self.port}")}
        self.proc = subprocess.Popen(
            [_bin("gunicorn"), *GUNICORN_ARGS, "-b", f"127.0.0.1:{self.port}", app_spec],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait(self, path: str, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}; see {self.log.name}")
            try:
                status, *_ = Http(self.port).request("GET", path)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"server did not answer {path} in {timeout}s")

    def workers(self) -> list[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def peak_rss_mb(self) -> dict[str, float]:
        """VmHWM (peak resident set) of each worker, in MB."""
        peaks = {}
        for pid in self.workers():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peaks[str(pid)] = round(int(line.split()[1]) / 1024, 1)
            except FileNotFoundError:
                pass
        return peaks

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


# -- wrk ---------------------------------------------------------------------------------------

def ensure_wrk() -> str | None:
    path = shutil.which("wrk")
    if path:
        return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("wrk missing: apt-get install -y wrk")
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, capture_output=True)
        return shutil.which("wrk")
    log("wrk is not installed and this is not root: install Debian's wrk package; load runs are skipped")
    return None


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    return round(float(match.group(1)) * _UNITS[match.group(2)], 3) if match else float("nan")


def parse_wrk(output: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if m := re.search(r"PERCENTILES (\d+) (\d+) (\d+)", output):
        result["p50_ms"], result["p95_ms"], result["p99_ms"] = (round(int(v) / 1000, 2) for v in m.groups())
    if m := re.search(r"Requests/sec:\s+([\d.]+)", output):
        result["rps"] = float(m.group(1))
    if m := re.search(r"(\d+) requests in ([\d.]+\w+)", output):
        result["requests"] = int(m.group(1))
    if m := re.search(r"^\s+90%\s+(\S+)", output, re.MULTILINE):
        result["p90_ms"] = _ms(m.group(1))
    statuses: dict[str, int] = {}
    for code, count in re.findall(r"STATUS (\d+) (\d+)", output):
        statuses[code] = statuses.get(code, 0) + int(count)
    if statuses:
        result["statuses"] = statuses
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["non_2xx_3xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    result["socket_errors"] = sum(map(int, m.groups())) if m else 0
    return result


FORM = "application/x-www-form-urlencoded"


def lua_script(requests: list[dict[str, Any]], threads: int, path: Path) -> Path:
    """A wrk script that cycles through ``requests``; thread k takes k, k+threads, ... so that
    writes (one consent per withdrawal, one fresh session per login) are never repeated.
    A request: ``method``, ``path``, optional ``cookie``, ``body`` (with ``content_type``, form
    by default) and ``headers`` (e.g. ``Authorization: Bearer``)."""
    def q(value: str) -> str:
        return json.dumps(value)

    def extra(r: dict[str, Any]) -> str:
        return "{" + ", ".join(f"[{q(k)}]={q(v)}" for k, v in (r.get("headers") or {}).items()) + "}"

    rows = ",\n".join("{" + f"m={q(r['method'])}, p={q(r['path'])}, c={q(r.get('cookie') or '')}, "
                      f"b={q(r.get('body') or '')}, t={q(r.get('content_type') or FORM)}, h={extra(r)}" + "}"
                      for r in requests)
    forwarded = ", ".join(f"[{q(k)}]={q(v)}" for k, v in FORWARDED.items())
    path.write_text(f"""
local reqs = {{
{rows}
}}
local created = 0
local threads = {{}}
function setup(thread)
  thread:set("tid", created)
  created = created + 1
  table.insert(threads, thread)
end
function init(args)
  counter = tid or 0
  statuses = {{}}
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function request()
  local r = reqs[(counter % #reqs) + 1]
  counter = counter + {threads}
  local h = {{{forwarded}}}
  if r.c ~= "" then h["Cookie"] = r.c end
  for k, v in pairs(r.h) do h[k] = v end
  if r.b ~= "" then
    h["Content-Type"] = r.t
    h["Referer"] = REFERER
    return wrk.format(r.m, r.p, h, r.b)
  end
  return wrk.format(r.m, r.p, h)
end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do io.write(string.format("STATUS %d %d\\n", code, n)) end
  end
  io.write(string.format("PERCENTILES %d %d %d\\n", latency:percentile(50), latency:percentile(95),
                         latency:percentile(99)))
end
""")
    return path


#: wrk's --latency table has no p95; every script prints p50/p95/p99 (microseconds) itself.
DONE = """
function done(summary, latency, requests)
  io.write(string.format("PERCENTILES %d %d %d\\n", latency:percentile(50), latency:percentile(95),
                         latency:percentile(99)))
end
"""


def static_script(path: Path) -> Path:
    """For a fixed request: only the forwarded headers and the percentile printer."""
    headers = "\n".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in FORWARDED.items())
    path.write_text(headers + "\n" + DONE)
    return path


def run_wrk(wrk: str, port: int, path: str, args: argparse.Namespace, script: Path | None = None,
            duration: float | None = None) -> dict[str, Any]:
    cmd = [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{duration or args.duration:g}s", "--latency",
           "--timeout", "10s"]
    temporary = script is None
    if script is None:
        fd, name = tempfile.mkstemp(suffix=".lua")
        os.close(fd)
        script = static_script(Path(name))
    text = script.read_text().replace("REFERER", json.dumps(f"https://127.0.0.1:{port}/"))
    script.write_text(text)
    cmd += ["-s", str(script)]
    cmd.append(f"http://127.0.0.1:{port}{path if temporary else '/'}")
    try:
        completed = subprocess.run(cmd, capture_output=True, text=True, timeout=(duration or args.duration) + 60,
                                   check=False)
    finally:
        if temporary:
            script.unlink()
    result = parse_wrk(completed.stdout)
    result["command"] = " ".join(c if " " not in c else repr(c) for c in cmd)
    if completed.returncode != 0:
        result["error"] = completed.stderr.strip()[:300]
    return result


# -- the run -----------------------------------------------------------------------------------

def base_env(url: str, secrets: Path, instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCHAKEL_", "DATABASE_URL", "REDIS_URL",
                                                                    "MAIL_", "SMTP_", "LOGIN_"))}
    env.update({
        "SCHAKEL_ENV": "production",
        "DATABASE_URL": url,
        "SCHAKEL_SECRETS_FILE": str(secrets),
        "SCHAKEL_INSTANCE_PATH": str(instance),
        "SCHAKEL_BASE_URL": "https://schakel.bench.example",
        "MAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": "9",  # nothing is delivered: no scheduler runs during the bench
        "SCHAKEL_PROXY_HOPS": "1",
        # The bench's one deviation from production settings: the rate limits. wrk sends every
        # request from 127.0.0.1 and with one token per client, so the login limit (20/minute per
        # address), the verification limit (60/minute), the token endpoint's (30/minute) and the
        # per-client API limit (1200/minute) would measure the limiter's 429s, not the hub. They
        # stay on (each request still counts against them, in Redis when it runs) with limits
        # no load reaches.
        **RAISED_LIMITS,
        "PYTHONPATH": str(ROOT),
    })
    if _redis_up():
        env["REDIS_URL"] = "redis://127.0.0.1:6379/8"  # README: Redis for rate limits
    return env


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def machine() -> dict[str, Any]:
    mem = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal:")), 0)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            check=False)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True, check=False)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"nproc": os.cpu_count(), "memory_gib": round(mem / 1024 / 1024, 1), "cpu": cpu,
            "python": platform.python_version(), "commit": commit.stdout.strip(),
            "uncommitted_changes": bool(dirty.stdout.strip())}


def main(argv: list[str] | None = None) -> int:
    global PG_DB
    parser = argparse.ArgumentParser(prog="python -m tests.bench.harness")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--factor", type=float, default=0.01)
    parser.add_argument("--duration", type=float, default=10, help="seconds of wrk per endpoint")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--bsn-fraction", type=float, default=0.01)
    parser.add_argument("--login-sessions", type=int, default=600,
                        help="fresh anonymous sessions prepared for the login load (one per attempt)")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database afterwards")
    parser.add_argument("--pg-database", default=os.environ.get("SCHAKEL_BENCH_PG_DB", PG_DB),
                        help=f"the PostgreSQL database to (re)create and drop (default {PG_DB}, or "
                             "SCHAKEL_BENCH_PG_DB)")
    parser.add_argument("--baseline", type=Path,
                        help="the JSON report of a run at a smaller factor: p95 growth per endpoint (target ≤ 2x)")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--label", default="",
                        help="appended to the report's file name, e.g. the machine: 2026-12-05-postgresql-f1-epyc")
    parser.add_argument("--no-profile", dest="profile", action="store_false",
                        help="skip the in-process profile of each endpoint (where the time goes)")
    parser.add_argument("--single-duration", type=float, default=5,
                        help="seconds of the one-connection latency pass per read endpoint")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bar while seeding (on a terminal it shows rows loaded and the time left)")
    parser.add_argument("--report-only", type=Path, metavar="JSON",
                        help="write the markdown of an existing JSON report again (with --baseline: its growth) "
                             "and exit; nothing is measured")
    args = parser.parse_args(argv)
    PG_DB = args.pg_database
    if args.report_only:
        return rerender(args.report_only, args.baseline)

    started = time.perf_counter()
    report: dict[str, Any] = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "db": args.db,
                              "factor": args.factor, "machine": machine(),
                              "load": {"tool": "wrk", "threads": args.threads, "connections": args.connections,
                                       "duration_s": args.duration},
                              "gunicorn": "gunicorn " + " ".join(GUNICORN_ARGS) + " -b 127.0.0.1:<free port>",
                              "https": "production settings behind a simulated TLS proxy: SCHAKEL_PROXY_HOPS=1 and "
                                       "X-Forwarded-Proto: https on every request",
                              "rate_limits": {**RAISED_LIMITS, "note": "raised from the production defaults "
                                              "(login 20, verification 60, token 30, API client 1200 per minute) so "
                                              "wrk from one address with one token per client measures the hub, "
                                              "not 429s; the limiter still counts every request"},
                              "not_measured": {}}
    with tempfile.TemporaryDirectory(prefix="schakel-bench-") as tmpdir:
        tmp = Path(tmpdir)
        secrets = tmp / "secrets.json"
        subprocess.run([_bin("schakel"), "init-secrets", "--path", str(secrets)], check=True, cwd=ROOT,
                       capture_output=True)
        with fresh_database(args.db, tmp, args.keep) as url:
            env = base_env(url, secrets, tmp)
            report["database"] = database_version(url)
            report["rate_limit_storage"] = env.get("REDIS_URL", "memory://")
            log(f"{report['database']}: schakel db upgrade")
            step = time.perf_counter()
            subprocess.run([_bin("schakel"), "db", "upgrade"], check=True, cwd=ROOT, env=env, capture_output=True)
            report["migrate_s"] = round(time.perf_counter() - step, 2)

            os.environ.update(env)  # this process builds the same app, for seeding and SQL counting
            from network import create_app
            from network.progress import progress
            from tests.bench.harness import seed as seeding
            from tests.bench.harness.sqlcount import count_statements

            app = create_app()
            log(f"seeding factor {args.factor}: {seeding.scaled(args.factor)}")
            step = time.perf_counter()
            with progress("seeding (rows)", quiet=args.quiet) as on_progress:
                seeded = seeding.seed(app, args.factor, bsn_fraction=args.bsn_fraction,
                                      login_accounts=args.login_sessions, on_progress=on_progress)
            report["seed"] = {"counts": seeded.counts, "seconds": {k: round(v, 2) for k, v in seeded.seconds.items()},
                              "total_s": round(time.perf_counter() - step, 2),
                              "load_school_students": len(seeded.student_ids)}
            log(f"seeded in {report['seed']['total_s']} s: {seeded.counts}")

            log("counting SQL statements per request (in-process test client)")
            report["sql"] = count_statements(app, seeded, seeding.PASSWORD)
            if args.profile:
                from tests.bench.harness.profile import profile_endpoints

                log("profiling requests in process (cProfile)")
                report["profile"] = profile_endpoints(app, seeded, seeding.PASSWORD)

            wrk = ensure_wrk()
            endpoints: dict[str, Any] = {}
            rss: dict[str, Any] = {}
            if wrk:
                endpoints, rss = load(wrk, args, env, tmp, seeded, seeding.PASSWORD, url, report["not_measured"])
            else:
                report["not_measured"]["load"] = "wrk not installed"
            report["endpoints"], report["rss_mb"] = endpoints, rss
            report["audit"] = audit_verify(env)
    if args.baseline:
        report["baseline"] = growth(json.loads(args.baseline.read_text()), report)
    report["total_s"] = round(time.perf_counter() - started, 1)
    md = markdown(report)
    args.results.mkdir(parents=True, exist_ok=True)
    stem = f"{clock.today().isoformat()}-{args.db}-f{args.factor:g}" + (f"-{args.label}" if args.label else "")
    (args.results / f"{stem}.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    (args.results / f"{stem}.md").write_text(md)
    print(md)
    log(f"wrote {args.results / stem}.json and .md in {report['total_s']} s")
    return 0


def rerender(path: Path, baseline: Path | None) -> int:
    """The markdown of a JSON report, made again by this version of the harness."""
    report = json.loads(path.read_text())
    if baseline:
        report["baseline"] = growth(json.loads(baseline.read_text()), report)
        path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    path.with_suffix(".md").write_text(markdown(report))
    log(f"wrote {path.with_suffix('.md')}")
    return 0


def measure_ceiling(wrk: str, args, env, tmp: Path, endpoints: dict[str, Any], rss: dict[str, Any],
                    name: str = "ceiling") -> None:
    """The bare Flask app (and its one-SELECT variant) under the same gunicorn command."""
    log(f"{name}: bare Flask under the same gunicorn command")
    ceiling = Server("tests.bench.harness.ceiling:app", env, tmp / f"{name}.log")
    try:
        ceiling.wait("/")
        run_wrk(wrk, ceiling.port, "/", args, duration=2)  # warm-up
        endpoints[name] = {"kind": "ceiling", "path": "/", **run_wrk(wrk, ceiling.port, "/", args)}
        if name == "ceiling":
            run_wrk(wrk, ceiling.port, "/query", args, duration=1)  # warm-up
            endpoints["ceiling_one_query"] = {"kind": "reference", "path": "/query: the bare app + one SELECT",
                                              **run_wrk(wrk, ceiling.port, "/query", args)}
            rss["ceiling"] = ceiling.peak_rss_mb()
    finally:
        ceiling.stop()
    log(f"{name}: {endpoints[name].get('rps')} req/s")


def load(wrk: str, args, env, tmp: Path, seeded, password: str, url: str, not_measured: dict[str, str]):
    endpoints: dict[str, Any] = {}
    rss: dict[str, Any] = {}
    measure_ceiling(wrk, args, env, tmp, endpoints, rss)

    hub = Server("network:create_app()", env, tmp / "hub.log")
    try:
        hub.wait("/healthz")
        client = Http(hub.port)
        sessions = [client.login(email, password) for email in seeded.load_emails]

        def cookie(i: int) -> str:
            return f"__Host-schakel={sessions[i % len(sessions)][0]}"

        partners = [client.login(email, password, None)[0] for email in seeded.partner_emails]

        def partner(i: int) -> str:
            return f"__Host-schakel={partners[i % len(partners)]}"

        # real client-credentials requests, one token per load organisation's client
        tokens = {who: client.token(client_id, secret) for who, (client_id, secret) in seeded.api_clients.items()}

        def auth(who: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {tokens[who]}"}

        students = seeded.student_ids[:500]
        details = seeded.referral_detail_ids
        codes = seeded.verify_codes
        # (name, kind, path as reported, requests or None for one anonymous GET of the path, probe status)
        plan: list[tuple[str, str, str, Any]] = [
            ("healthz", "read", "/healthz", None),
            ("hsds_services", "read", "/hsds/services", None),
            ("socialmap_search_html", "read", "/sociale-kaart?q=werk", None),
            ("socialmap_search_api", "read", "/hsds/services?search=werk", None),
            ("student_list", "read", "/leerlingen",
             [{"method": "GET", "path": "/leerlingen", "cookie": cookie(i)} for i in range(len(sessions))]),
            ("student_detail", "read", "/leerlingen/<id>",
             [{"method": "GET", "path": f"/leerlingen/{sid}", "cookie": cookie(i)} for i, sid in enumerate(students)]),
            ("inbox_html", "read", "/inbox",
             [{"method": "GET", "path": "/inbox", "cookie": partner(i)} for i in range(len(partners))]),
            ("referral_detail_html", "read", "/inbox/<id>",
             [{"method": "GET", "path": f"/inbox/{rid}", "cookie": partner(i)} for i, rid in enumerate(details)]),
            ("api_referral_inbox", "read", "/api/v1/referrals (Bearer)",
             [{"method": "GET", "path": "/api/v1/referrals", "headers": auth("gemeente")}]),
            ("api_referral_detail", "read", "/api/v1/referrals/<id> (Bearer)",
             [{"method": "GET", "path": f"/api/v1/referrals/{rid}", "headers": auth("gemeente")}
              for rid in details]),
            ("agreement_verify_html", "read", "/controle/<code>",
             [{"method": "GET", "path": f"/controle/{code}"} for code in codes]),
            ("api_agreement_verify", "read", "/api/v1/agreement-verifications/<code>",
             [{"method": "GET", "path": f"/api/v1/agreement-verifications/{code}"} for code in codes]),
        ]
        for name, kind, path, requests in plan:
            if requests is not None and not requests:
                not_measured[name] = "nothing seeded to request (raise the factor)"
                continue
            probe = requests[0] if requests else {"method": "GET", "path": path}
            status, location, body, _ = client.request(
                "GET", probe["path"], (probe.get("cookie") or "").partition("=")[2] or None,
                headers=probe.get("headers"))
            if status != 200:
                raise RuntimeError(f"probe of {name} ({probe['path']}): {status} {location} {body[:300]}")
            if ((name == "agreement_verify_html" and ("verdict-bad" in body or "geldig" not in body))
                    or (name == "api_agreement_verify" and json.loads(body).get("valid") is not True)):
                raise RuntimeError(f"probe of {name}: the agreement does not verify as valid (geldig)")
            log(f"load {name}")
            one = argparse.Namespace(**{**vars(args), "threads": 1, "connections": 1})
            if requests is None:
                run_wrk(wrk, hub.port, path, args, duration=1)  # warm-up
                result = run_wrk(wrk, hub.port, path, args)
                single = run_wrk(wrk, hub.port, path, one, duration=args.single_duration)
            else:
                script = lua_script(requests, args.threads, tmp / f"{name}.lua")
                result = run_wrk(wrk, hub.port, path, args, script)
                single = run_wrk(wrk, hub.port, path, one, lua_script(requests, 1, tmp / f"{name}-1.lua"),
                                 duration=args.single_duration)
            # the latency of one request when it does not queue behind 15 others (wrk -c1)
            endpoints[name] = {"kind": kind, "path": path, **result,
                               "single": {k: single.get(k) for k in ("rps", "p50_ms", "p95_ms", "p99_ms",
                                                                     "non_2xx_3xx")}}

        # writes: consent withdrawal (staff record it for the student), one distinct consent each
        rss["hub_after_reads"] = hub.peak_rss_mb()
        ids = seeded.withdraw_consent_ids
        log(f"load consent_withdraw ({len(ids)} active consents available)")
        before = _count(url, "SELECT count(*) FROM consent WHERE status = 'withdrawn'")
        withdraws = [{"method": "POST", "path": f"/toestemmingen/{cid}/intrekken-namens-leerling",
                      "cookie": cookie(i),
                      "body": urllib.parse.urlencode({"csrf_token": sessions[i % len(sessions)][1]})}
                     for i, cid in enumerate(ids)]
        result = run_wrk(wrk, hub.port, "/toestemmingen/<id>/intrekken-namens-leerling", args,
                         lua_script(withdraws, args.threads, tmp / "withdraw.lua"))
        done = _count(url, "SELECT count(*) FROM consent WHERE status = 'withdrawn'") - before
        result["withdrawn_in_db"] = done
        if result.get("requests", 0) > len(ids):
            result["note"] = (f"only {len(ids)} active consents at the load school: requests beyond that hit the "
                              "already-withdrawn path (409 handled as a redirect)")
        endpoints["consent_withdraw"] = {"kind": "write", "path": "/toestemmingen/<id>/intrekken-namens-leerling",
                                         **result}

        # create referral: the school's partner system through the API (the HTML wizard takes five steps)
        create = create_requests(seeded, auth("school"))
        status, _, body, _ = client.request("POST", "/api/v1/referrals", headers=create[0]["headers"],
                                            json_body=json.loads(create[0]["body"]))
        if status in (404, 405):
            not_measured["create_referral"] = f"POST /api/v1/referrals answers {status}: no create endpoint"
        elif status != 201:
            raise RuntimeError(f"probe of create_referral: {status} {body[:300]}")
        else:
            log(f"load create_referral ({len(create)} students with a consent to the gemeente, cycled)")
            before = _count(url, "SELECT count(*) FROM referral")
            result = run_wrk(wrk, hub.port, "/api/v1/referrals", args,
                             lua_script(create, args.threads, tmp / "create.lua"))
            result["created_in_db"] = _count(url, "SELECT count(*) FROM referral") - before
            endpoints["create_referral"] = {"kind": "write", "path": "POST /api/v1/referrals (Bearer)", **result}

        # login: every attempt a fresh browser session (its own cookie and CSRF token)
        log("load login (preparing fresh anonymous sessions)")
        fresh = [client.anonymous_session() for _ in range(args.login_sessions)]
        logins = [{"method": "POST", "path": "/inloggen", "cookie": f"__Host-schakel={c}",
                   "body": urllib.parse.urlencode({"email": email, "password": password, "csrf_token": t})}
                  for (c, t), email in zip(fresh, seeded.login_emails, strict=True)]  # seeded login_sessions each
        result = run_wrk(wrk, hub.port, "/inloggen", args, lua_script(logins, args.threads, tmp / "login.lua"))
        result["sessions_prepared"] = len(fresh)
        endpoints["login"] = {"kind": "write", "path": "/inloggen (POST)", **result}
        rss["hub_after_writes_and_logins"] = hub.peak_rss_mb()
    finally:
        hub.stop()
    if any(e.get("non_2xx_3xx") for e in endpoints.values()):
        text = (tmp / "hub.log").read_text(errors="replace")
        rss["hub_log_tail"] = text[-3000:]
    # the ceiling again at the end: a busy machine (a checkpoint, autovacuum, another process)
    # shows as a difference between the two; the ratios are taken to the higher, the harder one
    measure_ceiling(wrk, args, env, tmp, endpoints, rss, "ceiling_end")
    ceiling_rps = max((endpoints.get(name, {}).get("rps") or 0) for name in ("ceiling", "ceiling_end")) or None
    for values in endpoints.values():
        if ceiling_rps and values.get("rps") is not None:
            values["ratio"] = round(values["rps"] / ceiling_rps, 3)
    return endpoints, rss


def create_requests(seeded, headers: dict[str, str]) -> list[dict[str, Any]]:
    """POST /api/v1/referrals bodies: a load-school student with a consent to the gemeente,
    referred to the gemeente's service and sent (a packet of three categories)."""
    from tests.bench.harness.seed import REFERRAL_CATEGORIES

    return [{"method": "POST", "path": "/api/v1/referrals", "headers": headers, "content_type": "application/json",
             "body": json.dumps({"student_id": sid, "service_id": seeded.create_service_id, "purpose": "jobcoaching",
                                 "categories": REFERRAL_CATEGORIES,
                                 "details": {"reason": "Zoekt werk met begeleiding (bench)"}})}
            for sid in seeded.create_student_ids]


def _count(url: str, sql: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()


def audit_verify(env: dict[str, str]) -> dict[str, Any]:
    log("audit: schakel audit seal, then schakel audit verify --json")
    step = time.perf_counter()
    sealed = subprocess.run([_bin("schakel"), "audit", "seal"], cwd=ROOT, env=env, capture_output=True, text=True,
                            check=False)
    seal_s = time.perf_counter() - step
    step = time.perf_counter()
    verified = subprocess.run([_bin("schakel"), "audit", "verify", "--json"], cwd=ROOT, env=env,
                              capture_output=True, text=True, check=False)
    wall = time.perf_counter() - step
    result: dict[str, Any] = {"seal_output": sealed.stdout.strip(), "seal_s": round(seal_s, 2),
                              "verify_wall_s": round(wall, 2), "verify_exit": verified.returncode}
    try:
        data = json.loads(verified.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        result["error"] = (verified.stdout + verified.stderr)[-500:]
        return result
    result.update(data)
    if m := re.search(r"sealed (\d+)", sealed.stdout):
        result["seal_events_per_s"] = round(int(m.group(1)) / seal_s) if seal_s else None
    if data.get("seconds"):
        result["verify_events_per_s"] = round(data["checked"] / data["seconds"])
    result["verify_events_per_s_wall"] = round(data["checked"] / wall) if wall else None
    return result


# -- report ------------------------------------------------------------------------------------

TARGETS = ("reads ≥ 0.5 of the ceiling; writes ≥ 0.25; search p95 ≤ 25 ms; inbox p95 ≤ 30 ms; SQL statements "
           "per request constant in page size; RSS ≤ 200 MB/worker; verify ≥ 200,000 events/s; no p95 more than "
           "2x from factor 0.1 to 1; issue 7: API referral detail ≥ 0.5 of the ceiling")
#: the sociale kaart searches (p95 ≤ 25 ms) and the referral inboxes (p95 ≤ 30 ms)
SEARCHES = ("socialmap_search_html", "socialmap_search_api")
INBOXES = ("inbox_html", "api_referral_inbox")


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [f"# Benchmark {report['date']}: {report['database']}, factor {report['factor']:g}", "",
             f"- Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, Python {m['python']}",
             f"- Commit: `{m['commit']}`" + (" (with uncommitted changes)" if m.get("uncommitted_changes") else ""),
             f"- Server: `{report['gunicorn']}`, {report['https']}; rate limits in {report.get('rate_limit_storage')}",
             (f"- Load: wrk -t{report['load']['threads']} -c{report['load']['connections']} "
              f"-d{report['load']['duration_s']:g}s --latency, on the same 2-core loopback host"),
             f"- Seeded: {report.get('seed', {}).get('counts')} in {report.get('seed', {}).get('total_s')} s",
             f"- Rate limits raised for the bench (the only production settings changed): "
             f"{', '.join(f'{k}={v}' for k, v in report.get('rate_limits', {}).items() if k != 'note')}; "
             f"{report.get('rate_limits', {}).get('note', '')}", "",
             ("| endpoint | kind | req/s | ratio to ceiling | p50 ms | p95 ms | p99 ms | non-2xx/3xx | "
              "1 connection: p50 / p95 ms | SQL/request (small page / large page) |"),
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    sql = report.get("sql", {})
    for name, e in report.get("endpoints", {}).items():
        counts = sql.get(name, {})
        sql_text = " / ".join(str(v) for v in counts.get("statements", [])) or "–"
        if counts.get("note"):
            sql_text += f" ({counts['note']})"
        lines.append(f"| {name} | {e.get('kind')} | {e.get('rps', float('nan')):.0f} | {e.get('ratio', '–')} | "
                     f"{e.get('p50_ms', '–')} | {e.get('p95_ms', '–')} | {e.get('p99_ms', '–')} | "
                     f"{e.get('non_2xx_3xx', 0) + e.get('socket_errors', 0)} | {_single(e)} | {sql_text} |")
    lines.append("")
    lines.append("ceiling_one_query is the ceiling's bare Flask app doing one SQL round trip (SQLAlchemy pool, "
                 "SELECT of one row) under the same command: what is left of the ceiling once a request reads the "
                 "database at all.")
    if report.get("endpoints", {}).get("ceiling_end"):
        lines.append(f"ceiling_end is the same bare app measured again after the hub: "
                     f"{report['endpoints']['ceiling_end'].get('rps', 0):.0f} against "
                     f"{report['endpoints']['ceiling'].get('rps', 0):.0f} req/s at the start. A large difference "
                     "means the machine was busy during the run; every ratio is to the higher of the two.")
    lines.append("")
    lines.append("Latency percentiles from wrk's own histogram (a done() hook prints p95, which --latency lacks). "
                 f"req/s and the first percentiles are at {report['load']['connections']} connections, the server "
                 "saturated, so they include queueing (latency ≈ connections / throughput); '1 connection' is a "
                 "second pass with wrk -t1 -c1: the time one request takes when it does not wait for others. The "
                 "latency targets (search, inbox) are checked on that pass.")
    for name, e in report.get("endpoints", {}).items():
        if e.get("statuses"):
            lines.append(f"- {name}: HTTP statuses seen by wrk: {e['statuses']}")
        if e.get("note") or e.get("withdrawn_in_db") is not None:
            lines.append(f"- {name}: {e.get('withdrawn_in_db', '')} withdrawn in the database. {e.get('note', '')}")
        if e.get("created_in_db") is not None:
            lines.append(f"- {name}: {e['created_in_db']} referrals created in the database")
    for server, peaks in report.get("rss_mb", {}).items():
        if peaks and isinstance(peaks, dict):
            lines.append(f"- Peak RSS (VmHWM) per worker, {server}: {', '.join(f'{v:.0f}' for v in peaks.values())} MB")
    a = report.get("audit", {})
    lines.append(f"- Audit: seal {a.get('seal_output')} in {a.get('seal_s')} s "
                 f"({a.get('seal_events_per_s')} events/s); verify ok={a.get('ok')} over {a.get('checked')} events in "
                 f"{a.get('seconds')} s = **{a.get('verify_events_per_s')} events/s** "
                 f"(whole command {a.get('verify_wall_s')} s)")
    for what, why in report.get("not_measured", {}).items():
        lines.append(f"- Not measured: {what}: {why}")
    lines += ["", f"Targets (issue 8, set for PostgreSQL at factor 1; this run: factor {report['factor']:g}): "
                  f"{TARGETS}", ""]
    lines += [f"- {line}" for line in check_targets(report)]
    from tests.bench.harness.profile import markdown as profile_markdown

    lines += profile_markdown(report.get("profile") or {})
    return "\n".join(lines) + "\n"


def _single(e: dict[str, Any]) -> str:
    single = e.get("single") or {}
    return f"{single['p50_ms']} / {single['p95_ms']}" if single.get("p95_ms") is not None else "–"


def check_targets(report: dict[str, Any]) -> list[str]:
    """Each target of issue 8 against this run: met, MISSED, or not measurable here."""
    out = []
    endpoints = report.get("endpoints", {})
    for name, e in endpoints.items():
        if e.get("kind") in ("read", "write") and e.get("ratio") is not None:
            goal = 0.5 if e["kind"] == "read" else 0.25
            out.append(f"{name}: ratio {e['ratio']} vs ≥ {goal}: {'met' if e['ratio'] >= goal else 'MISSED'}")
    for names, what, limit in ((SEARCHES, "search", 25), (INBOXES, "inbox", 30)):
        for name in names:
            p95 = (endpoints.get(name, {}).get("single") or {}).get("p95_ms")
            if p95 is not None:
                out.append(f"{what} p95 ({name}, 1 connection) {p95} ms vs ≤ {limit} ms: "
                           f"{'met' if p95 <= limit else 'MISSED'} (at {report['load']['connections']} connections: "
                           f"{endpoints[name].get('p95_ms')} ms)")
            else:
                out.append(f"{what} p95 ({name}) ≤ {limit} ms: not measured in this run")
    detail = endpoints.get("api_referral_detail", {})
    if detail.get("ratio") is not None:
        out.append(f"issue 7, API referral detail (Bearer) ratio {detail['ratio']} vs ≥ 0.5: "
                   f"{'met' if detail['ratio'] >= 0.5 else 'MISSED'}")
    for name, values in report.get("sql", {}).items():
        if "constant_in_page_size" in values:
            out.append(f"{name}: SQL statements {values['statements']} at page sizes {values['page_sizes']}: "
                       f"{'constant' if values['constant_in_page_size'] else 'GROWS'}")
    for server, peaks in report.get("rss_mb", {}).items():
        if server.startswith("hub") and isinstance(peaks, dict) and peaks:
            top = max(peaks.values())
            out.append(f"RSS {server}: max {top:.0f} MB vs ≤ 200 MB: {'met' if top <= 200 else 'MISSED'}")
    rate = report.get("audit", {}).get("verify_events_per_s")
    if rate:
        out.append(f"audit verify {rate} events/s vs ≥ 200,000: {'met' if rate >= 200_000 else 'MISSED'}")
    baseline = report.get("baseline")
    if baseline:
        for name, values in baseline["endpoints"].items():
            line = (f"p95 growth {name} factor {baseline['factor']:g} → {report['factor']:g}: "
                    f"{values['p95_ms_baseline']} → {values['p95_ms']} ms = {values['growth']}x vs ≤ 2x: "
                    f"{'met' if values['growth'] <= 2 else 'MISSED'}")
            if "single_growth" in values:
                line += (f"; at 1 connection {values['single_p95_ms_baseline']} → {values['single_p95_ms']} ms = "
                         f"{values['single_growth']}x: {'met' if values['single_growth'] <= 2 else 'MISSED'}")
            out.append(line)
    else:
        out.append("p95 growth factor 0.1 → 1: run factor 1 with --baseline <the factor 0.1 report's JSON>")
    return out


def growth(baseline: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    """Per endpoint in both runs: this run's p95 over the baseline run's (issue 8: ≤ 2x from
    factor 0.1 to factor 1)."""
    out: dict[str, Any] = {"factor": baseline.get("factor"), "db": baseline.get("db"), "date": baseline.get("date"),
                           "endpoints": {}}
    for name, e in report.get("endpoints", {}).items():
        before = baseline.get("endpoints", {}).get(name, {}).get("p95_ms")
        if e.get("kind") in ("read", "write") and before and e.get("p95_ms") is not None:
            out["endpoints"][name] = {"p95_ms_baseline": before, "p95_ms": e["p95_ms"],
                                      "growth": round(e["p95_ms"] / before, 2)}
            single_before = (baseline["endpoints"][name].get("single") or {}).get("p95_ms")
            single_now = (e.get("single") or {}).get("p95_ms")
            if single_before and single_now is not None:  # one connection: the request's own time
                out["endpoints"][name].update(single_p95_ms_baseline=single_before, single_p95_ms=single_now,
                                              single_growth=round(single_now / single_before, 2))
    return out
