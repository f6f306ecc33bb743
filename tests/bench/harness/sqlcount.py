"""SQL statements per request, counted (not estimated): the harness's own app on the seeded
database, Flask's test client over https, and a ``before_cursor_execute`` listener on the engine.
Each endpoint is requested once to warm up, then counted; list endpoints at two page sizes
(10 and 50 rows) to show the count does not grow with the page. The JSON API is called with a
token from ``/oauth/token`` (client credentials), as a partner system would."""

from __future__ import annotations

import base64
import html
import json
import re
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from network.db import db

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
BASE = "https://127.0.0.1"
HEADERS = {"Referer": BASE + "/", "X-Forwarded-Proto": "https", "X-Forwarded-For": "127.0.0.1"}
SEARCH_PATH = "/sociale-kaart?q=werk"
SEARCH_API_PATH = "/hsds/services?search=werk"
SMALL, LARGE = 10, 50


@contextmanager
def _patched(module, name: str, value: Any):
    old = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, old)


class _Counter:
    """Test clients that count the SQL statements of one request: the load school's staff
    (browser cookie), the measured gemeente's staff (inbox) and partner systems (a bearer token)."""

    def __init__(self, app, seeded) -> None:
        self.seeded = seeded
        self.statements: list[str] = []
        self.client = app.test_client()
        self.partner = app.test_client()  # the measured gemeente's staff (inbox)
        self.api = app.test_client()  # partner systems: a bearer token, no browser cookie

    def listener(self, *args) -> None:
        """``before_cursor_execute``: the statement is the third argument."""
        self.statements.append(args[2])

    def call(self, method: str, path: str, expect: int, headers: dict[str, str] | None = None, by=None,
             **kwargs) -> int:
        self.statements.clear()
        response = (by or self.client).open(path, method=method, base_url=BASE,
                                            headers={**HEADERS, **(headers or {})}, **kwargs)
        if response.status_code != expect:
            raise RuntimeError(f"{method} {path}: {response.status_code}, expected {expect}: "
                               f"{response.get_data(as_text=True)[:300]}")
        return len(self.statements)

    def bearer(self, who: str) -> dict[str, str]:
        client_id, secret = self.seeded.api_clients[who]
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        response = self.api.post("/oauth/token", data={"grant_type": "client_credentials"}, base_url=BASE,
                                 headers={**HEADERS, "Authorization": f"Basic {basic}"})
        if response.status_code != 200:
            raise RuntimeError(f"token for {client_id}: {response.status_code}")
        return {"Authorization": f"Bearer {response.get_json()['access_token']}"}

    def pair(self, path: str, size_path, **kwargs) -> dict[str, Any]:
        """Warm up, then count at both page sizes (``size_path(size)``)."""
        self.call("GET", path, 200, **kwargs)
        return {"statements": [self.call("GET", size_path(size), 200, **kwargs) for size in (SMALL, LARGE)],
                "page_sizes": [SMALL, LARGE]}

    def token(self, path: str) -> str:
        body = self.client.get(path, base_url=BASE, headers=HEADERS).get_data(as_text=True)
        return html.unescape(CSRF.search(body).group(1))


def count_statements(app, seeded, password: str) -> dict[str, Any]:
    counter = _Counter(app, seeded)
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", counter.listener)
    out: dict[str, Any] = {}
    try:
        _count_anonymous(counter, seeded, out)
        _count_school_staff(counter, seeded, password, out)
        _count_gemeente(counter, app, seeded, password, out)
    finally:
        event.remove(engine, "before_cursor_execute", counter.listener)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    for values in out.values():
        counts = values.get("statements", [])
        if len(counts) == 2:
            values["constant_in_page_size"] = counts[0] == counts[1]
    return out


def _count_anonymous(counter: _Counter, seeded, out: dict[str, Any]) -> None:
    """Anonymous endpoints: health, the HSDS API, the sociale kaart's search, agreement verification."""
    call = counter.call
    call("GET", "/healthz", 200)
    out["healthz"] = {"statements": [call("GET", "/healthz", 200)]}
    call("GET", f"/hsds/services?per_page={SMALL}", 200)
    out["hsds_services"] = {"statements": [call("GET", f"/hsds/services?per_page={size}", 200)
                                           for size in (SMALL, LARGE)], "page_sizes": [SMALL, LARGE]}
    out["socialmap_search_html"] = {"page_sizes": [SMALL, LARGE], "statements": []}
    try:
        import socialmap.views as socialmap_views
    except ImportError:
        socialmap_views = None
    if socialmap_views is not None:
        call("GET", SEARCH_PATH, 200)
        for size in (SMALL, LARGE):
            with _patched(socialmap_views, "PER_PAGE", size):
                out["socialmap_search_html"]["statements"].append(call("GET", SEARCH_PATH, 200))
    out["socialmap_search_api"] = counter.pair(SEARCH_API_PATH, lambda size: f"{SEARCH_API_PATH}&per_page={size}")
    for code_name, path in (("agreement_verify_html", "/controle/{}"),
                            ("api_agreement_verify", "/api/v1/agreement-verifications/{}")):
        if len(seeded.verify_codes) >= 2:
            call("GET", path.format(seeded.verify_codes[0]), 200, by=counter.api)
            out[code_name] = {"statements": [call("GET", path.format(seeded.verify_codes[1]), 200,
                                                  by=counter.api)],
                              "note": "one agreement (1 version, 2 signatures)"}


