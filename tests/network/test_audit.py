"""The audit log: hash chain, signed checkpoints, and verify naming the first broken link."""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import itertools
import threading

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select, text, update

from network.audit import AuditAction, AuditEvent, AuditOutcome, canonical, plain, record
from network.audit_chain import (
    _CHAINED_FIELDS,
    AuditChainHead,
    AuditCheckpoint,
    checkpoint_payload,
    event_hash,
    seal,
    seal_all,
)
from network.audit_verify import VerifyReport, verify
from network.audit_walk import _chain_sql, _read_span
from network.db import db
from network.permissions import system_principal
from network.tags import StudentTag


def _write(session, n, **kwargs):
    principal = system_principal()
    for i in range(n):
        record(session, principal, action=AuditAction.read, event_type=StudentTag.view,
               object_type="student", object_id=f"obj-{i}", student_id=f"stu-{i % 3}",
               purpose="leerlingbegeleiding", basis="legal_task:onderwijstaak", detail={"i": i, "naam": "Zoë"},
               **kwargs)
    session.commit()


def _sealed(session, keyring, n=10):
    _write(session, n)
    seal_all(lambda: session, keyring)
    return session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()


def test_sealed_chain_verifies(session, keyring):
    events = _sealed(session, keyring, 25)
    assert [e.seq for e in events] == list(range(1, 26))
    assert events[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    report = verify(session, keyring)
    assert report.ok, report.problem
    assert report.checked == 25 and report.checkpoints == 1 and report.unsealed == 0


def test_unsealed_events_are_reported_not_failed(session, keyring):
    _sealed(session, keyring, 3)
    _write(session, 2)
    report = verify(session, keyring)
    assert report.ok and report.unsealed == 2


def test_edited_row_is_named(session, keyring):
    events = _sealed(session, keyring, 10)
    victim = events[4]
    session.execute(text("UPDATE audit_event SET account_name = 'iemand anders' WHERE id = :id"), {"id": victim.id})
    session.commit()
    report = verify(session, keyring)
    assert not report.ok
    assert report.broken_event_id == victim.id and report.broken_seq == victim.seq
    assert f"event id {victim.id}" in report.problem and "changed" in report.problem


def test_edited_row_with_recomputed_hash_breaks_next_link(session, keyring):
    events = _sealed(session, keyring, 10)
    victim = events[3]
    session.execute(text("UPDATE audit_event SET hash = :h WHERE id = :id"), {"h": "f" * 64, "id": victim.id})
    session.commit()
    report = verify(session, keyring)
    assert not report.ok and report.broken_seq in (victim.seq, victim.seq + 1)


def test_deleted_row_is_named(session, keyring):
    events = _sealed(session, keyring, 10)
    victim_id, victim_seq = events[6].id, events[6].seq
    session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": victim_id})
    session.commit()
    report = verify(session, keyring)
    assert not report.ok
    assert report.broken_seq == victim_seq
    assert f"seq {victim_seq} is missing" in report.problem


def test_deleted_tail_is_caught_by_head_and_checkpoint(session, keyring):
    events = _sealed(session, keyring, 10)
    assert events[-1].seq == 10
    session.execute(text("DELETE FROM audit_event WHERE seq >= 9"))
    session.commit()
    report = verify(session, keyring)
    assert not report.ok and report.broken_seq == 9
    assert "deleted" in report.problem


def test_forged_checkpoint_signature_fails(session, keyring):
    _sealed(session, keyring, 5)
    session.execute(text("UPDATE audit_checkpoint SET head_hash = :h"), {"h": "a" * 64})
    session.commit()
    report = verify(session, keyring)
    assert not report.ok and "signature" in report.problem


def test_seal_signs_a_checkpoint_per_batch(session, keyring):
    _write(session, 7)
    sealed = seal_all(lambda: session, keyring, batch=3)
    assert sealed == 7
    checkpoints = session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).scalars().all()
    assert [c.seq for c in checkpoints] == [3, 6, 7]
    for checkpoint in checkpoints:
        assert keyring.verify(checkpoint.key_id, checkpoint.payload(), checkpoint.signature)
    head = session.get(AuditChainHead, 1)
    assert head.last_seq == 7 and head.last_hash == checkpoints[-1].head_hash


def test_seal_with_nothing_to_do_makes_no_checkpoint(session, keyring):
    assert seal(session, keyring).sealed == 0
    assert session.execute(select(AuditCheckpoint)).first() is None


