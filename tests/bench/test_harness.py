"""The benchmark harness end to end at a tiny factor (``make bench`` runs the real thing).
Skipped unless SCHAKEL_BENCH=1; asserts that it ran and reported, never a timing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.bench,
              pytest.mark.skipif(not os.environ.get("SCHAKEL_BENCH"), reason="benchmarks run with SCHAKEL_BENCH=1")]

ROOT = Path(__file__).resolve().parents[2]


def test_harness_runs_at_a_tiny_factor(tmp_path):
    db = os.environ.get("SCHAKEL_BENCH_DB", "sqlite")
    completed = subprocess.run(
        [sys.executable, "-m", "tests.bench.harness", "--db", db, "--factor", "0.0005", "--duration", "2",
         "--login-sessions", "40", "--results", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    [report_file] = tmp_path.glob("*.json")
    report = json.loads(report_file.read_text())
    assert report["seed"]["counts"]["students"] == 100
    assert report["audit"]["ok"] is True
    assert report["sql"]["student_list"]["constant_in_page_size"] is True
    if report["endpoints"]:  # wrk present
        assert report["endpoints"]["ceiling"]["rps"] > 0
        assert report["endpoints"]["student_detail"]["non_2xx_3xx"] == 0
    assert (tmp_path / report_file.name.replace(".json", ".md")).exists()
