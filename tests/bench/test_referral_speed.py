"""Referrals at scale (issue 5, "Speed"): not in the default run.

    SCHAKEL_BENCH=1 [SCHAKEL_BENCH_FACTOR=0.1] [TEST_DATABASE_URL=postgresql+psycopg://…] \
        pytest -m bench tests/bench/test_referral_speed.py -s -p no:randomly

Seeds ``1,000,000 × factor`` referrals of ``200,000 × factor`` students in 40 regions
(:mod:`tests.bench.referral_seed`: COPY on PostgreSQL; default factor 0.1), then measures at the
service layer, in process:

- the partner inbox (``referrals.inbox.list_inbox``) of the region's gemeente: the first page
  and the five next pages by cursor, p50/p95 over ``RUNS`` runs, at 25 and 100 per page, and the
  SQL statements per page (a ``before_cursor_execute`` listener): equal for both page sizes and
  at most 6 (target p95 ≤ 30 ms). Also the "open" filter and an RMC's inbox (legal task);
- the referral detail as the receiver opens it: ``get_referral`` + ``read_packet`` (decided and
  audited) + ``visible_events``, with the commit that writes the audit event: ≤ 8 statements;
- the SLA job ``referrals.deadlines.run_deadlines`` over the whole set (one pass, and a
  second pass that finds nothing left): wall time (target ≤ 30 s on PostgreSQL);
- the plans (``EXPLAIN ANALYZE`` on PostgreSQL, ``EXPLAIN QUERY PLAN`` on SQLite) of the
  inbox page and the SLA candidate queries.

Figures go to ``tests/bench/results/referrals-<db>-<date>-factor<f>.json`` and ``.md``.
Timings are reported, never asserted (DESIGN.md); statement budgets are asserted.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

import pytest
from sqlalchemy import event

from network import clock
from network.clock import utcnow
from network.db import db
from network.models import Role
from network.permissions import Acting, Principal, permissions_for
from tests.bench import referral_seed

pytestmark = [pytest.mark.bench,
              pytest.mark.skipif(not os.environ.get("SCHAKEL_BENCH"), reason="benchmarks run with SCHAKEL_BENCH=1")]

RESULTS = Path(__file__).parent / "results"
FACTOR = float(os.environ.get("SCHAKEL_BENCH_FACTOR", "0.1"))
RUNS = int(os.environ.get("SCHAKEL_BENCH_RUNS", "60"))
NEXT_PAGES = 5
PAGE_SIZES = (25, 100)
TARGETS = {"inbox_p95_ms": 30.0, "inbox_statements": 6, "detail_statements": 8, "sla_seconds": 30.0}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def _summary(values: list[float]) -> dict:
    return {"n": len(values), "p50_ms": statistics.median(values), "p95_ms": _pct(values, 0.95),
            "max_ms": max(values)}


class _Statements:
    def __init__(self):
        self.seen: list[tuple[str, object]] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        self.seen.append((statement, parameters))


def _principal(org: tuple[int, int, str], account_id: int) -> Principal:
    from network.models import OrganisationType

    acting = Acting(membership_id=account_id, organisation_id=org[0], organisation_name=f"Organisatie {org[0]}",
                    organisation_type=OrganisationType(org[2]), region_id=org[1], role=Role.partner_staff)
    return Principal(account_id=account_id, name=f"Medewerker {account_id}", acting=acting, memberships=(acting,),
                     permissions=permissions_for(Role.partner_staff), channel="web")


def _explain(statement: str, parameters, *, analyze: bool = True) -> str:
    dialect = db.engine.dialect.name
    prefix = ("EXPLAIN (ANALYZE, BUFFERS) " if analyze else "EXPLAIN ") if dialect == "postgresql" \
        else "EXPLAIN QUERY PLAN "
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + statement, parameters).all()
        conn.rollback()
    return "\n".join(" ".join(str(v) for v in row) if dialect == "sqlite" else str(row[0]) for row in rows)


def _measure_inbox(principal: Principal, listener: _Statements, filters=None, runs: int = RUNS) -> dict:
    from referrals.inbox import list_inbox

    out: dict = {"plans": {}}
    for per_page in PAGE_SIZES:
        first, following, counts, rows_seen, cpu = [], [], set(), 0, []
        for run in range(runs + 3):  # three warm-up runs
            cursor = None
            for page_no in range(1 + NEXT_PAGES):
                db.session.remove()  # a request's fresh session
                listener.seen.clear()
                started, started_cpu = time.perf_counter(), time.process_time()
                page = list_inbox(db.session, principal, filters, cursor=cursor, per_page=per_page)
                elapsed = (time.perf_counter() - started) * 1000
                spent_cpu = (time.process_time() - started_cpu) * 1000
                statements = list(listener.seen)
                db.session.commit()
                if run >= 3:
                    (first if page_no == 0 else following).append(elapsed)
                    cpu.append(spent_cpu)
                    counts.add(len(statements))
                    rows_seen += len(page.rows)
                if run == 3 and page_no in (0, 1) and per_page == PAGE_SIZES[0]:
                    rows_sql = next(s for s in statements if "FROM referral" in s[0])
                    out["plans"][f"inbox page {page_no + 1} ({per_page} per page)"] = _explain(*rows_sql)
                if run == 3 and page_no == 0:
                    out.setdefault("statement_texts", {})[per_page] = [s[0].split("\n")[0][:120] for s in statements]
                cursor = page.next_cursor
                if cursor is None:
                    break
        out[per_page] = {"first_page": _summary(first), "next_pages": _summary(following) if following else None,
                         "statements": sorted(counts), "rows_per_run": rows_seen // runs,
                         # the benchmark process's own CPU time per page (Python: ORM, decisions,
                         # audit rows), apart from waiting for the database and for a shared CPU
                         "process_cpu_p50_ms": statistics.median(cpu)}
    return out


def _measure_detail(seeded, principal: Principal, keyring, listener: _Statements) -> dict:
    from referrals.packet import read_packet
    from referrals.referral_timeline import visible_events
    from referrals.service import get_referral

    timings, counts, states = [], [], {}
    ids = seeded.detail_ids
    for n in range(max(RUNS, len(ids)) + 5):
        referral_id = ids[n % len(ids)]
        db.session.remove()
        listener.seen.clear()
        started = time.perf_counter()
        referral = get_referral(db.session, principal, referral_id)
        view = read_packet(db.session, principal, keyring, referral)
        events = visible_events(referral, principal.organisation_id)
        db.session.commit()  # the decision's audit event
        elapsed = (time.perf_counter() - started) * 1000
        if n >= 5:
            timings.append(elapsed)
            counts.append(len(listener.seen))
            states[view.state] = states.get(view.state, 0) + 1
        assert events, "every referral has events"
    return {**_summary(timings), "statements_max": max(counts), "statements_min": min(counts),
            "packet_states": states}


def _measure_sla(keyring, listener: _Statements) -> dict:
    from referrals.deadlines import run_deadlines

    out = {}
    for label in ("first_pass", "second_pass"):
        db.session.remove()
        listener.seen.clear()
        started = time.perf_counter()
        result = run_deadlines(db.session, keyring, today=clock.today(), now=utcnow(), base_url="https://bench.example")
        db.session.commit()
        out[label] = {"seconds": time.perf_counter() - started, "reminded": result.reminded,
                      "escalated": result.escalated, "nudged": result.nudged, "statements": len(listener.seen)}
        if label == "second_pass":
            candidates = [s for s in listener.seen if s[0].lstrip().upper().startswith("SELECT")
                          and "FROM referral " in s[0].replace("\n", " ")][:3]
            out["plans"] = {f"SLA candidates {n + 1}": _explain(*s) for n, s in enumerate(candidates)}
    return out


def _write_results(report: dict) -> tuple[Path, Path]:
    RESULTS.mkdir(exist_ok=True)
    stem = f"referrals-{report['database']}-{report['date']}-factor{report['factor']:g}"
    json_path, md_path = RESULTS / f"{stem}.json", RESULTS / f"{stem}.md"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
    lines = [f"# Referral benchmark — {report['database']} — {report['date']}", "",
             f"Factor {report['factor']:g}: " + ", ".join(f"{v:,} {k.replace('_', ' ')}"
                                                         for k, v in report["counts"].items()) + ".",
             "Statuses: " + ", ".join(f"{k} {v:,}" for k, v in report["statuses"].items()) + ".",
             (f"Seeding {sum(report['seed_seconds'].values()):.0f} s. Python {report['python']}, {report['machine']}. "
              f"Load average {'/'.join(map(str, report['load_average']))} at the end (1/5/15 min; the "
              f"machine was shared). {report['runs']} runs per figure, service layer, in process."), "",
             "| measure | p50 | p95 | SQL statements | target |", "|---|---|---|---|---|"]
    cpu_notes = []
    for name, block in report["inbox"].items():
        for per_page in PAGE_SIZES:
            figures = block[per_page]
            for part in ("first_page", "next_pages"):
                f = figures[part]
                if f is None:
                    continue
                lines.append(f"| {name}: {part.replace('_', ' ')}, {per_page} per page "
                             f"(~{figures['rows_per_run']} rows/run) | {f['p50_ms']:.1f} ms | {f['p95_ms']:.1f} ms | "
                             f"{'/'.join(map(str, figures['statements']))} | p95 ≤ 30 ms, ≤ 6 statements |")
            cpu_notes.append(f"{name}, {per_page} per page: {figures['process_cpu_p50_ms']:.1f} ms")
    d = report["detail"]
    lines.append(f"| referral detail (get + packet decided/audited + events + commit) | {d['p50_ms']:.1f} ms | "
                 f"{d['p95_ms']:.1f} ms | {d['statements_max']} | ≤ 8 statements |")
    for label in ("first_pass", "second_pass"):
        s = report["sla"][label]
        lines.append(f"| SLA job `run_deadlines`, {label.replace('_', ' ')} (reminded {s['reminded']:,}, escalated "
                     f"{s['escalated']:,}, nudged {s['nudged']:,}) | — | {s['seconds']:.2f} s wall | "
                     f"{s['statements']} | ≤ 30 s |")
    lines += ["", "Process CPU time per inbox page (p50; the rest of the wall time is the database and "
              "waiting for a CPU): " + "; ".join(cpu_notes) + ".", "", "## Query plans", ""]
    plans = {**report["inbox"]["gemeente inbox"]["plans"], **report["sla"]["plans"]}
    for name, plan in plans.items():
        lines += [f"### {name}", "", "```", plan, "```", ""]
    md_path.write_text("\n".join(lines))
    return json_path, md_path


def _profile(principal: Principal) -> None:
    """SCHAKEL_BENCH_PROFILE=1: where an inbox page's time goes (cProfile, top 25 by own time)."""
    import cProfile
    import pstats

    from referrals.inbox import list_inbox

    for _warm in range(3):
        list_inbox(db.session, principal, per_page=25)
        db.session.commit()
    profiler = cProfile.Profile()
    for _run in range(20):
        db.session.remove()
        profiler.enable()
        list_inbox(db.session, principal, per_page=25)
        profiler.disable()
        db.session.commit()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


