"""The audit log's events: the :class:`AuditEvent` model (NEN 7513 fields) and recording them.

Writing an event is a plain INSERT in the caller's transaction, so requests never queue behind
one lock. The hash chain and its signed checkpoints live in :mod:`network.audit_chain` (sealing)
and :mod:`network.audit_verify` (checking the chain, naming the first broken link).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, insert, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from network.clock import utcnow
from network.db import UTCDateTime, db, keep_on_rollback
from network.events import EventTag, require_member
from network.models import str_enum
from network.permissions import Principal

BigId = BigInteger().with_variant(Integer, "sqlite")


class AuditAction(enum.StrEnum):
    create = "C"
    read = "R"
    update = "U"
    delete = "D"
    execute = "E"
    export = "export"
    login = "login"


class AuditOutcome(enum.StrEnum):
    success = "success"
    denied = "denied"
    failure = "failure"


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_student_time", "student_id", "occurred_at"),
        Index("ix_audit_event_account_time", "account_id", "occurred_at"),
        # seal() finds the pending events through this: only unsealed rows are in it, so the
        # seal job stays as fast at 10 million sealed events as at none (without it every batch
        # walks the primary key past all sealed events)
        Index("ix_audit_event_unsealed", "id", postgresql_where=text("seq IS NULL"),
              sqlite_where=text("seq IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[AuditAction] = mapped_column(str_enum(AuditAction, "audit_action"))
    #: what happened, e.g. ``student:view``: written only from an :class:`~network.events.EventTag`
    #: member (network/tags.py and each feature's tags.py); read back as the plain string, which
    #: a member compares equal to
    event_type: Mapped[str] = mapped_column(String(60))
    outcome: Mapped[AuditOutcome] = mapped_column(str_enum(AuditOutcome, "audit_outcome"))
    # who (no foreign keys: the log outlives accounts and organisations)
    account_id: Mapped[int | None] = mapped_column(Integer)
    account_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(32))
    organisation_id: Mapped[int | None] = mapped_column(Integer)
    organisation_name: Mapped[str | None] = mapped_column(String(200))
    on_behalf_of: Mapped[str | None] = mapped_column(String(200))
    purpose: Mapped[str | None] = mapped_column(String(80))
    # from where
    channel: Mapped[str | None] = mapped_column(String(10))
    source_ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    request_id: Mapped[str | None] = mapped_column(String(64))
    # on what
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64))
    student_id: Mapped[str | None] = mapped_column(String(36))
    #: the basis of a read of student data: ``consent:<id>``, ``legal_task:<code>`` or ``self``
    basis: Mapped[str | None] = mapped_column(String(120))
    #: canonical JSON (sorted keys); never BSN, passwords or tokens
    detail: Mapped[str | None] = mapped_column(Text)
    # the chain, filled in by seal()
    seq: Mapped[int | None] = mapped_column(BigId, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} seq={self.seq} {self.event_type} {self.outcome}>"


# -- writing -----------------------------------------------------------------------------

def canonical(data: dict[str, Any]) -> str:
    """RFC 8785 canonical JSON for the values the log holds (strings, integers, null).

    For such values, sorted keys with minimal separators and no ASCII escaping is exactly the
    JCS output (keys here are ASCII, so UTF-16 and code-point order agree); tests check it
    against the rfc8785 package. It is several times faster, which matters to seal.
    """
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def utc_stamp(value: dt.datetime) -> str:
    """A time as the chain and the checkpoints write it: UTC, microseconds, ``Z``."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def plain(value: Any) -> Any:
    """A column value as the chain hashes it: times as :func:`utc_stamp`, enums as their value."""
    if isinstance(value, dt.datetime):
        return utc_stamp(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def event_values(
    principal: Principal,
    *,
    action: AuditAction,
    event_type: EventTag,
    outcome: AuditOutcome = AuditOutcome.success,
    object_type: str | None = None,
    object_id: Any = None,
    student_id: Any = None,
    purpose: str | None = None,
    basis: str | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The column values of one audit event (NEN 7513 fields from the principal).

    :param event_type: a member of a feature's :class:`~network.events.EventTag` enum; a plain
        string raises :class:`TypeError` (the names are data, declared once: network.events).
    :param detail: extra facts (field names changed, reasons); never BSN, secrets or tokens.
    """
    require_member(event_type, EventTag, "event_type")
    acting = principal.acting
    return dict(
        occurred_at=utcnow(),
        action=action,
        event_type=event_type,
        outcome=outcome,
        account_id=principal.account_id,
        account_name=principal.name,
        role=acting.role.value if acting else None,
        organisation_id=acting.organisation_id if acting else None,
        organisation_name=acting.organisation_name if acting else None,
        on_behalf_of=principal.on_behalf_of,
        purpose=purpose,
        channel=principal.channel,
        source_ip=principal.source_ip,
        user_agent=(principal.user_agent or "")[:300] or None,
        request_id=principal.request_id,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        student_id=None if student_id is None else str(student_id),
        basis=basis,
        detail=canonical(detail) if detail else None,
    )


def record(session: Session, principal: Principal, **fields: Any) -> AuditEvent:
    """Append one audit event in the caller's transaction (fields: see :func:`event_values`).

    An event of a read or export, or of a refused or failed action, outlives a rollback of
    that transaction (see :func:`survives_rollback`); any other event is part of the change
    it describes and is rolled back with it."""
    return add_event(session, event_values(principal, **fields))


def add_event(session: Session, values: dict[str, Any]) -> AuditEvent:
    """Append one event from :func:`event_values` (as :func:`record` does)."""
    require_member(values["event_type"], EventTag, "event_type")
    event = AuditEvent(**values)
    session.add(event)
    _keep_if_it_survives(session, [values])
    return event


def record_many(session: Session, rows: list[dict[str, Any]]) -> None:
    """Append many events (from :func:`event_values`) in one executemany, in the caller's
    transaction: one statement however many rows (the ORM inserts row by row on SQLite).
    Rows that survive a rollback are kept as :func:`record` keeps them."""
    for values in rows:
        require_member(values["event_type"], EventTag, "event_type")
    if rows:
        _keep_if_it_survives(session, rows)
        # render_nulls: the ORM's bulk insert otherwise leaves out None values and splits the
        # rows into one INSERT per set of present keys (a page with allowed and denied
        # decisions, basis set or None, became two statements)
        session.execute(insert(AuditEvent).execution_options(render_nulls=True), rows)


def survives_rollback(values: dict[str, Any]) -> bool:
    """Whether an event must be written even when its unit of work is rolled back: who read or
    exported a student's data, and who was refused or failed, stays known whatever happened
    later in the request (DESIGN.md rule 5). The event of a change claims that the change
    happened, so it must not outlive it."""
    return values["action"] in (AuditAction.read, AuditAction.export) or values["outcome"] != AuditOutcome.success


def _keep_if_it_survives(session: Session, rows: list[dict[str, Any]]) -> None:
    kept = [values for values in rows if survives_rollback(values)]
    if kept:
        keep_on_rollback(session, lambda again: again.execute(
            insert(AuditEvent).execution_options(render_nulls=True), kept))

