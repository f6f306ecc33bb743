"""Audit verify at scale (issue 8: ``schakel audit verify`` ≥ 200,000 events/s on PostgreSQL).
Not in the default run:

    SCHAKEL_BENCH=1 [SCHAKEL_BENCH_AUDIT_EVENTS=1000000] [TEST_DATABASE_URL=postgresql+psycopg://…] \
        pytest -m bench tests/bench/test_audit_speed.py -s -p no:randomly

Seeds N sealed events (default 1,000,000) as ``seal`` would leave them: hashes from
``network.audit_chain.event_hash`` (the one definition), one signed checkpoint per 5,000 events
(``AUDIT_SEAL_BATCH``) and the chain head, written with COPY on PostgreSQL and one
executemany on SQLite. Then it times ``verify`` and the ``schakel audit verify``
command (read-only since issue 18; with two connections on PostgreSQL, the default, and with one), and checks that an
edit near the end of the chain is still named. Figures go to
``tests/bench/results/audit-verify-<db>-<date>.json`` and ``.md``; timings are reported, never
asserted (DESIGN.md).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import random
import time
from pathlib import Path

import pytest
from sqlalchemy import insert, text

from network import clock
from network.audit import AuditAction, AuditOutcome, canonical
from network.audit_chain import _CHAINED_FIELDS, CHECKPOINT_VERSION, GENESIS, AuditCheckpoint, event_hash
from network.audit_merkle import leaf_body, leaf_hash, root
from network.audit_verify import verify
from network.db import db

pytestmark = [pytest.mark.bench,
              pytest.mark.skipif(not os.environ.get("SCHAKEL_BENCH"), reason="benchmarks run with SCHAKEL_BENCH=1")]

RESULTS = Path(__file__).parent / "results"
EVENTS = int(os.environ.get("SCHAKEL_BENCH_AUDIT_EVENTS", "1000000"))
CHECKPOINT_EVERY = 5000  # AUDIT_SEAL_BATCH: seal_all signs one checkpoint per batch
CHUNK = 50_000
TARGET = 200_000  # events/s on PostgreSQL (issue 8)
#: verify() before issue 8 (ORM rows, one by one), same seed of 1,000,000 events, 2026-12-04
BEFORE = {"postgresql": 25_438, "sqlite": 24_967}
COLUMNS = ("id",) + _CHAINED_FIELDS + ("seq", "prev_hash", "hash")
#: the Merkle leaves of the events as _rows makes them (for the checkpoints' roots)
LEAVES: list[bytes] = []
NAMES = ["Jan de Vries", "Zoë Bakker", "Anouk 't Hart", "Mohammed El Amrani", "Ève \"Evi\" Lefèvre", "Sjoerd"]
ROLES = ["mentor", "coordinator", "partner_staff", "admin", None]
TYPES = ["student:view", "student:update", "consent:grant", "referral:create", "auth:login", "student:export"]


def _rows(rng: random.Random, start: dt.datetime):
    """(id, chained fields…, seq, prev_hash, hash) for EVENTS events, in chunks, chained."""
    prev, chunk = GENESIS, []
    actions, outcomes = list(AuditAction), list(AuditOutcome)
    for seq in range(1, EVENTS + 1):
        staff = rng.random() < 0.8
        values = {
            "occurred_at": start + dt.timedelta(microseconds=seq * 137_003 + rng.randrange(1000)),
            "action": rng.choice(actions),
            "event_type": rng.choice(TYPES),
            "outcome": outcomes[0] if rng.random() < 0.9 else rng.choice(outcomes),
            "account_id": rng.randrange(1, 50_000) if staff else None,
            "account_name": rng.choice(NAMES) if staff else "system",
            "role": rng.choice(ROLES) if staff else None,
            "organisation_id": rng.randrange(1, 2000) if staff else None,
            "organisation_name": f"Organisatie {rng.randrange(2000)} — Waalstede" if staff else None,
            "on_behalf_of": None,
            "purpose": "leerlingbegeleiding" if staff else None,
            "channel": "web" if staff else "job",
            "source_ip": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}" if staff else None,
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0" if staff else None,
            "request_id": f"{rng.getrandbits(128):032x}" if staff else None,
            "object_type": "student",
            "object_id": str(rng.randrange(1, 200_000)),
            "student_id": f"{rng.getrandbits(128):032x}",
            "basis": rng.choice(["legal_task:onderwijstaak", f"consent:{rng.randrange(10**6)}", "self", None]),
            "detail": canonical({"fields": ["naam", "adres"], "reden": "zorg\nmelding “dringend”"})
            if rng.random() < 0.3 else None,
        }
        digest = event_hash(values, seq, prev)
        chunk.append((seq, *(values[name] for name in _CHAINED_FIELDS), seq, prev, digest))
        LEAVES.append(leaf_hash(leaf_body(values, seq, digest)))
        prev = digest
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _seed(keyring) -> dict:
    """Write the events, checkpoints and head; returns seed figures."""
    dialect = db.engine.dialect.name
    started = time.perf_counter()
    rng = random.Random(8)
    start = dt.datetime(2026, 1, 5, 7, 30, tzinfo=dt.UTC)
    conn = db.session.connection()
    heads, checkpoints = {}, []
    last_time = {}
    for chunk in _rows(rng, start):
        if dialect == "postgresql":
            with conn.connection.driver_connection.cursor() as cursor:
                with cursor.copy(f"COPY audit_event ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for row in chunk:
                        copy.write_row([v.value if isinstance(v, AuditAction | AuditOutcome) else v for v in row])
        else:
            conn.execute(insert(db.metadata.tables["audit_event"]),
                         [dict(zip(COLUMNS, row, strict=True)) for row in chunk])
        for row in chunk:
            if row[-3] % CHECKPOINT_EVERY == 0 or row[-3] == EVENTS:
                heads[row[-3]] = row[-1]
                last_time[row[-3]] = row[1]  # occurred_at
    first = 1
    for seq, head_hash in heads.items():
        # version 2, as seal() signs it: half a minute after the batch's last event
        checkpoint = AuditCheckpoint(seq=seq, first_seq=first, head_hash=head_hash, version=CHECKPOINT_VERSION,
                                     root_hash=root(LEAVES[first - 1:seq]).hex(),
                                     created_at=last_time[seq] + dt.timedelta(seconds=30))
        checkpoint.key_id, checkpoint.signature = keyring.sign(checkpoint.payload())
        checkpoints.append({c: getattr(checkpoint, c) for c in ("seq", "first_seq", "head_hash", "root_hash",
                                                                 "created_at", "version", "key_id", "signature")})
        first = seq + 1
    LEAVES.clear()
    conn.execute(insert(AuditCheckpoint), checkpoints)
    conn.execute(text("UPDATE audit_chain_head SET last_seq = :s, last_hash = :h WHERE id = 1"),
                 {"s": EVENTS, "h": heads[EVENTS]})
    if dialect == "postgresql":
        conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('audit_event', 'id'), %s)", (EVENTS,))
    db.session.commit()
    seed_seconds = time.perf_counter() - started
    if dialect == "postgresql":  # a long-lived log is vacuumed (hint bits set, visibility map)
        db.session.remove()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as auto:
            auto.exec_driver_sql("VACUUM ANALYZE audit_event")
    return {"seed_seconds": round(seed_seconds, 1), "checkpoints": len(checkpoints)}


def _write_results(report: dict) -> tuple[Path, Path]:
    RESULTS.mkdir(exist_ok=True)
    stem = f"audit-verify-{report['database']}-{report['date']}"
    json_path, md_path = RESULTS / f"{stem}.json", RESULTS / f"{stem}.md"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    lines = [
        f"# Audit verify benchmark — {report['database']} — {report['date']}", "",
        (f"{report['events']:,} sealed events, {report['checkpoints']:,} signed checkpoints; seeding took "
         f"{report['seed_seconds']:.1f} s. Python {report['python']}, {report['machine']}, "
         f"{report['cpus']} CPUs, load average {report['load_average']} before the runs. `workers` "
         "only matters on PostgreSQL (SQLite reads one span at a time)."), "",
        "| measure | figure | target |", "|---|---|---|",
        *(f"| `verify(workers={run['workers']})` run {i + 1} | {run['seconds']:.2f} s, "
          f"{run['events_per_second']:,.0f} events/s | ≥ {TARGET:,}/s on PostgreSQL |"
          for i, run in enumerate(report["verify_runs"])),
        (f"| `schakel audit verify` | {report['cli_seconds']:.2f} s, "
         f"{report['cli_events_per_second']:,.0f} events/s | ≥ {TARGET:,}/s on PostgreSQL |"),
        f"| `verify()` before issue 8 (row by row, ORM) | {BEFORE[report['database']]:,} events/s | — |",
        f"| edit at seq {report['tamper']['seq']:,} named | {report['tamper']['named']} "
        f"({report['tamper']['seconds']:.2f} s) | yes |", ""]
    md_path.write_text("\n".join(lines))
    return json_path, md_path


def test_audit_verify_speed(app, app_ctx, keyring):
    seeded = _seed(keyring)
    load = os.getloadavg()[0]
    runs = []
    for workers in (2, 2, 1):  # the default twice, then one span at a time
        db.session.remove()
        started = time.perf_counter()
        result = verify(db.session, keyring, workers=workers)
        seconds = time.perf_counter() - started
        assert result.ok, result.problem
        assert result.checked == EVENTS and result.checkpoints == seeded["checkpoints"]
        runs.append({"workers": workers, "seconds": round(seconds, 3), "events_per_second": round(EVENTS / seconds)})
        db.session.rollback()
    cli = app.test_cli_runner().invoke(args=["audit", "verify", "--json"])
    assert cli.exit_code == 0, cli.output
    cli_seconds = json.loads(cli.output)["seconds"]
    # an edit near the end is still named exactly
    seq = EVENTS - 3
    db.session.execute(text("UPDATE audit_event SET purpose = 'iets anders' WHERE seq = :s"), {"s": seq})
    db.session.commit()
    started = time.perf_counter()
    broken = verify(db.session, keyring)
    tamper_seconds = time.perf_counter() - started
    db.session.rollback()
    assert not broken.ok and broken.broken_seq == seq and "changed" in broken.problem, broken.problem
    report = {
        "database": db.engine.dialect.name, "date": clock.today().isoformat(), "events": EVENTS,
        **seeded, "verify_runs": runs, "cli_seconds": cli_seconds,
        "cli_events_per_second": round(EVENTS / cli_seconds) if cli_seconds else None,
        "tamper": {"seq": seq, "named": broken.problem, "seconds": round(tamper_seconds, 3)},
        "load_average": round(load, 2), "python": platform.python_version(), "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    json_path, md_path = _write_results(report)
    print(f"\n{md_path.read_text()}\nwritten: {json_path}, {md_path}")
