"""Server-side browser sessions in our own table (``web_session``).

Why not Flask-Session's SQLAlchemy backend: it commits the request's shared database session
when it saves (breaking one-transaction-per-request) and creates its table outside the
migrations. This interface is small and uses its own connection, so saving the session never
commits or rolls back the request's work.

The cookie holds a random id (256 bits); the table holds its SHA-256, so a copy of the table
cannot be replayed as cookies. Sessions expire after an idle period and an absolute lifetime,
and :func:`revoke_account_sessions` ends every session of an account (password change,
deactivation).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session
from werkzeug.datastructures import CallbackDict

from network.clock import utcnow
from network.crypto import token_hash
from network.db import db
from network.models import WebSession

_TOUCH_EVERY = dt.timedelta(seconds=60)


class ServerSession(CallbackDict, SessionMixin):
    def __init__(self, initial=None, sid: str | None = None, new: bool = True,
                 account_id: int | None = None, created_at: dt.datetime | None = None):
        def on_update(self):
            self.modified = True

        super().__init__(initial, on_update)
        self.sid = sid
        self.new = new
        self.modified = False
        self.regenerated_from: str | None = None
        self.stored_account_id = account_id
        self.created_at = created_at
        self.last_seen_at: dt.datetime | None = None
        self.destroyed = False

    def regenerate(self) -> None:
        """Give the session a new id (at login: ASVS 7.2.4), dropping the old row."""
        if self.sid and not self.new:
            self.regenerated_from = self.sid
        self.sid = None
        self.new = True
        self.modified = True

    def destroy(self) -> None:
        """End the session here and on the server (logout)."""
        self.clear()
        self.destroyed = True
        self.modified = True


class ServerSessionInterface(SessionInterface):
    def _limits(self, app: Flask) -> tuple[dt.timedelta, dt.timedelta]:
        return (dt.timedelta(minutes=app.config["SESSION_IDLE_MINUTES"]),
                dt.timedelta(hours=app.config["SESSION_MAX_HOURS"]))

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        sid = request.cookies.get(self.get_cookie_name(app))
        if not sid or len(sid) > 100:
            return ServerSession()
        idle, absolute = self._limits(app)
        now = utcnow()
        with db.engine.connect() as conn:
            row = conn.execute(select(WebSession.__table__).where(WebSession.id == token_hash(sid))).first()
        if row is None:
            return ServerSession()
        created = _aware(row.created_at)
        last_seen = _aware(row.last_seen_at)
        if _aware(row.expires_at) <= now or last_seen + idle <= now or created + absolute <= now:
            self._delete(token_hash(sid))
            return ServerSession()
        session = ServerSession(json.loads(row.data), sid=sid, new=False,
                                account_id=row.account_id, created_at=created)
        session.last_seen_at = last_seen
        return session

    def save_session(self, app: Flask, session: ServerSession, response: Response) -> None:
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        if session.regenerated_from:
            self._delete(token_hash(session.regenerated_from))
        if session.destroyed or (not session and not session.new and session.modified):
            if session.sid:
                self._delete(token_hash(session.sid))
            response.delete_cookie(name, domain=domain, path=path,
                                   secure=self.get_cookie_secure(app), httponly=True,
                                   samesite=self.get_cookie_samesite(app))
            return
        if not session:
            return  # nothing to keep: no row, no cookie
        idle, absolute = self._limits(app)
        now = utcnow()
        account_id = _account_id(session)
        data = json.dumps(dict(session), separators=(",", ":"), default=str)  # lazy strings
        if session.new or session.sid is None:
            session.sid = secrets.token_urlsafe(32)
            with db.engine.begin() as conn:
                conn.execute(insert(WebSession.__table__).values(
                    id=token_hash(session.sid), account_id=account_id, data=data,
                    created_at=now, last_seen_at=now, expires_at=now + absolute))
        elif session.modified or session.stored_account_id != account_id or (
                session.last_seen_at and now - session.last_seen_at > _TOUCH_EVERY):
            with db.engine.begin() as conn:
                conn.execute(update(WebSession.__table__).where(WebSession.id == token_hash(session.sid))
                             .values(data=data, account_id=account_id, last_seen_at=now))
        response.set_cookie(name, session.sid, max_age=int(min(idle, absolute).total_seconds()),
                            domain=domain, path=path, secure=self.get_cookie_secure(app),
                            httponly=True, samesite=self.get_cookie_samesite(app))

    def _delete(self, sid_hash: str) -> None:
        with db.engine.begin() as conn:
            conn.execute(delete(WebSession.__table__).where(WebSession.id == sid_hash))


def _account_id(session: ServerSession) -> int | None:
    user_id = session.get("_user_id")
    try:
        return int(str(user_id).split(":", 1)[0]) if user_id else None
    except ValueError:
        return None


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def revoke_account_sessions(session: Session, account_id: int) -> int:
    """End every browser session of an account, in the caller's transaction."""
    return session.execute(delete(WebSession).where(WebSession.account_id == account_id)).rowcount


def purge_expired_sessions(session: Session) -> int:
    return session.execute(delete(WebSession).where(WebSession.expires_at <= utcnow())).rowcount
