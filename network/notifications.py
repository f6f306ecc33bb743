"""Notifications: an in-app list per account of what they must act on, plus e-mail through
the outbox, at once or as a daily digest (the account's choice).

Features call :func:`notify` (named accounts) or :func:`notify_organisation` (the staff of an
organisation) inside their unit of work. Titles and e-mails never carry a student's name or
other personal data: e-mail leaves the hub's walls; the link leads back inside, where the
access decision applies.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable

from sqlalchemy import ForeignKey, Index, String, func, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from network.clock import utcnow
from network.crypto import Keyring
from network.db import UTCDateTime, db
from network.events import NotificationKind, require_member
from network.models import Account, Membership, Role, str_enum
from network.outbox import enqueue_email


class NotificationMode(enum.StrEnum):
    immediate = "immediate"
    digest = "digest"


class Notification(db.Model):
    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_account_created", "account_id", "created_at"),
        Index("ix_notification_digest", "emailed_at", "account_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    #: what happened, e.g. ``referral:requested`` (for filtering and tests): written only from a
    #: :class:`~network.events.NotificationKind` member (the features' tags.py)
    kind: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(300))
    #: a path inside the hub (``/verwijzingen/12``)
    link: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: when it went out by e-mail (at once, or in a digest); None: not yet
    emailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind}>"


class NotificationSetting(db.Model):
    """An account's choice; no row means :attr:`NotificationMode.immediate`."""

    __tablename__ = "notification_setting"

    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), primary_key=True)
    mode: Mapped[NotificationMode] = mapped_column(str_enum(NotificationMode, "notification_mode"),
                                                   default=NotificationMode.immediate)

    def __repr__(self) -> str:
        return f"<NotificationSetting {self.account_id} {self.mode}>"


def _email_body(title: str, link: str | None, base_url: str) -> str:
    where = f"\n\nBekijk het in Schakel: {base_url.rstrip('/')}{link}" if link else ""
    return (f"Hallo,\n\n{title}{where}\n\nU krijgt dit bericht omdat u in Schakel meldingen per e-mail ontvangt; "
            "u kunt dit wijzigen bij Mijn account > Meldingen.\n\nSchakel")


def notify(session: Session, keyring: Keyring, account_ids: Iterable[int], *, kind: NotificationKind, title: str,
           link: str | None = None, base_url: str = "", now: dt.datetime | None = None) -> list[Notification]:
    """Add a notification for each active account (once per account) and e-mail those who
    want it at once. The caller's unit of work commits it; the e-mail leaves after commit.

    :param kind: a member of a feature's :class:`~network.events.NotificationKind` enum; a plain
        string raises :class:`TypeError`."""
    require_member(kind, NotificationKind, "kind")
    now = now or utcnow()
    ids = sorted(set(account_ids))
    if not ids:
        return []
    rows = session.execute(
        select(Account.id, Account.email, NotificationSetting.mode)
        .outerjoin(NotificationSetting, NotificationSetting.account_id == Account.id)
        .where(Account.id.in_(ids), Account.is_active.is_(True))
    ).all()
    made = []
    for account_id, email, mode in rows:
        immediate = mode in (None, NotificationMode.immediate)
        item = Notification(account_id=account_id, kind=kind, title=title[:300], link=link, created_at=now,
                            emailed_at=now if immediate else None)
        session.add(item)
        made.append(item)
        if immediate:
            enqueue_email(session, keyring, to=email, subject=f"Schakel: {title}"[:300],
                          body=_email_body(title, link, base_url), now=now)
    return made


def organisation_staff(session: Session, organisation_id: int,
                       roles: Iterable[Role] | None = None) -> list[int]:
    """Account ids of the organisation's active members (optionally only some roles)."""
    query = (select(Membership.account_id).join(Account, Account.id == Membership.account_id)
             .where(Membership.organisation_id == organisation_id, Account.is_active.is_(True)))
    if roles is not None:
        query = query.where(Membership.role.in_(list(roles)))
    return sorted(set(session.scalars(query)))


def notify_organisation(session: Session, keyring: Keyring, organisation_id: int, *, kind: NotificationKind,
                        title: str, link: str | None = None, roles: Iterable[Role] | None = None,
                        base_url: str = "", now: dt.datetime | None = None) -> list[Notification]:
    """:func:`notify` every (active) member of an organisation, or those with ``roles``."""
    return notify(session, keyring, organisation_staff(session, organisation_id, roles), kind=kind, title=title,
                  link=link, base_url=base_url, now=now)


