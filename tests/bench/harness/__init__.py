"""Benchmark harness (issue 8): ``python -m tests.bench.harness --db sqlite|postgresql --factor 0.01``.

Creates a fresh database, migrates it with ``schakel db upgrade``, seeds a synthetic national
dataset scaled by the factor, starts the hub and a bare Flask "ceiling" app under the README's
gunicorn command, loads both with ``wrk`` from a second process on loopback, counts SQL
statements per request in-process, times ``schakel audit verify`` and writes
``tests/bench/results/<date>-<db>-f<factor>.json`` and ``.md``. See README, "Benchmarks".
"""
