"""The audit log: append-only, hash-chained, with signed checkpoints (NEN 7513 fields).

Writing an event is a plain INSERT in the caller's transaction, so requests never queue behind
one lock. Sealing runs apart (the scheduler's ``audit.seal`` job, or ``schakel audit seal``):
it takes the unsealed events in insertion order, gives each the next sequence number, chains
``hash = SHA-256(canonical(event) + prev_hash)`` and signs the new head with the hub's Ed25519
key (an :class:`AuditCheckpoint`). :func:`verify` recomputes the chain and names the first
broken link: an edited row no longer matches its hash, a deleted row leaves a gap in the
sequence, and trailing deletions fall behind the chain head and the signed checkpoints. To be
fast, verify lets the database write each event's canonical JSON and hashes that (see
:func:`_chain_sql`); :func:`event_hash` stays the one definition, and tests hold the two equal.
"""

from __future__ import annotations

import datetime as dt
import enum
import gc
import hashlib
import json
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import methodcaller
from typing import Any

from sqlalchemy import BigInteger, Connection, Engine, Index, Integer, String, Text, func, insert, select, text, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from network.clock import utcnow
from network.crypto import Keyring
from network.db import UTCDateTime, db, keep_on_rollback
from network.events import EventTag, require_member
from network.models import str_enum
from network.permissions import Principal
from network.transaction import commit

GENESIS = "0" * 64

_BigId = BigInteger().with_variant(Integer, "sqlite")


class AuditAction(enum.StrEnum):
    create = "C"
    read = "R"
    update = "U"
    delete = "D"
    execute = "E"
    export = "export"
    login = "login"


class AuditOutcome(enum.StrEnum):
    success = "success"
    denied = "denied"
    failure = "failure"


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_student_time", "student_id", "occurred_at"),
        Index("ix_audit_event_account_time", "account_id", "occurred_at"),
        # seal() finds the pending events through this: only unsealed rows are in it, so the
        # seal job stays as fast at 10 million sealed events as at none (without it every batch
        # walks the primary key past all sealed events)
        Index("ix_audit_event_unsealed", "id", postgresql_where=text("seq IS NULL"),
              sqlite_where=text("seq IS NULL")),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[AuditAction] = mapped_column(str_enum(AuditAction, "audit_action"))
    #: what happened, e.g. ``student:view``: written only from an :class:`~network.events.EventTag`
    #: member (network/tags.py and each feature's tags.py); read back as the plain string, which
    #: a member compares equal to
    event_type: Mapped[str] = mapped_column(String(60))
    outcome: Mapped[AuditOutcome] = mapped_column(str_enum(AuditOutcome, "audit_outcome"))
    # who (no foreign keys: the log outlives accounts and organisations)
    account_id: Mapped[int | None] = mapped_column(Integer)
    account_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(32))
    organisation_id: Mapped[int | None] = mapped_column(Integer)
    organisation_name: Mapped[str | None] = mapped_column(String(200))
    on_behalf_of: Mapped[str | None] = mapped_column(String(200))
    purpose: Mapped[str | None] = mapped_column(String(80))
    # from where
    channel: Mapped[str | None] = mapped_column(String(10))
    source_ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    request_id: Mapped[str | None] = mapped_column(String(64))
    # on what
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64))
    student_id: Mapped[str | None] = mapped_column(String(36))
    #: the basis of a read of student data: ``consent:<id>``, ``legal_task:<code>`` or ``self``
    basis: Mapped[str | None] = mapped_column(String(120))
    #: canonical JSON (sorted keys); never BSN, passwords or tokens
    detail: Mapped[str | None] = mapped_column(Text)
    # the chain, filled in by seal()
    seq: Mapped[int | None] = mapped_column(_BigId, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} seq={self.seq} {self.event_type} {self.outcome}>"


class AuditChainHead(db.Model):
    """The single row that holds the end of the chain; sealers lock it."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(_BigId, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<AuditChainHead seq={self.last_seq}>"


class AuditCheckpoint(db.Model):
    """An Ed25519 signature over the chain head at ``seq``; copy these off the box."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(_BigId, unique=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    key_id: Mapped[str] = mapped_column(String(40))
    signature: Mapped[str] = mapped_column(String(200))

    def __repr__(self) -> str:
        return f"<AuditCheckpoint seq={self.seq}>"

    def payload(self) -> bytes:
        return checkpoint_payload(self.seq, self.head_hash, self.created_at)


def checkpoint_payload(seq: int, head_hash: str, created_at: dt.datetime) -> bytes:
    return canonical({"head_hash": head_hash, "seq": seq, "signed_at": _ts(created_at)}).encode()


