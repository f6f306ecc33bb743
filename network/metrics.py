"""What ``/metrics`` tells the monitoring of a region's IT department, in the Prometheus text
format (prometheus-client).

Two kinds of figures:

- **Counted where it happens**, in whichever process it happens: requests and their latency
  (by endpoint name, method and status, never the path), rate-limit refusals, failed logins and
  lockouts (:mod:`network.identity`), outbox deliveries by kind and outcome
  (:mod:`network.outbox`: webhooks and e-mail), and the database pool's use. Labels hold names
  from the code only (an endpoint, a reason, a job id), never an id, address or name of a
  person, so a label cannot leak what the hub keeps.
- **Read at scrape time** from the database by :class:`HealthCollector`: the scheduler's
  heartbeat, each job's last success and failure, the outbox backlog and dead letters, the
  audit log's unsealed events and newest checkpoint. One call of :func:`network.health.hub_health`
  per scrape, never per request; the dashboards and ``/readyz/scheduler`` read the same.

**Several processes.** gunicorn runs several worker processes; each counts on its own. With
``PROMETHEUS_MULTIPROC_DIR`` set (by ``network/gunicorn_conf.py``, before prometheus-client is
imported: it reads the variable at import) every process writes its counts into files in that
directory and a scrape adds them up (:class:`~prometheus_client.multiprocess.MultiProcessCollector`).
The scheduler process may write there too (its webhook retries). Without the variable (the
development server, tests, CLI commands) the counts live in this process's registry.

This module does not import Flask: services count here (``network.identity``, ``network.outbox``).
The request hooks and the endpoint are in :mod:`network.web.metrics`.
"""

from __future__ import annotations

import atexit
import math
import os
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from sqlalchemy import event
from sqlalchemy.engine import Engine

if TYPE_CHECKING:  # services import this module to count; it needs no more of the hub than that
    from network.health import HubHealth

#: the text format every Prometheus version reads (the names here need none of 1.0.0's escaping)
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
#: prometheus-client chose its storage when it was imported, from this same variable
MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None

# the same series in both modes: the multiprocess collector never writes *_created samples
disable_created_metrics()

#: this process's own counts (not prometheus-client's global registry, whose process and
#: garbage-collector figures would make single- and multi-process output differ)
REGISTRY = CollectorRegistry(auto_describe=False)

#: methods a label may hold; anything else a client sends is "other" (no label value from input)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: the endpoint label of a request that matched no route (404, 405)
UNMATCHED = "unmatched"

HTTP_REQUESTS = Counter(
    "schakel_http_requests", "HTTP requests answered, by endpoint name (never the path), method and status.",
    ["endpoint", "method", "status"], registry=REGISTRY)
