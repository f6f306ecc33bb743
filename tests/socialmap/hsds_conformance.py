"""Validation against the official HSDS 3.0 schemas (Open Referral's repository
openreferral/specification, branch 3.0, commit 279fd2eb3552c349bf698c07c00cc25f5fc8249b;
Creative Commons Attribution-ShareAlike 4.0, by the Open Referral project; unchanged).

They are read from ``../shared/conformance/hsds-3.0`` where the team keeps them, else from
``hsds-3.0.tar.xz`` next to this file (the same folder packed, 82 KB instead of 17 MB), which a
clean clone such as CI's has; ``SCHAKEL_HSDS_CONFORMANCE`` names another folder. Tests that need
them skip, loudly, only when neither is there."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

import pytest

from network import PROJECT_ROOT

SHARED = PROJECT_ROOT.parent / "shared" / "conformance" / "hsds-3.0"
PACKED = Path(__file__).with_name("hsds-3.0.tar.xz")


def _unpacked() -> Path:
    """The packed copy, unpacked once per version of the archive into the temp folder."""
    digest = hashlib.sha256(PACKED.read_bytes()).hexdigest()[:16]
    target = Path(tempfile.gettempdir()) / f"schakel-hsds-3.0-{digest}"
    if not (target / "hsds-3.0" / "openapi.json").exists():
        staging = Path(tempfile.mkdtemp(prefix="schakel-hsds-"))
        with tarfile.open(PACKED) as archive:
            archive.extractall(staging, filter="data")
        try:
            staging.rename(target)  # whole or not at all, should two test runs unpack at once
        except OSError:  # the other one was first
            shutil.rmtree(staging, ignore_errors=True)
    return target / "hsds-3.0"


def _conformance() -> Path:
    if os.environ.get("SCHAKEL_HSDS_CONFORMANCE"):
        return Path(os.environ["SCHAKEL_HSDS_CONFORMANCE"])
    if (SHARED / "openapi.json").exists() or not PACKED.exists():
        return SHARED
    return _unpacked()


CONFORMANCE = _conformance()
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
