"""The audit log: hash chain, signed checkpoints, and verify naming the first broken link."""

from __future__ import annotations

import threading

import pytest
import rfc8785
from sqlalchemy import select, text

from network.audit import (AuditAction, AuditChainHead, AuditCheckpoint, AuditEvent, AuditOutcome, canonical,
                           record, seal, seal_all, verify)
from network.db import db
from network.permissions import system_principal


def _write(session, n, **kwargs):
    principal = system_principal()
    for i in range(n):
        record(session, principal, action=AuditAction.read, event_type="student:view",
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
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:]))
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
        record(writer, system_principal(), action=AuditAction.create, event_type="student:create")
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
    event = record(session, principal, action=AuditAction.export, event_type="student:export",
                   outcome=AuditOutcome.denied, student_id="abc")
    session.commit()
    assert event.channel == "job" and event.account_name == "planner" and event.seq is None
