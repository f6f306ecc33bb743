"""Errors speak RFC 9457 on the API and Dutch on pages, never with internals; security
headers and the public signing keys."""

from __future__ import annotations

import base64
import logging

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from network.errors import Conflict, PreconditionFailed, PreconditionRequired, ValidationFailed
from tests.conftest import extra_app, post_form, test_config


@pytest.fixture(scope="module")
def boom_app(app, app_tmp):
    """A second app on the same database, with routes that fail on purpose."""
    with extra_app(test_config(app_tmp, SECRETS=app.config["SECRETS"])) as other:
        yield from _with_boom_routes(other)


def _with_boom_routes(other):

    @other.get("/api/v1/boom")
    def api_boom():
        raise RuntimeError("secret internals: password=hunter2")

    @other.get("/boom")
    def html_boom():
        raise RuntimeError("secret internals")

    @other.get("/api/v1/conflict")
    def api_conflict():
        raise Conflict("Deze overgang mag niet.", allowed=["accepted", "rejected"])

    @other.get("/api/v1/invalid")
    def api_invalid():
        raise ValidationFailed(errors={"bsn": ["Dit BSN klopt niet (11-proef)."]})

    @other.get("/api/v1/stale")
    def api_stale():
        raise PreconditionFailed()

    @other.get("/api/v1/no-if-match")
    def api_no_if_match():
        raise PreconditionRequired()

    yield other


def test_api_404_is_problem_json(client):
    response = client.get("/api/v1/does-not-exist")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    body = response.json
    assert body["status"] == 404 and body["title"] == "Niet gevonden" and body["type"].endswith("/404")
    assert body["instance"] == "/api/v1/does-not-exist"


def test_api_405_lists_allowed_methods(client):
    response = client.delete("/api/v1/organisations")
    assert response.status_code == 405 and response.mimetype == "application/problem+json"
    assert "GET" in response.headers["Allow"]


def test_trailing_slash_is_404_not_redirect(client):
    assert client.get("/api/v1/organisations/").status_code == 404


def test_api_500_hides_internals(boom_app):
    response = boom_app.test_client().get("/api/v1/boom")
    assert response.status_code == 500 and response.mimetype == "application/problem+json"
    text = response.get_data(as_text=True)
    assert "hunter2" not in text and "Traceback" not in text and "RuntimeError" not in text
    assert response.json["requestId"] == response.headers["X-Request-ID"]


def test_html_500_is_a_dutch_page_without_internals(boom_app):
    response = boom_app.test_client().get("/boom")
    assert response.status_code == 500 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Er ging iets mis" in page and "secret internals" not in page and 'lang="nl"' in page


@pytest.mark.parametrize("path,status", [("/api/v1/conflict", 409), ("/api/v1/invalid", 400),
                                         ("/api/v1/stale", 412), ("/api/v1/no-if-match", 428)])
def test_domain_errors_map_to_problem_json(boom_app, path, status):
    response = boom_app.test_client().get(path)
    assert response.status_code == status and response.mimetype == "application/problem+json"
    body = response.json
    assert body["status"] == status and body["title"]
    if status == 409:
        assert body["allowed"] == ["accepted", "rejected"]
    if status == 400:
        assert body["errors"] == [{"field": "bsn", "message": "Dit BSN klopt niet (11-proef)."}]


def test_html_404_is_dutch(client):
    response = client.get("/bestaat-niet")
    assert response.status_code == 404
    assert "Niet gevonden" in response.get_data(as_text=True)


