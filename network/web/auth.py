"""Logging in and out, the second factor (TOTP), the account page (password change, TOTP on and
off) and the password reset by e-mail. The rules live in :mod:`network.identity`; this module
keeps the browser side: the server-side session, Flask-Login, rate limits and pages.

A half-done login (password right, code still to come, or a second factor still to set up) is
**not** logged in: the account id waits in ``session["mfa_pending"]`` or
``session["mfa_setup_required"]`` (ten minutes at most) and ``login_user`` only runs once every
factor is given, always in a new session (new id). So no page can leak to a half-logged-in
browser, whatever it forgets to check.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from network import identity, password_changes
from network.audit import AuditAction, record
from network.clock import utcnow
from network.crypto import token_hash
from network.db import db
from network.extensions import limiter, login_manager
from network.identity import LoginPolicy, LoginStatus
from network.models import Account
from network.password_changes import ResetTokenState
from network.passwords import verify_password
from network.tags import AuthTag
from network.web import current_principal, hasher, keyring, local_path, login_required_view

bp = Blueprint("auth", __name__)

PENDING_TTL = dt.timedelta(minutes=10)
_login_limit = limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])


# -- helpers -----------------------------------------------------------------------------

def _policy() -> LoginPolicy:
    return LoginPolicy.from_config(current_app.config)


def _after_login_target(next_url: str | None) -> str:
    return local_path(next_url) or url_for("main.dashboard")


def _start_session(account: Account) -> None:
    """Log ``account`` in, in a brand-new session (new id; ASVS 7.2.4)."""
    locale = account.locale or session.get("locale")
    session.clear()
    session.regenerate()
    login_user(account)
    if locale:
        session["locale"] = locale


def _begin_pending(key: str, account: Account, next_url: str | None) -> None:
    session.clear()
    session.regenerate()
    session[key] = {"account_id": account.id, "at": utcnow().isoformat(), "next": local_path(next_url)}


def _pending(key: str) -> tuple[Account | None, dict[str, Any]]:
    """The account of a half-done login, if still fresh and active; else forget it."""
    state = session.get(key)
    if isinstance(state, dict):
        try:
            fresh = dt.datetime.fromisoformat(state["at"]) + PENDING_TTL > utcnow()
        except (KeyError, TypeError, ValueError):
            fresh = False
        account = db.session.get(Account, state.get("account_id")) if fresh else None
        if account is not None and account.is_active:
            return account, state
    if key in session:
        session.pop(key)
    return None, {}


def _failed_login_message() -> str:
    """The one answer to a failed password login, locked account or not: "temporarily locked"
    only for a known address would tell which addresses have an account (the lockout itself
    stays; this text says it exists, so a locked-out user knows why the right password fails)."""
    return _("E-mailadres of wachtwoord klopt niet. Na %(max)d mislukte pogingen op rij is een account %(n)d "
             "minuten geblokkeerd, ook voor het goede wachtwoord; wacht dan, of stel een nieuw wachtwoord in via "
             "‘Wachtwoord vergeten’.", max=current_app.config["LOGIN_MAX_FAILURES"],
             n=current_app.config["LOGIN_LOCKOUT_MINUTES"])


def _locked_message() -> str:
    """After the second factor only: whoever sees it has given the right password."""
    return _("Dit account is tijdelijk geblokkeerd na te veel mislukte pogingen. Wacht %(n)d minuten en "
             "probeer het opnieuw, of stel een nieuw wachtwoord in via ‘Wachtwoord vergeten’.",
             n=current_app.config["LOGIN_LOCKOUT_MINUTES"])


def _render(template: str, status: int = 200, **context: Any):
    return render_template(template, **context), status


# -- login and logout --------------------------------------------------------------------

@bp.route("/inloggen", methods=["GET", "POST"])
@_login_limit
def login():
    next_url = local_path(request.values.get("next"))
    if request.method == "GET":
        if current_principal().is_authenticated:
            return redirect(_after_login_target(next_url))
        return _render("auth/login.html", values={}, errors={}, next=next_url,
                       logged_out=request.args.get("uitgelogd") == "1")
    email = request.form.get("email", "").strip()
    password = request.form.get("password", "")
    errors: dict[str, list[str]] = {}
    if not email:
        errors["email"] = [_("Vul uw e-mailadres in.")]
    if not password:
        errors["password"] = [_("Vul uw wachtwoord in.")]
    if errors:
        return _render("auth/login.html", 400, values={"email": email}, errors=errors, next=next_url)
    result = identity.authenticate(db.session, current_principal(), hasher(), email=email, password=password,
                                   policy=_policy(), now=utcnow())
    if result.status is LoginStatus.ok:
        _start_session(result.account)
        return redirect(_after_login_target(next_url))
    if result.status is LoginStatus.mfa_required:
        _begin_pending("mfa_pending", result.account, next_url)
        return redirect(url_for("auth.totp_verify"))
    if result.status is LoginStatus.mfa_setup_required:
        _begin_pending("mfa_setup_required", result.account, next_url)
        return redirect(url_for("auth.totp_setup"))
    return _render("auth/login.html", 400, values={"email": email}, errors={}, failure=_failed_login_message(),
                   next=next_url)


@bp.post("/uitloggen")
def logout():
    principal = current_principal()
    if principal.is_authenticated:
        record(db.session, principal, action=AuditAction.login, event_type=AuthTag.logout,
               object_type="account", object_id=principal.account_id)
    logout_user()
    session.destroy()  # the row goes too: the old cookie is worthless from now on
    return redirect(url_for("auth.login", uitgelogd=1))


@bp.route("/inloggen/code", methods=["GET", "POST"])
@_login_limit
def totp_verify():
    account, state = _pending("mfa_pending")
    if account is None:
        flash(_("Log opnieuw in."), "info")
        return redirect(url_for("auth.login"))
    if request.method == "GET":
        return _render("auth/totp_verify.html", errors={})
    result = identity.verify_login_code(db.session, current_principal(), keyring(), account,
                                        request.form.get("code", ""), policy=_policy(), now=utcnow())
    if result.status is LoginStatus.ok:
        _start_session(account)
        return redirect(_after_login_target(state.get("next")))
    if result.status is LoginStatus.locked:
        session.pop("mfa_pending", None)
        return _render("auth/login.html", 400, values={"email": account.email}, errors={},
                       failure=_locked_message(), next=None)
    return _render("auth/totp_verify.html", 400, errors={
        "code": [_("Deze code klopt niet. Typ de zes cijfers die nu in uw authenticator-app staan.")]})


# -- second factor: set up and switch off ------------------------------------------------

def _setup_account() -> tuple[Account | None, bool, dict[str, Any]]:
    """Who sets up a second factor: the logged-in account, or the half-logged-in one whose role
    requires it (forced)."""
    if current_principal().is_authenticated:
        return current_user._get_current_object(), False, {}
    account, state = _pending("mfa_setup_required")
    return account, True, state


@bp.route("/account/tweestapsverificatie", methods=["GET", "POST"])
def totp_setup():
    account, forced, state = _setup_account()
    if account is None:
        return login_manager.unauthorized()
    if account.totp_enabled:
        if forced:  # switched on elsewhere meanwhile: log in the normal way
            session.pop("mfa_setup_required", None)
            return redirect(url_for("auth.login"))
        flash(_("Tweestapsverificatie staat al aan."), "info")
        return redirect(url_for("auth.account"))
    if request.method == "GET":
        secret = identity.begin_totp_enrollment(db.session, keyring(), account)
        return _setup_page(account, secret, forced, {})
    ok = identity.confirm_totp_enrollment(db.session, current_principal(), keyring(), account,
                                          request.form.get("code", ""), now=utcnow())
    if not ok:
        db.session.rollback()
        secret = identity.totp_secret(keyring(), account)
        if secret is None:
            return redirect(url_for("auth.totp_setup"))
        return _setup_page(account, secret, forced, {"code": [
            _("Deze code klopt niet. Controleer of de sleutel goed is overgenomen "
              "en typ de code die nu in de app staat.")]},
            status=400)
    if forced:
        identity.complete_login(db.session, current_principal(), account, utcnow(), method="totp_enrollment")
    if forced:
        _start_session(account)
    flash(_("Tweestapsverificatie staat aan. Bij het inloggen vragen we voortaan ook een code uit uw app."), "success")
    return redirect(_after_login_target(state.get("next")) if forced else url_for("auth.account"))


def _setup_page(account: Account, secret: str, forced: bool, errors: dict, status: int = 200):
    response = render_template("auth/totp_setup.html", grouped_secret=identity.group_secret(secret),
                               otpauth_uri=identity.totp_uri(secret, account), forced=forced, errors=errors)
    return response, status, {"Cache-Control": "no-store"}


@bp.post("/account/tweestapsverificatie/uit")
@login_required_view
def totp_disable():
    account = current_user._get_current_object()
    if not verify_password(hasher(), account.password_hash, request.form.get("password", "")):
        flash(_("Uw wachtwoord klopt niet; tweestapsverificatie staat nog aan."), "error")
        return redirect(url_for("auth.account"))
    if identity.disable_totp(db.session, current_principal(), account, policy=_policy()):
        flash(_("Tweestapsverificatie staat uit."), "success")
    else:
        flash(_("Voor uw rol is tweestapsverificatie verplicht; u kunt het niet uitzetten."), "error")
    return redirect(url_for("auth.account"))


# -- account page and password change ----------------------------------------------------

@bp.get("/account")
@login_required_view
def account():
    return _account_page({})


def _account_page(errors: dict, status: int = 200):
    account = current_user._get_current_object()
    return _render("auth/account.html", status, account=account, errors=errors,
                   mfa_required=identity.mfa_required(account, _policy()),
                   min_length=current_app.config["PASSWORD_MIN_LENGTH"])


@bp.post("/account/wachtwoord")
@login_required_view
@_login_limit
def change_password():
    account = current_user._get_current_object()
    new = request.form.get("new_password", "")
    errors: dict[str, list[str]] = {}
    if new != request.form.get("new_password_repeat", ""):
        errors["new_password_repeat"] = [_("De twee nieuwe wachtwoorden zijn niet gelijk.")]
    else:
        errors = password_changes.change_password(db.session, current_principal(), hasher(), account,
                                                  current=request.form.get("current_password", ""), new=new,
                                                  policy=_policy(), now=utcnow())
    if errors:
        db.session.rollback()
        return _account_page(errors, 400)
    _start_session(account)  # every other session is gone; this browser gets a fresh one
    flash(_("Uw wachtwoord is gewijzigd. Op andere apparaten bent u uitgelogd."), "success")
    return redirect(url_for("auth.account"))


# -- password reset ----------------------------------------------------------------------

def _compose_reset_email(account: Account, link: str, valid_for: dt.timedelta) -> tuple[str, str]:
    with force_locale(account.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        subject = _("Nieuw wachtwoord instellen voor Schakel")
        body = render_template("auth/email_reset_password.txt", account=account, link=link,
                               minutes=int(valid_for.total_seconds() // 60))
    return subject, body


@bp.route("/wachtwoord-vergeten", methods=["GET", "POST"])
@_login_limit
def forgot_password():
    if request.method == "GET":
        return _render("auth/forgot_password.html", values={}, errors={})
    email = request.form.get("email", "").strip()
    if "@" not in email or len(email) > 254:
        return _render("auth/forgot_password.html", 400, values={"email": email}, errors={
            "email": [_("Vul een geldig e-mailadres in, zoals naam@voorbeeld.nl.")]})
    password_changes.request_password_reset(db.session, current_principal(), keyring(), email=email,
                                            base_url=current_app.config["BASE_URL"], policy=_policy(), now=utcnow(),
                                            compose=_compose_reset_email)
    return redirect(url_for("auth.forgot_password_sent"))


@bp.get("/wachtwoord-vergeten/verstuurd")
def forgot_password_sent():
    return render_template("auth/forgot_password_sent.html")


_TOKEN_STATUS = {ResetTokenState.unknown: 404, ResetTokenState.expired: 410, ResetTokenState.used: 410}
_NO_STORE = {"Cache-Control": "no-store"}


def _reset_invalid(state: ResetTokenState):
    return render_template("auth/reset_invalid.html", state=state.value), _TOKEN_STATUS[state], _NO_STORE


@bp.get("/wachtwoord-herstellen/<token>")
@_login_limit
def reset_link(token: str):
    """The link from the e-mail. The token leaves the address bar at once: the session keeps
    only its hash, and the form lives at a URL without it (no token in history or Referer)."""
    digest = token_hash(token)
    state, _reset = password_changes.check_reset_token(db.session, digest, utcnow())
    if state is not ResetTokenState.valid:
        return _reset_invalid(state)
    session["reset_digest"] = digest
    return redirect(url_for("auth.reset_password"))


@bp.route("/wachtwoord-herstellen", methods=["GET", "POST"])
@_login_limit
def reset_password():
    digest = session.get("reset_digest")
    if not digest:
        return _reset_invalid(ResetTokenState.unknown)
    min_length = current_app.config["PASSWORD_MIN_LENGTH"]
    if request.method == "GET":
        state, _reset = password_changes.check_reset_token(db.session, digest, utcnow())
        if state is not ResetTokenState.valid:
            return _reset_invalid(state)
        return render_template("auth/reset_password.html", errors={}, min_length=min_length), 200, _NO_STORE
    new = request.form.get("new_password", "")
    if new != request.form.get("new_password_repeat", ""):
        state, errors = ResetTokenState.valid, {"new_password_repeat": [_("De twee wachtwoorden zijn niet gelijk.")]}
    else:
        state, errors = password_changes.reset_password(db.session, current_principal(), hasher(), digest=digest,
                                                        new=new, policy=_policy(), now=utcnow())
    if state is not ResetTokenState.valid:
        db.session.rollback()
        session.pop("reset_digest", None)
        return _reset_invalid(state)
    if errors:
        db.session.rollback()
        return render_template("auth/reset_password.html", errors=errors, min_length=min_length), 400, _NO_STORE
    logout_user()
    session.clear()
    session.regenerate()
    flash(_("Uw nieuwe wachtwoord is ingesteld. Log ermee in."), "success")
    return redirect(url_for("auth.login"))
