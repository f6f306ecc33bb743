"""gunicorn settings for serving the hub: ``gunicorn -c python:network.gunicorn_conf -w 4 -k gthread
--threads 4 -b 127.0.0.1:8000 'network:create_app()'`` (README, Production). They make
``/metrics`` count over every worker process (prometheus-client's multiprocess mode):

- ``PROMETHEUS_MULTIPROC_DIR`` names the directory where each process keeps its counts. It has
  to be set before prometheus-client is imported, which is why it is set here, in the master,
  before any worker loads the app. Set it yourself (the README's units use
  ``/run/schakel/metrics``, which the scheduler's unit names too, so its webhook retries are
  counted); unset, a fresh private directory is made for this server.
- At start (``on_starting``) the directory is emptied of the files of processes that no longer
  run: the previous server's workers, whose pids a new process could get. The files of a
  process still running (the scheduler) stay.
- When a worker ends (``child_exit``, also after a ``kill -9``), its live gauges (database
  pool use) are dropped with ``mark_process_dead``; its counters stay in the totals.

Only the standard library at module level: prometheus-client is imported in the hooks, after
the variable is set.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="schakel-metrics-")

METRICS_DIR = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # running, as another user
    return True


def stale_files(directory: Path) -> list[Path]:
    """The count files (``<kind>_<pid>.db``) of processes that no longer run."""
    found = []
    for path in directory.glob("*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if not pid.isdigit() or not _running(int(pid)):
            found.append(path)
    return found


def on_starting(server) -> None:
    METRICS_DIR.mkdir(parents=True, exist_ok=True)
    stale = stale_files(METRICS_DIR)
    for path in stale:
        path.unlink(missing_ok=True)
    server.log.info("metrics: counting over all workers in %s (%d old files removed)", METRICS_DIR, len(stale))


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(METRICS_DIR))
