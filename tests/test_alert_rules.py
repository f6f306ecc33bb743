"""The example alert rules (``deploy/prometheus/schakel-alerts.yml``): valid for Prometheus
(``promtool check rules``), firing when they should and quiet otherwise (``promtool test rules``
with ``schakel-alerts.test.yml``), and naming only metrics and labels the hub exports, so the
rules and the code cannot drift apart.

promtool comes from Debian's ``prometheus`` package, which is not installed (it would bring a
daemon): the first run downloads the package with ``apt-get download`` (no root needed) and keeps
its ``usr/bin/promtool`` (about 48 MB) in ``$VENV/tools/``. ``PROMTOOL=/path/to/promtool`` or a
``promtool`` on the PATH is used instead. Only a machine without apt at all skips these two
tests (loudly); a download that fails fails them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from tests.network.test_metrics import token_of

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "deploy" / "prometheus" / "schakel-alerts.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "schakel-alerts.test.yml"
#: what the issue asks an alert for, and the rule that gives it
REQUIRED = {"scheduler down": "SchakelSchedulerDown", "outbox backlog": "SchakelOutboxBacklog",
            "dead letters": "SchakelDeadLetters", "unsealed audit events": "SchakelAuditUnsealed",
            "readiness failing": "SchakelNotReady", "error rate": "SchakelErrorRate"}
#: series that come from Prometheus itself or the blackbox exporter, not from the hub
EXTERNAL = {"up": {"job", "instance"}, "probe_success": {"job", "instance"}}
TARGET_LABELS = {"job", "instance"}


def _fetch_promtool(cached: Path) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        download = subprocess.run(["apt-get", "download", "prometheus"], cwd=tmp, capture_output=True, text=True,
                                  timeout=600, check=False)
        debs = sorted(Path(tmp).glob("prometheus_*.deb"))
        if download.returncode != 0 or not debs:
            pytest.fail(f"`apt-get download prometheus` failed (run `apt-get update` first?): {download.stderr}")
        tar = subprocess.run(f"dpkg-deb --fsys-tarfile '{debs[0]}' | tar -x -C '{tmp}' ./usr/bin/promtool",
                             shell=True, capture_output=True, text=True, timeout=300, check=False)  # nosec B602
        if tar.returncode != 0:
            pytest.fail(f"could not unpack promtool from {debs[0].name}: {tar.stderr}")
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_name(f".promtool.{os.getpid()}")
        shutil.copy2(Path(tmp) / "usr" / "bin" / "promtool", partial)
        os.replace(partial, cached)  # another xdist worker may be doing the same: each file is whole
    return cached


@pytest.fixture(scope="session")
def promtool() -> Path:
    given = os.environ.get("PROMTOOL") or shutil.which("promtool")
    if given:
        return Path(given)
    cached = Path(sys.prefix) / "tools" / "promtool"
    if cached.exists():
        return cached
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        pytest.skip("!!! PROMTOOL MISSING: no apt-get here to fetch Debian's prometheus package; the alert rules "
                    "were NOT checked by promtool. Set PROMTOOL=/path/to/promtool.")
    return _fetch_promtool(cached)


def _run(promtool: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(promtool), *args], cwd=RULES.parent, capture_output=True, text=True, timeout=120,
                          check=False)


def test_promtool_finds_the_rules_valid(promtool):
    checked = _run(promtool, "check", "rules", RULES.name)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(_rules())} rules found" in checked.stdout


def test_promtool_unit_tests_of_the_rules_pass(promtool):
    tested = _run(promtool, "test", "rules", RULE_TESTS.name)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


# -- the rules against the code (no promtool needed) -----------------------------------------------

def _rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def _exported(client, app) -> dict[str, set[str]]:
    """Every series name one scrape declares (a histogram's ``_bucket``, ``_count``, ``_sum``),
    with the label names its samples carry."""
    text = client.get("/metrics", headers={"Authorization": f"Bearer {token_of(app)}"}).get_data(as_text=True)
    names: dict[str, set[str]] = {}
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M):
        for suffix in ("_bucket", "_count", "_sum") if kind == "histogram" else ("",):
            names[name + suffix] = set()
    for name, labels in re.findall(r"^([a-z_]+)\{([^}]*)\}", text, re.M):
        names[name] |= set(re.findall(r'([a-z_]+)="', labels))
    return names


def test_every_rule_names_metrics_and_labels_the_hub_exports(app, client):
    for _ in range(2):
        client.get("/healthz")  # the request counter's labels show once something was counted
    exported = {**_exported(client, app), **EXTERNAL}
    for rule in _rules():
        expr = rule["expr"]
        used = set(re.findall(r"\b(schakel_[a-z_]+|up|probe_success)\b", expr))
        assert used, f"{rule['alert']} names no metric"
        assert used <= exported.keys(), f"{rule['alert']}: not exported: {sorted(used - exported.keys())}"
        for name, matchers in re.findall(r"\b(schakel_[a-z_]+|up|probe_success)\{([^}]*)\}", expr):
            keys = set(re.findall(r"([a-z_]+)\s*[=!]", matchers))
            assert keys <= exported[name] | TARGET_LABELS, f"{rule['alert']}: {name} has no label {keys}"
        labels = set().union(*(exported[name] for name in used)) | TARGET_LABELS
        for text in rule["annotations"].values():
            for label in re.findall(r"\$labels\.([a-z_]+)", text):
                assert label in labels, f"{rule['alert']} shows $labels.{label}, which {sorted(used)} lack"


def test_the_rules_cover_what_the_issue_asks_and_say_what_to_do():
    rules = {rule["alert"]: rule for rule in _rules()}
    assert set(REQUIRED.values()) <= rules.keys()
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        assert rule["annotations"]["summary"] and len(rule["annotations"]["description"]) > 60, name
