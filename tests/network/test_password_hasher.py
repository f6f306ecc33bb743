"""The argon2id hasher's bound on concurrent hashes (ARGON2_MAX_CONCURRENT): a burst of logins
on a worker's threads computes at most that many hashes at once, so the worker holds one
hash's memory (64 MiB by default), not one per thread; every caller still gets its answer."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import argon2
import pytest

from network.passwords import BoundedHasher, make_hasher, verify_password


def _burst(hasher: BoundedHasher, monkeypatch, calls: int = 8) -> tuple[int, list]:
    """``calls`` threads hash or verify at once; returns the most that ran inside argon2 together."""
    running, peak, lock = 0, 0, threading.Lock()
    real_hash, real_verify = argon2.PasswordHasher.hash, argon2.PasswordHasher.verify

    def counted(real):
        def inner(self, *args, **kwargs):
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            try:
                time.sleep(0.03)  # long enough for the other threads to arrive
                return real(self, *args, **kwargs)
            finally:
                with lock:
                    running -= 1
        return inner

    monkeypatch.setattr(argon2.PasswordHasher, "hash", counted(real_hash))
    monkeypatch.setattr(argon2.PasswordHasher, "verify", counted(real_verify))
    stored = real_hash(hasher, "een lang genoeg wachtwoord")
    with ThreadPoolExecutor(calls) as pool:
        jobs = [pool.submit(hasher.hash, "een ander wachtwoord") if i % 2 else
                pool.submit(verify_password, hasher, stored, "een lang genoeg wachtwoord") for i in range(calls)]
        results = [job.result(timeout=30) for job in jobs]
    return peak, results


@pytest.mark.parametrize("bound", [1, 3])
def test_no_more_hashes_at_once_than_the_bound(bound, monkeypatch):
    hasher = make_hasher(1, 64, max_concurrent=bound)
    peak, results = _burst(hasher, monkeypatch)
    assert peak == bound
    assert all(result is True for result in results[::2])  # every verify answered, correctly
    assert all(isinstance(result, str) and result.startswith("$argon2id$") for result in results[1::2])


def test_a_wrong_password_still_fails_and_frees_its_slot():
    hasher = make_hasher(1, 64, max_concurrent=1)
    stored = hasher.hash("een lang genoeg wachtwoord")
    assert verify_password(hasher, stored, "fout") is False
    assert verify_password(hasher, stored, "een lang genoeg wachtwoord") is True  # the slot was released


def test_the_bound_must_be_positive():
    with pytest.raises(ValueError, match="ARGON2_MAX_CONCURRENT"):
        make_hasher(1, 64, max_concurrent=0)


def test_the_app_uses_the_configured_bound(app):
    hasher = app.extensions["schakel.hasher"]
    assert isinstance(hasher, BoundedHasher)
    assert hasher.slots._initial_value == app.config["ARGON2_MAX_CONCURRENT"] == 1
