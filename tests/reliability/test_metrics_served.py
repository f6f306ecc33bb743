"""``/metrics`` under gunicorn as the README runs it (``-c python:network.gunicorn_conf``, two
gthread workers): every scrape, whichever worker answers it, tells the totals of all workers;
a worker killed with ``kill -9`` keeps its counts in the totals while its live gauges (the
database pool) leave with it; the files of a previous server are removed at start."""

from __future__ import annotations

import time
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.reliability.served import Hub, environment, own_database, schakel

REQUESTS = 24


def _scrape(hub: Hub, token: str) -> dict[tuple[str, tuple], float]:
    status, headers, body = hub.request("GET", "/metrics", headers={"Authorization": f"Bearer {token}"})
    assert status == 200, body
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body.decode()) for s in family.samples}


def _healthz(samples: dict) -> float:
    return samples.get(("schakel_http_requests_total",
                        (("endpoint", "main.healthz"), ("method", "GET"), ("status", "200"))), 0.0)


def _replaced(hub: Hub, killed: int, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        workers = hub.workers()
        if len(workers) == hub.workers_wanted and killed not in workers:
            return
        time.sleep(0.2)
    raise AssertionError(f"gunicorn did not replace worker {killed}:\n{hub.tail()}")


def _until_booted(hub: Hub, token: str, timeout: float = 30) -> list[dict]:
    """Scrapes until the new worker's pool shows (both workers' pools: 10), all of them."""
    scrapes = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        scrapes.append(_scrape(hub, token))
        if scrapes[-1][("schakel_db_pool_size", ())] == 10:
            return scrapes
        time.sleep(0.2)
    raise AssertionError(f"the new worker's pool never showed: {[s[('schakel_db_pool_size', ())] for s in scrapes]}")


def test_every_scrape_counts_over_all_workers_and_a_killed_worker_leaves_its_live_gauges(tmp_path: Path):
    directory = tmp_path / "metrics"
    directory.mkdir()
    stale = directory / "counter_999999999.db"  # a process of an earlier server (no pid is that high)
    stale.write_bytes(b"")
    with own_database(tmp_path) as url:
        env, secret_values = environment(url, tmp_path)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
        migrated = schakel(env, "db", "upgrade")
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        hub = Hub(env, tmp_path / "gunicorn.log", workers=2, args=("-c", "python:network.gunicorn_conf")).start()
        token = secret_values["metrics_token"]
        try:
            assert not stale.exists(), hub.tail()
            started = _healthz(_scrape(hub, token))  # Hub.start asked /healthz until it answered
            for _ in range(REQUESTS):
                assert hub.request("GET", "/healthz")[0] == 200
            # whichever worker answers, the same totals (one worker alone would count about half)
            scrapes = [_scrape(hub, token) for _ in range(6)]
            assert {_healthz(samples) for samples in scrapes} == {started + REQUESTS}
            assert {samples[("schakel_db_pool_size", ())] for samples in scrapes} == {10}  # 5 per worker
            assert {pid.stem.rsplit("_", 1)[1] for pid in directory.glob("gauge_livesum_*.db")} == {
                str(pid) for pid in hub.workers()}

            killed = hub.kill_worker()
            _replaced(hub, killed)
            assert not (directory / f"gauge_livesum_{killed}.db").exists()  # gunicorn's child_exit hook
            assert (directory / f"counter_{killed}.db").exists()
            after = _until_booted(hub, token)
            assert {_healthz(samples) for samples in after} == {started + REQUESTS}  # the killed worker's counts stay
            # 5 until the new worker has loaded the app, then 10; 15 would count the killed one
            assert {samples[("schakel_db_pool_size", ())] for samples in after} <= {5, 10}
            assert "Traceback" not in hub.tail()
        finally:
            hub.stop()
