"""The identity services (no web): login, lockout, TOTP, password change and reset, deactivation.
They take ``now``, so no clock is patched here."""

from __future__ import annotations

import datetime as dt
import re

import pyotp
import pytest
from sqlalchemy import func, select

from network import identity, password_changes
from network.audit import AuditEvent, AuditOutcome
from network.crypto import token_hash
from network.identity import LoginPolicy, LoginStatus
from network.models import Account, OrganisationType, OutboxMessage, PasswordResetToken, Role, WebSession
from network.password_changes import ResetTokenState
from network.passwords import make_hasher
from network.permissions import Principal, system_principal
from tests.factories import PASSWORD, AccountFactory, OrganisationFactory, make_member

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
NEW_PASSWORD = "zeven-groene-kikkers-op-een-tak"


@pytest.fixture
def hasher():
    return make_hasher(1, 1024)


@pytest.fixture
def policy():
    return LoginPolicy(max_failures=3, lockout=dt.timedelta(minutes=15), min_password_length=12,
                       mfa_roles=frozenset({"hub_admin", "coordinator"}), reset_valid=dt.timedelta(hours=1))


@pytest.fixture
def anon():
    return Principal(source_ip="203.0.113.7", channel="web")


def _login(session, anon, hasher, policy, email, password=PASSWORD, now=NOW):
    result = identity.authenticate(session, anon, hasher, email=email, password=password, policy=policy, now=now)
    session.commit()
    return result


def _events(session, event_type):
    return session.execute(select(AuditEvent).where(AuditEvent.event_type == event_type)
                           .order_by(AuditEvent.id)).scalars().all()


def test_login_success_stamps_and_audits(session, anon, hasher, policy):
    account = AccountFactory(email="joost@voorbeeld.nl")
    account.failed_logins = 2
    session.commit()
    result = _login(session, anon, hasher, policy, " Joost@Voorbeeld.nl ")
    assert result.status is LoginStatus.ok and result.account.id == account.id
    session.refresh(account)
    assert account.failed_logins == 0 and account.last_login_at == NOW
    [event] = _events(session, "auth:login")
    assert event.outcome is AuditOutcome.success and event.account_id == account.id


@pytest.mark.parametrize("email,password", [("joost@voorbeeld.nl", "verkeerd-wachtwoord-123"),
                                            ("niemand@voorbeeld.nl", PASSWORD)])
def test_wrong_password_and_unknown_account_look_the_same(session, anon, hasher, policy, email, password):
    AccountFactory(email="joost@voorbeeld.nl")
    result = _login(session, anon, hasher, policy, email, password)
    assert result.status is LoginStatus.invalid
    [event] = _events(session, "auth:login")
    assert event.outcome is AuditOutcome.failure
    assert password not in (event.detail or "") and "wachtwoord" not in (event.detail or "")


def test_lockout_after_max_failures_and_unlock_after_time(session, anon, hasher, policy):
    account = AccountFactory(email="sanne@voorbeeld.nl")
    for attempt in range(1, 3):
        assert _login(session, anon, hasher, policy, account.email, "fout-fout-fout-fout").status is LoginStatus.invalid
        session.refresh(account)
        assert account.failed_logins == attempt
    third = _login(session, anon, hasher, policy, account.email, "fout-fout-fout-fout")
    assert third.status is LoginStatus.locked and third.locked_until == NOW + dt.timedelta(minutes=15)
    # even the right password is refused while locked
    assert _login(session, anon, hasher, policy, account.email, now=NOW + dt.timedelta(minutes=14)).status \
        is LoginStatus.locked
    assert _events(session, "auth:login")[-1].outcome is AuditOutcome.denied
    assert _login(session, anon, hasher, policy, account.email, now=NOW + dt.timedelta(minutes=16)).status \
        is LoginStatus.ok
    session.refresh(account)
    assert account.locked_until is None and account.failed_logins == 0


