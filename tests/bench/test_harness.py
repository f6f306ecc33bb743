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
         "--single-duration", "1", "--login-sessions", "40", "--results", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    [report_file] = tmp_path.glob("*.json")
    report = json.loads(report_file.read_text())
    assert report["seed"]["counts"]["students"] == 100
    assert report["seed"]["counts"]["referrals"] == 500
    assert report["seed"]["counts"]["signed_agreements"] >= 2
    assert report["audit"]["ok"] is True
    # the seeded history is sealed (all but the newest 1 %), the harness sealed the rest
    sealed = report["seed"]["counts"]["audit_events_sealed_in_seed"]
    assert 0 < sealed < report["audit"]["checked"]
    assert report["audit"]["checkpoints"] >= 2
    # the ceiling is measured at the start and at the end, and ratios are to the higher one
    endpoints = report["endpoints"]
    top = max(endpoints["ceiling"]["rps"], endpoints["ceiling_end"]["rps"])
    assert endpoints["healthz"]["ratio"] == round(endpoints["healthz"]["rps"] / top, 3)
    for name in ("ceiling", "api_referral_detail", "inbox_html"):
        profile = report["profile"][name]
        assert profile["ms_per_request"] > 0 and profile["categories_ms"], name
    assert report["profile"]["api_referral_detail"]["categories_ms"].get("crypto (AES-GCM, Ed25519, argon2, hashes)")
    for name in ("student_list", "inbox_html", "api_referral_inbox", "socialmap_search_api"):
        assert report["sql"][name]["constant_in_page_size"] is True, name
    assert {"referral_detail_html", "api_referral_detail", "api_agreement_verify"} <= set(report["sql"])
    if report["endpoints"]:  # wrk present
        assert report["endpoints"]["ceiling"]["rps"] > 0
        for name in ("student_detail", "inbox_html", "referral_detail_html", "api_referral_inbox",
                     "api_referral_detail", "agreement_verify_html", "api_agreement_verify"):
            assert report["endpoints"][name]["non_2xx_3xx"] == 0, name
            assert report["endpoints"][name]["single"]["non_2xx_3xx"] == 0, name
            assert report["endpoints"][name]["single"]["p95_ms"] > 0, name
        if "create_referral" in report["endpoints"]:
            assert set(report["endpoints"]["create_referral"].get("statuses", {})) <= {"201"}
    assert (tmp_path / report_file.name.replace(".json", ".md")).exists()
