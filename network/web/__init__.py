"""Shared plumbing of the HTML views: who is acting (the request's :class:`Principal`),
declared permissions, and small helpers that keep the views thin."""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from argon2 import PasswordHasher
from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from network.clock import utcnow
from network.crypto import Keyring
from network.db import db
from network.errors import Forbidden, ValidationFailed
from network.extensions import login_manager
from network.health import HubHealth, hub_health
from network.models import Account, Membership
from network.permissions import Acting, Permission, Principal, permissions_for
from network.schemas import load_form

#: endpoints a logged-in account may use before its second factor is set up or given
MFA_EXEMPT = {"auth.totp_setup", "auth.totp_verify", "auth.logout", "main.set_language", "static",
              "main.healthz", "main.readyz", "main.readyz_scheduler", "main.metrics", "main.jwks"}


def operations_health() -> HubHealth | None:
    """Whether the background work keeps up, for the dashboards of those who hold
    ``operations_view`` (the hub admin, the uitstroomcoördinator); None for everyone else."""
    if not current_principal().has(Permission.operations_view):
        return None
    return hub_health(db.session, current_app.config, utcnow())


def keyring() -> Keyring:
    return current_app.extensions["schakel.keyring"]


def hasher() -> PasswordHasher:
    """The app's argon2id hasher (built once in ``create_app`` from the ARGON2_* settings)."""
    return current_app.extensions["schakel.hasher"]


def acting_from(membership: Membership) -> Acting:
    organisation = membership.organisation
    return Acting(membership_id=membership.id, organisation_id=organisation.id,
                  organisation_name=organisation.name, organisation_type=organisation.type,
                  region_id=organisation.region_id, role=membership.role)


def request_source(channel: str = "web") -> dict[str, Any]:
    """Where the request came from (the NEN 7513 source fields of a principal)."""
    return dict(source_ip=request.remote_addr, user_agent=request.user_agent.string or None,
                request_id=g.get("request_id"), channel=channel)


def build_principal(account: Account | None, channel: str = "web") -> Principal:
    """The request's actor: the account (if any), its acting membership, and the source."""
    source = request_source(channel)
    if account is None:
        return Principal(**source)
    memberships = tuple(acting_from(m) for m in account.memberships if m.organisation.is_active)
    chosen = session.get("acting_membership_id")
    acting = next((m for m in memberships if m.membership_id == chosen), memberships[0] if memberships else None)
    return Principal(account_id=account.id, name=account.name, acting=acting, memberships=memberships,
                     permissions=permissions_for(acting.role if acting else None), **source)


def current_principal() -> Principal:
    principal = g.get("principal")
    if principal is None:
        principal = g.principal = build_principal(current_user if current_user.is_authenticated else None)
    return principal


def require(permission: Permission) -> Callable:
    """Declare the permission a view needs: anonymous users go to the login page, others get 403."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            principal = current_principal()
            if not principal.is_authenticated:
                return login_manager.unauthorized()
            if not principal.has(permission):
                raise Forbidden("U heeft geen toegang tot deze pagina.")
            return view(*args, **kwargs)

        wrapped.required_permission = permission  # read by the authorization-matrix test
        return wrapped

    return decorator


def login_required_view(view: Callable) -> Callable:
    """A page for any logged-in account (no particular permission)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any):
        if not current_principal().is_authenticated:
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    return wrapped


def submit(schema_cls: type, form: Any, action: Callable[[dict], Any]) -> tuple[Any, dict[str, list[str]]]:
    """Validate a submitted form and run ``action(data)`` (one service call). Invalid input,
    or a :class:`~network.errors.ValidationFailed` from the service (a duplicate, a rule only
    the database can check), rolls the unit of work back and returns the Dutch field errors,
    so the view re-renders with what was typed. Success returns ``(result, {})``."""
    data, errors = load_form(schema_cls, form)
    if data is None:
        return None, errors
    try:
        return action(data), {}
    except ValidationFailed as exc:
        db.session.rollback()
        return None, exc.errors


#: percent-decodings a ``next`` value survives before it is judged unreadable: a browser decodes
#: once, a proxy or a redirect on the way may decode again
_DECODINGS = 3
#: control, format and line-separator characters: a browser drops a tab or newline anywhere in a
#: URL (so ``/\t/x`` becomes ``//x``), CR/LF would split the ``Location`` header
_INVISIBLE = {"Cc", "Cf", "Zl", "Zp"}


def _is_local_path(text: str) -> bool:
    return (text.startswith("/") and not text.startswith("//") and "\\" not in text
            and not any(unicodedata.category(ch) in _INVISIBLE for ch in text))


def local_path(value: Any) -> str | None:
    """``value`` if it is a path on this site, else None: the only kind of redirect target a
    request may name (``next``). Refused is whatever a browser could read as another host or
    a scheme (``//x``, ``/\\x``, ``\\\\x``, ``https:``, ``javascript:``), any control character,
    and the same tricks percent-encoded (``/%09/x``, ``/%2F/x``), judged after every decoding."""
    if not isinstance(value, str) or not value or len(value) > 2048:
        return None
    text = value
    for _ in range(_DECODINGS + 1):
        if not _is_local_path(text):
            return None
        decoded = unquote(text)
        if decoded == text:
            return value
        text = decoded
    return None  # still encoded after so many rounds: no link of ours looks like that


def redirect_to(endpoint: str, message: str | None = None, **values: Any):
    """End a successful POST: say so, and redirect (POST/redirect/GET). The redirect's status
    commits the request's unit of work (network.transaction)."""
    if message:
        flash(message, "success")
    return redirect(url_for(endpoint, **values))


@login_manager.user_loader
def _load_account(user_id: str) -> Account | None:
    try:
        account_id = int(user_id)
    except (TypeError, ValueError):
        return None
    account = db.session.execute(
        select(Account).where(Account.id == account_id)
        .options(selectinload(Account.memberships).selectinload(Membership.organisation))
    ).scalar_one_or_none()
    if account is None or not account.is_active:
        return None
    return account


def init_web(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Log in om deze pagina te bekijken.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # the server-side session is the protection

    @app.before_request
    def _load_principal():
        g.principal = None
        principal = current_principal()
        if principal.is_authenticated and request.endpoint not in MFA_EXEMPT and (
                session.get("mfa_pending") or session.get("mfa_setup_required")):
            # network.web.auth keeps a half-done login (second factor not yet given or not yet
            # set up) *outside* Flask-Login and calls login_user only when every factor is in,
            # in a fresh session. A logged-in session carrying these markers is therefore not
            # ours to trust: end it (fail closed).
            logout_user()
            session.destroy()
            return login_manager.unauthorized()
        return None

    @app.context_processor
    def _template_globals():
        return {"principal": current_principal(), "Permission": Permission}