def test_inactive_account_cannot_log_in(session, anon, hasher, policy):
    account = AccountFactory(is_active=False)
    assert _login(session, anon, hasher, policy, account.email).status is LoginStatus.invalid


@pytest.mark.parametrize("role,org_type,expected", [
    (Role.hub_admin, OrganisationType.hub, LoginStatus.mfa_setup_required),
    (Role.coordinator, OrganisationType.hub, LoginStatus.mfa_setup_required),
    (Role.partner_staff, OrganisationType.gemeente, LoginStatus.ok),
])
def test_roles_in_config_must_set_up_a_second_factor(session, anon, hasher, policy, role, org_type, expected):
    account = make_member(role, OrganisationFactory(type=org_type))
    assert _login(session, anon, hasher, policy, account.email).status is expected


def _enrol(session, keyring, account, now=NOW):
    secret = identity.begin_totp_enrollment(session, keyring, account)
    assert identity.confirm_totp_enrollment(session, Principal(), keyring, account,
                                            pyotp.TOTP(secret).at(now), now=now)
    session.commit()
    return secret


def test_totp_enrollment_stores_the_secret_encrypted(session, keyring):
    account = AccountFactory()
    secret = identity.begin_totp_enrollment(session, keyring, account)
    assert not account.totp_enabled
    assert secret not in account.totp_secret_encrypted
    wrong = "000000" if pyotp.TOTP(secret).at(NOW) != "000000" else "111111"
    assert not identity.confirm_totp_enrollment(session, Principal(), keyring, account, wrong, now=NOW)
    assert identity.confirm_totp_enrollment(session, Principal(), keyring, account,
                                            pyotp.TOTP(secret).at(NOW), now=NOW)
    assert account.totp_enabled and identity.totp_secret(keyring, account) == secret
    assert identity.group_secret("JBSWY3DPEHPK3PXP") == "JBSW Y3DP EHPK 3PXP"
    assert identity.totp_uri(secret, account).startswith("otpauth://totp/Schakel:")


def test_login_with_totp_refuses_wrong_and_replayed_codes(session, anon, hasher, policy, keyring):
    account = make_member(Role.coordinator, OrganisationFactory(type=OrganisationType.hub))
    secret = _enrol(session, keyring, account, now=NOW)
    later = NOW + dt.timedelta(minutes=5)
    assert _login(session, anon, hasher, policy, account.email, now=later).status is LoginStatus.mfa_required
    totp = pyotp.TOTP(secret)
    wrong = "000000" if totp.at(later) != "000000" else "111111"

    def code(value, when=later):
        result = identity.verify_login_code(session, anon, keyring, account, value, policy=policy, now=when)
        session.commit()
        return result.status

    assert code(wrong) is LoginStatus.invalid
    assert code(totp.at(later - dt.timedelta(seconds=90))) is LoginStatus.invalid  # outside the window
    assert code(totp.at(later - dt.timedelta(seconds=30))) is LoginStatus.ok  # one step of drift is fine
    assert code(totp.at(later - dt.timedelta(seconds=30))) is LoginStatus.invalid  # replay
    assert code(totp.at(later)[:3] + " " + totp.at(later)[3:]) is LoginStatus.ok  # spaces are fine
    assert code(totp.at(later)) is LoginStatus.invalid  # replay of the same step


def test_wrong_codes_count_towards_the_lockout(session, anon, hasher, policy, keyring):
    account = AccountFactory()
    secret = _enrol(session, keyring, account)
    wrong = "000000" if pyotp.TOTP(secret).at(NOW) != "000000" else "111111"
    statuses = []
    for _ in range(3):
        statuses.append(identity.verify_login_code(session, anon, keyring, account, wrong, policy=policy,
                                                   now=NOW).status)
        session.commit()
    assert statuses == [LoginStatus.invalid, LoginStatus.invalid, LoginStatus.locked]
    right = pyotp.TOTP(secret).at(NOW + dt.timedelta(seconds=30))
    assert identity.verify_login_code(session, anon, keyring, account, right, policy=policy,
                                      now=NOW + dt.timedelta(seconds=30)).status is LoginStatus.locked


