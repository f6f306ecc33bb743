"""Configuration: defaults, then an optional Python file named by ``SCHAKEL_CONFIG``, then
environment variables, then the dict a caller (a test) passes, then validation.

Secrets never have defaults. In development the first run writes instance-local secrets
(``instance/secrets.json``, mode 0600); in production the app refuses to start without a
complete secrets file.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

log = logging.getLogger(__name__)

ENVIRONMENTS = ("development", "production", "testing")


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says what to fix."""


def _env_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _env_bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


#: name -> (environment variable, parser). Documented in README.md, "Configuration".
ENV_SETTINGS: dict[str, tuple[str, Any]] = {
    "SCHAKEL_ENV": ("SCHAKEL_ENV", str),
    "SQLALCHEMY_DATABASE_URI": ("DATABASE_URL", str),
    "SECRETS_FILE": ("SCHAKEL_SECRETS_FILE", str),
    "BASE_URL": ("SCHAKEL_BASE_URL", str),
    "RATELIMIT_STORAGE_URI": ("REDIS_URL", str),
    "MAIL_BACKEND": ("MAIL_BACKEND", str),
    "MAIL_FROM": ("MAIL_FROM", str),
    "SMTP_HOST": ("SMTP_HOST", str),
    "SMTP_PORT": ("SMTP_PORT", int),
    "SMTP_USER": ("SMTP_USER", str),
    "SMTP_PASSWORD": ("SMTP_PASSWORD", str),
    "SMTP_STARTTLS": ("SMTP_STARTTLS", _env_bool),
    "MFA_REQUIRED_ROLES": ("MFA_REQUIRED_ROLES", _env_list),
    "SESSION_IDLE_MINUTES": ("SESSION_IDLE_MINUTES", int),
    "SESSION_MAX_HOURS": ("SESSION_MAX_HOURS", int),
    "LOGIN_MAX_FAILURES": ("LOGIN_MAX_FAILURES", int),
    "LOGIN_LOCKOUT_MINUTES": ("LOGIN_LOCKOUT_MINUTES", int),
    "LOGIN_RATE_LIMIT": ("LOGIN_RATE_LIMIT", str),
    "VERIFY_RATE_LIMIT": ("VERIFY_RATE_LIMIT", str),
    "TOKEN_RATE_LIMIT": ("TOKEN_RATE_LIMIT", str),
    "DATABASE_CONNECT_TIMEOUT": ("DATABASE_CONNECT_TIMEOUT", int),
    "API_CLIENT_RATE_LIMIT": ("API_CLIENT_RATE_LIMIT", str),
    "PASSWORD_MIN_LENGTH": ("PASSWORD_MIN_LENGTH", int),
    "ARGON2_MAX_CONCURRENT": ("ARGON2_MAX_CONCURRENT", int),
    "PROXY_HOPS": ("SCHAKEL_PROXY_HOPS", int),
    "AUDIT_SEAL_INTERVAL_SECONDS": ("AUDIT_SEAL_INTERVAL_SECONDS", int),
    "AUDIT_VERIFY_GRACE_SECONDS": ("AUDIT_VERIFY_GRACE_SECONDS", int),
    "AUDIT_CHECKPOINT_FILE": ("AUDIT_CHECKPOINT_FILE", str),
    "AUDIT_CHECKPOINT_SYSLOG": ("AUDIT_CHECKPOINT_SYSLOG", str),
    "OUTBOX_INTERVAL_SECONDS": ("OUTBOX_INTERVAL_SECONDS", int),
    "SCHEDULER_HEARTBEAT_SECONDS": ("SCHEDULER_HEARTBEAT_SECONDS", int),
    "OUTBOX_LAG_MINUTES": ("OUTBOX_LAG_MINUTES", int),
    "AUDIT_SEAL_LAG_MINUTES": ("AUDIT_SEAL_LAG_MINUTES", int),
    "SOCIALMAP_VERIFY_DAYS": ("SOCIALMAP_VERIFY_DAYS", int),
    "PLACEMENT_ASSESSMENT_LINK_DAYS": ("PLACEMENT_ASSESSMENT_LINK_DAYS", int),
    "IDEMPOTENCY_HOURS": ("IDEMPOTENCY_HOURS", int),
    "WEBHOOK_ALLOW_HTTP": ("WEBHOOK_ALLOW_HTTP", _env_bool),
    "WEBHOOK_ALLOW_PRIVATE": ("WEBHOOK_ALLOW_PRIVATE", _env_bool),
    "LOG_FORMAT": ("LOG_FORMAT", str),
}