@pytest.mark.parametrize("method,url,form,field", [
    ("POST", "/inloggen", {"email": "a\x00@school.nl", "password": "x"}, "email"),
    ("POST", "/wachtwoord-vergeten", {"email": "a\x00@school.nl"}, "email"),
    ("GET", "/sociale-kaart?gemeente=Waal%00stede", None, "gemeente"),
    ("GET", "/sociale-kaart?q%00=werk", None, "q"),
    ("GET", "/controle/AB%00CD", None, "path"),
    ("POST", "/oauth/token", {"grant_type": "client_credentials", "client_id": "x\x00", "client_secret": "y"},
     "client_id"),
    ("GET", "/api/v1/agreement-verifications/AB%00CD", None, "path"),
    ("GET", "/hsds/services?search=werk%00", None, "search"),
])
def test_nul_characters_are_400_everywhere_never_500(client, method, url, form, field):
    """PostgreSQL cannot compare or store U+0000: before any view runs, a NUL in the path, the
    query string or a form field is 400 naming the field (a Dutch page, or problem+json on the
    API), not a 500 from deep in a query."""
    if method == "POST" and url.startswith("/oauth/"):
        response = client.post(url, data=form)
    elif method == "POST":
        response = post_form(client, url, form)
    else:
        response = client.get(url)
    assert response.status_code == 400, response.get_data(as_text=True)[:500]
    if url.startswith(("/api/", "/oauth/", "/hsds/")):
        assert response.mimetype == "application/problem+json"
        errors = response.get_json()["errors"]
        assert errors == [{"field": field, "message": "Tekst mag geen NUL-teken (\\u0000) bevatten."}]
    else:
        assert response.mimetype == "text/html"
        page = response.get_data(as_text=True)
        assert "Ongeldige invoer" in page or "Ongeldig verzoek" in page
        assert f"NUL-teken (\\u0000) in: {field}" in page


DEEP = "[" * 1000 + "]" * 1000  # 2 KB that used to exhaust the recursion of every JSON parser


@pytest.mark.parametrize("method,url", [
    ("POST", "/oauth/token"), ("GET", "/api/v1/regions"), ("GET", "/api/v1/organisations?pagina=1"),
    ("POST", "/api/v1/referrals"), ("PATCH", "/api/v1/referrals/1"), ("POST", "/api/v1/agreement-bundles/verify"),
    ("DELETE", "/api/v1/webhooks/1"), ("GET", "/api/v1/openapi.json"),
])
@pytest.mark.parametrize("body,message", [
    (DEEP, "te diep genest (hoogstens 32 niveaus)"),
    ("{" + '"a": {' * 40 + "}" * 41, "te diep genest"),  # parseable, but deeper than any document of ours
    ("[" * 100_000, "te diep genest"),
    ('{"titel": "kapot', "geen geldige JSON (regel 1, kolom 11)"),
    (b"\xff\xfe\xfa", "geen geldige JSON"),
])
def test_unreadable_json_is_400_before_any_view(client, caplog, method, url, body, message):
    """A body declared JSON that is not, or that nests deeper than any document of the API, is
    400 problem+json on ``body`` for any method, before any view or authentication runs (the
    POSTs here would be 401 without a token), and never a 500 with a traceback in the log."""
    with caplog.at_level(logging.INFO):
        response = client.open(url, method=method, data=body, content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"
    [error] = response.get_json()["errors"]
    assert error["field"] == "body" and message in error["message"]
    assert not [record for record in caplog.records if record.exc_info or record.levelno >= logging.ERROR]
    assert "Traceback" not in caplog.text


def test_json_nested_as_deep_as_allowed_reaches_the_view(client):
    body = "[" * 32 + "]" * 32
    assert client.open("/api/v1/regions", method="GET", data=body, content_type="application/json").status_code == 200
    response = client.post("/api/v1/referrals", data=body, content_type="application/json")
    assert response.status_code == 401  # the view's own answer: no token


def test_unreadable_json_on_a_page_is_a_dutch_400(client):
    response = client.open("/sociale-kaart", method="GET", data=DEEP, content_type="application/json")
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "te diep genest" in response.get_data(as_text=True)


def test_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Request-ID"]


def test_api_version_header(client):
    response = client.get("/api/v1/regions")
    assert response.status_code == 200 and response.headers["API-Version"] == "1.0.0"


def test_openapi_is_public(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.json["openapi"].startswith("3.")
    assert "/api/v1/organisations" in response.json["paths"]


def test_jwks_publishes_public_signing_keys(client, keyring):
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    keys = response.json["keys"]
    assert keys[0]["kid"] == keyring.signing_key_current and all("d" not in k for k in keys)
    kid, signature = keyring.sign(b"hello")
    public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(keys[0]["x"] + "=="))
    public.verify(base64.urlsafe_b64decode(signature + "=="), b"hello")


def test_readyz_fails_when_migrations_are_behind(app_ctx, client):
    from flask_migrate import downgrade, upgrade

    downgrade(revision="base")
    try:
        response = client.get("/readyz")
        assert response.status_code == 503 and response.json["migrations"] == "behind"
    finally:
        upgrade()
