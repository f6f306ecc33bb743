"""Referrals: who may see a referral (the sender's and the receiver's side), telling the other
side and the webhooks of a change, and the everyday work on a sent referral: assignment,
updates and internal notes.

Making and sending a referral (the wizard's drafts, the hand-over packet) lives in
:mod:`referrals.wizard_service`; the state machine and the warm hand-over in
:mod:`referrals.transitions`. Both build on the helpers here.

Plain functions: they take the session, the acting :class:`Principal`, the keyring and the
clock; they flush but never commit, audit every change in the same transaction, and raise
:class:`ValidationFailed` (Dutch field messages) before anything is written, so nothing is
half-saved. Illegal steps and stale versions are :class:`Conflict` (409) with the allowed
transitions listed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from network.audit import AuditAction, record
from network.clock import utcnow
from network.crypto import Keyring
from network.errors import Conflict, NotFound, ValidationFailed
from network.models import Account, Membership, Role
from network.notifications import notify, notify_organisation
from network.permissions import Principal
from network.signals import referral_updated
from referrals.models import EventKind, Referral
from referrals.referral_timeline import add_event
from referrals.states import RECEIVER, SENDER, TERMINAL, ReferralStatus
from referrals.tags import ReferralNotice, ReferralTag

S = ReferralStatus
NOT_FOUND = _l("Deze verwijzing bestaat niet, of u heeft er geen toegang toe.")



# -- who sees what -----------------------------------------------------------------------------

def side_of(actor: Principal, referral: Referral) -> str | None:
    """``sender`` for staff of the referring school, ``receiver`` for staff of the receiving
    organisation, else None."""
    if actor.organisation_id is None:
        return None
    if actor.organisation_id == referral.from_organisation_id and actor.is_school_staff:
        return SENDER
    if actor.organisation_id == referral.to_organisation_id and actor.role is Role.partner_staff:
        return RECEIVER
    return None


def can_view_referral(actor: Principal, referral: Referral) -> bool:
    """Sender and receiver see the referral; the receiver not while it is a draft."""
    side = side_of(actor, referral)
    return side == SENDER or (side == RECEIVER and referral.status is not S.draft)


#: not the student: a student row is loaded only after the access decision (and its audit event)
_DETAIL_LOAD = (joinedload(Referral.packet), joinedload(Referral.service), joinedload(Referral.from_organisation),
                joinedload(Referral.to_organisation))


def get_referral(session: Session, actor: Principal, referral_id: Any) -> Referral:
    """Load a referral inside the actor's walls, else :class:`NotFound` (404 before 403)."""
    try:
        key = int(referral_id)
    except (TypeError, ValueError):
        raise NotFound(NOT_FOUND) from None
    # one query for the referral and what every caller shows of it (its packet, service and both
    # organisations) instead of one lazy load each
    referral = session.get(Referral, key, options=_DETAIL_LOAD) if 0 < key < 2**31 else None  # PG integer range
    if referral is None or not can_view_referral(actor, referral):
        raise NotFound(NOT_FOUND)
    return referral


def check_version(referral: Referral, expected_version: int | None) -> None:
    """:class:`Conflict` when someone saved ``referral`` since the actor loaded ``expected_version``."""
    if expected_version is not None and int(expected_version) != referral.version:
        raise Conflict(_l("Iemand anders heeft deze verwijzing intussen gewijzigd. Bekijk de nieuwe stand en "
                          "probeer het opnieuw."), current_version=referral.version)


# -- telling the other side of a change --------------------------------------------------------

def announce(session: Session, keyring: Keyring, referral: Referral, *, own_only_for: Principal | None = None) -> None:
    """Tell the organisations on ``referral`` that it changed (webhooks listen): both sides,
    or only ``own_only_for``'s organisation (a draft, an internal note)."""
    if own_only_for is not None or referral.status is S.draft and referral.sent_at is None:
        organisations = {own_only_for.organisation_id if own_only_for else referral.from_organisation_id}
    else:
        organisations = {referral.from_organisation_id, referral.to_organisation_id}
    referral_updated.send(referral, session=session, keyring=keyring, organisation_ids=organisations)