# -- writing -----------------------------------------------------------------------------

def canonical(data: dict[str, Any]) -> str:
    """RFC 8785 canonical JSON for the values the log holds (strings, integers, null).

    For such values, sorted keys with minimal separators and no ASCII escaping is exactly the
    JCS output (keys here are ASCII, so UTF-16 and code-point order agree); tests check it
    against the rfc8785 package. It is several times faster, which matters to seal.
    """
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_values(
    principal: Principal,
    *,
    action: AuditAction,
    event_type: EventTag,
    outcome: AuditOutcome = AuditOutcome.success,
    object_type: str | None = None,
    object_id: Any = None,
    student_id: Any = None,
    purpose: str | None = None,
    basis: str | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The column values of one audit event (NEN 7513 fields from the principal).

    :param event_type: a member of a feature's :class:`~network.events.EventTag` enum; a plain
        string raises :class:`TypeError` (the names are data, declared once: network.events).
    :param detail: extra facts (field names changed, reasons); never BSN, secrets or tokens.
    """
    require_member(event_type, EventTag, "event_type")
    acting = principal.acting
    return dict(
        occurred_at=utcnow(),
        action=action,
        event_type=event_type,
        outcome=outcome,
        account_id=principal.account_id,
        account_name=principal.name,
        role=acting.role.value if acting else None,
        organisation_id=acting.organisation_id if acting else None,
        organisation_name=acting.organisation_name if acting else None,
        on_behalf_of=principal.on_behalf_of,
        purpose=purpose,
        channel=principal.channel,
        source_ip=principal.source_ip,
        user_agent=(principal.user_agent or "")[:300] or None,
        request_id=principal.request_id,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        student_id=None if student_id is None else str(student_id),
        basis=basis,
        detail=canonical(detail) if detail else None,
    )


def record(session: Session, principal: Principal, **fields: Any) -> AuditEvent:
    """Append one audit event in the caller's transaction (fields: see :func:`event_values`).

    An event of a read or export, or of a refused or failed action, outlives a rollback of
    that transaction (see :func:`survives_rollback`); any other event is part of the change
    it describes and is rolled back with it."""
    return add_event(session, event_values(principal, **fields))


def add_event(session: Session, values: dict[str, Any]) -> AuditEvent:
    """Append one event from :func:`event_values` (as :func:`record` does)."""
    require_member(values["event_type"], EventTag, "event_type")
    event = AuditEvent(**values)
    session.add(event)
    _keep_if_it_survives(session, [values])
    return event


def record_many(session: Session, rows: list[dict[str, Any]]) -> None:
    """Append many events (from :func:`event_values`) in one executemany, in the caller's
    transaction: one statement however many rows (the ORM inserts row by row on SQLite).
    Rows that survive a rollback are kept as :func:`record` keeps them."""
    for values in rows:
        require_member(values["event_type"], EventTag, "event_type")
    if rows:
        _keep_if_it_survives(session, rows)
        # render_nulls: the ORM's bulk insert otherwise leaves out None values and splits the
        # rows into one INSERT per set of present keys (a page with allowed and denied
        # decisions, basis set or None, became two statements)
        session.execute(insert(AuditEvent).execution_options(render_nulls=True), rows)


def survives_rollback(values: dict[str, Any]) -> bool:
    """Whether an event must be written even when its unit of work is rolled back: who read or
    exported a student's data, and who was refused or failed, stays known whatever happened
    later in the request (DESIGN.md rule 5). The event of a change claims that the change
    happened, so it must not outlive it."""
    return values["action"] in (AuditAction.read, AuditAction.export) or values["outcome"] != AuditOutcome.success


def _keep_if_it_survives(session: Session, rows: list[dict[str, Any]]) -> None:
    kept = [values for values in rows if survives_rollback(values)]
    if kept:
        keep_on_rollback(session, lambda again: again.execute(
            insert(AuditEvent).execution_options(render_nulls=True), kept))


# -- sealing -----------------------------------------------------------------------------

_CHAINED_FIELDS = (
    "occurred_at", "action", "event_type", "outcome", "account_id", "account_name", "role",
    "organisation_id", "organisation_name", "on_behalf_of", "purpose", "channel", "source_ip",
    "user_agent", "request_id", "object_type", "object_id", "student_id", "basis", "detail",
)


def _ts(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return _ts(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def event_hash(values: dict[str, Any], seq: int, prev_hash: str) -> str:
    body = {name: _plain(values[name]) for name in _CHAINED_FIELDS}
    body["seq"] = seq
    return hashlib.sha256((canonical(body) + prev_hash).encode()).hexdigest()


@dataclass
class SealResult:
    sealed: int = 0
    last_seq: int = 0
    checkpoint_seq: int | None = None


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
    chained = []
    for row in pending:
        seq += 1
        digest = event_hash(row._mapping, seq, prev)
        chained.append({"id": row.id, "seq": seq, "prev_hash": prev, "hash": digest})
        prev = digest
    session.execute(update(AuditEvent), chained)
    # events the caller's session holds show their new chain fields on the next access
    for obj in list(session.identity_map.values()):
        if isinstance(obj, AuditEvent):
            session.expire(obj, ["seq", "prev_hash", "hash"])
    now = utcnow()
    head.last_seq, head.last_hash, head.updated_at = seq, prev, now
    kid, signature = keyring.sign(checkpoint_payload(seq, prev, now))
    session.add(AuditCheckpoint(seq=seq, head_hash=prev, created_at=now, key_id=kid, signature=signature))
    result.sealed, result.last_seq, result.checkpoint_seq = len(pending), seq, seq
    return result


def seal_all(session_factory, keyring: Keyring, *, batch: int = 5000) -> int:
    """Seal until nothing is left, one transaction per batch. Returns the number sealed."""
    total = 0
    while True:
        session = session_factory()
        try:
            result = seal(session, keyring, batch=batch)
            commit(session)
        except Exception:
            session.rollback()
            raise
        total += result.sealed
        if result.sealed < batch:
            return total


# -- verifying ---------------------------------------------------------------------------

#: the keys of event_hash's JSON body, sorted as canonical() sorts them
_BODY_KEYS = tuple(sorted((*_CHAINED_FIELDS, "seq")))
_CHAINED_COLUMNS = tuple(getattr(AuditEvent, name) for name in _CHAINED_FIELDS)
_SEQ_MAX = 2**63 - 1
_hexdigest = methodcaller("hexdigest")


def _chain_sql(dialect: str, *, digest: bool = False) -> str:
    r"""A statement giving ``(id, seq, prev_hash, hash, payload)`` for the events with
    ``seq BETWEEN lo AND hi`` in seq order, where the database has built ``payload`` as the
    input of :func:`event_hash`: ``canonical(body) + prev_hash``. With ``digest`` (PostgreSQL
    only) the last column is that payload's SHA-256 as hex, computed by the database
    (``sha256()``, PostgreSQL 11+), so verify moves 64 characters per event instead of the whole
    event and hashes nothing in Python.

    The database's JSON writer (``row_to_json``, ``json_object``) writes the same text as
    :func:`canonical` for these values: keys in the order given, no spaces, integers and null
    alike, strings escaped as ``json.dumps(ensure_ascii=False)`` does (``\"``, ``\\``,
    ``\b\f\n\r\t``, other control characters as ``\u00xx``, everything else as is); the
    timestamp is formatted as :func:`_ts` does. tests/network/test_audit.py checks this
    against event_hash for random values on both databases. Where the two still differ (a
    year before 1000; a timestamp SQLite holds in another format, which becomes null here),
    the hash does not match and :func:`_recheck` hashes that event with event_hash itself.
    """
    if dialect == "postgresql":
        stamp = """to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS occurred_at"""
        columns = ", ".join(stamp if name == "occurred_at" else f"e.{name}" for name in _BODY_KEYS)
        # B608 (SQL built from strings) here and below: the names put in are the constant _BODY_KEYS;
        # lo and hi are bound parameters
        payload = "convert_to(row_to_json(b)::text || coalesce(e.prev_hash, ''), 'UTF8')"
        if digest:
            payload = f"encode(sha256({payload}), 'hex')"
        return (f"SELECT e.id, e.seq, e.prev_hash, e.hash, {payload} "  # nosec B608 # constant column names
                f"FROM audit_event e CROSS JOIN LATERAL (SELECT {columns}) b "
                "WHERE e.seq BETWEEN %s AND %s ORDER BY e.seq")
    if dialect == "sqlite":
        # UTCDateTime stores 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC
        stamp = ("CASE WHEN typeof(occurred_at) = 'text' AND substr(occurred_at, 11, 1) = ' ' "
                 "THEN substr(occurred_at, 1, 10) || 'T' || substr(occurred_at, 12) || 'Z' END")
        pairs = ", ".join(f"'{name}', {stamp if name == 'occurred_at' else name}" for name in _BODY_KEYS)
        return ("SELECT id, seq, prev_hash, hash, "  # nosec B608 # constant column names
                f"CAST(json_object({pairs}) || coalesce(prev_hash, '') AS BLOB) "
                "FROM audit_event WHERE seq BETWEEN ? AND ? ORDER BY seq")
    # unreachable from the hub: its configuration refuses any other database (network.config)
    raise ValueError(f"audit verify reads PostgreSQL and SQLite, not {dialect}")


def _missing(expected: int, seq: int, event_id: int) -> tuple[str, int, int]:
    return (f"event seq {expected} is missing (deleted); the chain jumps to seq {seq} (event id {event_id})",
            event_id, expected)


def _unlinked(event_id: int, seq: int) -> tuple[str, int, int]:
    return (f"event id {event_id} (seq {seq}) does not link to the event before it: "
            f"that event or this one was changed", event_id, seq)


def _changed(event_id: int, seq: int) -> tuple[str, int, int]:
    return f"event id {event_id} (seq {seq}) was changed after it was sealed", event_id, seq


def _unlike_checkpoint(event_id: int, seq: int) -> tuple[str, int, int]:
    return f"event id {event_id} (seq {seq}) differs from signed checkpoint", event_id, seq


@dataclass
class _Span:
    """A run of the chain read by one statement: its ends and the first problem inside it."""

    count: int = 0
    #: (id, seq, prev_hash) of its first event, whose link to the event before is the caller's
    first: tuple[int, int, str | None] | None = None
    last_seq: int = 0
    last_hash: str | None = None
    #: events that passed, up to the problem
    checked: int = 0
    #: (words, event id, seq), as VerifyReport.fail takes them
    problem: tuple[str, int, int] | None = None


def _check_span(conn: Connection, sql: str, lo: int, hi: int, heads: dict[int, str]) -> _Span:
    """Check the events with ``lo <= seq <= hi`` among themselves and against the signed
    checkpoint heads in that range."""
    rows = _read_span(conn, sql, lo, hi)
    span = _Span(count=len(rows))
    if not rows:
        return span
    ids, seqs, prevs, hashes, payloads = zip(*rows)
    # hex digests already when the database hashed them (_chain_sql's digest), else the payloads
    digests = payloads if isinstance(payloads[0], str) else tuple(map(_hexdigest, map(hashlib.sha256, payloads)))
    span.first, span.last_seq, span.last_hash = (ids[0], seqs[0], prevs[0]), seqs[-1], hashes[-1]
    if (seqs[-1] - seqs[0] == len(rows) - 1  # seq is unique and sorted: no gap
            and prevs[1:] == hashes[:-1] and digests == hashes
            and all(hashes[seq - seqs[0]] == head for seq, head in heads.items() if seqs[0] <= seq <= seqs[-1])):
        span.checked = len(rows)
        return span
    # something is off: walk the events in order to name the first broken link
    for i, (event_id, seq, prev_hash, stored) in enumerate(zip(ids, seqs, prevs, hashes)):
        if i and seq != seqs[i - 1] + 1:
            span.problem = _missing(seqs[i - 1] + 1, seq, event_id)
        elif i and prev_hash != hashes[i - 1]:
            span.problem = _unlinked(event_id, seq)
        elif digests[i] != stored and not _recheck(conn, event_id, seq, prev_hash, stored):
            span.problem = _changed(event_id, seq)
        elif heads.get(seq, stored) != stored:
            span.problem = _unlike_checkpoint(event_id, seq)
        if span.problem:
            span.checked = i
            return span
    span.checked = len(rows)
    return span


def _read_span(conn: Connection, sql: str, lo: int, hi: int) -> list[tuple]:
    """The rows of :func:`_chain_sql` as plain DBAPI tuples: no Row objects, no type processing."""
    if conn.dialect.driver == "psycopg":
        # binary rows (the payload as bytes, not hex), taken while the server writes the rest
        with conn.connection.driver_connection.cursor(binary=True) as cursor:
            return list(cursor.stream(sql, (lo, hi), size=1000))
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, (lo, hi))
        return cursor.fetchall()
    finally:
        cursor.close()


def _recheck(conn: Connection, event_id: int, seq: int, prev_hash: str | None, stored: str | None) -> bool:
    """Hash one event as seal() did: event_hash over the values as the ORM loads them."""
    if prev_hash is None:
        return False
    values = conn.execute(select(*_CHAINED_COLUMNS).where(AuditEvent.id == event_id)).one()._mapping
    return event_hash(values, seq, prev_hash) == stored


def _check_span_apart(engine: Engine, sql: str, lo: int, hi: int, heads: dict[int, str]) -> _Span:
    with engine.connect() as conn:
        return _check_span(conn, sql, lo, hi, heads)


def _join(report: VerifyReport, spans: Iterable[_Span]) -> int:
    """Link the spans in seq order, failing the report at the first problem; returns the last
    seq of the chain."""
    expected, prev = 1, GENESIS
    for span in spans:
        problem = span.problem
        if span.first is not None:
            event_id, seq, prev_hash = span.first
            if seq != expected:
                problem, span.checked = _missing(expected, seq, event_id), 0
            elif prev_hash != prev:
                problem, span.checked = _unlinked(event_id, seq), 0
        report.checked += span.checked
        if problem:
            words, event_id, seq = problem
            report.fail(words, event_id=event_id, seq=seq)
            break
        if span.count:
            expected, prev = span.last_seq + 1, span.last_hash
    return expected - 1


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cycle collector: verify holds a span of row tuples at a time and makes no
    cycles, but the collector would walk those tuples over and over (a third of the time)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@dataclass
class VerifyReport:
    ok: bool = True
    checked: int = 0
    unsealed: int = 0
    checkpoints: int = 0
    #: the first broken link, in words, naming the event (id and seq)
    problem: str | None = None
    broken_event_id: int | None = None
    broken_seq: int | None = None
    notes: list[str] = field(default_factory=list)

    def fail(self, problem: str, *, event_id: int | None = None, seq: int | None = None) -> VerifyReport:
        self.ok, self.problem, self.broken_event_id, self.broken_seq = False, problem, event_id, seq
        return self


def verify(session: Session, keyring: Keyring, *, chunk: int = 20000, workers: int = 2) -> VerifyReport:
    """Recompute the whole chain and check every signed checkpoint. Read-only.

    Each event is checked on its own (its hash, its link to the event before, its place in the
    sequence), so the chain is read in spans of ``chunk`` events that are joined in order. On
    PostgreSQL ``workers`` spans are read at a time, each over a connection of its own, and the
    database builds and hashes each event's JSON (``_chain_sql``'s digest) while Python
    compares another span's. Those connections see
    committed events only; the chain is sealed in committed batches.
    """
    report = VerifyReport()
    checkpoints = {cp.seq: cp for cp in session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).scalars()}
    report.checkpoints = len(checkpoints)
    for cp in checkpoints.values():
        if not keyring.verify(cp.key_id, cp.payload(), cp.signature):
            return report.fail(f"checkpoint at seq {cp.seq} has an invalid signature", seq=cp.seq)
    engine = session.get_bind().engine
    sql = _chain_sql(engine.dialect.name, digest=engine.dialect.name == "postgresql")
    top = session.execute(select(func.max(AuditEvent.seq))).scalar() or 0
    starts = range(1, top + 1, chunk) or range(1, 2)
    # the last span is open-ended, as the chain may grow while it is read
    bounds = [(lo, lo + chunk - 1) for lo in starts[:-1]] + [(starts[-1], _SEQ_MAX)]
    signed = list(checkpoints)  # sorted

    def heads(lo: int, hi: int) -> dict[int, str]:
        return {seq: checkpoints[seq].head_hash for seq in signed[bisect_left(signed, lo):bisect_right(signed, hi)]}

    with _no_cyclic_gc():
        if workers > 1 and engine.dialect.name == "postgresql":
            with ThreadPoolExecutor(workers) as pool:
                futures = [pool.submit(_check_span_apart, engine, sql, lo, hi, heads(lo, hi)) for lo, hi in bounds]
                try:
                    last_seq = _join(report, (future.result() for future in futures))
                finally:
                    for future in futures:
                        future.cancel()
        else:
            conn = session.connection()
            last_seq = _join(report, (_check_span(conn, sql, lo, hi, heads(lo, hi)) for lo, hi in bounds))
    if not report.ok:
        return report
    head = session.get(AuditChainHead, 1)
    if head is not None and head.last_seq != last_seq:
        return report.fail(
            f"the chain ends at seq {last_seq} but its head says seq {head.last_seq}: "
            f"events after seq {last_seq} were deleted", seq=last_seq + 1)
    if checkpoints and max(checkpoints) > last_seq:
        return report.fail(f"a signed checkpoint covers seq {max(checkpoints)}, beyond the last event",
                           seq=last_seq + 1)
    report.unsealed = session.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_(None))).scalar_one()
    if report.unsealed:
        report.notes.append(f"{report.unsealed} events are not sealed yet")
    return report