def test_referral_speed(app, app_ctx):
    from referrals.inbox import InboxFilters
    from tests.bench.test_socialmap_search import vacuum_analyze

    vacuum_analyze()  # dead rows of an earlier bench file in the same database
    keyring = app.extensions["schakel.keyring"]
    seeded = referral_seed.seed(app, FACTOR)
    gemeente = _principal(seeded.gemeente, seeded.staff[seeded.gemeente[0]][0])
    rmc = _principal(seeded.rmc, seeded.staff[seeded.rmc[0]][0])
    if os.environ.get("SCHAKEL_BENCH_PROFILE"):
        _profile(gemeente)
    listener = _Statements()
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        inbox = {"gemeente inbox": _measure_inbox(gemeente, listener),
                 "gemeente inbox, open only": _measure_inbox(gemeente, listener, InboxFilters(status="open"),
                                                             runs=max(10, RUNS // 3)),
                 "RMC inbox (legal task)": _measure_inbox(rmc, listener, runs=max(10, RUNS // 3))}
        detail = _measure_detail(seeded, gemeente, keyring, listener)
        sla = _measure_sla(keyring, listener)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    report = {"database": db.engine.dialect.name, "date": clock.today().isoformat(), "factor": FACTOR,
              "runs": RUNS, "counts": seeded.counts, "statuses": seeded.statuses, "seed_seconds": seeded.seconds,
              "python": platform.python_version(), "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
              "load_average": [round(v, 1) for v in os.getloadavg()],
              "targets": TARGETS, "inbox": inbox, "detail": detail, "sla": sla}
    json_path, md_path = _write_results(report)
    print(f"\n{md_path.read_text()}\nwritten: {json_path}, {md_path}")
    # machine-independent: the statement budgets
    for name, block in inbox.items():
        counts = [tuple(block[size]["statements"]) for size in PAGE_SIZES]
        assert counts[0] == counts[1], (name, counts, block.get("statement_texts"))
        assert max(counts[0]) <= TARGETS["inbox_statements"], (name, counts, block.get("statement_texts"))
    assert detail["statements_max"] <= TARGETS["detail_statements"], detail
    assert detail["packet_states"].get("open"), detail
