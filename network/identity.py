"""Identity: logging in (password, lockout, TOTP second factor), proving it again before
signing, and switching accounts off. Changing and resetting passwords: :mod:`network.password_changes`.

Plain services: they take the SQLAlchemy session, the acting :class:`Principal` (anonymous at
login), what they need (the argon2 hasher, the keyring, a :class:`LoginPolicy` built from the
config) and ``now``; they flush, audit in the same transaction and never commit. The web layer
(``network.web.auth``) keeps the browser side: sessions, Flask-Login, CSRF and rate limits.

Failures never tell whether an e-mail address has an account: an unknown address, a wrong
password and a deactivated account give the same answer, and a password is always checked
against a hash (a dummy one when there is no account) so timing does not tell either. Only a
locked account says it is locked, with the advice to wait or reset the password.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hmac
from dataclasses import dataclass
from typing import Any

import pyotp
from argon2 import PasswordHasher
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from network import accounts, metrics
from network.audit import AuditAction, AuditOutcome, record
from network.crypto import Keyring
from network.db import keep_on_rollback
from network.events import EventTag
from network.models import Account
from network.passwords import verify_password
from network.permissions import Acting, Principal, permissions_for
from network.tags import AuthTag

TOTP_ISSUER = "Schakel"
TOTP_INTERVAL = 30


@dataclass(frozen=True)
class LoginPolicy:
    """The login rules from the config."""

    max_failures: int = 5
    lockout: dt.timedelta = dt.timedelta(minutes=15)
    mfa_roles: frozenset[str] = frozenset({"hub_admin", "coordinator"})
    min_password_length: int = 12
    reset_valid: dt.timedelta = dt.timedelta(hours=1)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LoginPolicy:
        return cls(max_failures=int(config["LOGIN_MAX_FAILURES"]),
                   lockout=dt.timedelta(minutes=int(config["LOGIN_LOCKOUT_MINUTES"])),
                   mfa_roles=frozenset(str(r) for r in config["MFA_REQUIRED_ROLES"]),
                   min_password_length=int(config["PASSWORD_MIN_LENGTH"]),
                   reset_valid=dt.timedelta(hours=float(config["PASSWORD_RESET_HOURS"])))


class LoginStatus(enum.StrEnum):
    ok = "ok"
    #: password right; the TOTP code is asked next
    mfa_required = "mfa_required"
    #: password right; the role needs a second factor that is not set up yet
    mfa_setup_required = "mfa_setup_required"
    invalid = "invalid"
    locked = "locked"


@dataclass(frozen=True)
class LoginResult:
    status: LoginStatus
    account: Account | None = None
    locked_until: dt.datetime | None = None


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def as_account(principal: Principal, account: Account) -> Principal:
    """The request's principal, now acting as ``account`` (its first active membership)."""
    memberships = tuple(
        Acting(membership_id=m.id, organisation_id=m.organisation_id, organisation_name=m.organisation.name,
               organisation_type=m.organisation.type, region_id=m.organisation.region_id, role=m.role)
        for m in account.memberships if m.organisation.is_active)
    acting = memberships[0] if memberships else None
    return dataclasses.replace(principal, account_id=account.id, name=account.name, acting=acting,
                               memberships=memberships, permissions=permissions_for(acting.role if acting else None))


def mfa_required(account: Account, policy: LoginPolicy) -> bool:
    """Whether one of the account's roles must use a second factor."""
    return any(m.role.value in policy.mfa_roles for m in account.memberships)


def _locked(account: Account, now: dt.datetime) -> bool:
    return account.locked_until is not None and account.locked_until > now


def _audit_login(session: Session, principal: Principal, account: Account | None, outcome: AuditOutcome,
                 reason: str, event_type: EventTag = AuthTag.login) -> None:
    if outcome is not AuditOutcome.success:
        metrics.count_login_failure(reason)  # for the monitoring (/metrics); the audit event says who
    record(session, principal, action=AuditAction.login, event_type=event_type, outcome=outcome,
           object_type="account" if account else None, object_id=account.id if account else None,
           detail={"reason": reason})


def _register_failure(session: Session, account: Account, policy: LoginPolicy, now: dt.datetime) -> bool:
    """Count one failed attempt atomically (parallel guesses all count); lock at the limit.
    Returns whether the account is locked now. The count stands even when the request that
    made it fails later (its answer is a 4xx, which rolls its unit of work back)."""
    account_id = account.id
    keep_on_rollback(session, lambda again: _count_failure(again, account_id, policy, now))
    locked = _count_failure(session, account_id, policy, now)
    session.expire(account, ["failed_logins", "locked_until", "version"])
    if locked:
        metrics.count_lockout()
    return locked


