"""The lines of ``schakel doctor`` that reach another server: the database (reachable within
the app's connect timeout, its migrations, its version), Redis when the rate limits live there,
and the SMTP relay when mail goes out through one (connect, STARTTLS, log in; never send).
Each ends in a line, never a traceback (:mod:`network.doctor`)."""

from __future__ import annotations

import smtplib
import sqlite3
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Connection, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from network.cli_lang import _, ngettext
from network.doctor import Check, Status, error_line, guarded, title_of

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: generated columns (the sociale kaart's search) need PostgreSQL 12
POSTGRESQL_MINIMUM = (12,)


@dataclass
class Database:
    """What the later lines read through: a session, or None when the database is out of reach."""

    checks: list[Check] = field(default_factory=list)
    session: Session | None = None
    #: the schema is at the newest migration (a line that fails on an older one says so)
    schema_current: bool = False


@contextmanager
def open_database(config: dict[str, Any]) -> Iterator[Database]:
    """Connect as the app does (its URL, engine options and connect timeout); the lines for the
    database and its migrations, and a read-only use of it for the lines after."""
    database = Database()
    url = make_url(config["SQLALCHEMY_DATABASE_URI"])
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not Path(url.database).is_file():
        database.checks += [Check("database", title_of("database"), Status.fail,
                                  _("het databasebestand %(path)s bestaat niet", path=url.database),
                                  _("schakel db upgrade maakt het aan; staat DATABASE_URL goed?"), {"url": shown}),
                            Check("migrations", title_of("migrations"), Status.skip, _("geen database"))]
        yield database
        return
    engine = create_engine(url, **config["SQLALCHEMY_ENGINE_OPTIONS"])
    started = time.monotonic()
    try:
        connection = engine.connect()
    except SQLAlchemyError as exc:
        engine.dispose()
        waited = round(time.monotonic() - started, 1)
        database.checks += [
            Check("database", title_of("database"), Status.fail,
                  _("%(url)s antwoordt niet (na %(seconds)s s): %(error)s", url=shown, seconds=waited,
                    error=error_line(exc)),
                  _("Draait de databaseserver, klopt DATABASE_URL, en mag deze machine hem bereiken (firewall, "
                    "pg_hba.conf)? Er wordt %(timeout)s s gewacht (DATABASE_CONNECT_TIMEOUT).",
                    timeout=config.get("DATABASE_CONNECT_TIMEOUT")), {"url": shown, "seconds": waited}),
            Check("migrations", title_of("migrations"), Status.skip, _("de database is niet bereikbaar"))]
        yield database
        return
    try:
        database.checks.append(guarded("database", lambda: _reached(connection, shown)))
        migrations = guarded("migrations", lambda: check_migrations(connection))
        connection.rollback()
        database.checks.append(migrations)
        database.schema_current = migrations.status is Status.ok
        with Session(bind=connection) as session:
            database.session = session
            yield database
            session.rollback()  # the doctor reads; nothing of its to keep
    finally:
        connection.close()
        engine.dispose()


def _reached(connection: Connection, shown: str) -> Check:
    title = title_of("database")
    if connection.dialect.name == "sqlite":
        return Check("database", title, Status.ok, _("SQLite %(version)s, %(url)s", version=sqlite3.sqlite_version,
                                                     url=shown),
                     data={"url": shown, "engine": "sqlite", "version": sqlite3.sqlite_version})
    version = connection.dialect.server_version_info or ()
    shown_version = ".".join(map(str, version))
    data = {"url": shown, "engine": connection.dialect.name, "version": shown_version}
    if version < POSTGRESQL_MINIMUM:
        return Check("database", title, Status.fail,
                     _("PostgreSQL %(version)s is te oud; Schakel vraagt minstens %(minimum)s", version=shown_version,
                       minimum=POSTGRESQL_MINIMUM[0]),
                     _("Zet de database over naar een ondersteunde PostgreSQL (schakel backup, dan restore)."), data)
    return Check("database", title, Status.ok, _("PostgreSQL %(version)s, %(url)s", version=shown_version,
                                                 url=shown), data=data)


def check_migrations(connection: Connection) -> Check:
    """The schema against the newest revision in this code (as ``/readyz`` checks it)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    title = title_of("migrations")
    script = ScriptDirectory(str(MIGRATIONS))
    heads = tuple(script.get_heads())
    current = tuple(MigrationContext.configure(connection).get_current_heads())
    data = {"current": list(current), "head": list(heads)}
    upgrade = _("Draai schakel db upgrade (met de hub gestopt of na een back-up, zoals de README beschrijft).")
    if set(current) == set(heads):
        return Check("migrations", title, Status.ok, _("bij de nieuwste (%(head)s)", head=", ".join(heads)),
                     data=data)
    if not current:
        return Check("migrations", title, Status.fail, _("er zijn nog geen migraties uitgevoerd (een lege database?)"),
                     upgrade, data)
    try:
        behind = len([rev for rev in script.iterate_revisions(heads, current) if rev.revision not in current])
    except CommandError:
        return Check("migrations", title, Status.fail,
                     _("de database staat op %(current)s, een versie die deze code niet kent (een nieuwere release?)",
                       current=", ".join(current)),
                     _("Gebruik de release van Schakel die bij deze database hoort."), data)
    data["behind"] = behind
    return Check("migrations", title, Status.fail,
                 ngettext("%(num)d migratie achter: op %(current)s, de nieuwste is %(head)s",
                          "%(num)d migraties achter: op %(current)s, de nieuwste is %(head)s", behind,
                          current=", ".join(current), head=", ".join(heads)), upgrade, data)


def _redacted(uri: str) -> str:
    """``uri`` without its password."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + netloc))


def check_redis(config: dict[str, Any], timeout: float) -> Check:
    """Redis answers a PING, when the rate limits are kept there (``REDIS_URL``)."""
    title = title_of("redis")
    uri = str(config.get("RATELIMIT_STORAGE_URI") or "")
    scheme = uri.split(":", 1)[0]
    if scheme not in ("redis", "rediss", "redis+unix"):
        detail = (_("niet ingesteld (REDIS_URL): elk proces telt de snelheidslimieten zelf")
                  if scheme == "memory" else _("%(uri)s wordt niet gecontroleerd", uri=_redacted(uri)))
        return Check("redis", title, Status.skip, detail, data={"uri": _redacted(uri)})
    import redis

    shown = _redacted(uri)
    client = redis.Redis.from_url(uri.replace("redis+unix://", "unix://", 1), socket_connect_timeout=timeout,
                                  socket_timeout=timeout)
    started = time.monotonic()
    try:
        client.ping()
    except redis.RedisError as exc:
        return Check("redis", title, Status.fail,
                     _("%(uri)s antwoordt niet (na %(seconds)s s): %(error)s", uri=shown,
                       seconds=round(time.monotonic() - started, 1), error=error_line(exc)),
                     _("Draait Redis, en klopt REDIS_URL (adres, poort, wachtwoord)? Zonder Redis weigert de hub "
                       "inlogpogingen en API-verzoeken niet meer op tijd."), {"uri": shown})
    finally:
        client.close()
    return Check("redis", title, Status.ok, _("%(uri)s antwoordt", uri=shown), data={"uri": shown})


def check_smtp(config: dict[str, Any], timeout: float) -> Check:
    """The SMTP relay, when mail goes out through one: connect, STARTTLS when set (the
    certificate checked, as the outbox does), log in when a user is set. Sends nothing."""
    title = title_of("smtp")
    if config["MAIL_BACKEND"] != "smtp":
        return Check("smtp", title, Status.skip, _("MAIL_BACKEND=%(backend)s: er gaat geen e-mail via SMTP",
                                                   backend=config["MAIL_BACKEND"]))
    host, port = config["SMTP_HOST"], int(config["SMTP_PORT"])
    starttls, user = bool(config.get("SMTP_STARTTLS")), config.get("SMTP_USER") or ""
    data = {"host": host, "port": port, "starttls": starttls, "login": bool(user)}
    steps = [_("verbonden")]
    started = time.monotonic()
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            smtp.ehlo()
            if starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
                steps.append("STARTTLS")
            if user:
                smtp.login(user, config.get("SMTP_PASSWORD") or "")
                steps.append(_("ingelogd als %(user)s", user=user))
            smtp.noop()
    except (OSError, smtplib.SMTPException) as exc:
        return Check("smtp", title, Status.fail,
                     _("%(host)s:%(port)s: %(error)s (na %(seconds)s s)", host=host, port=port, error=error_line(exc),
                       seconds=round(time.monotonic() - started, 1)),
                     _("Controleer SMTP_HOST, SMTP_PORT, SMTP_STARTTLS en de login (SMTP_USER, SMTP_PASSWORD), en of "
                       "de mailserver deze machine toelaat. Tot dan blijven e-mails in de wachtrij."), data)
    return Check("smtp", title, Status.ok, f"{host}:{port}: " + ", ".join(steps), data=data)
