"""Walking the audit log's hash chain: recompute it and check it against the signed checkpoints.

:func:`check_chain` is read-only and names the first broken link: an edited row no longer matches
its hash, a deleted row leaves a gap in the sequence, and trailing deletions fall behind the
chain head and the signed checkpoints. To be fast, verify lets the database write each event's
canonical JSON and hashes that (see :func:`_chain_sql`);
:func:`network.audit_chain.event_hash` stays the one definition, and tests hold the two equal.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from operator import methodcaller

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session

from network.audit import AuditEvent, utc_stamp
from network.audit_chain import _CHAINED_COLUMNS, _CHAINED_FIELDS, GENESIS, AuditCheckpoint, event_hash

#: the keys of event_hash's JSON body, sorted as canonical() sorts them
_BODY_KEYS = tuple(sorted((*_CHAINED_FIELDS, "seq")))
_SEQ_MAX = 2**63 - 1
#: twice the default seal interval (AUDIT_VERIFY_GRACE_SECONDS, network.audit_publish.verify_grace)
DEFAULT_GRACE = dt.timedelta(minutes=2)
_hexdigest = methodcaller("hexdigest")


def _chain_sql(dialect: str, *, digest: bool = False) -> str:
    r"""A statement giving ``(id, seq, prev_hash, hash, payload, time)`` for the events with
    ``seq BETWEEN lo AND hi`` in seq order, where the database has built ``payload`` as the
    input of :func:`event_hash`: ``canonical(body) + prev_hash``. With ``digest`` (PostgreSQL
    only) the last column is that payload's SHA-256 as hex, computed by the database
    (``sha256()``, PostgreSQL 11+), so verify moves 64 characters per event instead of the whole
    event and hashes nothing in Python. ``time`` is ``occurred_at`` as :func:`_time_key` writes
    a time: seconds since 1970 on PostgreSQL, the stored text on SQLite.

    The database's JSON writer (``row_to_json``, ``json_object``) writes the same text as
    :func:`canonical` for these values: keys in the order given, no spaces, integers and null
    alike, strings escaped as ``json.dumps(ensure_ascii=False)`` does (``\"``, ``\\``,
    ``\b\f\n\r\t``, other control characters as ``\u00xx``, everything else as is); the
    timestamp is formatted as :func:`~network.audit.utc_stamp` does. tests/network/test_audit.py checks this
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
        return (f"SELECT e.id, e.seq, e.prev_hash, e.hash, {payload}, "  # nosec B608 # constant column names
                "date_part('epoch', e.occurred_at) "
                f"FROM audit_event e CROSS JOIN LATERAL (SELECT {columns}) b "
                "WHERE e.seq BETWEEN %s AND %s ORDER BY e.seq")
    if dialect == "sqlite":
        # UTCDateTime stores 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC
        stamp = ("CASE WHEN typeof(occurred_at) = 'text' AND substr(occurred_at, 11, 1) = ' ' "
                 "THEN substr(occurred_at, 1, 10) || 'T' || substr(occurred_at, 12) || 'Z' END")
        pairs = ", ".join(f"'{name}', {stamp if name == 'occurred_at' else name}" for name in _BODY_KEYS)
        return ("SELECT id, seq, prev_hash, hash, "  # nosec B608 # constant column names
                f"CAST(json_object({pairs}) || coalesce(prev_hash, '') AS BLOB), occurred_at "
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


def _backdated(event_id: int, seq: int, floor: _Floor) -> tuple[str, int, int]:
    return (f"event id {event_id} (seq {seq}) says it happened before {floor.since}, but it was sealed after the "
            f"checkpoint of seq {floor.after_seq} signed then (more than the grace of {floor.grace} earlier): "
            f"a row added later with an earlier date", event_id, seq)


@dataclass(frozen=True)
class _Floor:
    """The events ``first`` … ``last`` were sealed after a checkpoint signed at ``since``: none
    of them may say it happened more than the grace before (``key``, as :func:`_time_key`)."""

    first: int
    last: int
    key: float | str
    after_seq: int
    since: str
    grace: dt.timedelta


def _time_key(dialect: str, moment: dt.datetime) -> float | str:
    """A time as the chain statement's last column gives it (see :func:`_chain_sql`)."""
    if dialect == "postgresql":
        return moment.timestamp()
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def floors_of(dialect: str, checkpoints: Sequence[AuditCheckpoint], grace: dt.timedelta) -> list[_Floor]:
    return [_Floor(cp.first_seq, cp.seq, _time_key(dialect, before.created_at - grace), before.seq,
                   utc_stamp(before.created_at - grace), grace)
            for before, cp in pairwise(checkpoints) if cp.first_seq is not None]


def _too_early(floors: list[_Floor], seqs: tuple, times: tuple) -> tuple[int, _Floor] | None:
    """The index of the first event (of a span without gaps) dated before its floor."""
    base = seqs[0]
    for floor in floors:
        a, b = max(floor.first, base) - base, min(floor.last, seqs[-1]) - base + 1
        if a >= b:
            continue
        window = [t for t in times[a:b] if t is not None] if None in times[a:b] else times[a:b]
        if window and min(window) < floor.key:
            return next(a + i for i, t in enumerate(times[a:b]) if t is not None and t < floor.key), floor
    return None


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


def _check_span(conn: Connection, sql: str, lo: int, hi: int, heads: dict[int, str],
                floors: list[_Floor] = ()) -> _Span:
    """Check the events with ``lo <= seq <= hi`` among themselves, against the signed
    checkpoint heads in that range, and their times against the checkpoints sealed before them."""
    rows = _read_span(conn, sql, lo, hi)
    span = _Span(count=len(rows))
    if not rows:
        return span
    ids, seqs, prevs, hashes, payloads, times = zip(*rows, strict=True)
    # hex digests already when the database hashed them (_chain_sql's digest), else the payloads
    digests = payloads if isinstance(payloads[0], str) else tuple(map(_hexdigest, map(hashlib.sha256, payloads)))
    span.first, span.last_seq, span.last_hash = (ids[0], seqs[0], prevs[0]), seqs[-1], hashes[-1]
    floors = [f for f in floors if f.first <= seqs[-1] and f.last >= seqs[0]]
    if (seqs[-1] - seqs[0] == len(rows) - 1  # seq is unique and sorted: no gap
            and prevs[1:] == hashes[:-1] and digests == hashes
            and all(hashes[seq - seqs[0]] == head for seq, head in heads.items() if seqs[0] <= seq <= seqs[-1])
            and _too_early(floors, seqs, times) is None):
        span.checked = len(rows)
        return span
    # something is off: walk the events in order to name the first broken link
    early = _too_early(floors, seqs, times) if seqs[-1] - seqs[0] == len(rows) - 1 else None
    for i, (event_id, seq, prev_hash, stored) in enumerate(zip(ids, seqs, prevs, hashes, strict=True)):
        if i and seq != seqs[i - 1] + 1:
            span.problem = _missing(seqs[i - 1] + 1, seq, event_id)
        elif i and prev_hash != hashes[i - 1]:
            span.problem = _unlinked(event_id, seq)
        elif digests[i] != stored and not _recheck(conn, event_id, seq, prev_hash, stored):
            span.problem = _changed(event_id, seq)
        elif heads.get(seq, stored) != stored:
            span.problem = _unlike_checkpoint(event_id, seq)
        elif early is not None and early[0] == i:
            span.problem = _backdated(event_id, seq, early[1])
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


def _check_span_apart(engine: Engine, sql: str, lo: int, hi: int, heads: dict[int, str],
                      floors: list[_Floor]) -> _Span:
    with engine.connect() as conn:
        return _check_span(conn, sql, lo, hi, heads, floors)


def _join(report: VerifyReport, spans: Iterable[_Span], on_progress: Callable[[int, int], None] | None = None,
          total: int = 0) -> int:
    """Link the spans in seq order, failing the report at the first problem; returns the last
    seq of the chain. ``on_progress(checked, total)`` after each span."""
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
        if on_progress is not None:
            on_progress(report.checked, max(total, report.checked))
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
    #: checkpoints that witnesses kept, all found unchanged when ok
    witnessed: int = 0
    #: the first broken link, in words, naming the event (id and seq)
    problem: str | None = None
    broken_event_id: int | None = None
    broken_seq: int | None = None
    notes: list[str] = field(default_factory=list)

    def fail(self, problem: str, *, event_id: int | None = None, seq: int | None = None) -> VerifyReport:
        self.ok, self.problem, self.broken_event_id, self.broken_seq = False, problem, event_id, seq
        return self


def check_chain(report: VerifyReport, session: Session, engine: Engine, checkpoints: Sequence[AuditCheckpoint],
                 floors: list[_Floor], *, chunk: int, workers: int,
                 on_progress: Callable[[int, int], None] | None = None) -> int:
    """Walk the chain span by span; returns its last seq. ``on_progress(checked, last seq)``
    after each span."""
    sql = _chain_sql(engine.dialect.name, digest=engine.dialect.name == "postgresql")
    top = session.execute(select(func.max(AuditEvent.seq))).scalar() or 0
    starts = range(1, top + 1, chunk) or range(1, 2)
    # the last span is open-ended, as the chain may grow while it is read
    bounds = [(lo, lo + chunk - 1) for lo in starts[:-1]] + [(starts[-1], _SEQ_MAX)]
    signed = [cp.seq for cp in checkpoints]  # sorted
    head_of = {cp.seq: cp.head_hash for cp in checkpoints}

    def heads(lo: int, hi: int) -> dict[int, str]:
        return {seq: head_of[seq] for seq in signed[bisect_left(signed, lo):bisect_right(signed, hi)]}

    with _no_cyclic_gc():
        if workers > 1 and engine.dialect.name == "postgresql":
            with ThreadPoolExecutor(workers) as pool:
                futures = [pool.submit(_check_span_apart, engine, sql, lo, hi, heads(lo, hi), floors)
                           for lo, hi in bounds]
                try:
                    return _join(report, (future.result() for future in futures), on_progress, top)
                finally:
                    for future in futures:
                        future.cancel()
        conn = session.connection()
        return _join(report, (_check_span(conn, sql, lo, hi, heads(lo, hi), floors) for lo, hi in bounds),
                     on_progress, top)