HTTP_DURATION = Histogram(
    "schakel_http_request_duration_seconds", "Time from the first to the last request hook, by endpoint and method.",
    ["endpoint", "method"], registry=REGISTRY,
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
RATE_LIMITED = Counter(
    "schakel_rate_limit_refusals", "Requests refused with 429 (login, verification, token or API client limit).",
    ["endpoint"], registry=REGISTRY)
LOGIN_FAILURES = Counter(
    "schakel_login_failures", "Failed or refused logins and re-authentications, by reason "
    "(unknown_account, bad_password, bad_code, locked, inactive).", ["reason"], registry=REGISTRY)
LOGIN_LOCKOUTS = Counter(
    "schakel_login_lockouts", "Accounts locked after too many failed attempts.", registry=REGISTRY)
OUTBOX_DELIVERIES = Counter(
    "schakel_outbox_deliveries", "Delivery attempts from the outbox by kind (email, webhook) and outcome "
    "(sent; failed: tried again later; dead: given up).", ["kind", "outcome"], registry=REGISTRY)
# livesum: the sum over the processes that are running (a dead worker's files are dropped by
# gunicorn's child_exit hook, network/gunicorn_conf.py)
DB_POOL_SIZE = Gauge("schakel_db_pool_size", "Database connections each process keeps open, summed.",
                     registry=REGISTRY, multiprocess_mode="livesum")
DB_POOL_MAX_OVERFLOW = Gauge("schakel_db_pool_max_overflow", "Connections each process may open beyond its pool "
                             "size, summed.", registry=REGISTRY, multiprocess_mode="livesum")
DB_POOL_CHECKED_OUT = Gauge("schakel_db_pool_checked_out", "Database connections in use now, summed over processes.",
                            registry=REGISTRY, multiprocess_mode="livesum")

if MULTIPROCESS_DIR:
    # a process that ends normally takes its live gauges (pool use) with it; gunicorn's
    # child_exit does the same for a worker that was killed
    atexit.register(lambda: mark_process_dead(os.getpid()))


# -- counting ------------------------------------------------------------------------------

def count_request(endpoint: str | None, method: str, status: int, seconds: float | None) -> None:
    """One answered request. ``endpoint`` is Flask's endpoint name (None: no route matched)."""
    endpoint = endpoint or UNMATCHED
    method = method if method in METHODS else "other"
    HTTP_REQUESTS.labels(endpoint, method, str(status)).inc()
    if seconds is not None:
        HTTP_DURATION.labels(endpoint, method).observe(seconds)
    if status == 429:
        RATE_LIMITED.labels(endpoint).inc()


def count_login_failure(reason: str) -> None:
    LOGIN_FAILURES.labels(reason).inc()


def count_lockout() -> None:
    LOGIN_LOCKOUTS.inc()


def count_delivery(kind: str, outcome: str) -> None:
    """One outbox delivery attempt that was recorded (committed): sent, failed or dead."""
    OUTBOX_DELIVERIES.labels(kind, outcome).inc()


def watch_pool(engine: Engine) -> None:
    """Follow ``engine``'s connection pool: its size now, the connections in use at every
    checkout and checkin (read from the pool each time, so a missed event cannot drift)."""
    pool = engine.pool
    if not hasattr(pool, "checkedout") or engine in _WATCHED:
        return  # a pool without a size (NullPool, StaticPool), or already watched
    _WATCHED.add(engine)
    DB_POOL_SIZE.set(pool.size())
    DB_POOL_MAX_OVERFLOW.set(max(getattr(pool, "_max_overflow", 0), 0))

    # engine.pool, not pool: engine.dispose() puts a new pool in place, with these listeners
    def checked_out(dbapi_connection, record, proxy) -> None:
        DB_POOL_CHECKED_OUT.set(engine.pool.checkedout())  # this connection is counted already

    def checked_in(dbapi_connection, record) -> None:
        DB_POOL_CHECKED_OUT.set(max(engine.pool.checkedout() - 1, 0))  # the pool takes it back just after

    event.listen(engine, "checkout", checked_out)
    event.listen(engine, "checkin", checked_in)


_WATCHED: weakref.WeakSet[Engine] = weakref.WeakSet()


# -- what the database says, at scrape time ------------------------------------------------

def _age(health: HubHealth, moment) -> float:
    return max((health.now - moment).total_seconds(), 0.0)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class HealthCollector:
    """The hub's background work as gauges, from one :func:`network.health.hub_health` read per
    scrape (``read`` is called in :meth:`collect`, not when the collector is registered)."""

    def __init__(self, read: Callable[[], HubHealth]):
        self.read = read

    def describe(self) -> list[Metric]:
        return []  # registering must not read the database

    def collect(self) -> Iterator[Metric]:
        health = self.read()
        yield from self._scheduler(health)
        yield from self._jobs(health)
        yield from self._outbox(health)
        yield from self._audit(health)
        lagging = GaugeMetricFamily("schakel_lagging", "1 when the dashboards warn that this part lags "
                                    "(scheduler, outbox, audit), else 0.", labels=["part"])
        lags = health.lags()
        for part in ("scheduler", "outbox", "audit"):
            lagging.add_metric([part], 1.0 if part in lags else 0.0)
        yield lagging

    @staticmethod
    def _scheduler(health: HubHealth) -> Iterator[Metric]:
        yield _gauge("schakel_scheduler_healthy", "1 when the scheduler's heartbeat is fresh and every job started "
                     "within twice its interval, else 0.", 1.0 if health.scheduler_ok else 0.0)
        yield _gauge("schakel_scheduler_heartbeat_age_seconds", "Seconds since the scheduler's last heartbeat "
                     "(+Inf: never).", _age(health, health.heartbeat_at) if health.heartbeat_at else math.inf)
        yield _gauge("schakel_scheduler_heartbeat_interval_seconds", "How often the scheduler beats "
                     "(SCHEDULER_HEARTBEAT_SECONDS).", float(health.heartbeat_seconds))

    @staticmethod
    def _jobs(health: HubHealth) -> Iterator[Metric]:
        success = GaugeMetricFamily("schakel_job_last_success_timestamp_seconds", "Start of the job's newest "
                                    "successful run, Unix time (0: none in the kept history).", labels=["job_id"])
        failure = GaugeMetricFamily("schakel_job_last_failure_timestamp_seconds", "Start of the job's newest "
                                    "failed run, Unix time (0: none in the kept history).", labels=["job_id"])
        overdue = GaugeMetricFamily("schakel_job_overdue", "1 when the job did not start within twice its "
                                    "interval, else 0.", labels=["job_id"])
        for job in health.jobs:
            success.add_metric([job.job_id], job.last_success.timestamp() if job.last_success else 0.0)
            failure.add_metric([job.job_id], job.last_failure.timestamp() if job.last_failure else 0.0)
            overdue.add_metric([job.job_id], 1.0 if job.overdue(health.now) else 0.0)
        yield from (success, failure, overdue)

    @staticmethod
    def _outbox(health: HubHealth) -> Iterator[Metric]:
        yield _gauge("schakel_outbox_pending_messages", "E-mails and webhooks waiting in the outbox.",
                     float(health.outbox_pending))
        oldest = health.outbox_oldest_pending_at
        yield _gauge("schakel_outbox_oldest_pending_age_seconds", "Seconds the oldest waiting message has waited "
                     "(0: none waits).", _age(health, oldest) if oldest else 0.0)
        yield _gauge("schakel_outbox_dead_messages", "Dead letters: messages given up after every attempt, "
                     "waiting for an operator.", float(health.outbox_dead))

    @staticmethod
    def _audit(health: HubHealth) -> Iterator[Metric]:
        yield _gauge("schakel_audit_unsealed_events", "Audit events not yet chained and signed into a checkpoint.",
                     float(health.audit_unsealed))
        oldest = health.audit_oldest_unsealed_at
        yield _gauge("schakel_audit_oldest_unsealed_age_seconds", "Seconds the oldest unsealed audit event has "
                     "waited (0: none waits).", _age(health, oldest) if oldest else 0.0)
        if health.audit_newest_checkpoint_at:  # none yet on a new hub: no sample rather than a made-up age
            yield _gauge("schakel_audit_newest_checkpoint_age_seconds", "Seconds since the newest signed audit "
                         "checkpoint.", _age(health, health.audit_newest_checkpoint_at))


class _ThisProcess:
    """This process's own registry, as one collector of the scrape's registry."""

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        return REGISTRY.collect()


def render(read_health: Callable[[], HubHealth]) -> bytes:
    """One scrape: the counts (of every process with ``PROMETHEUS_MULTIPROC_DIR``, else of this
    one) and the health gauges, in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    if MULTIPROCESS_DIR:
        MultiProcessCollector(registry, path=MULTIPROCESS_DIR)
    else:
        registry.register(_ThisProcess())
    registry.register(HealthCollector(read_health))
    return generate_latest(registry)
