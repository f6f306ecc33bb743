"""The audit log's hash chain: sealing events in order and signing checkpoints of the head.

Sealing runs apart from writing (the scheduler's ``audit.seal`` job, or ``schakel audit seal``):
it takes the unsealed events in insertion order, gives each the next sequence number, chains
``hash = SHA-256(canonical(event) + prev_hash)`` and signs a checkpoint with the hub's Ed25519
key (an :class:`AuditCheckpoint`): the new head, the first event of the batch, and the RFC 9162
Merkle root over the batch's leaves (:mod:`network.audit_merkle`), from which a single event
can be proven. :func:`event_hash` is the one definition of an event's hash;
:mod:`network.audit_verify` recomputes the chain from it. Each new checkpoint is announced
(:data:`network.signals.audit_checkpoint`: the ``audit.checkpoint`` webhook) and, after
commit, written to the operator's checkpoint stream (:mod:`network.audit_publish`), so copies
live where the database's administrator cannot rewrite them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import SmallInteger, String, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from network import signals
from network.audit import AuditEvent, BigId, canonical, plain, utc_stamp
from network.audit_merkle import leaf_body, leaf_hash, root
from network.clock import utcnow
from network.crypto import Keyring
from network.db import UTCDateTime, db
from network.transaction import commit

GENESIS = "0" * 64
#: the version of the checkpoints seal() signs (see AuditCheckpoint)
CHECKPOINT_VERSION = 2


class AuditChainHead(db.Model):
    """The single row that holds the end of the chain; sealers lock it."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigId, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<AuditChainHead seq={self.last_seq}>"


class AuditCheckpoint(db.Model):
    """An Ed25519 signature over the chain head at ``seq``; published (``/.well-known/audit-
    checkpoints``, the ``audit.checkpoint`` webhook, the operator's stream) so that copies
    outside the database can witness it.

    Version 2 also signs ``first_seq`` (the event after the previous checkpoint: a missing
    checkpoint shows as a gap) and ``root_hash``. Version 1, signed before, signs the head only;
    its ``first_seq`` was filled in by the migration."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigId, unique=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    key_id: Mapped[str] = mapped_column(String(40))
    signature: Mapped[str] = mapped_column(String(200))
    first_seq: Mapped[int | None] = mapped_column(BigId)
    #: RFC 9162 root over the leaves of the events ``first_seq`` … ``seq`` (hex); None in version 1
    root_hash: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(SmallInteger, default=CHECKPOINT_VERSION, server_default="1")

    def __repr__(self) -> str:
        return f"<AuditCheckpoint seq={self.seq}>"

    def payload(self) -> bytes:
        return signed_payload(checkpoint_json(self))


def checkpoint_json(cp: AuditCheckpoint) -> dict[str, Any]:
    """A checkpoint as it is published and as witnesses keep it."""
    return {"version": cp.version, "seq": cp.seq, "firstSeq": cp.first_seq, "headHash": cp.head_hash,
            "rootHash": cp.root_hash, "signedAt": utc_stamp(cp.created_at), "keyId": cp.key_id,
            "signature": cp.signature}


def signed_payload(published: dict[str, Any]) -> bytes:
    """The bytes a checkpoint's signature covers, from its published form (:func:`checkpoint_json`)."""
    body = {"head_hash": published["headHash"], "seq": published["seq"], "signed_at": published["signedAt"]}
    if published["version"] >= 2:
        body.update(v=published["version"], first_seq=published["firstSeq"], root_hash=published["rootHash"])
    return canonical(body).encode()


def checkpoint_payload(seq: int, head_hash: str, created_at: dt.datetime) -> bytes:
    """What a version 1 checkpoint signed (the head only)."""
    return signed_payload({"version": 1, "seq": seq, "headHash": head_hash, "signedAt": utc_stamp(created_at)})


# -- sealing -----------------------------------------------------------------------------

