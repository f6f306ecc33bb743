"""``schakel doctor``: is this installation ready, and is its background work keeping up? One
line per check, in order: the configuration, the secrets file, the database and its migrations,
Redis, SMTP, the base URL, the scheduler and each job, the outbox and its dead letters, the
audit log's sealing, and the key ids in use against those in the secrets file.

It works without the app. In production ``create_app`` refuses a configuration or secrets file
it cannot use, and that is exactly when an operator runs this; so it reads the settings as the
app does (:func:`network.config.read_config`), judges them with the app's own rules
(:func:`network.config.config_problems`), builds only what each check needs and reports what it
cannot build as a failure. It reads and never writes: no secrets file is generated (the app does
that in development), no database file is created, no e-mail is sent. The background work is read
once, by :func:`network.health.hub_health` (:mod:`network.doctor_hub`).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from network.cli_lang import _, ngettext
from network.config import SECRET_NAMES, config_problems, read_config
from network.crypto import FieldRef, Keyring


class Status(enum.StrEnum):
    ok = "ok"
    fail = "fail"
    #: not configured, or not checkable because a check before it failed
    skip = "skip"


@dataclass
class Check:
    """One line of the report: what was checked, how it went, and what to do when it failed."""

    id: str
    title: str
    status: Status
    detail: str = ""
    hint: str = ""
    #: for ``--json``: counts, names, versions and UTC moments; never a secret
    data: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "status": str(self.status), "detail": self.detail,
                "hint": self.hint, "data": self.data}


def title_of(check_id: str) -> str:
    """The name of a line, in the current language."""
    titles = {"config": _("Configuratie"), "secrets": _("Geheimenbestand"), "database": _("Database"),
              "migrations": _("Migraties"), "redis": "Redis", "smtp": "SMTP", "base_url": _("Basis-URL"),
              "scheduler": _("Planner"), "outbox": _("Uitgaande berichten"),
              "dead_letters": _("Onbestelbare berichten"), "audit": _("Auditlog verzegelen"),
              "keys": _("Sleutels in gebruik")}
    if check_id.startswith("job:"):
        return _("Taak %(job)s", job=check_id.removeprefix("job:"))
    return titles[check_id]


def skipped(reason: str, check_ids: tuple[str, ...]) -> Iterator[Check]:
    """Lines that cannot be checked, saying why."""
    for check_id in check_ids:
        yield Check(check_id, title_of(check_id), Status.skip, reason)


def guarded(check_id: str, work: Callable[[], Check]) -> Check:
    """``work()``, or a failed line naming the error: one check that breaks in a way nobody
    foresaw must not end the report in a traceback."""
    try:
        return work()
    except Exception as exc:  # noqa: BLE001 - the report goes on; this line names what went wrong
        return Check(check_id, title_of(check_id), Status.fail, _("onverwachte fout: %(error)s", error=error_line(exc)),
                     _("Meld deze fout bij de beheerders van Schakel, met deze regel erbij."))


def error_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


#: the lines after the configuration's, in order (the jobs' lines follow the scheduler's)
LATER = ("secrets", "database", "migrations", "redis", "smtp", "base_url", "scheduler", "outbox", "dead_letters",
         "audit", "keys")
#: the lines that read the database
FROM_DATABASE = ("scheduler", "outbox", "dead_letters", "audit", "keys")


def diagnose(instance_path: str, *, overrides: dict[str, Any] | None = None, timeout: float = 5.0,
             now: dt.datetime | None = None) -> Iterator[Check]:
    """The checks, one at a time as each is done (a database that does not answer shows while
    the later lines wait). ``timeout``: seconds for Redis and SMTP; the database waits as long as
    the app does (``DATABASE_CONNECT_TIMEOUT``)."""
    from network.clock import utcnow
    from network.doctor_connections import check_redis, check_smtp, open_database
    from network.doctor_hub import hub_checks
    from network.models_index import import_features

    try:
        config = read_config(instance_path, overrides)
    except Exception as exc:  # noqa: BLE001 - a settings file that does not run, a value that does not parse
        yield Check("config", title_of("config"), Status.fail, error_line(exc),
                    _("Herstel de instelling (omgevingsvariabelen of het bestand in SCHAKEL_CONFIG) en draai "
                      "schakel doctor opnieuw."))
        yield from skipped(_("eerst de configuratie herstellen"), LATER)
        return
    yield guarded("config", lambda: check_config(config))
    secrets_: dict[str, Any] | None = None

    def secrets_line() -> Check:
        nonlocal secrets_
        line, secrets_ = check_secrets(config)
        return line

    yield guarded("secrets", secrets_line)
    import_features()  # every job and every encrypted column is known, as in the app
    with open_database(config) as database:
        yield from database.checks
        yield guarded("redis", lambda: check_redis(config, timeout))
        yield guarded("smtp", lambda: check_smtp(config, timeout))
        yield guarded("base_url", lambda: check_base_url(config))
        if database.session is None:
            yield from skipped(_("de database is niet bereikbaar"), FROM_DATABASE)
        else:
            yield from hub_checks(database.session, config, secrets_, now or utcnow(),
                                  schema_current=database.schema_current)


# -- configuration ---------------------------------------------------------------------------

#: problems that another line reports (the secrets file's, the base URL's)
_ELSEWHERE = {"SECRETS", "BASE_URL"}


def _problem_text(setting: str, message: str, config: dict[str, Any]) -> str:
    if setting == "SCHAKEL_ENV":
        return _("SCHAKEL_ENV moet development, production of testing zijn, niet %(value)s",
                 value=repr(config["SCHAKEL_ENV"]))
    if setting == "MAIL_BACKEND":
        return _("MAIL_BACKEND=mailbox is voor ontwikkeling; gebruik smtp in productie")
    return message


def check_config(config: dict[str, Any]) -> Check:
    """The app's own validation (the production rules included), without the secrets and the base
    URL, which have lines of their own."""
    title = title_of("config")
    problems = [_problem_text(p.setting, p.message, config)
                for p in config_problems({**config, "SECRETS": {}}) if p.setting not in _ELSEWHERE]
    environment = config["SCHAKEL_ENV"]
    data = {"environment": environment, "config_file": os.environ.get("SCHAKEL_CONFIG") or None}
    if problems:
        return Check("config", title, Status.fail, "; ".join(problems),
                     _("Pas de instelling aan in /etc/schakel/env (of waar de omgeving vandaan komt) en herstart de "
                       "hub; de README, Configuration, noemt elke instelling."), data)
    notes = [_("omgeving %(env)s", env=environment)]
    production = environment == "production"
    if production and config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        notes.append(_("productie op SQLite: alleen voor één kleine regio op één machine"))
    if production and config.get("WEBHOOK_ALLOW_PRIVATE"):
        notes.append(_("WEBHOOK_ALLOW_PRIVATE staat aan: webhooks kunnen het eigen netwerk bereiken"))
    return Check("config", title, Status.ok, "; ".join(notes), data=data)


# -- the secrets file ------------------------------------------------------------------------

def check_secrets(config: dict[str, Any]) -> tuple[Check, dict[str, Any] | None]:
    """The secrets file: there, readable by its owner only, complete, and every key in it usable
    (each field key encrypts and decrypts, each signing key signs and verifies). Returns the line
    and the secrets as read (None when there are none to compare the stored key ids with)."""
    title = title_of("secrets")
    if config.get("SECRETS"):  # set in the SCHAKEL_CONFIG file itself, not in a file of their own
        secrets_, path, problems = config["SECRETS"], None, []
    else:
        path = Path(config["SECRETS_FILE"]).expanduser()
        if not path.is_file():
            where = (_("gezocht op de plek die SCHAKEL_SECRETS_FILE noemt") if os.environ.get("SCHAKEL_SECRETS_FILE")
                     else _("de standaardplek; SCHAKEL_SECRETS_FILE wijst een andere aan"))
            return Check("secrets", title, Status.fail, _("%(path)s bestaat niet (%(where)s)", path=str(path),
                                                          where=where),
                         _("Maak het met: schakel init-secrets --path %(path)s (in ontwikkeling maakt de hub het "
                           "bij de eerste start). Hoort er al een te zijn? Zet het terug uit de back-up.",
                           path=str(path)), {"path": str(path)}), None
        problems = _file_problems(path)
        try:
            secrets_ = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            problems.append((_("niet te lezen als JSON: %(error)s", error=error_line(exc)),
                             _("Draai schakel doctor als de gebruiker van de hub, en zet een beschadigd bestand "
                               "terug uit de back-up.")))
            secrets_ = None
        if secrets_ is not None and not isinstance(secrets_, dict):
            problems.append((_("geen JSON-object"), _("Zet het bestand terug uit de back-up.")))
            secrets_ = None
    if secrets_ is not None:
        problems += _key_problems(secrets_)
    data = {"path": str(path) if path else None, **_key_ids(secrets_)}
    if problems:
        hints = list(dict.fromkeys(hint for _problem, hint in problems))
        return Check("secrets", title, Status.fail, "; ".join(problem for problem, _hint in problems),
                     " ".join(hints), data), secrets_
    where = str(path) if path else _("de instellingen (SECRETS)")
    keys = _("%(field)s en %(signing)s",
             field=ngettext("%(num)d veldsleutel", "%(num)d veldsleutels", len(data["field_keys"])),
             signing=ngettext("%(num)d ondertekeningssleutel", "%(num)d ondertekeningssleutels",
                              len(data["signing_keys"])))
    data["metrics_token"] = bool(secrets_ and secrets_.get("metrics_token"))
    metrics = (_("metrics-token ingesteld") if data["metrics_token"]
               else _("geen metrics-token: /metrics staat uit (schakel keys metrics-token)"))
    return Check("secrets", title, Status.ok, _("%(where)s: %(keys)s, alle bruikbaar; %(metrics)s", where=where,
                                                 keys=keys, metrics=metrics), data=data), secrets_


def _file_problems(path: Path) -> list[tuple[str, str]]:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        shown = format(mode, "04o")
        return [(_("modus %(mode)s: ook leesbaar voor anderen dan de eigenaar", mode=shown),
                 _("chmod 600 %(path)s", path=str(path)))]
    return []


def _key_ids(secrets_: dict[str, Any] | None) -> dict[str, Any]:
    secrets_ = secrets_ or {}
    field_keys = secrets_.get("field_keys") if isinstance(secrets_.get("field_keys"), dict) else {}
    signing_keys = secrets_.get("signing_keys") if isinstance(secrets_.get("signing_keys"), dict) else {}
    return {"field_keys": sorted(field_keys), "field_key_current": secrets_.get("field_key_current"),
            "signing_keys": sorted(signing_keys), "signing_key_current": secrets_.get("signing_key_current")}


def _key_problems(secrets_: dict[str, Any]) -> list[tuple[str, str]]:
    """The app's rules for the file's content (:func:`network.config.config_problems`: every
    secret there, the current key ids present), then every key tried as the app uses it."""
    restore = _("Zet het geheimenbestand terug uit de back-up (het bestand dat bij deze database hoort).")
    missing = [name for name in SECRET_NAMES if not secrets_.get(name)]
    if missing:
        return [(_("ontbreekt: %(names)s", names=", ".join(missing)), restore)]
    problems = []
    for current, keys in (("field_key_current", "field_keys"), ("signing_key_current", "signing_keys")):
        if secrets_[current] not in _mapping(secrets_[keys]):
            problems.append((_("%(current)s %(kid)s staat niet in %(keys)s", current=current, kid=secrets_[current],
                               keys=keys), restore))
    for kid, key in _mapping(secrets_["field_keys"]).items():
        if not _field_key_works(kid, key):
            problems.append((_("veldsleutel %(kid)s werkt niet (geen 256-bits AES-sleutel in base64)", kid=kid),
                             restore))
    for kid, key in _mapping(secrets_["signing_keys"]).items():
        if not _signing_key_works(kid, key):
            problems.append((_("ondertekeningssleutel %(kid)s werkt niet (geen Ed25519-sleutel in base64)", kid=kid),
                             restore))
    if not _blind_index_key_works(secrets_["blind_index_key"]):
        problems.append((_("blind_index_key is geen base64"), restore))
    return problems


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _only(field_keys: dict[str, Any] | None = None, signing_keys: dict[str, Any] | None = None) -> Keyring:
    """A keyring of the app's own class holding just the keys to try."""
    field_keys, signing_keys = field_keys or {}, signing_keys or {}
    return Keyring({"field_keys": field_keys, "field_key_current": next(iter(field_keys), ""),
                    "blind_index_key": "", "signing_keys": signing_keys,
                    "signing_key_current": next(iter(signing_keys), "")})


