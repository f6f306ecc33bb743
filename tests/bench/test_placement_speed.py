"""Placements at scale (issue 19, "Measured"): not in the default run.

    SCHAKEL_BENCH=1 [SCHAKEL_BENCH_FACTOR=0.1] [TEST_DATABASE_URL=postgresql+psycopg://…] \
        pytest -m bench tests/bench/test_placement_speed.py -s -p no:randomly

Seeds ``300,000 × factor`` placements with about ``1,000,000 × factor`` contacts of the
stageprotocol and ``200,000 × factor`` employer's assessments (:mod:`tests.bench.placement_seed`:
COPY on PostgreSQL; default factor 0.1), then measures in process:

- the stagebegeleider's list of contacts due (``/trajecten/stagecontacten``): the whole page
  through Flask's test client (logged in, rendered), p50/p95 over ``RUNS`` runs, at 25 and (the
  view's page size patched) 100 rows per page, with its SQL statements, which must be the same
  for both sizes (target p95 ≤ 30 ms); also the service alone
  (:func:`referrals.placements.protocol_reads.due_contacts`) for the stagebegeleider and for
  the zorgcoördinator's whole school;
- the protocol job ``placements.protocol`` (:func:`referrals.placements.protocol_job.run_protocol`)
  over everything: a first pass (the fresh slice of late contacts to remind and escalate) and a
  second that finds nothing left, wall time (target ≤ 30 s on PostgreSQL);
- the employer's assessment page ``GET /stagebeoordeling/<uuid>/<token>`` (no login; the token
  looked up by its hash, the open audited), p50/p95 (target p95 ≤ 20 ms);
- the plans (``EXPLAIN ANALYZE`` on PostgreSQL, ``EXPLAIN QUERY PLAN`` on SQLite) of the list's
  page query, the link's lookup and the job's candidate queries.

Figures go to ``tests/bench/results/placements-<db>-<date>-factor<f>.json`` and ``.md``.
Timings are reported, never asserted (DESIGN.md); the statement count's constancy is asserted.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import event

from network import clock
from network.clock import utcnow
from network.db import db
from network.models import Account
from tests.bench import placement_seed
from tests.bench.test_referral_speed import _explain, _Statements, _summary
from tests.factories import login, principal_for

pytestmark = [pytest.mark.bench,
              pytest.mark.skipif(not os.environ.get("SCHAKEL_BENCH"), reason="benchmarks run with SCHAKEL_BENCH=1")]

RESULTS = Path(__file__).parent / "results"
FACTOR = float(os.environ.get("SCHAKEL_BENCH_FACTOR", "0.1"))
RUNS = int(os.environ.get("SCHAKEL_BENCH_RUNS", "60"))
PAGE_SIZES = (25, 100)
TARGETS = {"contacts_page_p95_ms": 30.0, "protocol_job_seconds": 30.0, "link_page_p95_ms": 20.0}
WARM = 3


def _timed(run, listener: _Statements, runs: int = RUNS) -> dict:
    """p50/p95 of ``run()`` (warmed up), the statement counts seen, the last run's statements."""
    timings, counts = [], set()
    for n in range(runs + WARM):
        db.session.remove()
        listener.seen.clear()
        started = time.perf_counter()
        result = run()
        elapsed = (time.perf_counter() - started) * 1000
        if n >= WARM:
            timings.append(elapsed)
            counts.add(len(listener.seen))
    return {**_summary(timings), "statements": sorted(counts), "last": list(listener.seen), "result": result}


def _plan(statements, needle: str) -> str | None:
    found = next((s for s in statements if needle in s[0].replace("\n", " ")), None)
    return _explain(*found) if found else None


