"""Someone with write access to the database (and, in some cases, the hub's signing key) tries
to change, remove or add audit events or checkpoints (issue 18, item 1). Each attempt is its
own test, on SQLite and on PostgreSQL: ``verify`` must fail and name what it found; where only
a witness can tell (a history re-signed with the hub's key, or cut back to a checkpoint), it
fails with the witness's copy of the checkpoints and passes without it, which is the point of
keeping copies elsewhere. Putting the row back makes verify pass again.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select, text

from network.audit import AuditAction, AuditEvent, record
from network.audit_chain import (
    _CHAINED_COLUMNS,
    AuditChainHead,
    AuditCheckpoint,
    checkpoint_json,
    event_hash,
    seal_all,
)
from network.audit_merkle import leaf_body, leaf_hash, root
from network.audit_verify import verify
from network.audit_witness import WitnessError, load_witness
from network.clock import utcnow
from network.permissions import system_principal
from network.tags import StudentTag


def _write(session, n, *, start=0):
    for i in range(start, start + n):
        record(session, system_principal(), action=AuditAction.read, event_type=StudentTag.view,
               object_type="student", object_id=f"obj-{i}", student_id=f"stu-{i % 3}",
               purpose="leerlingbegeleiding", basis="legal_task:onderwijstaak", detail={"i": i})
    session.commit()


@pytest.fixture
def log(session, keyring, tmp_path):
    """15 sealed events under three checkpoints (seq 5, 10, 15), and a witness that kept them."""
    for batch in range(3):
        _write(session, 5, start=batch * 5)
        seal_all(lambda: session, keyring)
    witness = tmp_path / "witness.jsonl"
    witness.write_text("".join(json.dumps(checkpoint_json(cp)) + "\n" for cp in _checkpoints(session)))
    assert verify(session, keyring).ok
    return witness


def _checkpoints(session):
    return session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).all()


def _verify(session, keyring, witness=None):
    session.commit()
    session.expire_all()
    kept = load_witness(str(witness), keyring) if witness else ()
    return verify(session, keyring, witnesses=kept)


def _rechain(session, keyring, *, from_seq=1, resign=False):
    """What an attacker does after a change: recompute every hash from ``from_seq`` on, move the
    head and, holding the key, sign every checkpoint again (new heads and roots)."""
    rows = session.execute(select(AuditEvent.id, AuditEvent.seq, *_CHAINED_COLUMNS)
                           .where(AuditEvent.seq.is_not(None)).order_by(AuditEvent.seq)).all()
    prev, hashes, leaves = "0" * 64, {}, {}
    for row in rows:
        digest = event_hash(row._mapping, row.seq, prev)
        if row.seq >= from_seq:
            session.execute(text("UPDATE audit_event SET prev_hash = :p, hash = :h WHERE id = :id"),
                            {"p": prev, "h": digest, "id": row.id})
        hashes[row.seq], leaves[row.seq] = digest, leaf_hash(leaf_body(row._mapping, row.seq, digest))
        prev = digest
    last = rows[-1].seq if rows else 0
    session.execute(text("UPDATE audit_chain_head SET last_seq = :s, last_hash = :h WHERE id = 1"),
                    {"s": last, "h": hashes.get(last, "0" * 64)})
    if resign:
        for cp in _checkpoints(session):
            cp.head_hash = hashes[cp.seq]
            cp.root_hash = root([leaves[s] for s in range(cp.first_seq, cp.seq + 1)]).hex()
            cp.key_id, cp.signature = keyring.sign(cp.payload())


def _event(session, seq):
    return session.scalar(select(AuditEvent).where(AuditEvent.seq == seq))


# -- changing an event ------------------------------------------------------------------------

def test_an_edited_event_is_named(session, keyring, log):
    original = _event(session, 7).account_name
    session.execute(text("UPDATE audit_event SET account_name = 'Iemand anders' WHERE seq = 7"))
    report = _verify(session, keyring)
    assert not report.ok and report.broken_seq == 7 and "changed after it was sealed" in report.problem
    session.execute(text("UPDATE audit_event SET account_name = :n WHERE seq = 7"), {"n": original})
    assert _verify(session, keyring).ok  # put back: whole again


def test_an_edited_event_with_its_own_hash_recomputed_breaks_the_next_link(session, keyring, log):
    event = _event(session, 7)
    event.account_name = "Iemand anders"
    event.hash = event_hash({c.key: getattr(event, c.key) for c in _CHAINED_COLUMNS}, 7, event.prev_hash)
    report = _verify(session, keyring)
    assert not report.ok and report.broken_seq == 8 and "does not link" in report.problem


def test_a_rewritten_history_without_checkpoints_is_not_covered(session, keyring, log):
    """The review's first case: change an event, recompute every later hash and the head, delete
    the signed checkpoints."""
    session.execute(text("UPDATE audit_event SET outcome = 'denied' WHERE seq = 7"))
    _rechain(session, keyring, from_seq=7)
    session.execute(text("DELETE FROM audit_checkpoint"))
    report = _verify(session, keyring)
    assert not report.ok and "not covered by a signed checkpoint (there are none)" in report.problem


def test_a_rewritten_history_re_signed_with_the_hubs_key_fails_against_a_witness(session, keyring, log):
    session.execute(text("UPDATE audit_event SET outcome = 'denied' WHERE seq = 7"))
    _rechain(session, keyring, from_seq=7, resign=True)
    assert _verify(session, keyring).ok  # the database agrees with itself: only a copy kept elsewhere can tell
    report = _verify(session, keyring, log)
    assert not report.ok and report.broken_seq == 10
    assert "differs from the copy witness" in report.problem and str(log) in report.problem


def test_swapped_events_are_named(session, keyring, log):
    session.execute(text("UPDATE audit_event SET seq = -7 WHERE seq = 7"))
    session.execute(text("UPDATE audit_event SET seq = 7 WHERE seq = 8"))
    session.execute(text("UPDATE audit_event SET seq = 8 WHERE seq = -7"))
    report = _verify(session, keyring)
    assert not report.ok and report.broken_seq == 7


# -- removing events ---------------------------------------------------------------------------

def test_a_removed_event_leaves_a_gap(session, keyring, log):
    session.execute(text("DELETE FROM audit_event WHERE seq = 7"))
    report = _verify(session, keyring)
    assert not report.ok and "seq 7 is missing" in report.problem


def test_an_event_made_unsealed_again_leaves_a_gap(session, keyring, log):
    session.execute(text("UPDATE audit_event SET seq = NULL, prev_hash = NULL, hash = NULL WHERE seq = 7"))
    report = _verify(session, keyring)
    assert not report.ok and "seq 7 is missing" in report.problem


def test_removed_last_events_fall_behind_the_head(session, keyring, log):
    session.execute(text("DELETE FROM audit_event WHERE seq >= 14"))
    report = _verify(session, keyring)
    assert not report.ok and report.broken_seq == 14 and "were deleted" in report.problem


def test_removed_last_events_with_the_head_moved_fall_behind_the_checkpoint(session, keyring, log):
    session.execute(text("DELETE FROM audit_event WHERE seq >= 14"))
    _rechain(session, keyring, from_seq=14)
    report = _verify(session, keyring)
    assert not report.ok and "covers seq 15, beyond the last event" in report.problem


def test_a_log_cut_back_to_a_checkpoint_fails_against_a_witness(session, keyring, log):
    """Remove the last batch, its checkpoint and move the head back: consistent in itself."""
    session.execute(text("DELETE FROM audit_event WHERE seq > 10"))
    session.execute(text("DELETE FROM audit_checkpoint WHERE seq > 10"))
    _rechain(session, keyring, from_seq=11)
    assert _verify(session, keyring).ok
    report = _verify(session, keyring, log)
    assert not report.ok and report.broken_seq == 15 and "cut short or rewritten" in report.problem


def test_the_chain_head_removed_is_named(session, keyring, log):
    session.execute(text("DELETE FROM audit_chain_head"))
    report = _verify(session, keyring)
    assert not report.ok and "chain head is gone" in report.problem


# -- adding events -----------------------------------------------------------------------------

def _forge(session, *, occurred_at, seq=None, prev_hash=None):
    """A row "a jobcoach read Daan", written straight into the table."""
    values = dict(occurred_at=occurred_at, action=AuditAction.read, event_type="student:view", outcome="success",
                  account_id=None, account_name="Jobcoach", role="partner_staff", organisation_id=None,
                  organisation_name="Gemeente", on_behalf_of=None, purpose="jobcoaching", channel="web",
                  source_ip=None, user_agent=None, request_id=None, object_type="student", object_id="daan",
                  student_id="daan", basis="consent:1", detail=None)
    event = AuditEvent(**values)
    if seq is not None:
        event.seq, event.prev_hash = seq, prev_hash
        event.hash = event_hash(values, seq, prev_hash)
    session.add(event)
    session.flush()
    return event


def test_an_appended_chained_event_with_the_head_moved_is_not_covered(session, keyring, log):
    head = session.get(AuditChainHead, 1)
    forged = _forge(session, occurred_at=utcnow(), seq=16, prev_hash=head.last_hash)
    head.last_seq, head.last_hash = 16, forged.hash
    report = _verify(session, keyring)
    assert not report.ok and "chain's end (seq 16) is not covered" in report.problem


def test_a_backdated_row_waiting_to_be_sealed_is_named(session, keyring, log):
    """The review: forged rows inserted unsealed and backdated, which verify used to seal itself."""
    forged = _forge(session, occurred_at=dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC))
    report = _verify(session, keyring)
    assert not report.ok and report.broken_event_id == forged.id
    assert "waited to be sealed since 2026-11-01" in report.problem
    assert _event(session, 16) is None and session.get(AuditChainHead, 1).last_seq == 15  # verify sealed nothing


def test_a_backdated_row_the_sealer_took_in_is_named(session, keyring, log):
    forged = _forge(session, occurred_at=dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC))
    session.commit()
    seal_all(lambda: session, keyring)
    report = _verify(session, keyring)
    assert not report.ok and report.broken_event_id == forged.id and report.broken_seq == 16
    assert "says it happened before" in report.problem and "checkpoint of seq 15" in report.problem


def test_a_fresh_row_waiting_within_the_grace_is_a_note(session, keyring, log):
    _write(session, 1)
    report = _verify(session, keyring)
    assert report.ok and report.unsealed == 1 and report.notes == ["1 events are not sealed yet"]


def test_the_grace_is_measured_from_now(session, keyring, log):
    _write(session, 1)
    later = utcnow() + dt.timedelta(minutes=3)
    assert not verify(session, keyring, now=later).ok
    assert verify(session, keyring, now=later, grace=dt.timedelta(minutes=5)).ok


# -- checkpoints -------------------------------------------------------------------------------

def test_a_removed_middle_checkpoint_leaves_a_gap(session, keyring, log):
    session.execute(text("DELETE FROM audit_checkpoint WHERE seq = 10"))
    report = _verify(session, keyring)
    assert not report.ok and "checkpoints are missing" in report.problem and "starts at seq 11" in report.problem


def test_a_removed_last_checkpoint_leaves_the_end_uncovered(session, keyring, log):
    session.execute(text("DELETE FROM audit_checkpoint WHERE seq = 15"))
    report = _verify(session, keyring)
    assert not report.ok and "not covered by a signed checkpoint (the newest is at seq 10)" in report.problem


def test_a_removed_checkpoint_hidden_with_the_hubs_key_fails_against_a_witness(session, keyring, log):
    session.execute(text("DELETE FROM audit_checkpoint WHERE seq = 10"))
    last = session.scalar(select(AuditCheckpoint).where(AuditCheckpoint.seq == 15))
    last.first_seq = 6
    _rechain(session, keyring, resign=True)
    assert _verify(session, keyring).ok
    report = _verify(session, keyring, log)
    assert not report.ok and "seq 10" in report.problem and "not in the database" in report.problem


@pytest.mark.parametrize("change", ["head_hash = 'ab'", "root_hash = 'cd'", "first_seq = 2",
                                    "key_id = 'onbekend'", "signature = 'AAAA'"])
def test_a_changed_checkpoint_fails_its_signature(session, keyring, log, change):
    session.execute(text(f"UPDATE audit_checkpoint SET {change} WHERE seq = 10"))  # nosec B608 # constants above
    report = _verify(session, keyring)
    assert not report.ok and "checkpoint at seq 10 has an invalid signature" in report.problem


def test_a_checkpoint_moved_in_time_fails_its_signature(session, keyring, log):
    checkpoint = session.scalar(select(AuditCheckpoint).where(AuditCheckpoint.seq == 5))
    checkpoint.created_at -= dt.timedelta(days=30)
    report = _verify(session, keyring)
    assert not report.ok and "checkpoint at seq 5 has an invalid signature" in report.problem


def test_roots_are_recomputed_on_request(session, keyring, log):
    """A root signed with the hub's key over other leaves passes a plain verify; --roots finds it."""
    checkpoint = session.scalar(select(AuditCheckpoint).where(AuditCheckpoint.seq == 10))
    checkpoint.root_hash = "ab" * 32
    checkpoint.key_id, checkpoint.signature = keyring.sign(checkpoint.payload())
    session.commit()
    assert verify(session, keyring).ok
    report = verify(session, keyring, roots=True)
    assert not report.ok and "Merkle root of the checkpoint at seq 10" in report.problem