def test_voluntary_totp_can_be_switched_off_but_required_cannot(session, keyring, policy):
    volunteer = make_member(Role.partner_staff, OrganisationFactory())
    _enrol(session, keyring, volunteer)
    assert identity.disable_totp(session, Principal(), volunteer, policy=policy)
    assert not volunteer.totp_enabled and volunteer.totp_secret_encrypted is None
    admin = make_member(Role.hub_admin, OrganisationFactory(type=OrganisationType.hub))
    _enrol(session, keyring, admin)
    assert not identity.disable_totp(session, Principal(), admin, policy=policy)
    assert admin.totp_enabled


def _web_session(session, account, sid):
    session.add(WebSession(id=sid, account_id=account.id, data="{}", expires_at=NOW + dt.timedelta(hours=1)))
    session.commit()


def test_change_password_checks_and_revokes_every_session(session, anon, hasher, policy):
    account = AccountFactory()
    _web_session(session, account, "a" * 64)
    _web_session(session, account, "b" * 64)
    errors = password_changes.change_password(session, anon, hasher, account, current="niet-mijn-wachtwoord",
                                              new=NEW_PASSWORD, policy=policy, now=NOW)
    assert list(errors) == ["current_password"]
    errors = password_changes.change_password(session, anon, hasher, account, current=PASSWORD, new="welkom123",
                                              policy=policy, now=NOW)
    assert list(errors) == ["new_password"]
    assert password_changes.change_password(session, anon, hasher, account, current=PASSWORD, new=NEW_PASSWORD,
                                            policy=policy, now=NOW) == {}
    session.commit()
    assert session.scalar(select(func.count()).select_from(WebSession)) == 0
    assert account.password_changed_at == NOW
    assert _login(session, anon, hasher, policy, account.email, NEW_PASSWORD).status is LoginStatus.ok
    assert _events(session, "auth:password_change")


def _compose(account, link, valid_for):
    return "Nieuw wachtwoord", f"Beste {account.name},\n{link}\n"


def _reset_link(session, keyring) -> str:
    message = session.execute(select(OutboxMessage).order_by(OutboxMessage.created_at.desc())).scalars().first()
    body = keyring.decrypt(message.body_encrypted, message.body_ref())
    return re.search(r"https://hub\.example/wachtwoord-herstellen/(\S+)", body).group(1)


def _request_reset(session, anon, keyring, policy, email, now=NOW):
    password_changes.request_password_reset(session, anon, keyring, email=email, base_url="https://hub.example/",
                                            policy=policy, now=now, compose=_compose)
    session.commit()


def test_reset_request_for_unknown_address_creates_nothing(session, anon, keyring, policy):
    AccountFactory(email="bekend@voorbeeld.nl")
    _request_reset(session, anon, keyring, policy, "onbekend@voorbeeld.nl")
    assert session.scalar(select(func.count()).select_from(PasswordResetToken)) == 0
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_reset_flow_single_use_expiry_and_unlock(session, anon, keyring, policy, hasher):
    account = AccountFactory(email="bekend@voorbeeld.nl")
    account.locked_until = NOW + dt.timedelta(minutes=10)
    session.commit()
    _web_session(session, account, "c" * 64)
    _request_reset(session, anon, keyring, policy, "Bekend@Voorbeeld.nl")
    token = _reset_link(session, keyring)
    stored = session.execute(select(PasswordResetToken)).scalar_one()
    assert stored.token_hash != token and stored.expires_at == NOW + dt.timedelta(hours=1)

    state, errors = password_changes.reset_password(session, anon, hasher, digest=token_hash(token), new="kort",
                                                    policy=policy, now=NOW)
    assert state is ResetTokenState.valid and list(errors) == ["new_password"]
    session.rollback()
    state, errors = password_changes.reset_password(session, anon, hasher, digest=token_hash(token), new=NEW_PASSWORD,
                                                    policy=policy, now=NOW + dt.timedelta(minutes=5))
    session.commit()
    assert (state, errors) == (ResetTokenState.valid, {})
    session.refresh(account)
    assert account.locked_until is None
    assert session.scalar(select(func.count()).select_from(WebSession)) == 0
    state, _ = password_changes.reset_password(session, anon, hasher, digest=token_hash(token), new=NEW_PASSWORD + "x",
                                               policy=policy, now=NOW + dt.timedelta(minutes=6))
    assert state is ResetTokenState.used
    assert password_changes.check_reset_token(session, token_hash("bestaat-niet"), NOW)[0] is ResetTokenState.unknown

    _request_reset(session, anon, keyring, policy, account.email, now=NOW + dt.timedelta(minutes=10))
    late = _reset_link(session, keyring)
    state = password_changes.check_reset_token(session, token_hash(late), NOW + dt.timedelta(minutes=71))[0]
    assert state is ResetTokenState.expired


