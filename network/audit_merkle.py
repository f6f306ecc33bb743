"""Merkle trees over the audit log (RFC 9162, Certificate Transparency 2.0, section 2.1), so one
event can be proven to be in a signed checkpoint with a few hashes.

Each checkpoint that :func:`network.audit_chain.seal` signs holds the root of a tree over the
events it sealed (``first_seq`` … ``seq``). An event's leaf is not the whole row: a student may
be handed the proof of "who looked at my data", and it must not give away the reader's network
address or browser. The leaf holds the fields the student's page shows (:data:`DISCLOSED`) in
the clear, and the rest (:data:`WITHHELD`) only as a SHA-256 keyed with the event's chain hash,
which the student never sees, so those values cannot be guessed back from it.

The leaf is a function of the row and its chain hash; the chain hash at a checkpoint fixes every
event before it, so the roots are fixed by the chain that ``schakel audit verify`` checks.
``README.md`` ("Proving an event") has a stand-alone checker of these proofs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from network.audit import canonical, plain

#: the fields of an event a proof shows: those of the student's "wie heeft mijn gegevens
#: bekeken" page, and what the event was about
DISCLOSED = ("occurred_at", "action", "event_type", "outcome", "role", "organisation_name", "on_behalf_of",
             "purpose", "channel", "object_type", "object_id", "student_id", "basis")
#: the fields a proof holds only as a keyed hash: the reader's identity, address and browser,
#: the request and the free detail
WITHHELD = ("account_id", "account_name", "organisation_id", "source_ip", "user_agent", "request_id", "detail")

EMPTY_ROOT = hashlib.sha256(b"").hexdigest()


def leaf_body(values: Mapping[str, Any], seq: int, chain_hash: str) -> dict[str, Any]:
    """The leaf of an event as a JSON object: the disclosed fields, ``seq``, and ``withheld``:
    SHA-256 over the withheld fields' canonical JSON followed by the event's chain hash."""
    withheld = canonical({name: plain(values[name]) for name in WITHHELD}) + chain_hash
    body = {name: plain(values[name]) for name in DISCLOSED}
    body["seq"] = seq
    body["withheld"] = hashlib.sha256(withheld.encode()).hexdigest()
    return body


def leaf_hash(body: Mapping[str, Any]) -> bytes:
    """RFC 9162 MTH of one entry: SHA-256(0x00 || entry), the entry being the canonical JSON."""
    return hashlib.sha256(b"\x00" + canonical(dict(body)).encode()).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """RFC 9162 MTH over leaf hashes; the empty tree's root is SHA-256 of nothing."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    level = list(leaves)
    # bottom-up: pairing left to right and carrying an odd last node up gives the same tree
    # as the RFC's recursive split at the largest power of two
    while len(level) > 1:
        paired = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def audit_path(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """RFC 9162 PATH(m, D[n]): the sibling hashes from leaf ``index`` up to the root."""
    if len(leaves) <= 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return audit_path(index, leaves[:k]) + [root(leaves[k:])]
    return audit_path(index - k, leaves[k:]) + [root(leaves[:k])]


def root_from_path(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes | None:
    """The root that ``path`` leads to from ``leaf`` at ``index`` in a tree of ``size`` leaves
    (RFC 9162 section 2.1.3.2), or None when the path does not fit the tree."""
    if index >= size:
        return None
    fn, sn, node = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            node = _node(sibling, node)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            node = _node(node, sibling)
        fn, sn = fn >> 1, sn >> 1
    return node if sn == 0 else None