def _count_failure(session: Session, account_id: int, policy: LoginPolicy, now: dt.datetime) -> bool:
    failures = session.execute(
        update(Account).where(Account.id == account_id)
        .values(failed_logins=Account.failed_logins + 1, version=Account.version + 1)
        .returning(Account.failed_logins).execution_options(synchronize_session=False)).scalar_one()
    locked = failures >= policy.max_failures
    if locked:
        session.execute(update(Account).where(Account.id == account_id)
                        .values(failed_logins=0, locked_until=now + policy.lockout, version=Account.version + 1)
                        .execution_options(synchronize_session=False))
    return locked


def _claim_totp_step(session: Session, account: Account, step: int) -> bool:
    """Record ``step`` as used unless this or a later step already was (in one statement, so
    two requests racing with the same code cannot both pass). False means a replay. A used
    code stays used even when the request that used it fails later."""
    account_id = account.id

    def claim(on: Session) -> int:
        return on.execute(
            update(Account).where(Account.id == account_id,
                                  or_(Account.totp_last_step.is_(None), Account.totp_last_step < step))
            .values(totp_last_step=step).execution_options(synchronize_session=False)).rowcount

    claimed = claim(session) == 1
    if claimed:
        keep_on_rollback(session, claim)
    session.expire(account, ["totp_last_step"])
    return claimed


def complete_login(session: Session, principal: Principal, account: Account, now: dt.datetime,
                   *, method: str = "password") -> None:
    """Every factor is given: clear the failure count, stamp the login and audit success.

    A plain UPDATE, not an ORM change under the row version: the same account may log in from
    several browsers at once, and login bookkeeping is not an edit that can conflict."""
    session.execute(update(Account).where(Account.id == account.id)
                    .values(failed_logins=0, locked_until=None, last_login_at=now)
                    .execution_options(synchronize_session=False))
    session.expire(account, ["failed_logins", "locked_until", "last_login_at"])
    _audit_login(session, as_account(principal, account), account, AuditOutcome.success, method)


def authenticate(session: Session, principal: Principal, hasher: PasswordHasher, *, email: str, password: str,
                 policy: LoginPolicy, now: dt.datetime) -> LoginResult:
    """Check e-mail and password. ``ok`` means logged in (audited); ``mfa_required`` and
    ``mfa_setup_required`` mean the password was right and a second step follows.

    A wrong password counts towards the lockout (``policy.max_failures`` failures lock the
    account for ``policy.lockout``); the password never reaches the audit log.
    """
    account = session.execute(select(Account).where(Account.email == normalise_email(email))).scalar_one_or_none()
    password_ok = verify_password(hasher, account.password_hash if account else None, password)
    if account is None:
        _audit_login(session, principal, None, AuditOutcome.failure, "unknown_account")
        return LoginResult(LoginStatus.invalid)
    if _locked(account, now):
        _audit_login(session, principal, account, AuditOutcome.denied, "locked")
        return LoginResult(LoginStatus.locked, account, account.locked_until)
    if not account.is_active:
        _audit_login(session, principal, account, AuditOutcome.denied, "inactive")
        return LoginResult(LoginStatus.invalid)
    if not password_ok:
        locked = _register_failure(session, account, policy, now)
        _audit_login(session, principal, account, AuditOutcome.failure, "bad_password")
        if locked:
            return LoginResult(LoginStatus.locked, account, account.locked_until)
        return LoginResult(LoginStatus.invalid)
    if hasher.check_needs_rehash(account.password_hash):
        account.password_hash = hasher.hash(password)  # the cost was raised since
    if account.totp_enabled:
        return LoginResult(LoginStatus.mfa_required, account)
    if mfa_required(account, policy):
        return LoginResult(LoginStatus.mfa_setup_required, account)
    complete_login(session, principal, account, now)
    return LoginResult(LoginStatus.ok, account)


# -- TOTP --------------------------------------------------------------------------------

def clean_code(code: str | None) -> str:
    """The digits of a typed code ("123 456" -> "123456")."""
    return "".join(ch for ch in (code or "") if not ch.isspace())


def _matching_step(secret: str, code: str, now: dt.datetime, last_step: int | None) -> int | None:
    """The time step (now ±1, RFC 6238 drift window) whose code is ``code`` and that is newer
    than the last accepted one, else None. A code is accepted once: its step is remembered."""
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_INTERVAL)
    current = int(now.timestamp()) // TOTP_INTERVAL
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step if last_step is None or step > last_step else None
    return None


def totp_secret(keyring: Keyring, account: Account) -> str | None:
    return keyring.decrypt(account.totp_secret_encrypted, account.totp_ref()) if account.totp_secret_encrypted else None


