"""Passwords: argon2id hashes and the policy of ASVS 6.2 / NIST 800-63B: a minimum length,
no composition rules, and no password found in the bundled list of common and breached
passwords (or made of the user's own e-mail or name)."""

from __future__ import annotations

import functools
import gzip
import threading
from pathlib import Path
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l

DATA = Path(__file__).parent / "data"
MAX_LENGTH = 128


@functools.cache
def common_passwords() -> frozenset[str]:
    with gzip.open(DATA / "common-passwords.txt.gz", "rt", encoding="utf-8") as fh:
        words = {line.strip().lower() for line in fh if line.strip()}
    for line in (DATA / "common-passwords-nl.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            words.add(line.strip().lower())
    return frozenset(words)


def password_problems(password: str, *, min_length: int, email: str = "", name: str = "") -> list[str]:
    """Dutch messages for what is wrong with a new password; empty when it is acceptable."""
    problems = []
    if len(password) < min_length:
        problems.append(_l("Kies een wachtwoord van minstens %(n)d tekens. Een zin van een paar woorden werkt goed.",
                           n=min_length))
    elif len(password) > MAX_LENGTH:
        problems.append(_l("Kies een wachtwoord van hoogstens %(n)d tekens.", n=MAX_LENGTH))
    lowered = password.lower()
    if lowered in common_passwords() or lowered.rstrip("0123456789!") in common_passwords():
        problems.append(
            _l("Dit wachtwoord komt voor in lijsten van veelgebruikte of gelekte wachtwoorden. Kies een ander."))
    personal = {email.lower(), email.split("@")[0].lower(), name.lower().replace(" ", "")} - {""}
    if any(part and len(part) >= 4 and part in lowered.replace(" ", "") for part in personal):
        problems.append(_l("Gebruik uw naam of e-mailadres niet in uw wachtwoord."))
    return problems


class BoundedHasher(PasswordHasher):
    """An argon2id hasher that computes at most ``max_concurrent`` hashes at once in this
    process; the other threads wait their turn. Each hash holds ``memory_cost`` KiB while it
    runs, so without the bound a burst of logins on a gthread worker takes one hash's memory
    per thread (4 threads x 64 MiB). The CPU is the limit anyway: a waiting login is not
    slower than one competing for the same cores."""

    def __init__(self, *args: Any, max_concurrent: int = 1, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if max_concurrent < 1:
            raise ValueError("ARGON2_MAX_CONCURRENT must be at least 1")
        self.slots = threading.BoundedSemaphore(max_concurrent)

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        with self.slots:
            return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self.slots:
            return super().verify(hash, password)


def make_hasher(time_cost: int, memory_cost: int, *, max_concurrent: int = 1) -> BoundedHasher:
    """argon2id (the argon2-cffi default type) with the configured cost."""
    return BoundedHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=4, max_concurrent=max_concurrent)


def verify_password(hasher: PasswordHasher, password_hash: str | None, password: str) -> bool:
    if not password_hash:
        # Spend the same time as a real check, so a missing account is not told apart by timing.
        try:
            hasher.verify(_DUMMY_HASH(hasher), password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash(time_cost: int, memory_cost: int) -> str:
    return make_hasher(time_cost, memory_cost).hash("not a real password, only for timing")


def _DUMMY_HASH(hasher: PasswordHasher) -> str:
    return _dummy_hash(hasher.time_cost, hasher.memory_cost)
