"""Schemathesis over the students, consents, sociale kaart and agreements-list operations of the
API (in-process), called with a school's OAuth2 token holding every scope they need: no server
errors, only documented statuses and content types, bodies valid against the documented
schemas. Every other case uses a real id of the school (a student, a consent, an entry), the
rest made-up ones."""

from __future__ import annotations

import pytest

from consent.service import grant_consent
from network.db import db
from network.permissions import system_principal
from socialmap.entries import create_service
from tests.consent.conftest import actors, grant_data, world  # noqa: F401
from tests.factories import bearer, get_token, make_api_client

OPERATIONS = {
    ("/api/v1/students", "get"), ("/api/v1/students/{student_id}", "get"),
    ("/api/v1/students/{student_id}/consents", "get"), ("/api/v1/students/{student_id}/consents", "post"),
    ("/api/v1/consents/{consent_id}", "get"), ("/api/v1/consents/{consent_id}/withdrawal", "post"),
    ("/api/v1/services", "get"), ("/api/v1/services", "post"), ("/api/v1/services/{service_id}", "get"),
    ("/api/v1/services/{service_id}", "patch"), ("/api/v1/services/{service_id}", "delete"),
    ("/api/v1/agreements", "get"),
}
SCOPES = ["students:read", "consents:read", "consents:write", "socialmap:write", "agreements:read"]


def test_the_operations_conform_to_the_openapi_document(app, client, session, keyring, world, actors,
                                                        monkeypatch):
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    monkeypatch.setitem(app.config, "TOKEN_RATE_LIMIT", "10000 per minute")
    consent = grant_consent(session, actors["student_account"], keyring, world["student"], grant_data(world))
    service = create_service(db.session, system_principal(), world["school"], {
        "name": "Stagebureau", "contacts": [{"name": "Mevrouw Bakker", "email": "bakker@roc.example"}]})
    api_client, secret = make_api_client(world["school"], SCOPES, name="Schoolsysteem")
    session.commit()
    headers = bearer(get_token(client, api_client, secret))
    known = {"student_id": str(world["student"].id), "consent_id": consent.id, "service_id": str(service.uuid)}

    raw = client.get("/api/v1/openapi.json").get_json()
    raw["paths"] = {path: {m: op for m, op in ops.items() if (path, m) in OPERATIONS or m == "parameters"}
                    for path, ops in raw["paths"].items() if any((path, m) in OPERATIONS for m in ops)}
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = app
    checked, statuses, calls = [], set(), [0]
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=8, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case):
            calls[0] += 1
            if case.path_parameters and calls[0] % 2:  # every other case: the school's real object
                case.path_parameters.update({k: v for k, v in known.items() if k in case.path_parameters})
            with app.app_context():  # a fresh ``g`` and session per request, as in production
                response = case.call(headers={**headers, **(case.headers or {})})
            statuses.add(response.status_code)
            case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                                     content_type_conformance, response_schema_conformance])

        run()
        checked.append(operation.label)
    assert len(checked) == len(OPERATIONS), checked
    assert {200, 400, 404} <= statuses, statuses
