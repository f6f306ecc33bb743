"""The database handle, the declarative base and the column types every feature shares."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, event, inspect, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use network.clock.utcnow()")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """SQLite: enforce foreign keys, write-ahead log, and wait on locks instead of failing."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def is_sqlite(session_or_engine) -> bool:
    bind = session_or_engine.get_bind() if hasattr(session_or_engine, "get_bind") else session_or_engine
    return bind.dialect.name == "sqlite"


@dataclass(frozen=True)
class Page:
    """One page of a list, as the list services return it."""

    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def compare_and_set(session: Session, instance: Any, condition: Any, **values: Any) -> bool:
    """Write ``values`` to ``instance``'s row only while ``condition`` still holds there, in one
    ``UPDATE ... WHERE <primary key> AND <condition>``, and say whether it did.

    For a state change that must happen once (a consent withdrawn, a check-in recorded): two
    requests that both read the row in its old state cannot both make it. The second UPDATE
    waits for the first (PostgreSQL's row lock, SQLite's write lock), then matches no row, and
    its caller writes nothing that follows from the change (no second receipt, audit event or
    message). The attributes of ``instance`` follow the database either way."""
    model = type(instance)
    key = [column == value for column, value in zip(inspect(model).primary_key,
                                                     inspect(instance).identity, strict=True)]
    done = session.execute(update(model).where(*key, condition).values(**values)
                           .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        session.expire(instance)
        return False
    for name, value in values.items():
        set_committed_value(instance, name, value)
    return True


# -- writes that outlive a rollback ---------------------------------------------------------

_REDO = "schakel.redo_after_rollback"


def keep_on_rollback(session: Session, redo: Callable[[Session], Any]) -> None:
    """Make a write outlive a rollback of the unit of work it was made in.

    The caller has already made the write in the current transaction; ``redo(session)`` makes
    it again in the next one if this one is rolled back as a whole, before that one commits
    (``network.transaction`` commits it even on a request's error path). For what must stay
    known whatever the request did next: the audit event of a read or a refusal, a failed
    login counted towards the lockout, a one-time code that was used. A write that claims a
    change happened must never use this: it lives and dies with the change."""
    session.info.setdefault(_REDO, []).append([redo, False])


def has_writes_to_redo(session: Session) -> bool:
    """Whether a rollback left writes of :func:`keep_on_rollback` to make again."""
    return any(pending for _redo, pending in session.info.get(_REDO, ()))


@event.listens_for(Session, "after_soft_rollback")
def _redo_after_rollback(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint
        for item in session.info.get(_REDO, ()):
            item[1] = True


@event.listens_for(Session, "before_commit")
def _redo_before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    for item in session.info.get(_REDO, ()):
        if item[1]:
            item[1] = False
            item[0](session)


@event.listens_for(Session, "after_commit")
def _forget_redo(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_REDO, None)


def escape_like(text: str) -> str:
    """``text`` for a LIKE pattern (with ``escape="\\"``): its ``%``, ``_`` and backslashes match
    themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def is_unique_violation(error: Exception) -> bool:
    """A unique constraint or index refused a write (PostgreSQL 23505, SQLite's message)."""
    if not isinstance(error, IntegrityError):
        return False
    orig = getattr(error, "orig", None)
    return getattr(orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(orig)


def add_unless_duplicate(session: Session, instance: Any) -> bool:
    """Add and flush ``instance`` in a savepoint; False, with nothing of it left in the session,
    when a unique constraint or index refuses it (any other database error is raised).

    The other half of a service's own "is there one already?" check: when two requests make the
    same thing at once (a double click), both pass that check, and the database decides. The
    caller answers the loser as it answers any duplicate, with the session still usable."""
    try:
        with session.begin_nested():
            session.add(instance)
            session.flush()
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        return False
    return True