# -- witnesses ---------------------------------------------------------------------------------

def test_an_intact_log_agrees_with_its_witness(session, keyring, log):
    report = _verify(session, keyring, log)
    assert report.ok and report.witnessed == 3


@pytest.mark.parametrize(("content", "words"), [
    ("{niet json\n", "line 1 is not JSON"),
    ('{"seq": 5}\n', "is not a checkpoint: version missing"),
    ("[]", "holds no checkpoints"),
    ('"tekst"', "is not a checkpoint"),
])
def test_a_damaged_witness_is_an_error_not_ok(keyring, tmp_path, content, words):
    damaged = tmp_path / "kapot.jsonl"
    damaged.write_text(content)
    with pytest.raises(WitnessError, match=words):
        load_witness(str(damaged), keyring)


def test_a_witness_entry_not_signed_by_this_hub_is_an_error(session, keyring, log):
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    entries[1]["headHash"] = "ef" * 32
    log.write_text("".join(json.dumps(e) + "\n" for e in entries))
    with pytest.raises(WitnessError, match=r"entry 2 \(seq 10\) is not signed by this hub's key"):
        load_witness(str(log), keyring)


def test_a_missing_witness_file_is_an_error(keyring, tmp_path):
    with pytest.raises(WitnessError, match="cannot be read"):
        load_witness(str(tmp_path / "weg.jsonl"), keyring)
