"""The proof that one audit event is in a signed checkpoint (RFC 9162 inclusion proof).

A student who looks at "wie heeft mijn gegevens bekeken" can download, for each event, the
event's leaf (what the page shows, see :mod:`network.audit_merkle`), the audit path to the
Merkle root of the checkpoint that sealed it, that checkpoint as it was published, and the
hub's public key. ``README.md`` ("Proving an event") checks such a proof with nothing but
Python and ``cryptography``; whoever compares the checkpoint with a witness's copy (or with
``/.well-known/audit-checkpoints``) knows the event cannot be taken out of the log unseen.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from network.audit import AuditEvent
from network.audit_chain import _CHAINED_COLUMNS, AuditCheckpoint, checkpoint_json
from network.audit_merkle import audit_path, leaf_body, leaf_hash
from network.crypto import Keyring

FORMAT = "schakel-audit-proof/1"


def covering_checkpoint(session: Session, seq: int) -> AuditCheckpoint | None:
    """The version 2 checkpoint that sealed the event with ``seq``."""
    return session.scalar(select(AuditCheckpoint).where(AuditCheckpoint.seq >= seq, AuditCheckpoint.first_seq <= seq,
                                                        AuditCheckpoint.root_hash.is_not(None))
                          .order_by(AuditCheckpoint.seq).limit(1))


def inclusion_proof(session: Session, keyring: Keyring, event_id: int) -> dict[str, Any] | None:
    """The proof for event ``event_id`` as a JSON-ready dict, or None while it is not sealed in a
    version 2 checkpoint (pending, or sealed before checkpoints had roots)."""
    seq = session.scalar(select(AuditEvent.seq).where(AuditEvent.id == event_id))
    checkpoint = covering_checkpoint(session, seq) if seq is not None else None
    if checkpoint is None:
        return None
    rows = session.execute(select(AuditEvent.seq, AuditEvent.hash, *_CHAINED_COLUMNS)
                           .where(AuditEvent.seq.between(checkpoint.first_seq, checkpoint.seq))
                           .order_by(AuditEvent.seq)).all()
    bodies = {row.seq: leaf_body(row._mapping, row.seq, row.hash) for row in rows}
    leaves = [leaf_hash(bodies[s]) for s in sorted(bodies)]
    index = seq - checkpoint.first_seq
    published = checkpoint_json(checkpoint)
    return {
        "format": FORMAT,
        "leaf": bodies[seq],
        "leafIndex": index,
        "treeSize": len(leaves),
        "auditPath": [node.hex() for node in audit_path(index, leaves)],
        "checkpoint": published,
        "publicKey": next((key for key in keyring.jwks()["keys"] if key.get("kid") == checkpoint.key_id), None),
        "checkAgainst": "/.well-known/audit-checkpoints",
    }
