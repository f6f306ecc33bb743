"""One unit of work per request, job and command: the one place that commits.

A request's transaction is committed once, after the view has answered with a status below
400, and rolled back otherwise (Indico's ``RH.process``, Warehouse's ``pyramid_tm``). Views,
services and jobs never commit; they flush when they need an id. Jobs and CLI commands end
the same way through :func:`unit_of_work` (or :func:`command` for a Click command).

What a rolled-back unit keeps: the writes made with :func:`network.db.keep_on_rollback` —
the audit events of reads and of refused or failed actions (:func:`network.audit.record`
marks them), a failed login counted towards the lockout. They are made again after the
rollback, and the rollback path here commits them on their own. The events of a change live
and die with the change.

After the end: hooks registered with :func:`after_request_commit` run (the outbox delivers
what the request enqueued once the response is sent), and callbacks registered with
:func:`after_request_unit` (the Idempotency-Key store) learn whether the work was committed.

A request that leaves changes behind that this module did not commit (a write after the
commit, in a streamed body or a late hook) is a bug: in development and tests it raises at
teardown; in production it is logged and the changes are rolled back.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from flask import Flask, Response, current_app, request
from flask.cli import with_appcontext
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from network.db import db, has_writes_to_redo

log = logging.getLogger(__name__)

_ENDED = "schakel.unit.ended"
_CALLBACKS = "schakel.unit.callbacks"
_FLUSHED = "schakel.unit.flushed"


class UncommittedWork(RuntimeError):
    """A request ended with changes that the one commit point did not commit."""


# -- the end of a unit -------------------------------------------------------------------

def commit(session: Session) -> None:
    """Commit the unit of work; on failure roll back, keep what the audit keeps, and raise."""
    try:
        session.commit()
    except Exception:
        _rollback_and_keep_audit(session)
        raise


def rollback(session: Session) -> None:
    """Roll the unit of work back, committing only the audit events that survive a rollback
    (reads, refusals). A database that cannot take even those is logged, not raised: the
    caller is already answering a failure."""
    _rollback_and_keep_audit(session)


def _rollback_and_keep_audit(session: Session) -> None:
    try:
        session.rollback()
        if has_writes_to_redo(session):  # network.db.keep_on_rollback: audit of reads, failed logins
            session.commit()
    except Exception:
        log.exception("The audit events of a rolled-back unit of work could not be written")
        try:
            session.rollback()
        except Exception:  # noqa: BLE001 - last-ditch cleanup on a failure path: raising here would replace the
            # error the caller is answering; the connection is gone and the pool replaces it
            session.close()


@contextmanager
def unit_of_work(session: Session | None = None) -> Iterator[Session]:
    """One job run or command: commit when the block ends normally, roll back (keeping the
    audit events of reads and refusals) when it raises, ``SystemExit`` with a non-zero code
    included."""
    session = session if session is not None else db.session
    try:
        yield session
    except SystemExit as exc:
        if exc.code in (None, 0):
            commit(session)
        else:
            rollback(session)
        raise
    except BaseException:
        rollback(session)
        raise
    commit(session)


def command(func: Callable) -> Callable:
    """A Click command that runs in the app context as one unit of work (``with_appcontext``
    plus :func:`unit_of_work`). A database that refuses the work (a lock, a constraint, a full
    disk) ends the command with one line saying so, not a traceback."""

    @functools.wraps(func)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            with unit_of_work():
                return func(*args, **kwargs)
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            name = click.get_current_context().info_name
            raise click.ClickException(f"{name} afgebroken, er is niets opgeslagen: {reason}") from None

    return with_appcontext(wrapped)


# -- requests ----------------------------------------------------------------------------

def after_request_unit(callback: Callable[[bool], None]) -> None:
    """Call ``callback(committed)`` once this request's unit of work has ended."""
    request.environ.setdefault(_CALLBACKS, []).append(callback)


def end_request(response: Response) -> Response:
    """The commit point of a request: commit below 400, roll back from 400 on. A commit the
    database refuses (a unique index, a stale row, a full disk) is answered as that error is
    anywhere else (409, 412, 503), by the app's own error handlers."""
    # kept on the request, not on ``g``: a test (or a job) that holds an app context open
    # shares its ``g`` with every request made inside it
    if request.environ.get(_ENDED):
        return response  # the error response of a failed commit comes through here again
    request.environ[_ENDED] = True
    committed = response.status_code < 400
    try:
        if db.session.registry.has():
            session = db.session()
            if committed:
                try:
                    commit(session)
                except Exception as exc:  # noqa: BLE001 - answered by the handler of its type
                    committed = False
                    response = current_app.make_response(current_app.handle_user_exception(exc))
                    rollback(session)
            else:
                rollback(session)
            for hook in _AFTER_COMMIT:
                hook(session, response)
    except BaseException:
        committed = False
        raise
    finally:
        for callback in request.environ.pop(_CALLBACKS, ()):
            callback(committed)
    return response


#: ``hook(session, response)`` after every request's unit of work ended (network.outbox
#: delivers what the request enqueued); registered by the modules that need it at import
_AFTER_COMMIT: list[Callable[[Session, Response], None]] = []


def after_request_commit(hook: Callable[[Session, Response], None]) -> None:
    """Run ``hook(session, response)`` after each request's unit of work has ended."""
    if hook not in _AFTER_COMMIT:
        _AFTER_COMMIT.append(hook)


def check_nothing_left(error: BaseException | None = None) -> None:
    """Teardown: a request must not end with changes the commit point did not commit."""
    if not db.session.registry.has():
        return
    session = db.session()
    if not (session.new or session.dirty or session.deleted or session.info.get(_FLUSHED)):
        return
    pending = sorted({type(obj).__name__ for obj in (*session.new, *session.dirty, *session.deleted)})
    session.rollback()
    message = (f"{request.method} {request.path} left changes that its unit of work did not commit "
               f"(pending: {', '.join(pending) or 'flushed rows'}; written after the commit point?)")
    if current_app.testing or current_app.debug:
        raise UncommittedWork(message)
    log.error("%s; rolled back", message)


def init_transactions(app: Flask) -> None:
    """Register the commit point. Call it after every other app-wide ``after_request`` hook is
    registered: Flask runs those in reverse order, so this one runs first, and the hooks that
    add headers (security, request id, API version) see its final answer. None of them writes
    to the database; :func:`check_nothing_left` makes sure of that."""
    app.after_request(end_request)
    app.teardown_request(check_nothing_left)


@event.listens_for(Session, "after_flush")
def _mark_flushed(session: Session, flush_context: Any) -> None:
    session.info[_FLUSHED] = True


@event.listens_for(Session, "after_commit")
def _forget_flushed_on_commit(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_FLUSHED, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_flushed_on_rollback(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_FLUSHED, None)