def default_config(instance_path: str) -> dict[str, Any]:
    """The settings every deployment starts from; none of them is a secret."""
    return {
        "SCHAKEL_ENV": "development",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(instance_path) / 'schakel.db'}",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # seconds to wait for a PostgreSQL connection before the request fails with 503
        "DATABASE_CONNECT_TIMEOUT": 5,
        "SECRETS_FILE": str(Path(instance_path) / "secrets.json"),
        "BASE_URL": "http://127.0.0.1:5000",
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "MAIL_BACKEND": "mailbox",
        "MAIL_FROM": "Schakel <noreply@schakel.localhost>",
        "SMTP_HOST": "localhost",
        "SMTP_PORT": 25,
        "SMTP_USER": "",
        "SMTP_PASSWORD": "",  # nosec B105 # empty: no SMTP login unless the operator sets one
        "SMTP_STARTTLS": False,
        "MFA_REQUIRED_ROLES": ["hub_admin", "coordinator"],
        "SESSION_IDLE_MINUTES": 30,
        "SESSION_MAX_HOURS": 12,
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_LOCKOUT_MINUTES": 15,
        "LOGIN_RATE_LIMIT": "20 per minute",
        # the public verification of signed agreements (/controle, its API): codes must not be guessed
        "VERIFY_RATE_LIMIT": "60 per minute",
        # partner systems: the token endpoint per source address, the API per client
        "TOKEN_RATE_LIMIT": "30 per minute",  # nosec B105 # a rate limit, not a token
        "API_CLIENT_RATE_LIMIT": "1200 per minute",
        # how long the answer to a POST with an Idempotency-Key is kept (and replayed)
        "IDEMPOTENCY_HOURS": 24,
        "PASSWORD_MIN_LENGTH": 12,  # nosec B105 # password policy, not a password
        "PASSWORD_RESET_HOURS": 1,  # nosec B105 # password policy, not a password
        # argon2id, RFC 9106 second recommended option (t=3, 64 MiB)
        "ARGON2_TIME_COST": 3,
        "ARGON2_MEMORY_COST": 65536,
        # password hashes computed at once per process: each takes ARGON2_MEMORY_COST KiB, so
        # a burst of logins on a worker's threads stays at one hash's memory, not one per thread
        "ARGON2_MAX_CONCURRENT": 1,
        "PROXY_HOPS": 0,
        "AUDIT_SEAL_INTERVAL_SECONDS": 60,
        "AUDIT_SEAL_BATCH": 5000,
        # how late sealing may be before verify calls it a problem; None: twice the interval
        "AUDIT_VERIFY_GRACE_SECONDS": None,
        # where each signed checkpoint is also written, after commit: a file (JSON lines,
        # appended) and/or syslog ("/dev/log", "host:514"); keep them off the database's box
        "AUDIT_CHECKPOINT_FILE": "",
        "AUDIT_CHECKPOINT_SYSLOG": "",
        "OUTBOX_INTERVAL_SECONDS": 30,
        "OUTBOX_MAX_ATTEMPTS": 8,
        # the scheduler renews its heartbeat this often; twice this without one is "scheduler down"
        "SCHEDULER_HEARTBEAT_SECONDS": 30,
        # the dashboards, /metrics and `schakel doctor` warn when the oldest e-mail or webhook
        # waits longer than this, or when audit events wait this long for a signed checkpoint
        "OUTBOX_LAG_MINUTES": 15,
        "AUDIT_SEAL_LAG_MINUTES": 5,
        # webhook targets: plain http and private, loopback or link-local addresses; None means
        # "allowed in development and testing only" (set in _validate from SCHAKEL_ENV)
        "WEBHOOK_ALLOW_HTTP": None,
        "WEBHOOK_ALLOW_PRIVATE": None,
        # sociale kaart entries not verified for this long are flagged and their contact asked
        "SOCIALMAP_VERIFY_DAYS": 180,
        "SOCIALMAP_LINK_DAYS": 30,
        # how long the praktijkopleider's personal assessment link works (issue 19, item 4)
        "PLACEMENT_ASSESSMENT_LINK_DAYS": 30,
        # "text" (a line per record) or "json" (one JSON object per line, for a log stack)
        "LOG_FORMAT": "text",
        "LANGUAGES": ["nl", "en"],
        "BABEL_DEFAULT_LOCALE": "nl",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Amsterdam",
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "API_TITLE": "Schakel API",
        "API_VERSION": "1.0.0",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
    }


