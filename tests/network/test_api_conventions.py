"""The API's cross-cutting conventions, for every endpoint at once: ``Idempotency-Key`` on POST
(same key and body: the stored answer, nothing done twice; another body: 422; still running:
409; 5xx and exceptions not stored; per actor; expiry job), no trailing slashes, 413 and 400
problems, ``Cache-Control: no-store`` and ``API-Version``, the OpenAPI document (security,
errors, parameters, headers) and the self-hosted docs page.

The idempotency cases run on a second app with small test routes behind the real
``api_require``, so they prove the mechanism every feature's POST gets, not one view."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import uuid
from collections import Counter

import pytest
from marshmallow import Schema, fields
from sqlalchemy import func, select
from werkzeug.exceptions import HTTPException

from network.api import Blueprint, api_require
from network.clock import utcnow
from network.db import db
from network.errors import problem_response
from network.extensions import csrf
from network.idempotency import (
    ABANDONED_AFTER,
    IdempotencyRecord,
    StoredResponse,
    claim,
    complete,
    fingerprint,
    parse_key,
)
from network.models import OrganisationType, Region, Role
from network.oauth import SCOPES
from network.permissions import Permission
from network.scheduler import job_by_id, run_job_once
from tests.conftest import extra_app, test_config
from tests.factories import OrganisationFactory, RegionFactory, bearer, get_token, login, make_api_client, make_member

PROBLEM = "application/problem+json"
ITEMS = "/api/v1/test-items"


class ItemArgs(Schema):
    name = fields.String(required=True)


class ItemSchema(Schema):
    id = fields.Integer()
    name = fields.String()


@pytest.fixture(scope="module")
def conv_app(app, app_tmp):
    """A second app on the same database with POST routes that count their calls."""
    with extra_app(test_config(app_tmp, SECRETS=app.config["SECRETS"], TOKEN_RATE_LIMIT="1000 per minute")) as other:
        calls: Counter = Counter()
        gate = {"started": threading.Event(), "release": threading.Event()}
        bp = Blueprint("conventions_test", __name__, url_prefix="/api/v1")

        @bp.route("/test-items", methods=["POST"])
        @api_require(Permission.referral_view)
        @bp.arguments(ItemArgs)
        @bp.response(201, ItemSchema)
        def create_item(args):
            calls["items"] += 1
            region = Region(code=uuid.uuid4().hex[:20], name=f"{args['name']} {uuid.uuid4().hex[:8]}")
            db.session.add(region)
            db.session.commit()
            return region, {"Location": f"{ITEMS}/{region.id}", "ETag": f'W/"{region.id}"'}

        @bp.route("/test-boom", methods=["POST"])
        @api_require(Permission.referral_view)
        def boom():
            calls["boom"] += 1
            raise RuntimeError("kapot")

        @bp.route("/test-unavailable", methods=["POST"])
        @api_require(Permission.referral_view)
        def unavailable():
            calls["unavailable"] += 1
            return problem_response(503, detail="Even niet.")

        @bp.route("/test-refused", methods=["POST"])
        @api_require(Permission.referral_view)
        def refused():
            calls["refused"] += 1
            return problem_response(409, detail="Kan nu niet.")

        @bp.route("/test-slow", methods=["POST"])
        @api_require(Permission.referral_view)
        def slow():
            gate["started"].set()
            gate["release"].wait(20)
            calls["slow"] += 1
            return {"done": calls["slow"]}, 201

        @bp.route("/test-public", methods=["POST"])
        def public():
            calls["public"] += 1
            return {"calls": calls["public"]}

        other.extensions["schakel.api"].register_blueprint(bp)
        csrf.exempt(bp)
        other.calls, other.gate = calls, gate
        yield other


@pytest.fixture
def world(session, conv_app):
    conv_app.calls.clear()
    region = RegionFactory()
    gemeente = OrganisationFactory(region=region, type=OrganisationType.gemeente, name="Gemeente Teststad")
    other_gemeente = OrganisationFactory(region=region, type=OrganisationType.gemeente, name="Gemeente Elders")
    api_client, secret = make_api_client(gemeente, ["referrals:read", "referrals:write"])
    other_client, other_secret = make_api_client(other_gemeente, ["referrals:read"], name="Ander systeem")
    jobcoach = make_member(Role.partner_staff, gemeente, name="Jobcoach Bakker")
    session.commit()
    http = conv_app.test_client()
    return {"http": http, "token": get_token(http, api_client, secret), "api_client": api_client,
            "other_token": get_token(http, other_client, other_secret), "other_client": other_client,
            "jobcoach": jobcoach}


def _post(http, path, body, token=None, key=None, raw=None, headers=None):
    headers = dict(headers or {})
    if token:
        headers.update(bearer(token))
    if key is not None:
        headers["Idempotency-Key"] = key
    return http.post(path, data=raw if raw is not None else json.dumps(body), headers=headers,
                     content_type="application/json")


def _regions(session) -> int:
    db.session.remove()
    return session.scalar(select(func.count()).select_from(Region))


def _records(session) -> list[IdempotencyRecord]:
    db.session.remove()
    return list(session.scalars(select(IdempotencyRecord)))


# -- Idempotency-Key ------------------------------------------------------------------------

def test_same_key_and_body_replays_the_stored_answer_and_does_nothing_twice(session, world, conv_app):
    http, token = world["http"], world["token"]
    before = _regions(session)
    first = _post(http, ITEMS, {"name": "Noord"}, token, key="8e03978e-40d5-43e8-bc93-6894a57f9324")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = _post(http, ITEMS, {"name": "Noord"}, token, key="8e03978e-40d5-43e8-bc93-6894a57f9324")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()
    for header in ("Location", "ETag", "Content-Type"):
        assert again.headers[header] == first.headers[header]
    assert again.headers["API-Version"] and again.headers["Cache-Control"] == "no-store"
    assert conv_app.calls["items"] == 1 and _regions(session) == before + 1
    # the draft's sf-string form names the same key
    quoted = _post(http, ITEMS, {"name": "Noord"}, token, key='"8e03978e-40d5-43e8-bc93-6894a57f9324"')
    assert quoted.headers["Idempotent-Replayed"] == "true" and conv_app.calls["items"] == 1
    (record,) = _records(session)
    assert record.actor == f"client:{world['api_client'].id}" and record.status_code == 201
    assert "Noord" not in record.response_encrypted  # the stored answer is encrypted


def test_same_key_with_another_body_or_path_is_422(session, world, conv_app):
    http, token = world["http"], world["token"]
    assert _post(http, ITEMS, {"name": "Noord"}, token, key="k-1").status_code == 201
    for path, body in ((ITEMS, {"name": "Zuid"}), ("/api/v1/test-refused", {"name": "Noord"})):
        response = _post(http, path, body, token, key="k-1")
        assert response.status_code == 422 and response.mimetype == PROBLEM
        assert response.get_json()["type"].endswith("/idempotency-key-reused")
    assert conv_app.calls["items"] == 1 and conv_app.calls["refused"] == 0


def test_without_a_key_every_post_runs(session, world, conv_app):
    for _ in range(2):
        assert _post(world["http"], ITEMS, {"name": "Oost"}, world["token"]).status_code == 201
    assert conv_app.calls["items"] == 2 and _records(session) == []


def test_a_repeat_while_the_first_still_runs_is_409(session, world, conv_app):
    http, token, gate = world["http"], world["token"], conv_app.gate
    gate["started"].clear()
    gate["release"].clear()
    results = {}
    first = threading.Thread(target=lambda: results.setdefault("first", _post(http, "/api/v1/test-slow", {}, token,
                                                                              key="traag")))
    first.start()
    try:
        assert gate["started"].wait(20)
        during = _post(http, "/api/v1/test-slow", {}, token, key="traag")
    finally:
        gate["release"].set()
        first.join(30)
    assert during.status_code == 409 and during.mimetype == PROBLEM and during.headers["Retry-After"]
    assert results["first"].status_code == 201
    after = _post(http, "/api/v1/test-slow", {}, token, key="traag")
    assert after.status_code == 201 and after.headers["Idempotent-Replayed"] == "true"
    assert after.get_json() == results["first"].get_json() == {"done": 1} and conv_app.calls["slow"] == 1


def test_server_errors_and_exceptions_are_not_stored_so_a_retry_runs_again(session, world, conv_app):
    http, token = world["http"], world["token"]
    for path, counter, status in (("/api/v1/test-boom", "boom", 500), ("/api/v1/test-unavailable", "unavailable", 503)):
        for attempt in (1, 2):
            response = _post(http, path, {}, token, key=f"retry-{counter}")
            assert response.status_code == status and "Idempotent-Replayed" not in response.headers
            assert conv_app.calls[counter] == attempt
    assert _records(session) == []


def test_a_refused_request_keeps_its_key_only_when_it_answered(session, world, conv_app):
    http, token = world["http"], world["token"]
    # a 4xx the view answers is its answer: stored and replayed
    for _ in range(2):
        assert _post(http, "/api/v1/test-refused", {}, token, key="weigering").status_code == 409
    assert conv_app.calls["refused"] == 1
    # invalid input raises before anything happened: the key stays free for the corrected request
    invalid = _post(http, ITEMS, {"naam": "fout"}, token, key="verbeterd")
    assert invalid.status_code == 400 and invalid.mimetype == PROBLEM
    assert _post(http, ITEMS, {"name": "Goed"}, token, key="verbeterd").status_code == 201


def test_keys_are_per_actor(session, world, conv_app):
    http = world["http"]
    mine = _post(http, ITEMS, {"name": "West"}, world["token"], key="gedeeld")
    theirs = _post(http, ITEMS, {"name": "West"}, world["other_token"], key="gedeeld")
    login(http, world["jobcoach"])
    by_session = _post(http, ITEMS, {"name": "West"}, key="gedeeld")
    assert [r.status_code for r in (mine, theirs, by_session)] == [201, 201, 201]
    assert len({r.get_json()["id"] for r in (mine, theirs, by_session)}) == 3 and conv_app.calls["items"] == 3
    assert sorted(r.actor for r in _records(session)) == sorted([
        f"account:{world['jobcoach'].id}", f"client:{world['api_client'].id}", f"client:{world['other_client'].id}"])
    assert _post(http, ITEMS, {"name": "West"}, key="gedeeld").headers["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "tab\tin", '""'])
def test_an_invalid_key_is_400(session, world, conv_app, key):
    response = _post(world["http"], ITEMS, {"name": "Noord"}, world["token"], key=key)
    assert response.status_code == 400 and response.mimetype == PROBLEM
    assert response.get_json()["errors"][0]["field"] == "Idempotency-Key"
    assert conv_app.calls["items"] == 0


def test_anonymous_posts_ignore_the_key(session, world, conv_app):
    http = world["http"]
    assert _post(http, ITEMS, {"name": "Noord"}, key="anoniem").status_code == 401
    assert [_post(http, "/api/v1/test-public", {}, key="anoniem").get_json()["calls"] for _ in range(2)] == [1, 2]
    assert _records(session) == []


def test_key_parsing_and_fingerprint():
    assert parse_key("abc") == parse_key('"abc"') == parse_key("  abc ") == "abc"
    assert parse_key(r'"a\"b"') == 'a"b'
    assert parse_key("x" * 255) == "x" * 255
    assert fingerprint("POST", "/a", b"{}") != fingerprint("POST", "/b", b"{}") != fingerprint("POST", "/a", b"[]")


def test_claim_replaces_expired_and_abandoned_records(app, session, keyring):
    engine, now, day = db.engine, utcnow(), dt.timedelta(hours=24)
    first = claim(engine, keyring, "client:1", "k", "f1", max_age=day, now=now)
    complete(engine, keyring, first, StoredResponse(201, {"Content-Type": "application/json"}, b'{"id": 1}'))
    assert claim(engine, keyring, "client:1", "k", "f1", max_age=day, now=now + dt.timedelta(hours=1)) \
        == StoredResponse(201, {"Content-Type": "application/json"}, b'{"id": 1}')
    # older than IDEMPOTENCY_HOURS (the job has not run yet): a new first request
    renewed = claim(engine, keyring, "client:1", "k", "f2", max_age=day, now=now + day + dt.timedelta(seconds=1))
    assert isinstance(renewed, int)
    (record,) = _records(session)
    assert record.fingerprint == "f2" and record.status_code is None
    # still "running" long after any request could: its worker died, the key is free again
    later = now + day + ABANDONED_AFTER + dt.timedelta(seconds=2)
    assert isinstance(claim(engine, keyring, "client:1", "k", "f2", max_age=day, now=later), int)
    assert len(_records(session)) == 1


def test_the_purge_job_deletes_records_older_than_idempotency_hours(app, session):
    now = utcnow()
    for key, age in (("oud", 25), ("nieuw", 23)):
        session.add(IdempotencyRecord(actor="client:1", key=key, fingerprint="f" * 64, status_code=201,
                                      created_at=now - dt.timedelta(hours=age)))
    session.commit()
    assert run_job_once(app, job_by_id("idempotency.purge"), now)
    assert [r.key for r in _records(session)] == ["nieuw"]


# -- request conventions ------------------------------------------------------------------

def _api_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")]


def test_no_api_route_has_a_trailing_slash_and_adding_one_is_404(client, app):
    rules = _api_rules(app)
    assert rules and not [rule.rule for rule in rules if rule.rule.endswith("/")]
    for rule in rules:
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", "1", rule.rule) + "/"
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"OPTIONS", "HEAD"})[0]
        response = client.open(path, method=method)
        assert response.status_code == 404 and response.mimetype == PROBLEM, (method, path)


def test_oversize_body_is_413_problem(session, world, conv_app):
    limit = conv_app.config["MAX_CONTENT_LENGTH"]
    big = json.dumps({"name": "x" * limit})
    for token in (world["token"], None):  # before authentication reads anything
        response = _post(world["http"], ITEMS, None, token, raw=big, key="groot")
        assert response.status_code == 413 and response.mimetype == PROBLEM
        assert response.headers["API-Version"] and response.get_json()["requestId"] == response.headers["X-Request-ID"]
    assert conv_app.calls["items"] == 0 and _records(session) == []


def test_malformed_json_is_400_problem(session, world, conv_app):
    response = _post(world["http"], ITEMS, None, world["token"], raw='{"name": ')
    assert response.status_code == 400 and response.mimetype == PROBLEM
    assert response.get_json()["errors"] == [{"field": "body", "message": "Het verzoek bevat geen geldige JSON "
                                                                            "(regel 1, kolom 10)."}]
    # a feature's own endpoint that reads the body itself
    response = _post(world["http"], "/api/v1/agreement-bundles/verify", None, raw="{nee")
    assert response.status_code == 400 and response.mimetype == PROBLEM


def test_cache_control_no_store_on_answers_to_credentials(session, world, conv_app, app):
    http, token = world["http"], world["token"]
    answers = {
        "bearer 201": _post(http, ITEMS, {"name": "Noord"}, token),
        "bearer 400": _post(http, ITEMS, {}, token),
        "bearer 404": http.get("/api/v1/referrals/999999", headers=bearer(token)),
        "bearer 403": http.get("/api/v1/agreements/00000000-0000-0000-0000-000000000000",
                               headers=bearer(world["other_token"])),
        "invalid token 401": http.get("/api/v1/referrals", headers=bearer("nep")),
        "bearer on a public list": http.get("/api/v1/regions", headers=bearer(token)),
    }
    assert [r.status_code for r in answers.values()] == [201, 400, 404, 403, 401, 200]
    for name, response in answers.items():
        assert response.headers.get("Cache-Control") == "no-store", name
    login(http, world["jobcoach"])
    by_session = http.get("/api/v1/referrals")
    assert by_session.status_code == 200 and by_session.headers["Cache-Control"] == "no-store"
    # public data to an anonymous caller may be cached
    assert "no-store" not in app.test_client().get("/api/v1/regions").headers.get("Cache-Control", "")


def test_api_version_on_every_api_answer(session, world, conv_app):
    http, token, version = world["http"], world["token"], conv_app.config["API_VERSION"]
    answers = [http.get("/api/v1/regions"), http.get("/api/v1/nergens"), http.delete("/api/v1/regions"),
               http.get("/api/v1/referrals"), http.get("/api/v1/referrals", headers=bearer("nep")),
               _post(http, "/api/v1/test-boom", {}, token), _post(http, ITEMS, None, token, raw="{"),
               http.get("/api/v1/openapi.json"), http.get("/api/v1/docs")]
    assert [r.status_code for r in answers] == [200, 404, 405, 401, 401, 500, 400, 200, 200]
    assert all(r.headers.get("API-Version") == version for r in answers)


# -- the OpenAPI document and the docs page -----------------------------------------------

def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def _response(spec, response):
    if "$ref" in response:
        return spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response


def test_openapi_document_is_public_with_cors_and_documents_the_conventions(client, app):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == "*"
    spec = response.get_json()
    assert spec["servers"] == [{"url": "http://localhost", "description": "Deze hub"}]
    flow = spec["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "http://localhost/oauth/token"
    assert flow["scopes"] == {name: scope.description for name, scope in SCOPES.items()}
    assert spec["components"]["headers"]["API-Version"]["required"] is True
    protected = 0
    for path, method, operation in _operations(spec):
        view = _view_for(app, path, method)
        responses = operation["responses"]
        assert "default" not in responses, (method, path)
        for status, documented in responses.items():
            assert "API-Version" in _response(spec, documented).get("headers", {}), (method, path, status)
            if int(status) >= 400:
                assert list(_response(spec, documented)["content"]) == [PROBLEM], (method, path, status)
        if hasattr(view, "required_permission") or hasattr(view, "required_permissions"):
            protected += 1
            assert operation["security"] and all(list(req) == ["oauth2"] for req in operation["security"])
            assert {"401", "403"} <= set(responses), (method, path)
        else:
            assert "security" not in operation, (method, path)
        if method == "post":
            assert {"$ref": "#/components/parameters/Idempotency-Key"} in operation["parameters"], path
    assert protected
    referrals = spec["paths"]["/api/v1/referrals"]["get"]
    assert referrals["security"] == [{"oauth2": ["referrals:read"]}]
    assert spec["components"]["parameters"]["Idempotency-Key"]["required"] is False


def _addresses(client, base_url):
    spec = client.get("/api/v1/openapi.json", base_url=base_url).get_json()
    return ([server["url"] for server in spec["servers"]],
            spec["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]["tokenUrl"])


def test_openapi_names_the_address_the_hub_was_reached_at_without_a_configured_one(client, app):
    """Without SCHAKEL_BASE_URL (the development default), a client that generates its calls
    from the document must reach this hub, not 127.0.0.1:5000."""
    assert not app.config["BASE_URL_CONFIGURED"]
    assert _addresses(client, "https://hub.regio.example:8443") == (
        ["https://hub.regio.example:8443"], "https://hub.regio.example:8443/oauth/token")


def test_openapi_names_the_configured_public_address(app, app_tmp, monkeypatch):
    """SCHAKEL_BASE_URL wins over the address of the request (a proxy's internal name)."""
    monkeypatch.setenv("SCHAKEL_BASE_URL", "https://schakel.regio.example/")
    with extra_app(test_config(app_tmp, SECRETS=app.config["SECRETS"])) as other:
        assert other.config["BASE_URL_CONFIGURED"]
        assert _addresses(other.test_client(), "http://10.0.0.7:8000") == (
            ["https://schakel.regio.example"], "https://schakel.regio.example/oauth/token")


def _view_for(app, path, method):
    adapter = app.url_map.bind("localhost")
    concrete = re.sub(r"\{[^}]+\}", "1", path)
    try:
        endpoint, _args = adapter.match(concrete, method=method.upper())
    except HTTPException:  # a uuid or other converter (404, 405 or a redirect): match on the rule text instead
        pattern = re.sub(r"\{[^}]+\}", "<[^>]+>", re.escape(path).replace(r"\{", "{").replace(r"\}", "}"))
        endpoint = next(rule.endpoint for rule in app.url_map.iter_rules()
                        if re.fullmatch(pattern, rule.rule) and method.upper() in rule.methods)
    return app.view_functions[endpoint]


def test_docs_page_uses_only_its_own_assets(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assets = [a for a in re.findall(r'(?:src|href)="([^"]+)"', html) if a != "data:,"]  # no favicon request
    assert assets and all(a.startswith("/static/") for a in assets), assets
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script: the CSP blocks it"
    assert 'data-spec-url="/api/v1/openapi.json"' in html
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        response.close()


def test_docs_page_renders_in_a_browser_without_other_origins(client, app):
    import os

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    origin = f"http://127.0.0.1:{server.server_port}"
    requested, problems = [], []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page()
            page.on("request", lambda r: requested.append(r.url))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(f"{origin}/api/v1/docs")
            page.get_by_text("/api/v1/regions", exact=True).first.wait_for(timeout=20000)
            assert page.locator(".opblock").count() >= 3
            browser.close()
    finally:
        server.shutdown()
        thread.join(10)
    assert requested and all(url.startswith(origin) or url.startswith("data:") for url in requested), requested
    assert problems == []