def test_canonical_matches_rfc8785():
    samples = [
        {"b": 1, "a": "x", "c": None, "ü": "é", "nested": "quote\" and \\ and \n and \u0001"},
        {"occurred_at": "2026-11-22T10:00:00.000000Z", "seq": 12345678901, "detail": '{"a":1}'},
    ]
    for sample in samples:
        assert canonical(sample).encode() == rfc8785.dumps(sample)


def test_verify_cli_names_the_broken_row(app, session, keyring):
    events = _sealed(session, keyring, 4)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "audit log OK: 4 events" in ok.output
    session.execute(text("UPDATE audit_event SET outcome = 'denied' WHERE id = :id"), {"id": events[1].id})
    session.commit()
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1
    assert f"event id {events[1].id}" in broken.output


def test_writers_do_not_wait_for_the_sealer(app, keyring):
    """An open transaction that wrote an event does not block sealing (and vice versa)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite serialises all writers by design; the no-global-lock property is a PostgreSQL one")
        writer = db.session
        _write(writer, 3)
        seal_all(lambda: writer, keyring)
        record(writer, system_principal(), action=AuditAction.create, event_type=StudentTag.create)
        writer.flush()  # uncommitted insert holds its row lock only
        result = {}

        def sealer():
            with app.app_context():
                with db.engine.connect() as conn:
                    conn.execute(text("SET lock_timeout = '2s'"))
                    from sqlalchemy.orm import Session

                    other = Session(bind=conn)
                    result["sealed"] = seal(other, keyring).sealed
                    other.commit()

        thread = threading.Thread(target=sealer)
        thread.start()
        thread.join(10)
        assert result == {"sealed": 0}  # ran to completion while the writer's transaction was open
        writer.commit()
        assert seal_all(lambda: writer, keyring) == 1
        assert verify(writer, keyring).ok
        writer.remove()


def test_outcome_and_fields_are_recorded(session, keyring):
    principal = system_principal("job", "planner")
    event = record(session, principal, action=AuditAction.export, event_type=StudentTag.view,
                   outcome=AuditOutcome.denied, student_id="abc")
    session.commit()
    assert event.channel == "job" and event.account_name == "planner" and event.seq is None


# -- the fast verify: the database builds each event's JSON, Python hashes it -----------------

_ALPHABET = "".join(chr(c) for c in range(1, 0x80)) + "\u0085\u00a0Zoë€\u2028\u2029\ufeff\uffff😀\U0010fffd"
_LENGTHS = {column.name: column.type.length for column in AuditEvent.__table__.columns
            if getattr(column.type, "length", None)}


def _text(name):
    size = min(_LENGTHS.get(name, 200), 60)
    return st.none() | st.text(_ALPHABET, max_size=size) | st.text(
        st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=size)


_INT32 = st.integers(-2**31, 2**31 - 1)
_EVENT = st.fixed_dictionaries({
    "occurred_at": st.datetimes(min_value=dt.datetime(1000, 1, 2), max_value=dt.datetime(9999, 12, 30),
                                timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30))])),
    "action": st.sampled_from(AuditAction), "outcome": st.sampled_from(AuditOutcome),
    "event_type": st.text(_ALPHABET, max_size=60),
    "account_id": st.none() | _INT32, "organisation_id": st.none() | _INT32,
    **{name: _text(name) for name in ("account_name", "role", "organisation_name", "on_behalf_of", "purpose",
                                      "channel", "source_ip", "user_agent", "request_id", "object_type",
                                      "object_id", "student_id", "basis", "detail")},
})


def _payloads(session, lo=1, hi=2**62):
    """What verify hashes, per seq: the bytes the database built for each event."""
    conn = session.connection()
    return {row[1]: row[4] for row in _read_span(conn, _chain_sql(conn.dialect.name), lo, hi)}


def _canonical_input(event):
    """What seal() hashed: event_hash's input for the event as the ORM loads it."""
    body = {name: plain(getattr(event, name)) for name in _CHAINED_FIELDS}
    body["seq"] = event.seq
    return (canonical(body) + event.prev_hash).encode()


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(events=st.lists(_EVENT, min_size=1, max_size=8))
def test_database_json_is_event_hash_input(session, keyring, events):
    """The payload the database builds is byte for byte the input of event_hash, for any values
    the columns hold (control characters, quotes, U+2028, astral characters, offsets, null)."""
    session.execute(insert(AuditEvent).execution_options(render_nulls=True), events)
    session.commit()
    first = session.get(AuditChainHead, 1).last_seq + 1
    seal(session, keyring)
    session.commit()
    payloads = _payloads(session, first)
    sealed = session.execute(select(AuditEvent).where(AuditEvent.seq >= first)).scalars().all()
    assert len(sealed) == len(events)
    for event in sealed:
        assert payloads[event.seq] == _canonical_input(event)
        assert hashlib.sha256(payloads[event.seq]).hexdigest() == event.hash
    if session.get_bind().dialect.name == "postgresql":  # verify lets PostgreSQL hash them too
        conn = session.connection()
        digests = {row[1]: row[4] for row in _read_span(conn, _chain_sql("postgresql", digest=True), first, 2**62)}
        assert digests == {event.seq: event.hash for event in sealed}
    session.expunge_all()


