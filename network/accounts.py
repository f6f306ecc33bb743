"""Accounts and their memberships: adding people, giving them a role in an organisation,
switching accounts off and on, and finding them within the actor's walls.

Plain service functions like those of :mod:`network.directory` (which keeps regions and
organisations, and which role fits which organisation type): they take the session and the
acting :class:`Principal`, flush but never commit, audit every change in the same transaction,
and raise :class:`~network.errors.ValidationFailed` for input only the database can judge.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from network.audit import AuditAction, record
from network.db import Page, escape_like
from network.directory import ROLE_ORGANISATION_TYPES, is_hub_wide, is_system_actor, require_permission
from network.errors import Forbidden, NotFound, ValidationFailed
from network.models import Account, Membership, Organisation, Role
from network.passwords import password_problems
from network.permissions import Permission, Principal, can_view_account
from network.sessions import revoke_account_sessions
from network.tags import AccountTag, MembershipTag


def create_account(session: Session, actor: Principal, *, email: str, name: str, password: str | None = None,
                   hasher: Any = None, min_password_length: int = 12) -> Account:
    """Add an account (hub admin or CLI). The e-mail address is stored lower-cased and must be
    unique. Without a password the person sets one through the reset flow later."""
    require_permission(actor, Permission.account_manage)
    email, name = email.strip().lower(), name.strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_l("Vul de naam in.")]
    if "@" not in email:
        errors["email"] = [_l("Vul een geldig e-mailadres in, zoals naam@voorbeeld.nl.")]
    elif session.scalar(select(Account.id).where(Account.email == email)):
        errors["email"] = [_l("Er is al een account met dit e-mailadres.")]
    if password:
        problems = password_problems(password, min_length=min_password_length, email=email, name=name)
        if problems:
            errors["password"] = [str(p) for p in problems]
        elif hasher is None:
            raise ValueError("a password needs a hasher")
    if errors:
        raise ValidationFailed(errors=errors)
    account = Account(email=email, name=name, password_hash=hasher.hash(password) if password else None,
                      is_active=True)
    session.add(account)
    session.flush()  # for the id in the audit event
    record(session, actor, action=AuditAction.create, event_type=AccountTag.create, object_type="account",
           object_id=account.id, detail={"password_set": bool(password)})
    return account


def membership_problems(organisation: Organisation, role: Role) -> dict[str, list[str]]:
    """Why ``role`` cannot be held in ``organisation`` (empty when it can)."""
    if organisation.type not in ROLE_ORGANISATION_TYPES[role]:
        return {"role": [_l("Deze rol past niet bij deze soort organisatie.")]}
    if not organisation.is_active:
        return {"organisation_id": [_l("Deze organisatie is niet actief.")]}
    return {}


def add_membership(session: Session, actor: Principal, *, account: Account, organisation: Organisation,
                   role: Role | str, title: str | None = None) -> Membership:
    """Give ``account`` a ``role`` in ``organisation`` (hub admin or CLI); the role must fit the
    organisation type (:data:`ROLE_ORGANISATION_TYPES`)."""
    require_permission(actor, Permission.account_manage)
    role = Role(role)
    errors = membership_problems(organisation, role)
    if errors:
        raise ValidationFailed(errors=errors)
    if session.scalar(select(Membership.id).where(Membership.account_id == account.id,
                                                  Membership.organisation_id == organisation.id,
                                                  Membership.role == role)):
        raise ValidationFailed(errors={"role": [_l("Dit account heeft deze rol al bij deze organisatie.")]})
    membership = Membership(account=account, organisation=organisation, role=role,
                            title=(title or "").strip() or None)
    session.add(membership)
    session.flush()  # for the id in the audit event
    record(session, actor, action=AuditAction.create, event_type=MembershipTag.create, object_type="membership",
           object_id=membership.id,
           detail={"account_id": account.id, "organisation_id": organisation.id, "role": role.value})
    return membership


def deactivate_account(session: Session, actor: Principal, account: Account) -> Account:
    """Switch an account off: it can no longer log in and every open session ends now."""
    require_permission(actor, Permission.account_manage)
    if account.id == actor.account_id:
        raise ValidationFailed(errors={"account": [_l("U kunt uw eigen account niet uitzetten.")]})
    if account.is_active:
        account.is_active = False
        session.flush()
    ended = revoke_account_sessions(session, account.id)
    record(session, actor, action=AuditAction.update, event_type=AccountTag.deactivate, object_type="account",
           object_id=account.id, detail={"sessions_ended": ended})
    return account


def reactivate_account(session: Session, actor: Principal, account: Account) -> Account:
    """Switch a deactivated account back on."""
    require_permission(actor, Permission.account_manage)
    if not account.is_active:
        account.is_active = True
        session.flush()
        record(session, actor, action=AuditAction.update, event_type=AccountTag.reactivate,
               object_type="account", object_id=account.id)
    return account


def get_account(session: Session, actor: Principal, account_id: int) -> Account:
    """One account inside the actor's walls (hub admin: all; coordinator: their region)."""
    account = session.scalar(select(Account).where(Account.id == account_id).options(
        selectinload(Account.memberships).selectinload(Membership.organisation)))
    if account is None or not (is_system_actor(actor) or can_view_account(actor, account)):
        raise NotFound(_l("Dit account bestaat niet, of u heeft er geen toegang toe."))
    return account


def list_accounts(session: Session, actor: Principal, *, q: str | None = None, page: int = 1,
                  per_page: int = 50) -> Page:
    """Accounts the actor may see, by name, with their memberships (a fixed number of queries):
    all for the hub admin, those with a membership in the region for a coordinator."""
    if not (is_hub_wide(actor) or actor.has(Permission.account_view)):
        raise Forbidden(_l("U mag geen accounts bekijken."))
    query = select(Account)
    if not is_hub_wide(actor):
        in_region = (select(Membership.account_id).join(Organisation)
                     .where(Organisation.region_id == actor.region_id))
        query = query.where(Account.id.in_(in_region))
    if q:
        pattern = f"%{escape_like(q.lower())}%"
        query = query.where(or_(func.lower(Account.name).like(pattern, escape="\\"),
                                Account.email.like(pattern, escape="\\")))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = max(1, page)
    items = list(session.scalars(
        query.order_by(Account.name, Account.id).offset((page - 1) * per_page).limit(per_page)
        .options(selectinload(Account.memberships).selectinload(Membership.organisation))))
    return Page(items, total, page, per_page)
