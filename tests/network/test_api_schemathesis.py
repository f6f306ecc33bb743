"""Schemathesis over every operation of ``/api/v1/openapi.json``, in-process: with a token of a
client holding every scope (a school's and a gemeente's, in a small world with a student,
consent, a referral and services), generated requests must never get a 5xx, and every answer
must match what the document promises (status code, content type, headers, body schema);
an operation that declares security must refuse the request without (or with a bad) token.

Positive cases (valid by the document) and negative ones (invalid: they must be refused with a
documented 4xx, never a 5xx). Bounded for the suite: a few examples per operation,
derandomized (the same cases every run), no shrinking. Path parameters that name an object of the
world get its real id half of the time, so answers with data are checked too, not only 404s.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from consent.agreements.models import AgreementKind
from consent.agreements.service import create_agreement
from network.oauth import SCOPES
from network.webhooks import EVENT_TYPES
from referrals import wizard_service as ws
from referrals.route_service import open_route
from tests.factories import bearer, get_token, make_api_client, principal_for
from tests.referrals.conftest import draft_data, rworld  # noqa: F401  (the world fixture)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, ignored_auth]
#: examples per operation and mode
MAX_EXAMPLES = {schemathesis.GenerationMode.POSITIVE: 20, schemathesis.GenerationMode.NEGATIVE: 10}


def _fresh_contexts(app):
    """The app as WSGI, each request in an app context of its own (own ``g`` and session),
    as in production, although the test holds one open."""

    def wsgi(environ, start_response):
        with app.app_context():
            return list(app(environ, start_response))

    return wsgi


def _world_ids(session, keyring, rworld, side: str) -> dict:
    mentor = principal_for(rworld["mentor"])
    referral = ws.save_draft(session, mentor, keyring, rworld["student"], draft_data(rworld))
    ws.send_referral(session, mentor, keyring, referral)
    route = open_route(session, mentor, rworld["student"], {})
    agreement = create_agreement(session, mentor, keyring, rworld["student"], AgreementKind.plan)
    session.commit()
    organisation = rworld["school"] if side == "school" else rworld["gemeente"]
    client, secret = make_api_client(organisation, sorted(SCOPES), name=f"Alles {side}")
    session.commit()
    own_service = rworld["own_service"] if side == "school" else rworld["service"]
    return {"client": client, "secret": secret,
            "ids": {"referral_id": referral.id, "student_id": rworld["student"].id, "route_id": route.id,
                    "consent_id": rworld["consent"].id, "service_id": own_service.uuid,
                    "agreement_id": agreement.id, "number": 1, "code": agreement.verify_code}}


def _subscribe(http, headers) -> int:
    """A webhook subscription of the client, made through the API itself."""
    response = http.post("/api/v1/webhook-subscriptions", headers=headers,
                         json={"url": "https://partner.example/hooks", "event_types": sorted(EVENT_TYPES)[:1]})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["id"]


def _describe(exc: BaseException) -> str:
    """The failures' titles and the request to reproduce them (schemathesis's own message)."""
    parts = [str(exc)]
    for failure in getattr(exc, "exceptions", ()):
        parts.append(f"- {type(failure).__name__}: {str(failure)[:600]}")
    return "\n".join(parts)[:4000]


def _even(value) -> bool:
    return (value if isinstance(value, int) else len(str(value))) % 2 == 0


def _use_real_ids(case, ids: dict) -> None:
    """Half of the cases (by the generated value, so the same ones every run) use the world's
    ids; half of the generated ``Idempotency-Key`` headers are dropped, or the few short keys
    Hypothesis favours would turn most POSTs into 422 (key reused) before their view runs."""
    for name, value in list((case.path_parameters or {}).items()):
        if name in ids and _even(value):
            case.path_parameters[name] = ids[name]
    key = (case.headers or {}).get("Idempotency-Key")
    if key is not None and _even(key):
        del case.headers["Idempotency-Key"]


def _operation_test(operation, mode, examples: int, ids: dict, headers: dict[str, str],
                    statuses: dict[str, set[int]]):
    """The hypothesis test of one operation in one generation mode: every case called with the
    world's real ids (half the time), validated, and its status recorded."""

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        _use_real_ids(case, ids)
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        statuses.setdefault(operation.label, set()).add(response.status_code)

    return run


@pytest.mark.parametrize("side", ["school", "gemeente"])
def test_every_operation_conforms_to_the_openapi_document(app, session, keyring, rworld, monkeypatch,
                                                          side):
    monkeypatch.setitem(app.config, "API_CLIENT_RATE_LIMIT", "100000 per minute")
    monkeypatch.setitem(app.config, "TOKEN_RATE_LIMIT", "1000 per minute")
    world = _world_ids(session, keyring, rworld, side)
    http = app.test_client()
    headers = bearer(get_token(http, world["client"], world["secret"]))
    world["ids"]["subscription_id"] = _subscribe(http, headers)
    session.close()  # the app's requests run in their own contexts and sessions
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _fresh_contexts(app))
    failures: dict[str, str] = {}
    statuses: dict[str, set[int]] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10

    for mode, examples in MAX_EXAMPLES.items():
        for operation in operations:
            run = _operation_test(operation, mode, examples, world["ids"], headers, statuses)
            try:
                run()
            except Unsatisfiable:  # nothing of this operation can be made invalid (no parameters)
                assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - reported together below
                failures[f"{operation.label} ({mode.value})"] = _describe(exc)

    # the token works: most operations answered with data at least once, not only with errors
    answered = [label for label, codes in statuses.items() if any(200 <= code < 300 for code in codes)]
    assert len(answered) >= len(operations) // 3, statuses
    assert not failures, "\n\n".join(f"{label}\n{message}" for label, message in failures.items())
