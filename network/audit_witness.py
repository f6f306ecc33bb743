"""Witness copies of the audit checkpoints, as ``schakel audit verify --witness`` reads them.

A witness is whatever kept the published checkpoints: the operator's checkpoint file (JSON
lines), a partner's copy of ``/.well-known/audit-checkpoints`` (one page, or pages joined), the
bodies of ``audit.checkpoint`` webhooks, or that URL itself (every page is fetched). A copy that
cannot be read, or whose entries are not checkpoints signed by this hub, is an error of its own
(:class:`WitnessError`): a damaged witness never makes verify say OK.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.error import URLError
from urllib.parse import urljoin

from network.audit_chain import signed_payload
from network.crypto import Keyring
from network.events import DomainEvent

_FIELDS = {"version": int, "seq": int, "headHash": str, "signedAt": str, "keyId": str, "signature": str}
_PAGES_MAX = 100_000


class WitnessError(Exception):
    """A witness copy that cannot be used: unreadable, not checkpoints, or not signed by this hub."""


@dataclass(frozen=True)
class WitnessCheckpoint:
    source: str
    checkpoint: dict[str, Any]

    @property
    def seq(self) -> int:
        return self.checkpoint["seq"]


def load_witness(source: str, keyring: Keyring) -> list[WitnessCheckpoint]:
    """The checkpoints ``source`` (a file or an http(s) URL) kept, each checked: well formed and
    signed with one of this hub's keys."""
    documents = _fetch_pages(source) if source.startswith(("http://", "https://")) else [_read_file(source)]
    found = []
    for where, entry in _entries(source, documents):
        found.append(WitnessCheckpoint(source, _checked(where, entry, keyring)))
    if not found:
        raise WitnessError(f"witness {source} holds no checkpoints")
    return found


def _read_file(source: str) -> Any:
    try:
        text = Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WitnessError(f"witness {source} cannot be read: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    lines = []  # JSON lines: the operator's checkpoint file
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise WitnessError(f"witness {source} line {number} is not JSON: {exc.msg}") from exc
    return lines


def _fetch_pages(url: str) -> list[Any]:
    pages, next_url = [], url
    while next_url and len(pages) < _PAGES_MAX:
        try:
            with urllib.request.urlopen(next_url, timeout=30) as response:  # nosec B310 # http(s) only, checked above
                page = json.loads(response.read())
        except (URLError, OSError, ValueError) as exc:
            raise WitnessError(f"witness {next_url} cannot be fetched: {exc}") from exc
        pages.append(page)
        following = page.get("next") if isinstance(page, dict) else None
        next_url = urljoin(next_url, following) if following else None
    return pages


def _entries(source: str, documents: list[Any]) -> Iterator[tuple[str, Any]]:
    """(where, entry) for each checkpoint-like entry: a list of them, ``{"checkpoints": […]}``
    (the public list), a webhook body (``{"type": "audit.checkpoint", "data": {…}}``) or one."""
    for page, document in enumerate(documents, start=1):
        if isinstance(document, dict) and "checkpoints" in document:
            items = document["checkpoints"]
        elif isinstance(document, list):
            items = document
        else:
            items = [document]
        if not isinstance(items, list):
            raise WitnessError(f"witness {source}: 'checkpoints' is not a list")
        for index, item in enumerate(items, start=1):
            if isinstance(item, dict) and item.get("type") == DomainEvent.audit_checkpoint and "data" in item:
                item = item["data"]
            yield f"{source} (page {page}, entry {index})" if len(documents) > 1 else f"{source} entry {index}", item


def _checked(where: str, entry: Any, keyring: Keyring) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise WitnessError(f"witness {where} is not a checkpoint")
    for name, kind in _FIELDS.items():
        if not isinstance(entry.get(name), kind) or isinstance(entry.get(name), bool):
            raise WitnessError(f"witness {where} is not a checkpoint: {name} missing or not a {kind.__name__}")
    complete = isinstance(entry.get("firstSeq"), int) and isinstance(entry.get("rootHash"), str)
    if entry["version"] >= 2 and not complete:
        raise WitnessError(f"witness {where} is not a checkpoint: firstSeq or rootHash missing")
    if not keyring.verify(entry["keyId"], signed_payload(entry), entry["signature"]):
        raise WitnessError(f"witness {where} (seq {entry['seq']}) is not signed by this hub's key "
                           f"{entry['keyId']}: the copy is damaged, or not of this hub")
    return entry