def _field_key_works(kid: str, key: Any) -> bool:
    ref = FieldRef("doctor", "check", kid)
    try:
        keyring = _only(field_keys={kid: key})
        return keyring.decrypt(keyring.encrypt("schakel doctor", ref), ref) == "schakel doctor"
    except Exception:  # noqa: BLE001 - whatever a bad key raises (binascii, length, type), the answer is "unusable"
        return False


def _signing_key_works(kid: str, key: Any) -> bool:
    try:
        keyring = _only(signing_keys={kid: key})
        signed_by, signature = keyring.sign(b"schakel doctor")
        return keyring.verify(signed_by, b"schakel doctor", signature)
    except Exception:  # noqa: BLE001 - as above: any failure means the key cannot sign
        return False


def _blind_index_key_works(key: Any) -> bool:
    import base64
    import binascii

    try:
        return bool(base64.b64decode(key, validate=True))
    except (binascii.Error, TypeError, ValueError):
        return False


# -- the base URL ----------------------------------------------------------------------------

def check_base_url(config: dict[str, Any]) -> Check:
    """The public address: a web address, and https in production (the app's own rule)."""
    title = title_of("base_url")
    url = config["BASE_URL"]
    parts = urlsplit(url)
    data = {"url": url, "configured": bool(config.get("BASE_URL_CONFIGURED"))}
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return Check("base_url", title, Status.fail, _("%(url)s is geen webadres", url=url),
                     _("Zet SCHAKEL_BASE_URL op het adres waaronder de hub bereikbaar is, zoals "
                       "https://schakel.regio.example."), data)
    if any(problem.setting == "BASE_URL" for problem in config_problems({**config, "SECRETS": {}})):
        return Check("base_url", title, Status.fail, _("%(url)s: in productie moet het adres met https:// beginnen",
                                                       url=url),
                     _("Zet SCHAKEL_BASE_URL op het https://-adres van de hub; de proxy ervoor verzorgt TLS."), data)
    if not data["configured"]:
        return Check("base_url", title, Status.ok, _("%(url)s (niet ingesteld: de standaard voor ontwikkeling)",
                                                     url=url), data=data)
    return Check("base_url", title, Status.ok, url, data=data)