def test_only_the_newest_reset_link_works(session, anon, keyring, policy):
    account = AccountFactory()
    _request_reset(session, anon, keyring, policy, account.email)
    first = _reset_link(session, keyring)
    _request_reset(session, anon, keyring, policy, account.email, now=NOW + dt.timedelta(seconds=1))
    second = _reset_link(session, keyring)
    assert first != second
    assert password_changes.check_reset_token(session, token_hash(first), NOW)[0] is ResetTokenState.used
    assert password_changes.check_reset_token(session, token_hash(second), NOW)[0] is ResetTokenState.valid


def test_deactivate_account_revokes_sessions_and_audits(session):
    account = AccountFactory()
    _web_session(session, account, "d" * 64)
    identity.deactivate_account(session, system_principal(), account)
    session.commit()
    assert session.get(Account, account.id).is_active is False
    assert session.scalar(select(func.count()).select_from(WebSession)) == 0
    assert _events(session, "account:deactivate")


def test_parallel_logins_of_one_account_all_succeed(app, session, anon, hasher, policy):
    """Found by the load harness: 16 browsers logging in as one account gave HTTP 500
    (a row-version clash on the account). Login bookkeeping must not conflict."""
    import threading

    from network.db import db

    account = AccountFactory(email="gedeeld@voorbeeld.nl")
    account_id = account.id
    barrier = threading.Barrier(6)
    outcomes = []

    def one_login():
        with app.app_context():
            barrier.wait()
            try:
                result = identity.authenticate(db.session, anon, hasher, email="gedeeld@voorbeeld.nl",
                                               password=PASSWORD, policy=policy, now=NOW)
                db.session.commit()
                outcomes.append(result.status)
            except Exception as exc:  # noqa: BLE001 - any failure is the outcome this test reports (a thread's would be lost)
                db.session.rollback()
                outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=one_login) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes == [LoginStatus.ok] * 6
    session.expire_all()
    assert session.get(Account, account_id).last_login_at == NOW


def test_a_code_used_by_a_racing_request_is_a_replay(session, anon, hasher, policy, keyring):
    account = make_member(Role.coordinator, OrganisationFactory(type=OrganisationType.hub))
    secret = _enrol(session, keyring, account, now=NOW)
    later = NOW + dt.timedelta(minutes=5)
    step = pyotp.TOTP(secret).timecode(later)
    session.refresh(account)
    assert account.totp_last_step is None or account.totp_last_step < step
    # another request claims this step in the database; this request's copy does not know yet
    from sqlalchemy import update

    session.execute(update(Account).where(Account.id == account.id).values(totp_last_step=step)
                    .execution_options(synchronize_session=False))
    result = identity.verify_login_code(session, anon, keyring, account, pyotp.TOTP(secret).at(later),
                                        policy=policy, now=later)
    assert result.status is LoginStatus.invalid