def verify_login_code(session: Session, principal: Principal, keyring: Keyring, account: Account, code: str, *,
                      policy: LoginPolicy, now: dt.datetime) -> LoginResult:
    """The second step of a login: check the TOTP code. A wrong or replayed code counts as a
    failed login (so codes cannot be guessed past the lockout); a right one completes it."""
    if _locked(account, now):
        _audit_login(session, principal, account, AuditOutcome.denied, "locked")
        return LoginResult(LoginStatus.locked, account, account.locked_until)
    secret = totp_secret(keyring, account) if account.totp_enabled else None
    step = _matching_step(secret, clean_code(code), now, account.totp_last_step) if secret else None
    if step is None or not _claim_totp_step(session, account, step):
        locked = _register_failure(session, account, policy, now)
        _audit_login(session, principal, account, AuditOutcome.failure, "bad_code")
        if locked:
            return LoginResult(LoginStatus.locked, account, account.locked_until)
        return LoginResult(LoginStatus.invalid, account)
    complete_login(session, principal, account, now, method="totp")
    return LoginResult(LoginStatus.ok, account)


def begin_totp_enrollment(session: Session, keyring: Keyring, account: Account) -> str:
    """A new secret for ``account``, stored encrypted but not active until confirmed with a code.
    Every call makes a new one, so a secret someone else saw earlier is worthless."""
    if account.totp_enabled:
        raise ValueError("TOTP is already on for this account")
    secret = pyotp.random_base32()  # 160 bits
    account.totp_secret_encrypted = keyring.encrypt(secret, account.totp_ref())
    account.totp_last_step = None
    session.flush()
    return secret


def confirm_totp_enrollment(session: Session, principal: Principal, keyring: Keyring, account: Account, code: str,
                            *, now: dt.datetime) -> bool:
    """Switch the second factor on once the person shows a code from their app."""
    secret = totp_secret(keyring, account)
    step = _matching_step(secret, clean_code(code), now, account.totp_last_step) if secret else None
    if step is None or account.totp_enabled:
        return False
    account.totp_enabled_at = now
    account.totp_last_step = step
    session.flush()
    record(session, as_account(principal, account), action=AuditAction.update, event_type=AuthTag.totp_enable,
           object_type="account", object_id=account.id)
    return True


def disable_totp(session: Session, principal: Principal, account: Account, *, policy: LoginPolicy) -> bool:
    """Switch a voluntary second factor off; not for roles that require it."""
    if mfa_required(account, policy) or not account.totp_enabled:
        return False
    account.totp_secret_encrypted = None
    account.totp_enabled_at = None
    account.totp_last_step = None
    session.flush()
    record(session, principal, action=AuditAction.update, event_type=AuthTag.totp_disable,
           object_type="account", object_id=account.id)
    return True


def totp_uri(secret: str, account: Account) -> str:
    """The ``otpauth://`` URI authenticator apps import."""
    return pyotp.TOTP(secret, interval=TOTP_INTERVAL).provisioning_uri(name=account.email, issuer_name=TOTP_ISSUER)


def group_secret(secret: str) -> str:
    """``JBSWY3DPEHPK3PXP`` -> ``JBSW Y3DP EHPK 3PXP`` (easier to type over)."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


# -- fresh authentication ----------------------------------------------------------------

def reauthenticate(session: Session, principal: Principal, hasher: PasswordHasher, keyring: Keyring,
                   account: Account, *, password: str | None = None, code: str | None = None,
                   policy: LoginPolicy, now: dt.datetime) -> str | None:
    """Prove again, while logged in, that it is the account's owner (before signing): the TOTP
    code for an account with a second factor, else the password. Returns the method that
    succeeded (``"password"`` or ``"totp"``), or None.

    A wrong password or code counts towards the lockout exactly like a failed login (so a
    left-open browser cannot be used to guess), and every attempt is audited
    (``auth:reauthenticate``); a locked or deactivated account is refused without checking."""
    if _locked(account, now) or not account.is_active:
        _audit_login(session, principal, account, AuditOutcome.denied,
                     "locked" if account.is_active else "inactive", event_type=AuthTag.reauthenticate)
        return None
    if account.totp_enabled:
        secret = totp_secret(keyring, account)
        step = _matching_step(secret, clean_code(code), now, account.totp_last_step) if secret else None
        ok, method, reason = step is not None and _claim_totp_step(session, account, step), "totp", "bad_code"
    else:
        ok = verify_password(hasher, account.password_hash, password or "")
        method, reason = "password", "bad_password"
    if not ok:
        _register_failure(session, account, policy, now)
        _audit_login(session, principal, account, AuditOutcome.failure, reason, event_type=AuthTag.reauthenticate)
        return None
    session.execute(update(Account).where(Account.id == account.id).values(failed_logins=0)
                    .execution_options(synchronize_session=False))
    session.expire(account, ["failed_logins"])
    _audit_login(session, principal, account, AuditOutcome.success, method, event_type=AuthTag.reauthenticate)
    return method


# -- accounts ----------------------------------------------------------------------------

def deactivate_account(session: Session, actor: Principal, account: Account) -> Account:
    """Switch an account off: it cannot log in any more and every open session ends now
    (audited). Needs ``account_manage`` (or the system). Same service as the admin pages use."""
    return accounts.deactivate_account(session, actor, account)

