"""Verifying the audit log: the chain (:mod:`network.audit_walk`), the signed checkpoints, the
copies witnesses kept of them (:mod:`network.audit_witness`), the chain's end, and the events
still waiting for their seal. :func:`verify` is read-only and names the first problem.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from network.audit import AuditEvent, utc_stamp
from network.audit_chain import _CHAINED_COLUMNS, AuditChainHead, AuditCheckpoint, checkpoint_json
from network.audit_merkle import leaf_body, leaf_hash, root
from network.audit_walk import DEFAULT_GRACE, VerifyReport, check_chain, floors_of
from network.audit_witness import WitnessCheckpoint
from network.clock import utcnow
from network.crypto import Keyring

__all__ = ["DEFAULT_GRACE", "VerifyReport", "verify"]


def verify(session: Session, keyring: Keyring, *, chunk: int = 20000, workers: int = 2,
           grace: dt.timedelta = DEFAULT_GRACE, now: dt.datetime | None = None,
           witnesses: Sequence[WitnessCheckpoint] = (), roots: bool = False,
           on_progress: Callable[[int, int], None] | None = None) -> VerifyReport:
    """Recompute the whole chain and check every signed checkpoint. Read-only: it seals nothing.

    Fails, naming what it found, when an event was changed, removed or added out of order; when
    a checkpoint is badly signed, missing between others, or differs from a witness's copy
    (``witnesses``, see :mod:`network.audit_witness`); when the chain head is not covered by
    the newest checkpoint; when an event waits for its seal longer than ``grace``; and when a
    sealed event is dated more than ``grace`` before the checkpoint sealed just before it. With
    ``roots`` it also recomputes each checkpoint's Merkle root (slower: every event's leaf).

    Each event is checked on its own (its hash, its link to the event before, its place in the
    sequence), so the chain is read in spans of ``chunk`` events that are joined in order. On
    PostgreSQL ``workers`` spans are read at a time, each over a connection of its own, and the
    database builds and hashes each event's JSON (``_chain_sql``'s digest) while Python
    compares another span's. Those connections see committed events only; the chain is sealed
    in committed batches. ``on_progress(checked, total)`` hears after each span how many events
    of the chain have been checked.
    """
    report = VerifyReport()
    checkpoints = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).all()
    report.checkpoints, report.witnessed = len(checkpoints), len(witnesses)
    if _check_checkpoints(report, keyring, checkpoints, witnesses) is not None:
        return report
    engine = session.get_bind().engine
    dialect = engine.dialect.name
    last_seq = check_chain(report, session, engine, checkpoints, floors_of(dialect, checkpoints, grace),
                           chunk=chunk, workers=workers, on_progress=on_progress)
    if not report.ok:
        return report
    _check_head(report, session, checkpoints, last_seq)
    if report.ok:
        _check_pending(report, session, grace, now or utcnow())
    if report.ok and roots:
        _check_roots(report, session, checkpoints)
    return report


def _check_checkpoints(report: VerifyReport, keyring: Keyring, checkpoints: Sequence[AuditCheckpoint],
                       witnesses: Sequence[WitnessCheckpoint]) -> VerifyReport | None:
    """Signatures, no gaps between checkpoints, and every witness's copy still there, unchanged."""
    expected_first = 1
    for cp in checkpoints:
        if not keyring.verify(cp.key_id, cp.payload(), cp.signature):
            return report.fail(f"checkpoint at seq {cp.seq} has an invalid signature", seq=cp.seq)
        if cp.first_seq is not None and cp.first_seq != expected_first:
            return report.fail(
                f"checkpoints are missing: the checkpoint at seq {cp.seq} starts at seq {cp.first_seq}, "
                f"the one before it ends at seq {expected_first - 1}", seq=min(cp.first_seq, expected_first))
        expected_first = cp.seq + 1
    by_seq = {cp.seq: cp for cp in checkpoints}
    for witness in witnesses:
        kept = by_seq.get(witness.seq)
        if kept is None:
            return report.fail(f"the checkpoint at seq {witness.seq} that witness {witness.source} kept is not in "
                               f"the database: the log was cut short or rewritten", seq=witness.seq)
        if checkpoint_json(kept) != witness.checkpoint:
            return report.fail(f"the checkpoint at seq {witness.seq} differs from the copy witness {witness.source} "
                               f"kept: the log was rewritten", seq=witness.seq)
    return None


def _check_head(report: VerifyReport, session: Session, checkpoints: Sequence[AuditCheckpoint], last_seq: int) -> None:
    head = session.get(AuditChainHead, 1)
    if head is None:
        report.fail("the chain head is gone (audit_chain_head has no row): the log's end cannot be checked")
    elif head.last_seq != last_seq:
        report.fail(f"the chain ends at seq {last_seq} but its head says seq {head.last_seq}: "
                    f"events after seq {last_seq} were deleted", seq=last_seq + 1)
    elif checkpoints and checkpoints[-1].seq > last_seq:
        report.fail(f"a signed checkpoint covers seq {checkpoints[-1].seq}, beyond the last event", seq=last_seq + 1)
    elif last_seq and not (checkpoints and checkpoints[-1].seq == last_seq
                           and checkpoints[-1].head_hash == head.last_hash):
        newest = f"the newest is at seq {checkpoints[-1].seq}" if checkpoints else "there are none"
        report.fail(f"the chain's end (seq {last_seq}) is not covered by a signed checkpoint ({newest}): events were "
                    f"added behind the sealer's back, or checkpoints removed", seq=last_seq)


def _check_pending(report: VerifyReport, session: Session, grace: dt.timedelta, now: dt.datetime) -> None:
    """Events wait for the sealer (every minute): one waiting much longer was added behind the
    hub's back, or the scheduler is not running."""
    report.unsealed = session.execute(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_(None))).scalar_one()
    if not report.unsealed:
        return
    oldest = session.execute(select(AuditEvent.id, AuditEvent.occurred_at).where(AuditEvent.seq.is_(None))
                             .order_by(AuditEvent.occurred_at, AuditEvent.id).limit(1)).one()
    if oldest.occurred_at < now - grace:
        report.fail(f"event id {oldest.id} has waited to be sealed since {utc_stamp(oldest.occurred_at)}, longer than "
                    f"the grace of {grace}: is the scheduler (audit.seal) running? A row added behind the hub's back, "
                    f"or backdated, looks like this too", event_id=oldest.id)
    else:
        report.notes.append(f"{report.unsealed} events are not sealed yet")


def _check_roots(report: VerifyReport, session: Session, checkpoints: Sequence[AuditCheckpoint]) -> None:
    """Recompute each version 2 checkpoint's Merkle root from its events' leaves."""
    for cp in checkpoints:
        if cp.root_hash is None or cp.first_seq is None:
            continue
        rows = session.execute(select(AuditEvent.seq, AuditEvent.hash, *_CHAINED_COLUMNS)
                               .where(AuditEvent.seq.between(cp.first_seq, cp.seq)).order_by(AuditEvent.seq)).all()
        leaves = [leaf_hash(leaf_body(row._mapping, row.seq, row.hash)) for row in rows]
        if root(leaves).hex() != cp.root_hash:
            report.fail(f"the Merkle root of the checkpoint at seq {cp.seq} does not match its events", seq=cp.seq)
            return