def _measure_service(seeded, listener: _Statements) -> dict:
    from referrals.placements.protocol_reads import MINE, SCHOOL, due_contacts

    out = {}
    for label, account_id, scope in (("stagebegeleider", seeded.mentor, MINE),
                                     ("zorgcoördinator, whole school", seeded.zorgcoordinator, SCHOOL)):
        principal = principal_for(db.session.get(Account, account_id))
        for per_page in PAGE_SIZES:
            def run(principal=principal, scope=scope, per_page=per_page):
                page = due_contacts(db.session, principal, scope=scope, per_page=per_page)
                db.session.commit()  # the decisions' audit events
                return {"rows": len(page.items), "total": page.total}

            figures = _timed(run, listener)
            out[f"{label}, {per_page} per page"] = {
                key: figures[key] for key in ("n", "p50_ms", "p95_ms", "max_ms", "statements")} | figures["result"]
            if per_page == PAGE_SIZES[0]:
                out.setdefault("plans", {})[f"contacts due: {label}"] = _plan(figures["last"], "FROM placement_contact")
    return out


def _measure_page(app, seeded, listener: _Statements, monkeypatch) -> dict:
    from referrals.placements import protocol_views

    client = app.test_client()
    login(client, SimpleNamespace(id=seeded.mentor))
    out = {}
    for per_page in PAGE_SIZES:
        monkeypatch.setattr(protocol_views, "PER_PAGE", per_page)

        def run():
            response = client.get("/trajecten/stagecontacten")
            assert response.status_code == 200, response.status_code
            return {"bytes": len(response.data), "rows": response.get_data(as_text=True).count("<tr") - 1}

        figures = _timed(run, listener)
        out[per_page] = {key: figures[key] for key in ("n", "p50_ms", "p95_ms", "max_ms", "statements")} \
            | figures["result"]
        if per_page == PAGE_SIZES[0]:
            out["statement_texts"] = [s[0].split("\n")[0][:120] for s in figures["last"]]
    return out


def _measure_links(app, seeded, listener: _Statements, monkeypatch) -> dict:
    monkeypatch.setitem(app.config, "VERIFY_RATE_LIMIT", "1000000 per minute")
    client = app.test_client()
    links = seeded.links
    assert links, "the seed made no open links"
    state = {"n": 0}

    def run():
        placement_uuid, token = links[state["n"] % len(links)]
        state["n"] += 1
        response = client.get(f"/stagebeoordeling/{placement_uuid}/{token}")
        assert response.status_code == 200 and "Beoordeling" in response.get_data(as_text=True), response.status_code
        return {"bytes": len(response.data)}

    figures = _timed(run, listener, runs=max(RUNS, len(links)))
    return {**{key: figures[key] for key in ("n", "p50_ms", "p95_ms", "max_ms", "statements")}, **figures["result"],
            "links": len(links), "plan": _plan(figures["last"], "FROM placement_assessment")}


def _measure_job(keyring, listener: _Statements) -> dict:
    from referrals.placements.protocol_job import run_protocol

    out = {}
    for label in ("first_pass", "second_pass"):
        db.session.remove()
        listener.seen.clear()
        started = time.perf_counter()
        result = run_protocol(db.session, keyring, today=clock.today(), now=utcnow(), base_url="https://bench.example")
        db.session.commit()
        out[label] = {"seconds": time.perf_counter() - started, "reminded": result.reminded,
                      "escalated": result.escalated, "statements": len(listener.seen)}
        if label == "second_pass":
            candidates = [s for s in listener.seen if s[0].lstrip().upper().startswith("SELECT")
                          and "FROM placement_contact" in s[0].replace("\n", " ")][:2]
            out["plans"] = {f"protocol candidates {n + 1}": _explain(*s) for n, s in enumerate(candidates)}
    return out


def _row(label: str, f: dict, target: str) -> str:
    return (f"| {label} | {f['p50_ms']:.1f} ms | {f['p95_ms']:.1f} ms | {'/'.join(map(str, f['statements']))} | "
            f"{target} |")


