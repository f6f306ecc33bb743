"""Security lint (issue 8): bandit reports nothing on the application packages, all severities
and confidences. A finding is either fixed or justified where it is, on its own line:

    value = "Bearer"  # nosec B105 # why this is safe

The reason goes after a second ``#``: bandit reads every word after ``nosec`` up to the next
``#`` as a test name or id, and would take a word such as ``exec_used`` as one more test to skip.

Run by hand (from the repository root):
    .venv/bin/bandit -r network consent referrals socialmap -x network/migrations
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("network", "consent", "referrals", "socialmap")
EXCLUDED = "network/migrations"
#: the packages hold about 22,000 lines of code (2026-12); far fewer means the scan missed files
MIN_LINES_OF_CODE = 10_000
NOSEC_IDS = re.compile(r"#\s*nosec:?\s*([^#]*)")


def _bandit(*extra: str) -> tuple[dict, str]:
    """bandit's JSON report over PACKAGES, and what it logged."""
    command = [sys.executable, "-m", "bandit", "-r", *PACKAGES, "-x", EXCLUDED, "-f", "json", "-q",
               "--severity-level", "all", "--confidence-level", "all", *extra]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                               check=False)
    # 0: nothing found, 1: findings; anything else is bandit failing to run
    assert completed.returncode in (0, 1), f"bandit failed ({completed.returncode}):\n{completed.stderr}"
    return json.loads(completed.stdout), completed.stderr


def _describe(result: dict) -> str:
    return (f"{result['filename']}:{result['line_number']} {result['test_id']} ({result['test_name']}, "
            f"{result['issue_severity']}/{result['issue_confidence']}): {result['issue_text']}")


def _check_scanned(report: dict) -> None:
    assert report["errors"] == [], f"bandit could not scan: {report['errors']}"
    loc = report["metrics"]["_totals"]["loc"]
    assert loc > MIN_LINES_OF_CODE, f"bandit scanned only {loc} lines of code: are the paths right?"
    scanned = [name for name in report["metrics"] if name != "_totals"]
    for package in PACKAGES:
        assert any(Path(name).parts[0] == package for name in scanned), f"bandit scanned nothing in {package}/"
    assert not [name for name in scanned if name.startswith(EXCLUDED + "/")], "the migrations were scanned"


def test_bandit_finds_nothing():
    report, log = _bandit()
    _check_scanned(report)
    findings = [_describe(result) for result in report["results"]]
    assert not findings, ("bandit findings: fix each, or justify it on its line with "
                          "'# nosec BXXX # reason'\n" + "\n".join(findings))
    unknown = [line for line in log.splitlines() if "is not a test name or id" in line]
    assert not unknown, ("a '# nosec' comment holds words that are not test ids: put the reason after "
                         "a second '#' ('# nosec B105 # reason')\n" + "\n".join(unknown))


def test_each_nosec_is_on_the_line_of_its_finding():
    """bandit applies a ``# nosec`` to the whole statement or literal it is in (a 60-line config
    dict, say), so one justified line could hide a new finding further down. With the comments
    ignored, every finding must name its own test id in a ``# nosec`` on its own line."""
    report, _ = _bandit("--ignore-nosec")
    _check_scanned(report)
    lines: dict[str, list[str]] = {}
    unjustified = []
    for result in report["results"]:
        name = result["filename"]
        if name not in lines:
            lines[name] = (ROOT / name).read_text(encoding="utf-8").splitlines()
        match = NOSEC_IDS.search(lines[name][result["line_number"] - 1])
        if match is None or result["test_id"] not in re.findall(r"B\d{3}", match.group(1)):
            unjustified.append(_describe(result))
    assert not unjustified, ("findings without '# nosec <their id>' on their own line:\n"
                             + "\n".join(unjustified))