_CHAINED_FIELDS = (
    "occurred_at", "action", "event_type", "outcome", "account_id", "account_name", "role",
    "organisation_id", "organisation_name", "on_behalf_of", "purpose", "channel", "source_ip",
    "user_agent", "request_id", "object_type", "object_id", "student_id", "basis", "detail",
)


def event_hash(values: dict[str, Any], seq: int, prev_hash: str) -> str:
    body = {name: plain(values[name]) for name in _CHAINED_FIELDS}
    body["seq"] = seq
    return hashlib.sha256((canonical(body) + prev_hash).encode()).hexdigest()

_CHAINED_COLUMNS = tuple(getattr(AuditEvent, name) for name in _CHAINED_FIELDS)


@dataclass
class SealResult:
    sealed: int = 0
    last_seq: int = 0
    checkpoint_seq: int | None = None
    #: the new checkpoint, published form (checkpoint_json)
    checkpoint: dict[str, Any] | None = None


def seal(session: Session, keyring: Keyring, *, batch: int = 5000) -> SealResult:
    """Chain up to ``batch`` unsealed events and sign the new head. The caller commits.

    Locks the chain head row, so two sealers take turns; writers of new events are not held up.
    """
    head = session.execute(select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update()).scalar_one()
    # plain rows, not ORM objects, and one executemany UPDATE: ~5x faster per batch
    pending = session.execute(
        select(AuditEvent.id, *_CHAINED_COLUMNS).where(AuditEvent.seq.is_(None)).order_by(AuditEvent.id).limit(batch)
    ).all()
    result = SealResult(last_seq=head.last_seq)
    if not pending:
        return result
    seq, prev = head.last_seq, head.last_hash
    chained, leaves = [], []
    for row in pending:
        seq += 1
        digest = event_hash(row._mapping, seq, prev)
        chained.append({"id": row.id, "seq": seq, "prev_hash": prev, "hash": digest})
        leaves.append(leaf_hash(leaf_body(row._mapping, seq, digest)))
        prev = digest
    session.execute(update(AuditEvent), chained)
    # events the caller's session holds show their new chain fields on the next access
    for obj in list(session.identity_map.values()):
        if isinstance(obj, AuditEvent):
            session.expire(obj, ["seq", "prev_hash", "hash"])
    now = utcnow()
    checkpoint = AuditCheckpoint(seq=seq, first_seq=head.last_seq + 1, head_hash=prev, root_hash=root(leaves).hex(),
                                 created_at=now, version=CHECKPOINT_VERSION, key_id="", signature="")
    checkpoint.key_id, checkpoint.signature = keyring.sign(checkpoint.payload())
    head.last_seq, head.last_hash, head.updated_at = seq, prev, now
    session.add(checkpoint)
    signals.audit_checkpoint.send(checkpoint, session=session, keyring=keyring)
    result.sealed, result.last_seq, result.checkpoint_seq = len(pending), seq, seq
    result.checkpoint = checkpoint_json(checkpoint)
    return result


def seal_all(session_factory, keyring: Keyring, *, batch: int = 5000,
             publish: Callable[[dict[str, Any]], None] | None = None,
             on_progress: Callable[[int, int], None] | None = None) -> int:
    """Seal until nothing is left, one transaction per batch. Returns the number sealed.
    ``publish`` gets each new checkpoint (published form) once its batch is committed;
    ``on_progress(sealed, waiting)`` hears after each batch (``waiting``: counted at the start,
    grown by what was written meanwhile)."""
    total = 0
    waiting = 0
    if on_progress is not None:
        waiting = session_factory().scalar(select(func.count()).select_from(AuditEvent)
                                           .where(AuditEvent.seq.is_(None))) or 0
        on_progress(0, waiting)
    while True:
        session = session_factory()
        try:
            result = seal(session, keyring, batch=batch)
            commit(session)
        except Exception:
            session.rollback()
            raise
        total += result.sealed
        if result.checkpoint is not None and publish is not None:
            publish(result.checkpoint)
        if on_progress is not None:
            on_progress(total, max(waiting, total))
        if result.sealed < batch:
            return total
