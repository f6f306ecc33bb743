"""``schakel doctor``: the checks of :mod:`network.doctor` as lines for a person (Dutch or
English) or as JSON for monitoring; exit code 1 when any check failed.

A command of the ``schakel`` group itself, like ``init-secrets``: it runs without the app,
because it must report on exactly the installation the app refuses to start with."""

from __future__ import annotations

import json
import os
import sys
import time

import click

from network import PROJECT_ROOT
from network.cli_lang import LANGUAGES, _, language_from_environment, ngettext, speaking
from network.doctor import Check, Status, diagnose

_MARKS = {Status.ok: ("✓", "green"), Status.fail: ("✗", "red"), Status.skip: ("–", None)}


def _mark(status: Status) -> str:
    symbol, colour = _MARKS[status]
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        symbol.encode(encoding)
    except (UnicodeEncodeError, LookupError):  # a terminal or mail without UTF-8
        symbol = {Status.ok: "OK", Status.fail: _("FOUT"), Status.skip: "--"}[status]
    return click.style(symbol, fg=colour, bold=status is Status.fail) if colour else symbol


def render(check: Check) -> str:
    """One line, and for a failure a second, indented, with what to do."""
    line = f"{_mark(check.status)} {check.title}" + (f": {check.detail}" if check.detail else "")
    if check.status is Status.fail and check.hint:
        line += "\n    → " + check.hint
    return line


def summary(checks: list[Check], seconds: float) -> str:
    failed = sum(check.status is Status.fail for check in checks)
    if failed:
        return ngettext("%(num)d van %(total)d controles mislukt (%(seconds)s s).",
                        "%(num)d van %(total)d controles mislukt (%(seconds)s s).", failed, total=len(checks),
                        seconds=seconds)
    return ngettext("Alles in orde: %(num)d controle (%(seconds)s s).",
                    "Alles in orde: %(num)d controles (%(seconds)s s).", len(checks), seconds=seconds)


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object (for monitoring).")
@click.option("--lang", type=click.Choice(LANGUAGES),
              help="Language of the report; without it LC_ALL, LC_MESSAGES or LANG decides (en_… is English), "
                   "otherwise Dutch.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
              help="Seconds to wait for Redis and SMTP (the database waits DATABASE_CONNECT_TIMEOUT).")
def doctor(as_json: bool, lang: str | None, timeout: float) -> None:
    """Check this installation, one line per check: configuration, secrets file, database and
    migrations, Redis, SMTP, base URL, scheduler and jobs, outbox, dead letters, audit sealing,
    keys in use. Reads only; sends no e-mail. Exits 1 when a check fails."""
    language = lang or language_from_environment()
    instance_path = os.environ.get("SCHAKEL_INSTANCE_PATH") or str(PROJECT_ROOT / "instance")
    started = time.monotonic()
    checks: list[Check] = []
    with speaking(language):
        for check in diagnose(instance_path, timeout=timeout):
            checks.append(check)
            if not as_json:
                click.echo(render(check))
        seconds = round(time.monotonic() - started, 2)
        ok = all(check.status is not Status.fail for check in checks)
        if as_json:
            click.echo(json.dumps({"ok": ok, "language": language, "seconds": seconds,
                                   "checks": [check.as_json() for check in checks]}, ensure_ascii=False))
        else:
            click.echo(summary(checks, seconds))
    if not ok:
        raise SystemExit(1)