def load_config(instance_path: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the validated configuration dict for :func:`network.create_app`."""
    config = read_config(instance_path, overrides)
    _load_secrets(config)
    _validate(config)
    return config


def read_config(instance_path: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The settings before the secrets are read and the whole is validated: defaults, the
    ``SCHAKEL_CONFIG`` file, the environment, ``overrides``. ``schakel doctor`` starts here, so it
    can report on a configuration the app would refuse (and never writes a secrets file)."""
    config = default_config(instance_path)
    # whether the operator named the public address is known only before the default fills it in
    default_base_url = config.pop("BASE_URL")
    pyfile = os.environ.get("SCHAKEL_CONFIG")
    if pyfile:
        namespace: dict[str, Any] = {}
        # the operator's own Python file (like Flask's from_pyfile), trusted as the code is: whoever
        # sets SCHAKEL_CONFIG can already run code as the hub
        code = compile(Path(pyfile).read_text(), pyfile, "exec")
        exec(code, namespace)  # nosec B102 # the operator's own config file
        config.update({k: v for k, v in namespace.items() if k.isupper()})
    for name, (variable, parse) in ENV_SETTINGS.items():
        if variable in os.environ and os.environ[variable] != "":
            try:
                config[name] = parse(os.environ[variable])
            except ValueError:
                raise ConfigError(f"{variable} must be a whole number, not {os.environ[variable]!r}") from None
    if overrides:
        config.update(overrides)
    #: False: SCHAKEL_BASE_URL is the development default, so what must name the hub's own address
    #: to a client (the OpenAPI document) takes the address the request came to
    config.setdefault("BASE_URL_CONFIGURED", "BASE_URL" in config)
    config.setdefault("BASE_URL", default_base_url)
    if config.get("TESTING"):
        config.setdefault("SCHAKEL_ENV", "testing")
        if config["SCHAKEL_ENV"] == "development":
            config["SCHAKEL_ENV"] = "testing"
    _normalise_database_url(config)
    return config


def _normalise_database_url(config: dict[str, Any]) -> None:
    url: str = config["SQLALCHEMY_DATABASE_URI"]
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants the driver named.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix):]
    config["SQLALCHEMY_DATABASE_URI"] = url
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if url.startswith("sqlite"):
        options.setdefault("connect_args", {"timeout": 30})
    elif url.startswith("postgresql"):
        # a database host that does not answer fails the request (503) in seconds, not minutes
        options.setdefault("connect_args", {"connect_timeout": int(config.get("DATABASE_CONNECT_TIMEOUT", 5))})
    else:
        # the full-text search, the audit chain's verification and the migrations are written for
        # these two; another engine would fail later, in the middle of something
        scheme = url.split(":", 1)[0]
        raise ConfigError(f"DATABASE_URL must be a PostgreSQL or SQLite URL, not {scheme}:")
    config["SQLALCHEMY_ENGINE_OPTIONS"] = options


SECRET_NAMES = ("secret_key", "field_keys", "field_key_current", "blind_index_key",
                "signing_keys", "signing_key_current")
#: the bearer token of ``/metrics``; optional (without it the endpoint is off), added to an older
#: secrets file by ``schakel keys metrics-token``
METRICS_TOKEN = "metrics_token"  # nosec B105 # the name of a secrets-file entry, not a secret
METRICS_TOKEN_MIN_LENGTH = 32


def new_metrics_token() -> str:
    """A fresh bearer token for ``/metrics`` (256 bits)."""
    return secrets.token_urlsafe(32)


def generate_secrets() -> dict[str, Any]:
    """A fresh, complete set of instance secrets (used in development and by tests)."""
    signing = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    field_kid = "f" + secrets.token_hex(4)
    signing_kid = "s" + secrets.token_hex(4)
    return {
        "secret_key": secrets.token_urlsafe(48),
        "field_keys": {field_kid: base64.b64encode(secrets.token_bytes(32)).decode()},
        "field_key_current": field_kid,
        "blind_index_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "signing_keys": {signing_kid: base64.b64encode(signing).decode()},
        "signing_key_current": signing_kid,
        METRICS_TOKEN: new_metrics_token(),
    }