def test_database_json_every_ascii_and_odd_character(session, keyring):
    principal = system_principal()
    for text_ in (_ALPHABET, '"\\/\b\f\n\r\t\u007f', "\u2028\u2029" * 20, "😀 e\u0301 \ufeff"):
        record(session, principal, action=AuditAction.read, event_type=StudentTag.view, object_id=text_[:64],
               detail={"text": text_, "ëé": [1, None]})
    session.commit()
    seal(session, keyring)
    session.commit()
    payloads = _payloads(session)
    for event in session.execute(select(AuditEvent)).scalars():
        assert payloads[event.seq] == _canonical_input(event)
    assert verify(session, keyring).ok


def test_events_the_database_writes_otherwise_are_rechecked_not_failed(session, keyring):
    """A year before 1000 (to_char pads it, strftime does not) and, on SQLite, a timestamp
    not in UTCDateTime's format: the fast payload differs, and event_hash itself decides."""
    _write(session, 3)
    ids = session.execute(select(AuditEvent.id).order_by(AuditEvent.id)).scalars().all()
    session.execute(update(AuditEvent).where(AuditEvent.id == ids[0])
                    .values(occurred_at=dt.datetime(5, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC)))
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite:
        session.execute(text("UPDATE audit_event SET occurred_at = '2026-03-04 05:06:07' WHERE id = :id"),
                        {"id": ids[1]})
    session.commit()
    events = _sealed(session, keyring, 2)
    payloads = _payloads(session)
    assert events[0].occurred_at.year == 5 and payloads[1] != _canonical_input(events[0])
    assert payloads[2] != _canonical_input(events[1]) if sqlite else payloads[2] == _canonical_input(events[1])
    for workers in (1, 2):
        report = verify(session, keyring, workers=workers)
        assert report.ok and report.checked == 5, report.problem
    for seq in (2, 1):  # an edit of such an event is still named
        session.execute(text("UPDATE audit_event SET purpose = 'anders' WHERE seq = :s"), {"s": seq})
        session.commit()
        report = verify(session, keyring)
        assert not report.ok and report.broken_seq == seq and "changed" in report.problem


def _values(event):
    return {name: getattr(event, name) for name in _CHAINED_FIELDS}


def _reference_verify(session, keyring):
    """verify as it was before it was made fast: ORM rows, one by one. The fast one must say the same."""
    report = VerifyReport()
    checkpoints = {cp.seq: cp
                   for cp in session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).scalars()}
    report.checkpoints = len(checkpoints)
    for cp in checkpoints.values():
        if not keyring.verify(cp.key_id, cp.payload(), cp.signature):
            return report.fail(f"checkpoint at seq {cp.seq} has an invalid signature", seq=cp.seq)
    columns = [AuditEvent.id, AuditEvent.seq, AuditEvent.prev_hash, AuditEvent.hash] + [
        getattr(AuditEvent, name) for name in _CHAINED_FIELDS]
    expected_seq, prev, last_seq = 1, "0" * 64, 0
    for row in session.execute(select(*columns).where(AuditEvent.seq >= 1).order_by(AuditEvent.seq)).all():
        if row.seq != expected_seq:
            return report.fail(
                f"event seq {expected_seq} is missing (deleted); the chain jumps to seq {row.seq} (event id {row.id})",
                event_id=row.id, seq=expected_seq)
        if row.prev_hash != prev:
            return report.fail(f"event id {row.id} (seq {row.seq}) does not link to the event before it: "
                               f"that event or this one was changed", event_id=row.id, seq=row.seq)
        if event_hash(row._mapping, row.seq, prev) != row.hash:
            return report.fail(f"event id {row.id} (seq {row.seq}) was changed after it was sealed",
                               event_id=row.id, seq=row.seq)
        checkpoint = checkpoints.get(row.seq)
        if checkpoint is not None and checkpoint.head_hash != row.hash:
            return report.fail(f"event id {row.id} (seq {row.seq}) differs from signed checkpoint",
                               event_id=row.id, seq=row.seq)
        prev, expected_seq, last_seq = row.hash, expected_seq + 1, row.seq
        report.checked += 1
    head = session.get(AuditChainHead, 1)
    if head is not None and head.last_seq != last_seq:
        return report.fail(f"the chain ends at seq {last_seq} but its head says seq {head.last_seq}: "
                           f"events after seq {last_seq} were deleted", seq=last_seq + 1)
    if checkpoints and max(checkpoints) > last_seq:
        return report.fail(f"a signed checkpoint covers seq {max(checkpoints)}, beyond the last event",
                           seq=last_seq + 1)
    report.unsealed = session.execute(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_(None))).scalar_one()
    return report


