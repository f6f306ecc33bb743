"""Sociale kaart at scale: HSDS ``/services`` page p95 end to end (test client), the full HSDS
export streamed (time and peak Python memory with tracemalloc), and the search p95 at the
service layer. Not in the default run: ``SCHAKEL_BENCH=1 pytest -m bench tests/bench``;
``SCHAKEL_BENCH_SERVICES`` sets the size (default 20,000). Writes the figures to
``tests/bench/results/socialmap_<engine>.json`` and ``.md``; asserts nothing about time."""

from __future__ import annotations

import json
import os
import random
import time
import tracemalloc
from pathlib import Path

import pytest
from sqlalchemy import event

from network.db import db
from socialmap.exchange import stream_package
from socialmap.search import SearchQuery, search_services
from tests.bench.test_socialmap_search import QUERIES, _seed

pytestmark = [pytest.mark.bench,
              pytest.mark.skipif(not os.environ.get("SCHAKEL_BENCH"), reason="benchmarks run with SCHAKEL_BENCH=1")]

RESULTS = Path(__file__).parent / "results"


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[max(0, int(len(ordered) * q + 0.5) - 1)], 2)


def _load() -> str:
    """/proc/loadavg (1, 5, 15 minutes): the figures mean little on a busy machine."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def test_socialmap_figures(app, app_ctx):
    count = int(os.environ.get("SCHAKEL_BENCH_SERVICES", "20000"))
    _seed(count)  # VACUUM ANALYZE on PostgreSQL before and after, see _seed
    load_before = _load()
    engine = db.engine.dialect.name
    figures: dict = {"engine": engine, "services": count}
    client = app.test_client()
    rng = random.Random(3)

    # HSDS /services pages, end to end through the WSGI app
    for label, url in (("services_page_25", "/hsds/services?page={page}"),
                       ("services_page_100", "/hsds/services?per_page=100&page={page}"),
                       ("services_search", "/hsds/services?search=jobcoach&page=1")):
        timings = []
        for _ in range(40):
            started = time.perf_counter()
            response = client.get(url.format(page=rng.randint(1, 150)))
            response.get_data()
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        figures[label] = {"p50_ms": _p(timings, 0.5), "p95_ms": _p(timings, 0.95)}

    # search at the service layer, with the statements per page
    statements: list[str] = []
    listener = lambda *a: statements.append(a[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    search = {}
    for text in QUERIES:
        for category in (None, "begeleiding"):
            timings, per_page = [], []
            for _ in range(30):
                db.session.expire_all()
                statements.clear()
                started = time.perf_counter()
                result = search_services(db.session, SearchQuery(text=text, category=category))
                [c.name for s in result.page.items for c in s.categories]
                timings.append((time.perf_counter() - started) * 1000)
                per_page.append(len(statements))
            search[f"{text} | {category or '-'}"] = {"hits": result.page.total, "p50_ms": _p(timings, 0.5),
                                                     "p95_ms": _p(timings, 0.95), "statements": max(per_page)}
    event.remove(db.engine, "before_cursor_execute", listener)
    figures["search"] = search
    figures["search_worst_p95_ms"] = max(v["p95_ms"] for v in search.values())

    # the full export, streamed to a sink: timed without tracemalloc (it slows Python several
    # times), then once more under tracemalloc for the peak of Python allocations
    def export() -> int:
        db.session.expire_all()
        size = 0
        for piece in stream_package(db.session, include_personal=False):
            size += len(piece)
        db.session.rollback()
        return size

    started = time.perf_counter()
    size = export()
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    export()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    figures["export"] = {"seconds": round(elapsed, 2), "chars": size,
                         "tracemalloc_peak_mb": round(peak / 1024 / 1024, 1)}
    figures["load_before"], figures["load_after"] = load_before, _load()

    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"socialmap_{engine}.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    lines = [f"# Sociale kaart, {engine}, {count} services", "",
             "| measurement | p50 ms | p95 ms |", "|---|---|---|"]
    for label in ("services_page_25", "services_page_100", "services_search"):
        lines.append(f"| HSDS {label} | {figures[label]['p50_ms']} | {figures[label]['p95_ms']} |")
    for label, value in search.items():
        lines.append(f"| search `{label}` ({value['hits']} hits, {value['statements']} statements) | "
                     f"{value['p50_ms']} | {value['p95_ms']} |")
    export = figures["export"]
    lines += ["", f"Full HSDS export streamed: {export['seconds']} s, {export['chars']} characters, "
                  f"tracemalloc peak {export['tracemalloc_peak_mb']} MB.", "",
              f"Machine load (/proc/loadavg) before: {figures['load_before']}, after: {figures['load_after']}. "
              "Search p95 at the service layer over 30 runs per query; on PostgreSQL the data set is "
              "VACUUM ANALYZEd after seeding.", ""]
    (RESULTS / f"socialmap_{engine}.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n" + "\n".join(lines))