def _count_school_staff(counter: _Counter, seeded, password: str, out: dict[str, Any]) -> None:
    """Login (the real form), then the load school's logged-in pages."""
    import network.web.students as student_views

    call = counter.call
    csrf = counter.token("/inloggen")
    counter.statements.clear()
    out["login"] = {"statements": [call("POST", "/inloggen", 302, data={
        "email": seeded.load_emails[0], "password": password, "csrf_token": csrf})]}
    call("GET", "/leerlingen", 200)
    counts = []
    for size in (SMALL, LARGE):
        with _patched(student_views, "PER_PAGE", size):
            counts.append(call("GET", "/leerlingen", 200))
    out["student_list"] = {"statements": counts, "page_sizes": [SMALL, LARGE]}
    first, second = seeded.student_ids[:2]
    call("GET", f"/leerlingen/{first}", 200)
    out["student_detail"] = {"statements": [call("GET", f"/leerlingen/{second}", 200)],
                             "note": "one student, no page"}
    csrf = counter.token("/leerlingen/nieuw")
    if len(seeded.count_consent_ids) >= 2:
        a, b = seeded.count_consent_ids[:2]
        call("POST", f"/toestemmingen/{a}/intrekken-namens-leerling", 302, data={"csrf_token": csrf})
        out["consent_withdraw"] = {"statements": [call("POST", f"/toestemmingen/{b}/intrekken-namens-leerling",
                                                       302, data={"csrf_token": csrf})]}


def _count_gemeente(counter: _Counter, app, seeded, password: str, out: dict[str, Any]) -> None:
    """The measured gemeente: its staff's inbox pages, and its partner system through the API."""
    import referrals.inbox_views as inbox_views

    call, partner, api = counter.call, counter.partner, counter.api
    csrf = html.unescape(CSRF.search(partner.get("/inloggen", base_url=BASE, headers=HEADERS)
                                     .get_data(as_text=True)).group(1))
    call("POST", "/inloggen", 302, by=partner, data={
        "email": seeded.partner_emails[0], "password": password, "csrf_token": csrf})
    call("GET", "/inbox", 200, by=partner)
    counts = []
    for size in (SMALL, LARGE):
        with _patched(inbox_views, "PER_PAGE", size):
            counts.append(call("GET", "/inbox", 200, by=partner))
    out["inbox_html"] = {"statements": counts, "page_sizes": [SMALL, LARGE]}
    gemeente = counter.bearer("gemeente")
    out["api_referral_inbox"] = counter.pair("/api/v1/referrals", lambda size: f"/api/v1/referrals?limit={size}",
                                             headers=gemeente, by=api)
    if len(seeded.referral_detail_ids) >= 2:
        first, second = seeded.referral_detail_ids[:2]
        call("GET", f"/inbox/{first}", 200, by=partner)
        out["referral_detail_html"] = {"statements": [call("GET", f"/inbox/{second}", 200, by=partner)],
                                       "note": "one referral, no page"}
        call("GET", f"/api/v1/referrals/{first}", 200, headers=gemeente, by=api)
        out["api_referral_detail"] = {"statements": [call("GET", f"/api/v1/referrals/{second}", 200,
                                                          headers=gemeente, by=api)],
                                      "note": "one referral, no page"}
    if create_referral_exists(app) and len(seeded.create_student_ids) >= 2:
        from tests.bench.harness.run import create_requests

        school = counter.bearer("school")
        bodies = [json.loads(r["body"]) for r in create_requests(seeded, school)[:2]]
        call("POST", "/api/v1/referrals", 201, headers=school, json=bodies[0], by=api)
        out["create_referral"] = {"statements": [call("POST", "/api/v1/referrals", 201, headers=school,
                                                      json=bodies[1], by=api)], "note": "one referral, sent"}

def create_referral_exists(app) -> bool:
    """Whether the API has ``POST /api/v1/referrals`` (issue 7)."""
    return any(rule.rule == "/api/v1/referrals" and "POST" in (rule.methods or ())
               for rule in app.url_map.iter_rules())
