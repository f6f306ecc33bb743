"""Passwords: changing one while logged in, and resetting a forgotten one by e-mail link.

Plain services like those of :mod:`network.identity` (the session, the acting principal, the
argon2 hasher, a :class:`~network.identity.LoginPolicy` and ``now``): they flush, audit in the
same transaction and never commit. A new password ends every session of the account. A reset
link works once, only the newest one works, and asking for one never tells whether the address
has an account.
"""

from __future__ import annotations

import datetime as dt
import enum
import secrets
from collections.abc import Callable

from argon2 import PasswordHasher
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from network.audit import AuditAction, record
from network.crypto import Keyring, token_hash
from network.identity import LoginPolicy, normalise_email
from network.models import Account, PasswordResetToken
from network.outbox import enqueue_email
from network.passwords import password_problems, verify_password
from network.permissions import Principal
from network.sessions import revoke_account_sessions
from network.tags import AuthTag


def _set_password(account: Account, hasher: PasswordHasher, password: str, now: dt.datetime) -> None:
    account.password_hash = hasher.hash(password)
    account.password_changed_at = now
    account.failed_logins = 0
    account.locked_until = None


def change_password(session: Session, principal: Principal, hasher: PasswordHasher, account: Account, *,
                    current: str, new: str, policy: LoginPolicy, now: dt.datetime) -> dict[str, list[str]]:
    """Change a password when the current one is given. Returns field errors (Dutch), or ``{}``
    on success, in which case **every** session of the account has been ended (the caller starts
    a fresh one for the browser that asked)."""
    if not verify_password(hasher, account.password_hash, current):
        return {"current_password": [_l("Uw huidige wachtwoord klopt niet.")]}
    problems = password_problems(new, min_length=policy.min_password_length, email=account.email, name=account.name)
    if problems:
        return {"new_password": [str(p) for p in problems]}
    _set_password(account, hasher, new, now)
    session.flush()
    ended = revoke_account_sessions(session, account.id)
    record(session, principal, action=AuditAction.update, event_type=AuthTag.password_change,
           object_type="account", object_id=account.id, detail={"sessions_ended": ended})
    return {}


class ResetTokenState(enum.StrEnum):
    valid = "valid"
    unknown = "unknown"
    expired = "expired"
    used = "used"


def request_password_reset(session: Session, principal: Principal, keyring: Keyring, *, email: str, base_url: str,
                           policy: LoginPolicy, now: dt.datetime,
                           compose: Callable[[Account, str, dt.timedelta], tuple[str, str]]) -> None:
    """Send a reset link when ``email`` belongs to an active account; do nothing visible
    otherwise (the caller answers the same either way).

    :param compose: ``(account, link, valid_for) -> (subject, body)``, in the account's language.
    """
    account = session.execute(select(Account).where(Account.email == normalise_email(email))).scalar_one_or_none()
    if account is None or not account.is_active:
        return
    _expire_reset_tokens(session, account.id, now)  # only the newest link works
    token = secrets.token_urlsafe(32)
    reset = PasswordResetToken(account_id=account.id, token_hash=token_hash(token), created_at=now,
                               expires_at=now + policy.reset_valid)
    session.add(reset)
    link = f"{base_url.rstrip('/')}/wachtwoord-herstellen/{token}"
    subject, body = compose(account, link, policy.reset_valid)
    enqueue_email(session, keyring, to=account.email, subject=subject, body=body, now=now)
    session.flush()  # for the id in the audit event
    record(session, principal, action=AuditAction.execute, event_type=AuthTag.password_reset_request,
           object_type="account", object_id=account.id)


def _expire_reset_tokens(session: Session, account_id: int, now: dt.datetime) -> None:
    session.execute(update(PasswordResetToken)
                    .where(PasswordResetToken.account_id == account_id, PasswordResetToken.used_at.is_(None))
                    .values(used_at=now).execution_options(synchronize_session=False))


def check_reset_token(session: Session, digest: str,
                      now: dt.datetime) -> tuple[ResetTokenState, PasswordResetToken | None]:
    """What a reset link is worth now: valid, unknown, expired or already used.

    :param digest: ``token_hash(token)`` of the link's token (the web layer keeps only this)."""
    reset = session.execute(select(PasswordResetToken)
                            .where(PasswordResetToken.token_hash == digest)).scalar_one_or_none()
    if reset is None:
        return ResetTokenState.unknown, None
    if reset.used_at is not None:
        return ResetTokenState.used, reset
    if reset.expires_at <= now:
        return ResetTokenState.expired, reset
    return ResetTokenState.valid, reset


def reset_password(session: Session, principal: Principal, hasher: PasswordHasher, *, digest: str, new: str,
                   policy: LoginPolicy, now: dt.datetime) -> tuple[ResetTokenState, dict[str, list[str]]]:
    """Set a new password with a reset link (``digest`` = ``token_hash(token)``). The link works
    once; success ends every session of the account and lifts a lockout. Returns the link's
    state and field errors (Dutch)."""
    state, reset = check_reset_token(session, digest, now)
    if state is not ResetTokenState.valid:
        return state, {}
    account = session.get(Account, reset.account_id)
    if account is None or not account.is_active:
        return ResetTokenState.unknown, {}
    problems = password_problems(new, min_length=policy.min_password_length, email=account.email, name=account.name)
    if problems:
        return state, {"new_password": [str(p) for p in problems]}
    claimed = session.execute(update(PasswordResetToken)
                              .where(PasswordResetToken.id == reset.id, PasswordResetToken.used_at.is_(None))
                              .values(used_at=now).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        return ResetTokenState.used, {}  # a parallel request used it first
    _expire_reset_tokens(session, account.id, now)
    _set_password(account, hasher, new, now)
    session.flush()
    ended = revoke_account_sessions(session, account.id)
    record(session, principal, action=AuditAction.update, event_type=AuthTag.password_reset,
           object_type="account", object_id=account.id, detail={"sessions_ended": ended})
    return state, {}