def write_secrets_file(path: Path, data: dict[str, Any]) -> None:
    """Write the secrets file atomically with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _load_secrets(config: dict[str, Any]) -> None:
    if config.get("SECRETS"):
        return  # given directly (tests)
    path = Path(config["SECRETS_FILE"])
    if not path.exists():
        if config["SCHAKEL_ENV"] == "production":
            raise ConfigError(
                f"Secrets file {path} is missing. Create it with `schakel init-secrets --path {path}` "
                "and keep it outside the repository (see README, Configuration).")
        write_secrets_file(path, generate_secrets())
        log.warning("Generated development secrets in %r (mode 0600)", str(path))
    if config["SCHAKEL_ENV"] == "production" and path.stat().st_mode & 0o077:
        raise ConfigError(f"Secrets file {path} is readable by others; chmod 600 it.")
    config["SECRETS"] = json.loads(path.read_text())


def _metrics_token_ok(token: Any) -> bool:
    """Absent is fine (``/metrics`` is off); a short or typed-in one is not."""
    return token is None or (isinstance(token, str) and len(token) >= METRICS_TOKEN_MIN_LENGTH)


@dataclass(frozen=True)
class ConfigProblem:
    """One reason the app refuses a configuration: the setting it is about (``SECRETS`` for the
    secrets file's content) and what to fix."""

    setting: str
    message: str


def config_problems(config: dict[str, Any]) -> list[ConfigProblem]:
    """Every reason :func:`load_config` would refuse ``config`` (its ``SECRETS`` read already),
    in the order it checks them; the app stops at the first, ``schakel doctor`` reports all."""
    found: list[ConfigProblem] = []
    if config["SCHAKEL_ENV"] not in ENVIRONMENTS:
        found.append(ConfigProblem(
            "SCHAKEL_ENV", f"SCHAKEL_ENV must be one of {ENVIRONMENTS}, not {config['SCHAKEL_ENV']!r}"))
    secrets_ = config.get("SECRETS") or {}
    missing = [name for name in SECRET_NAMES if not secrets_.get(name)]
    if missing:
        found.append(ConfigProblem("SECRETS", f"Secrets file lacks: {', '.join(missing)}"))
    else:
        if secrets_["field_key_current"] not in secrets_["field_keys"]:
            found.append(ConfigProblem("SECRETS", "field_key_current names no key in field_keys"))
        if secrets_["signing_key_current"] not in secrets_["signing_keys"]:
            found.append(ConfigProblem("SECRETS", "signing_key_current names no key in signing_keys"))
        if not _metrics_token_ok(secrets_.get(METRICS_TOKEN)):
            found.append(ConfigProblem("SECRETS", f"{METRICS_TOKEN} in the secrets file must be at least "
                                       f"{METRICS_TOKEN_MIN_LENGTH} characters; make a new one with "
                                       "`schakel keys metrics-token --rotate`"))
    if config["SCHAKEL_ENV"] == "production":
        if not config["BASE_URL"].startswith("https://"):
            found.append(ConfigProblem("BASE_URL", "SCHAKEL_BASE_URL must be an https:// URL in production"))
        if config["MAIL_BACKEND"] == "mailbox":
            found.append(ConfigProblem("MAIL_BACKEND",
                                       "MAIL_BACKEND=mailbox is for development; use smtp in production"))
    return found


def _validate(config: dict[str, Any]) -> None:
    problems = config_problems(config)
    if problems:
        raise ConfigError(problems[0].message)
    secrets_ = config["SECRETS"]
    config["SECRET_KEY"] = secrets_["secret_key"]
    if config["LOG_FORMAT"] not in ("text", "json"):
        raise ConfigError(f"LOG_FORMAT must be text or json, not {config['LOG_FORMAT']!r}")
    production = config["SCHAKEL_ENV"] == "production"
    if production and config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") \
            and not config.get("ALLOW_SQLITE_IN_PRODUCTION"):
        log.warning("Running production on SQLite: fine for one small region on one host only")
    for name in ("WEBHOOK_ALLOW_HTTP", "WEBHOOK_ALLOW_PRIVATE"):
        if config.get(name) is None:
            config[name] = not production
    if production and config["WEBHOOK_ALLOW_PRIVATE"]:
        log.warning("WEBHOOK_ALLOW_PRIVATE is on: webhooks may reach this host's own network")
    config["DEBUG"] = False if production else config.get("DEBUG", False)
    # Cookies: __Host- prefix and Secure over https; Lax keeps top-level links from e-mail working.
    config["SESSION_COOKIE_NAME"] = "__Host-schakel" if production else "schakel"
    config["SESSION_COOKIE_SECURE"] = production
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config["SESSION_COOKIE_PATH"] = "/"
    config["REMEMBER_COOKIE_DURATION"] = 0
