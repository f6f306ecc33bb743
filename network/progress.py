"""Progress of long commands, for the person at the terminal: the one module that knows about
terminals. The long functions (audit verify and seal, key re-encryption, backup and restore, the
HSDS export, the demo and bench seeds) take an optional ``on_progress(done, total)`` and know
nothing of where it goes; a command wraps one in :func:`progress`:

- on a terminal (stderr is a tty): click's progress bar, with the count, the percentage and an
  estimate of the time left;
- not on a terminal (cron, a pipe, a log file): nothing, so a cron mail holds only the
  command's own result line, and a script that reads ``2>&1`` reads what it always read;
- with ``--quiet`` (:func:`quiet_option`): nothing, on a terminal too.

Always on stderr: what a command prints on stdout (``--json``, an export to ``-``) stays
exactly what it was, on a terminal too.

click's bar rather than rich: click is already the command line's library, and its bar has what
is needed (a count, an estimate of the time left, its own terminal detection); rich would add a
dependency (with pygments and markdown-it) to every installation for one bar.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import click

#: ``on_progress(done, total)``: ``done`` of ``total`` units (events, values, rows, kB) are done
OnProgress = Callable[[int, int], None]


def quiet_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--quiet``/``-q``: no progress output (for scripts); the command's own lines stay."""
    return click.option("--quiet", "-q", is_flag=True,
                        help="No progress output (for scripts and cron); results and errors still print.")(command)


def on_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class _Bar:
    """click's progress bar, made at the first report (when the total is known)."""

    def __init__(self, label: str, stream: TextIO) -> None:
        self.label, self.stream = label, stream
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            if total <= 0:
                return
            self.bar = click.progressbar(length=total, label=self.label, file=self.stream, show_pos=True,
                                         show_percent=True, show_eta=True)
            self.bar.__enter__()
        # the total can grow while the work runs (events written during a seal)
        self.bar.length = max(total, done, 1)
        if done > self.bar.pos:
            self.bar.update(done - self.bar.pos)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@contextmanager
def progress(label: str, *, quiet: bool = False, stream: TextIO | None = None) -> Iterator[OnProgress | None]:
    """An ``on_progress`` for one stage of work, shown as the module text says; None when nobody
    watches, so the work does not even count its total."""
    stream = stream or sys.stderr
    if quiet or not on_terminal(stream):
        yield None
        return
    bar = _Bar(label, stream)
    try:
        yield bar
    finally:
        bar.close()