def _summary(report):
    return report.ok, report.problem, report.broken_event_id, report.broken_seq, report.checked, report.unsealed


def _tampers(session, keyring):
    """(name, SQL statements) that break a sealed 10-event chain in every way verify knows,
    at every place, so that spans of 1, 3 and 4 events split the chain before and after it."""
    rows = {e.seq: e for e in session.execute(select(AuditEvent)).scalars()}
    cases = []
    for seq in range(1, 11):
        relinked = event_hash(_values(rows[seq]), seq, "a" * 64)
        cases += [
            (f"edit {seq}", [("UPDATE audit_event SET account_name = 'x' WHERE seq = :s", {"s": seq})]),
            (f"hash {seq}", [("UPDATE audit_event SET hash = :h WHERE seq = :s", {"h": "f" * 64, "s": seq})]),
            (f"relink {seq}", [("UPDATE audit_event SET prev_hash = :p, hash = :h WHERE seq = :s",
                                {"p": "a" * 64, "h": relinked, "s": seq})]),
            (f"null prev {seq}", [("UPDATE audit_event SET prev_hash = NULL WHERE seq = :s", {"s": seq})]),
            (f"delete {seq}", [("DELETE FROM audit_event WHERE seq = :s", {"s": seq})]),
            (f"delete {seq}-{seq + 2}", [("DELETE FROM audit_event WHERE seq BETWEEN :s AND :s + 2", {"s": seq})]),
            (f"tail {seq}", [("DELETE FROM audit_event WHERE seq >= :s", {"s": seq})]),
            (f"unseal {seq}", [("UPDATE audit_event SET seq = NULL WHERE seq = :s", {"s": seq})]),
        ]
    for cp in session.execute(select(AuditCheckpoint)).scalars():
        kid, signature = keyring.sign(checkpoint_payload(cp.seq, "b" * 64, cp.created_at))
        cases.append((f"forged checkpoint {cp.seq}", [
            ("UPDATE audit_checkpoint SET head_hash = :h, key_id = :k, signature = :sig WHERE seq = :s",
             {"h": "b" * 64, "k": kid, "sig": signature, "s": cp.seq})]))
    cases.append(("head ahead", [("UPDATE audit_chain_head SET last_seq = 12", {})]))
    cases.append(("untouched", []))
    return cases


def test_fast_verify_names_the_same_event_as_the_row_by_row_one(session, keyring):
    _write(session, 10)
    seal_all(lambda: session, keyring, batch=4)  # checkpoints at 4, 8 and 10
    tables = [AuditEvent.__table__, AuditCheckpoint.__table__, AuditChainHead.__table__]
    saved = {table: [dict(r) for r in session.execute(select(table)).mappings()] for table in tables}
    for name, statements in _tampers(session, keyring):
        for statement, params in statements:
            session.execute(text(statement), params)
        session.commit()
        expected = _summary(_reference_verify(session, keyring))
        assert expected[0] == (name == "untouched"), name
        for chunk in (1, 3, 4, 20000):
            for workers in (1, 2):
                session.expire_all()
                assert _summary(verify(session, keyring, chunk=chunk, workers=workers)) == expected, (
                    name, chunk, workers)
        assert gc.isenabled()
        for table in tables:
            session.execute(table.delete())
            session.execute(insert(table), saved[table])
        session.commit()