def tell_other_side(session: Session, keyring: Keyring, referral: Referral, side: str, *, kind: ReferralNotice,
                    title: str, base_url: str, now: dt.datetime) -> None:
    """Notify the other side than ``side``: the school's sender, else the receiver's owner, else
    the receiving organisation's partner staff (not while a draft)."""
    if side == RECEIVER:
        if referral.from_account_id:
            notify(session, keyring, [referral.from_account_id], kind=kind, title=title, base_url=base_url, now=now,
                   link=f"/verwijzingen/{referral.id}")
    elif referral.owner_account_id:
        notify(session, keyring, [referral.owner_account_id], kind=kind, title=title, base_url=base_url, now=now,
               link=f"/inbox/{referral.id}")
    elif referral.status is not S.draft:
        notify_organisation(session, keyring, referral.to_organisation_id, roles=[Role.partner_staff], kind=kind,
                            title=title, base_url=base_url, now=now, link=f"/inbox/{referral.id}")


# -- assignment, updates and notes -------------------------------------------------------------

def colleagues(session: Session, actor: Principal) -> list[tuple[int, str]]:
    """(account id, name) of the partner staff of the actor's organisation."""
    rows = session.execute(
        select(Account.id, Account.name).join(Membership, Membership.account_id == Account.id)
        .where(Membership.organisation_id == actor.organisation_id, Membership.role == Role.partner_staff,
               Account.is_active.is_(True)).order_by(Account.name)).all()
    return [(account_id, name) for account_id, name in dict.fromkeys(rows)]


def assign(session: Session, actor: Principal, keyring: Keyring, referral: Referral, account_id: int | None, *,
           expected_version: int | None = None, now: dt.datetime | None = None, base_url: str = "") -> Referral:
    """Claim (``account_id`` = the actor) or assign to a colleague of the receiving organisation."""
    now = now or utcnow()
    if side_of(actor, referral) != RECEIVER or not can_view_referral(actor, referral):
        raise NotFound(NOT_FOUND)
    check_version(referral, expected_version)
    if referral.status in TERMINAL:
        raise Conflict(_l("Deze verwijzing is afgesloten."), allowed=[])
    names = dict(colleagues(session, actor))
    if account_id is None or int(account_id) not in names:
        raise ValidationFailed(errors={"owner_account_id": [str(_l("Kies een collega van uw organisatie."))]})
    referral.owner_account_id = int(account_id)
    add_event(session, keyring, referral, EventKind.assigned, actor, reason=names[int(account_id)],
              internal_to=referral.to_organisation_id, now=now)
    record(session, actor, action=AuditAction.update, event_type=ReferralTag.assign, object_type="referral",
           object_id=referral.id, student_id=referral.student_id, purpose=referral.purpose,
           detail={"owner_account_id": int(account_id)})
    if int(account_id) != actor.account_id:
        notify(session, keyring, [int(account_id)], kind=ReferralNotice.assigned, base_url=base_url, now=now,
               title=f"Verwijzing nr. {referral.id} is aan u toegewezen", link=f"/inbox/{referral.id}")
    announce(session, keyring, referral, own_only_for=actor)  # the assignment is internal to the receiver
    return referral


def post_message(session: Session, actor: Principal, keyring: Keyring, referral: Referral, text: str, *,
                 internal: bool = False, now: dt.datetime | None = None, base_url: str = ""):
    """An update visible to both sides, or (``internal``) a note for the actor's organisation only."""
    now = now or utcnow()
    side = side_of(actor, referral)
    if side is None or not can_view_referral(actor, referral):
        raise NotFound(NOT_FOUND)
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(errors={"text": [str(_l("Schrijf een bericht."))]})
    if len(text) > 4000:
        raise ValidationFailed(errors={"text": [str(_l("Het bericht is te lang (hoogstens 4000 tekens)."))]})
    if referral.status is S.entered_in_error:
        raise Conflict(_l("Deze verwijzing is als foutief gemarkeerd."), allowed=[])
    event = add_event(session, keyring, referral, EventKind.note if internal else EventKind.update, actor, body=text,
                      internal_to=actor.organisation_id if internal else None, now=now)
    record(session, actor, action=AuditAction.create, event_type=ReferralTag.note if internal else ReferralTag.update,
           object_type="referral", object_id=referral.id, student_id=referral.student_id, purpose=referral.purpose)
    if not internal:
        tell_other_side(session, keyring, referral, side, kind=ReferralNotice.update, base_url=base_url, now=now,
                         title=f"Verwijzing nr. {referral.id}: nieuw bericht van {actor.acting.organisation_name}")
    announce(session, keyring, referral, own_only_for=actor if internal else None)
    return event