def unread_count(session: Session, account_id: int) -> int:

    return session.scalar(select(func.count(Notification.id)).where(
        Notification.account_id == account_id, Notification.read_at.is_(None))) or 0


def list_notifications(session: Session, account_id: int, *, limit: int = 50) -> list[Notification]:
    return list(session.scalars(select(Notification).where(Notification.account_id == account_id)
                                .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)))


def mark_read(session: Session, account_id: int, notification_ids: Iterable[int] | None = None,
              now: dt.datetime | None = None) -> int:
    """Mark the account's notifications read (all, or the given ids: others' ids are ignored)."""
    query = update(Notification).where(Notification.account_id == account_id, Notification.read_at.is_(None))
    if notification_ids is not None:
        query = query.where(Notification.id.in_(list(notification_ids)))
    return session.execute(query.values(read_at=now or utcnow())).rowcount


def set_mode(session: Session, account_id: int, mode: NotificationMode | str) -> None:
    setting = session.get(NotificationSetting, account_id)
    if setting is None:
        setting = NotificationSetting(account_id=account_id)
        session.add(setting)
    setting.mode = NotificationMode(mode)


def get_mode(session: Session, account_id: int) -> NotificationMode:
    setting = session.get(NotificationSetting, account_id)
    return setting.mode if setting else NotificationMode.immediate


def send_digests(session: Session, keyring: Keyring, *, base_url: str = "", now: dt.datetime | None = None) -> int:
    """One e-mail per digest account with everything not yet e-mailed; stamps them, so a second
    run sends nothing. Returns the number of e-mails queued."""
    now = now or utcnow()
    pending = session.execute(
        select(Notification, Account.email)
        .join(Account, Account.id == Notification.account_id)
        .where(Notification.emailed_at.is_(None), Notification.created_at <= now, Account.is_active.is_(True))
        .order_by(Notification.account_id, Notification.created_at)
    ).all()
    by_account: dict[int, tuple[str, list[Notification]]] = {}
    for item, email in pending:
        by_account.setdefault(item.account_id, (email, []))[1].append(item)
    base = base_url.rstrip("/")
    for email, items in by_account.values():
        lines = "\n".join(f"- {n.title}" + (f" ({base}{n.link})" if n.link else "") for n in items)
        enqueue_email(session, keyring, to=email, subject=f"Schakel: {len(items)} nieuwe meldingen",
                      body=f"Hallo,\n\nDit gebeurde sinds uw vorige overzicht:\n\n{lines}\n\nSchakel", now=now)
        for n in items:
            n.emailed_at = now
    return len(by_account)


def notify_many(session: Session, keyring: Keyring,
                items: Iterable[tuple[Iterable[int], NotificationKind, str, str | None]], *,
                base_url: str = "", now: dt.datetime | None = None) -> int:
    """:func:`notify` for many notifications at once (a job's batch): ``items`` are
    ``(account_ids, kind, title, link)``. One SELECT for all recipients and one INSERT for all
    notifications, whatever the number. Returns the number of notifications made."""
    now = now or utcnow()
    items = [(sorted(set(ids)), kind, title[:300], link) for ids, kind, title, link in items]
    for _ids, kind, _title, _link in items:
        require_member(kind, NotificationKind, "kind")
    everyone = sorted({account_id for ids, *_rest in items for account_id in ids})
    if not everyone:
        return 0
    recipients = {account_id: (email, mode) for account_id, email, mode in session.execute(
        select(Account.id, Account.email, NotificationSetting.mode)
        .outerjoin(NotificationSetting, NotificationSetting.account_id == Account.id)
        .where(Account.id.in_(everyone), Account.is_active.is_(True)))}
    rows = []
    for ids, kind, title, link in items:
        for account_id in ids:
            if account_id not in recipients:
                continue
            email, mode = recipients[account_id]
            immediate = mode in (None, NotificationMode.immediate)
            rows.append(dict(account_id=account_id, kind=kind, title=title, link=link, created_at=now,
                             emailed_at=now if immediate else None))
            if immediate:
                enqueue_email(session, keyring, to=email, subject=f"Schakel: {title}"[:300],
                              body=_email_body(title, link, base_url), now=now)
    if rows:
        session.execute(insert(Notification), rows)
    return len(rows)
