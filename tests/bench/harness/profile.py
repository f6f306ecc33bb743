"""Where a request's time goes: each measured endpoint, requested in process (Flask's test
client, the seeded database, the same production settings) under cProfile, its own time split
by the library it is spent in. This is the profile that explains a ratio to the ceiling: the
bare Flask app is profiled the same way, so the report shows what an endpoint adds to it
(database round trips, the ORM, templates, schemas, crypto, the audit write and commit).

Without gunicorn and HTTP parsing (the ceiling's part of the work); the profiler inflates
Python-heavy code, so the report also gives the unprofiled time per request.
"""

from __future__ import annotations

import base64
import cProfile
import html
import pstats
import time
from collections import defaultdict
from typing import Any

from tests.bench.harness.sqlcount import BASE, CSRF, HEADERS

#: (category, substrings of a profiled function's file or, for C functions, its name)
CATEGORIES = [
    ("database driver and round trips (psycopg, sqlite3)", ("psycopg", "sqlite3", "_sqlite")),
    ("SQLAlchemy (ORM and Core)", ("sqlalchemy",)),
    ("templates (Jinja2)", ("jinja2", "markupsafe", "/templates/")),
    ("schemas (marshmallow, flask-smorest)", ("marshmallow", "flask_smorest", "apispec", "webargs")),
    ("crypto (AES-GCM, Ed25519, argon2, hashes)", ("cryptography", "argon2", "_hashlib", "hashlib", "hmac",
                                                    "_cffi")),
    ("OAuth (authlib)", ("authlib", "joserfc")),
    ("rate limits (limits, redis)", ("/limits/", "flask_limiter", "/redis/")),
    ("i18n (babel)", ("babel",)),
    ("Flask, Werkzeug and extensions", ("werkzeug", "/flask/", "flask_login", "flask_wtf", "wtforms", "flask_talisman",
                                        "flask_sqlalchemy", "blinker", "itsdangerous")),
    ("Schakel code", ("/network/", "/consent/", "/referrals/", "/socialmap/")),
]
OTHER = "Python standard library and the rest"
REQUESTS = 100
WARM_UP = 10


def _category(filename: str, name: str) -> str:
    where = filename if filename != "~" else name
    for label, needles in CATEGORIES:
        if any(needle in where for needle in needles):
            return label
    return OTHER


def _login(client, email: str, password: str) -> None:
    page = client.get("/inloggen", base_url=BASE, headers=HEADERS).get_data(as_text=True)
    token = html.unescape(CSRF.search(page).group(1))
    response = client.post("/inloggen", base_url=BASE, headers=HEADERS,
                           data={"email": email, "password": password, "csrf_token": token})
    if response.status_code != 302:
        raise RuntimeError(f"profile login of {email}: {response.status_code}")


def _bearer(client, client_id: str, secret: str) -> dict[str, str]:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = client.post("/oauth/token", data={"grant_type": "client_credentials"}, base_url=BASE,
                           headers={**HEADERS, "Authorization": f"Basic {basic}"})
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def profile_one(send, expect: int, requests: int = REQUESTS) -> dict[str, Any]:
    """``send(i)`` makes request i; returns the unprofiled and profiled time per request and
    the profiled own time per category and per function."""
    for i in range(WARM_UP):
        _check(send(i), expect)
    started = time.perf_counter()
    for i in range(requests):
        _check(send(WARM_UP + i), expect)
    plain_ms = (time.perf_counter() - started) * 1000 / requests
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(requests):
        _check(send(WARM_UP + requests + i), expect)
    profiler.disable()
    stats = pstats.Stats(profiler)
    by_category: dict[str, float] = defaultdict(float)
    functions = []
    for (filename, line, name), (_cc, calls, own, _cum, _callers) in stats.stats.items():
        by_category[_category(filename, name)] += own
        functions.append((own, calls, f"{_short(filename)}:{line}({name})" if filename != "~" else name))
    total = sum(by_category.values())
    functions.sort(reverse=True)
    return {"requests": requests, "ms_per_request": round(plain_ms, 2),
            "profiled_ms_per_request": round(total * 1000 / requests, 2),
            "categories_ms": {label: round(seconds * 1000 / requests, 3)
                              for label, seconds in sorted(by_category.items(), key=lambda kv: -kv[1])},
            "top_functions": [{"function": where, "own_ms_per_request": round(own * 1000 / requests, 3),
                               "calls_per_request": round(calls / requests, 1)}
                              for own, calls, where in functions[:12]]}


def _check(response, expect: int) -> None:
    if response.status_code != expect:
        raise RuntimeError(f"profiled request: {response.status_code}, expected {expect}: "
                           f"{response.get_data(as_text=True)[:300]}")


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/work/", "/lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def profile_endpoints(app, seeded, password: str) -> dict[str, Any]:
    from tests.bench.harness.ceiling import app as ceiling_app

    out: dict[str, Any] = {}
    bare = ceiling_app.test_client()
    out["ceiling"] = profile_one(lambda i: bare.get("/"), 200)

    anonymous, staff, partner = app.test_client(), app.test_client(), app.test_client()
    _login(staff, seeded.load_emails[0], password)
    _login(partner, seeded.partner_emails[0], password)
    gemeente = _bearer(anonymous, *seeded.api_clients["gemeente"])
    students, details = seeded.student_ids, seeded.referral_detail_ids

    def get(client, path_of, headers=None):
        return lambda i: client.get(path_of(i), base_url=BASE, headers={**HEADERS, **(headers or {})})

    plan = [
        ("healthz", get(anonymous, lambda i: "/healthz")),
        ("socialmap_search_api", get(anonymous, lambda i: "/hsds/services?search=werk")),
        ("student_detail", get(staff, lambda i: f"/leerlingen/{students[i % len(students)]}")),
        ("inbox_html", get(partner, lambda i: "/inbox")),
        ("referral_detail_html", get(partner, lambda i: f"/inbox/{details[i % len(details)]}")),
        ("api_referral_inbox", get(anonymous, lambda i: "/api/v1/referrals", gemeente)),
        ("api_referral_detail", get(anonymous, lambda i: f"/api/v1/referrals/{details[i % len(details)]}", gemeente)),
    ]
    for name, send in plan:
        if (name == "student_detail" and not students) or ("referral_detail" in name and not details):
            continue
        out[name] = profile_one(send, 200)
    return out


def markdown(profiles: dict[str, Any]) -> list[str]:
    """The profile section of the report: per endpoint, ms per request by category."""
    if not profiles:
        return []
    labels = [label for label, _ in CATEGORIES] + [OTHER]
    names = list(profiles)
    lines = ["", "## Where the time goes (in-process profile, ms of own time per request)", "",
             f"{REQUESTS} requests each through Flask's test client after {WARM_UP} warm-up requests, under cProfile "
             "(no gunicorn, no HTTP parsing). 'unprofiled' is the same loop without the profiler.", "",
             "| category | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names),
             "| **unprofiled ms/request** | "
             + " | ".join(f"**{profiles[n]['ms_per_request']}**" for n in names) + " |",
             "| profiled ms/request | " + " | ".join(str(profiles[n]["profiled_ms_per_request"]) for n in names) + " |"]
    for label in labels:
        lines.append(f"| {label} | " + " | ".join(str(profiles[n]["categories_ms"].get(label, 0)) for n in names)
                     + " |")
    lines.append("")
    for name in names:
        top = ", ".join(f"{f['function']} {f['own_ms_per_request']} ms" for f in profiles[name]["top_functions"][:6])
        lines.append(f"- {name}, most own time: {top}")
    return lines