def _write_results(report: dict) -> tuple[Path, Path]:
    RESULTS.mkdir(exist_ok=True)
    stem = f"placements-{report['database']}-{report['date']}-factor{report['factor']:g}"
    json_path, md_path = RESULTS / f"{stem}.json", RESULTS / f"{stem}.md"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
    lines = [f"# Placement benchmark — {report['database']} — {report['date']}", "",
             f"Factor {report['factor']:g}: " + ", ".join(f"{v:,} {k.replace('_', ' ')}"
                                                         for k, v in report["counts"].items()) + ".",
             "Placements by status: " + ", ".join(f"{k} {v:,}" for k, v in report["statuses"].items()) + ".",
             (f"Seeding {sum(report['seed_seconds'].values()):.0f} s. Python {report['python']}, {report['machine']}. "
              f"Load average {'/'.join(map(str, report['load_average']))} at the end (1/5/15 min; the "
              f"machine was shared). {report['runs']} runs per figure, in process (Flask's test client for "
              "the pages: routing, session, view, template; no HTTP server or network)."), "",
             "| measure | p50 | p95 | SQL statements | target |", "|---|---|---|---|---|"]
    for per_page in PAGE_SIZES:
        f = report["contacts_page"][per_page]
        lines.append(_row(f"`/trajecten/stagecontacten`, stagebegeleider, {per_page} per page ({f['rows']} rows "
                          f"shown)", f, "p95 ≤ 30 ms, statements constant"))
    for label, f in report["contacts_service"].items():
        if label != "plans":
            lines.append(_row(f"service `due_contacts`: {label} ({f['rows']} of {f['total']:,})", f, "—"))
    f = report["link_page"]
    lines.append(_row(f"`GET /stagebeoordeling/<uuid>/<token>` (no login; {f['links']} links)", f, "p95 ≤ 20 ms"))
    for label in ("first_pass", "second_pass"):
        s = report["protocol_job"][label]
        lines.append(f"| protocol job `placements.protocol`, {label.replace('_', ' ')} (reminded {s['reminded']:,}, "
                     f"escalated {s['escalated']:,}) | — | {s['seconds']:.2f} s wall | {s['statements']} | "
                     "≤ 30 s on PostgreSQL |")
    lines += ["", "Statements of the contacts page (25 per page): "
              + "; ".join(f"`{t}`" for t in report["contacts_page"]["statement_texts"]), "", "## Query plans", ""]
    plans = {**report["contacts_service"]["plans"], "assessment link lookup": report["link_page"]["plan"],
             **report["protocol_job"]["plans"]}
    for name, plan in plans.items():
        lines += [f"### {name}", "", "```", str(plan), "```", ""]
    md_path.write_text("\n".join(lines))
    return json_path, md_path


def test_placement_speed(app, app_ctx, monkeypatch):
    from tests.bench.test_socialmap_search import vacuum_analyze

    vacuum_analyze()  # dead rows of an earlier bench file in the same database
    keyring = app.extensions["schakel.keyring"]
    seeded = placement_seed.seed(app, FACTOR)
    listener = _Statements()
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        page = _measure_page(app, seeded, listener, monkeypatch)
        service = _measure_service(seeded, listener)
        link = _measure_links(app, seeded, listener, monkeypatch)
        job = _measure_job(keyring, listener)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    report = {"database": db.engine.dialect.name, "date": clock.today().isoformat(), "factor": FACTOR,
              "runs": RUNS, "counts": seeded.counts, "statuses": seeded.statuses, "seed_seconds": seeded.seconds,
              "python": platform.python_version(), "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
              "load_average": [round(v, 1) for v in os.getloadavg()], "targets": TARGETS,
              "contacts_page": page, "contacts_service": service, "link_page": link, "protocol_job": job}
    json_path, md_path = _write_results(report)
    print(f"\n{md_path.read_text()}\nwritten: {json_path}, {md_path}")
    # machine-independent: the statements of a page do not grow with its size
    assert page[25]["statements"] == page[100]["statements"], page["statement_texts"]
    assert page[100]["rows"] > 25, page  # the measured list is longer than one page of 25
    for label in ("stagebegeleider", "zorgcoördinator, whole school"):
        assert service[f"{label}, 25 per page"]["statements"] == service[f"{label}, 100 per page"]["statements"]
    assert job["second_pass"]["reminded"] == job["second_pass"]["escalated"] == 0, job
