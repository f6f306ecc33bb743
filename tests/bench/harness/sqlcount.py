"""SQL statements per request, counted (not estimated): the harness's own app on the seeded
database, Flask's test client over https, and a ``before_cursor_execute`` listener on the engine.
Each endpoint is requested once to warm up, then counted; list endpoints at two page sizes
(10 and 50 rows) to show the count does not grow with the page."""

from __future__ import annotations

import html
import re
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from network.db import db

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
BASE = "https://127.0.0.1"
HEADERS = {"Referer": BASE + "/", "X-Forwarded-Proto": "https", "X-Forwarded-For": "127.0.0.1"}
SEARCH_PATH = "/sociale-kaart?q=werk"
SMALL, LARGE = 10, 50


@contextmanager
def _patched(module, name: str, value: Any):
    old = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, old)


def count_statements(app, seeded, password: str) -> dict[str, Any]:
    import network.web.students as student_views

    statements: list[str] = []
    client = app.test_client()

    def call(method: str, path: str, expect: int, **kwargs) -> int:
        statements.clear()
        response = client.open(path, method=method, base_url=BASE, headers=HEADERS, **kwargs)
        if response.status_code != expect:
            raise RuntimeError(f"{method} {path}: {response.status_code}, expected {expect}")
        return len(statements)

    def token(path: str) -> str:
        body = client.get(path, base_url=BASE, headers=HEADERS).get_data(as_text=True)
        return html.unescape(CSRF.search(body).group(1))

    with app.app_context():
        engine = db.engine
    listener = lambda *a: statements.append(a[2])
    event.listen(engine, "before_cursor_execute", listener)
    out: dict[str, Any] = {}
    try:
        # anonymous endpoints
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

        # login (the real form), then the logged-in pages
        csrf = token("/inloggen")
        statements.clear()
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
        csrf = token("/leerlingen/nieuw")
        if len(seeded.count_consent_ids) >= 2:
            a, b = seeded.count_consent_ids[:2]
            call("POST", f"/toestemmingen/{a}/intrekken-namens-leerling", 302, data={"csrf_token": csrf})
            out["consent_withdraw"] = {"statements": [call("POST", f"/toestemmingen/{b}/intrekken-namens-leerling",
                                                           302, data={"csrf_token": csrf})]}
    finally:
        event.remove(engine, "before_cursor_execute", listener)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    for values in out.values():
        counts = values.get("statements", [])
        if len(counts) == 2:
            values["constant_in_page_size"] = counts[0] == counts[1]
    return out
