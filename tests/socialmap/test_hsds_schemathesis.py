"""Property-based conformance of /hsds with the official HSDS 3.0 OpenAPI (schemathesis,
in-process over WSGI). The spec's ``$ref``s point at GitHub; they are inlined here from the
local copy of the same files. Bounded: a few examples per operation, no slow health checks.

Checked: no server errors, documented content types, and (for documented statuses) responses
valid against the schema. Filters with random values may answer 400 (problem+json), which the
official spec does not list, so the status-code check is left out."""

from __future__ import annotations

import json

import pytest

from tests.socialmap.hsds_conformance import _REMOTE, CONFORMANCE, require_conformance

schemathesis = pytest.importorskip("schemathesis")


def _inline(node, base):
    """Replace every external ``$ref`` by the referenced file (recursively, local folder)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            relative = ref[len(_REMOTE):] if ref.startswith(_REMOTE) else ref
            path = (base / relative).resolve()
            loaded = json.loads(path.read_text(encoding="utf-8"))
            loaded.pop("$id", None)
            loaded.pop("$schema", None)
            return _inline(loaded, path.parent)
        return {k: _inline(v, base) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, base) for v in node]
    return node


def _schema(app):
    require_conformance()
    raw = json.loads((CONFORMANCE / "openapi.json").read_text(encoding="utf-8"))
    raw = _inline(raw, CONFORMANCE)
    raw["servers"] = [{"url": "/hsds"}]
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = app
    return schema


def test_hsds_follows_the_official_openapi(app, region_map):
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

    schema = _schema(app)
    checked, statuses = [], set()
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=4, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case):
            response = case.call()
            statuses.add(response.status_code)
            case.validate_response(response, checks=[not_a_server_error, content_type_conformance]
                                   + ([response_schema_conformance] if response.status_code == 200 else []))

        run()
        checked.append(operation.label)
    assert len(checked) == 11, checked
    assert 200 in statuses, statuses
