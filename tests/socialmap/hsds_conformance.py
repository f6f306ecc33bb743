"""Validation against the official HSDS 3.0 schemas in ../shared/conformance/hsds-3.0 (Open
Referral, unchanged). Tests that need them skip, loudly, when that folder is absent."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import pytest

from network import PROJECT_ROOT

CONFORMANCE = Path(os.environ.get("SCHAKEL_HSDS_CONFORMANCE",
                                  PROJECT_ROOT.parent / "shared" / "conformance" / "hsds-3.0"))
_REMOTE = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"


def require_conformance() -> None:
    if not (CONFORMANCE / "openapi.json").exists():
        pytest.skip(f"!!! HSDS CONFORMANCE SKIPPED: {CONFORMANCE} is missing")


@functools.cache
def _registry():
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    resources = []
    for path in list(CONFORMANCE.glob("*.json")) + list(CONFORMANCE.glob("compiled/*.json")):
        contents = json.loads(path.read_text())
        relative = str(path.relative_to(CONFORMANCE))
        resource = Resource.from_contents(contents, default_specification=DRAFT202012)
        resources += [(relative, resource), (_REMOTE + relative, resource)]
    return Registry().with_resources(resources)


@functools.cache
def _validator(relative: str):
    from jsonschema import Draft202012Validator

    schema = {"$ref": relative}
    return Draft202012Validator(schema, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def validate(relative: str, instance) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``instance`` fits the schema at ``relative``
    (e.g. ``compiled/service.json`` or ``taxonomy.json``)."""
    require_conformance()
    errors = sorted(_validator(relative).iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors[:10])


def validate_page(body: dict, item_schema: str) -> None:
    """The OpenAPI ``Page`` envelope, and each item of ``contents`` against ``item_schema``."""
    require_conformance()
    from jsonschema import Draft202012Validator

    page_schema = json.loads((CONFORMANCE / "openapi.json").read_text())["components"]["schemas"]["Page"]
    Draft202012Validator(page_schema).validate(body)
    assert set(page_schema["properties"]) <= set(body), "the Page envelope is incomplete"
    assert isinstance(body["contents"], list)
    for item in body["contents"]:
        validate(item_schema, item)


def example(name: str):
    require_conformance()
    return json.loads((CONFORMANCE / "examples" / name).read_text())
