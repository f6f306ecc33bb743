"""Which HSDS 3.0 objects a document holds, and whether they fit the official schemas.

A document is what partners and our own export hand out: one service, organization or
service_at_location, a list page (``contents``), a plain list, or a package of ``services``,
``organizations``, ``service_at_locations``, ``taxonomies`` and ``taxonomy_terms`` (the shape
of :func:`socialmap.exchange.export_package`). :func:`hsds_objects` names each top-level object
with its kind and its place in the file; :func:`schema_problems` checks each one against the
Open Referral schema of its kind, kept unchanged in ``socialmap/data/hsds-3.0`` (see the
LICENSE file there).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMAS = Path(__file__).parent / "data" / "hsds-3.0"
#: the schemas refer to each other by file name; resolved against this base (never fetched)
_BASE = "https://schemas.schakel.invalid/hsds-3.0/"
#: a package's lists and the kind of their items
PACKAGE_KINDS = {"services": "service", "organizations": "organization",
                 "service_at_locations": "service_at_location", "taxonomies": "taxonomy",
                 "taxonomy_terms": "taxonomy_term"}
_MAX_PROBLEMS = 20


class NotHsds(ValueError):
    """The document is not one of the HSDS shapes the import reads."""


@dataclass(frozen=True)
class HsdsObject:
    #: where in the file, e.g. ``services[2]`` or ``contents[0]``; "" for the document itself
    path: str
    #: service, organization, service_at_location, taxonomy or taxonomy_term
    kind: str
    value: dict[str, Any]


def _kind_of(item: Any) -> str | None:
    """The kind of one object of a list or page (a service has a status, a service-at-location a
    service and a location; an organization a name and no status)."""
    if not isinstance(item, dict):
        return None
    if "status" in item:
        return "service"
    if "service" in item and "location" in item:
        return "service_at_location"
    if "name" in item:
        return "organization"
    return None


def is_package(document: Any) -> bool:
    """A package (our full export): lists by kind, not one organization with its services."""
    return (isinstance(document, dict) and "status" not in document and any(
        isinstance(document.get(key), list) for key in PACKAGE_KINDS)
        and not ("id" in document and "name" in document))


def hsds_objects(document: Any) -> Iterator[HsdsObject]:
    """Every top-level HSDS object of ``document``; raises :class:`NotHsds` for anything else."""
    if isinstance(document, list) or (isinstance(document, dict) and isinstance(document.get("contents"), list)):
        items = document if isinstance(document, list) else document["contents"]
        prefix = "" if isinstance(document, list) else "contents"
        for index, item in enumerate(items):
            kind = _kind_of(item)
            if kind is None:
                raise NotHsds(f"{prefix}[{index}] is geen HSDS-dienst, -organisatie of -dienstlocatie")
            yield HsdsObject(f"{prefix}[{index}]", kind, item)
    elif is_package(document):
        for key, kind in PACKAGE_KINDS.items():
            items = document.get(key) or []
            if not isinstance(items, list):
                raise NotHsds(f"{key} is geen lijst")
            for index, item in enumerate(items):
                yield HsdsObject(f"{key}[{index}]", kind, item)
    else:
        kind = _kind_of(document)
        if kind is None:
            raise NotHsds("geen HSDS 3.0-dienst, -organisatie, -dienstlocatie, lijst of pakket")
        yield HsdsObject("", kind, document)


@functools.cache
def _validator(kind: str):

    registry = Registry().with_resources(
        (_BASE + path.name, Resource.from_contents(json.loads(path.read_text(encoding="utf-8")),
                                                   default_specification=DRAFT202012))
        for path in SCHEMAS.glob("*.json"))
    return Draft202012Validator({"$ref": _BASE + f"{kind}.json"}, registry=registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def _where(prefix: str, path: Any) -> str:
    text = prefix
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(het document)"


def schema_problems(document: Any) -> list[str]:
    """What does not fit the official HSDS 3.0 schemas, as ``place: message`` (at most 20);
    empty when everything fits. Raises :class:`NotHsds` when the shape itself is unknown."""
    problems: list[str] = []
    for obj in hsds_objects(document):
        errors = sorted(_validator(obj.kind).iter_errors(obj.value), key=lambda e: list(e.absolute_path))
        problems += [f"{_where(obj.path, error.absolute_path)}: {error.message[:200]}" for error in errors]
        if len(problems) >= _MAX_PROBLEMS:
            break
    return problems[:_MAX_PROBLEMS]
