"""Configuration: no secret defaults; development generates instance secrets, production refuses."""

from __future__ import annotations

import json
import os
import stat

import pytest

from network.config import ConfigError, generate_secrets, load_config, write_secrets_file


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in ("SCHAKEL_ENV", "DATABASE_URL", "SCHAKEL_SECRETS_FILE", "SCHAKEL_BASE_URL", "MAIL_BACKEND",
                 "SCHAKEL_CONFIG"):
        monkeypatch.delenv(name, raising=False)


def test_development_generates_private_secrets(tmp_path):
    config = load_config(str(tmp_path))
    path = tmp_path / "secrets.json"
    assert path.exists()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert config["SECRET_KEY"] == json.loads(path.read_text())["secret_key"]
    again = load_config(str(tmp_path))
    assert again["SECRET_KEY"] == config["SECRET_KEY"]  # kept, not regenerated


def test_production_refuses_without_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("SCHAKEL_ENV", "production")
    monkeypatch.setenv("SCHAKEL_BASE_URL", "https://hub.example")
    monkeypatch.setenv("MAIL_BACKEND", "smtp")
    with pytest.raises(ConfigError, match="missing"):
        load_config(str(tmp_path))
    assert not (tmp_path / "secrets.json").exists()


def test_production_refuses_readable_secrets(tmp_path, monkeypatch):
    path = tmp_path / "s.json"
    write_secrets_file(path, generate_secrets())
    os.chmod(path, 0o644)
    monkeypatch.setenv("SCHAKEL_ENV", "production")
    monkeypatch.setenv("SCHAKEL_SECRETS_FILE", str(path))
    monkeypatch.setenv("SCHAKEL_BASE_URL", "https://hub.example")
    monkeypatch.setenv("MAIL_BACKEND", "smtp")
    with pytest.raises(ConfigError, match="readable"):
        load_config(str(tmp_path))
    os.chmod(path, 0o600)
    config = load_config(str(tmp_path))
    assert config["SESSION_COOKIE_SECURE"] and config["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert config["DEBUG"] is False


def test_production_requires_https_and_real_mail(tmp_path, monkeypatch):
    path = tmp_path / "s.json"
    write_secrets_file(path, generate_secrets())
    monkeypatch.setenv("SCHAKEL_ENV", "production")
    monkeypatch.setenv("SCHAKEL_SECRETS_FILE", str(path))
    monkeypatch.setenv("SCHAKEL_BASE_URL", "http://hub.example")
    with pytest.raises(ConfigError, match="https"):
        load_config(str(tmp_path))
    monkeypatch.setenv("SCHAKEL_BASE_URL", "https://hub.example")
    with pytest.raises(ConfigError, match="MAIL_BACKEND"):
        load_config(str(tmp_path))


def test_incomplete_secrets_are_refused(tmp_path):
    secrets_ = generate_secrets()
    del secrets_["blind_index_key"]
    with pytest.raises(ConfigError, match="blind_index_key"):
        load_config(str(tmp_path), {"SECRETS": secrets_})


def test_environment_overrides_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db/schakel")
    monkeypatch.setenv("SESSION_IDLE_MINUTES", "10")
    monkeypatch.setenv("MFA_REQUIRED_ROLES", "hub_admin, coordinator, zorgcoordinator")
    config = load_config(str(tmp_path))
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/schakel"
    assert config["SESSION_IDLE_MINUTES"] == 10
    assert config["MFA_REQUIRED_ROLES"] == ["hub_admin", "coordinator", "zorgcoordinator"]


def test_a_database_other_than_postgresql_or_sqlite_is_refused_at_start(tmp_path, monkeypatch):
    """MariaDB or another engine would fail later, mid-request (search, audit verify): say so
    at start-up, naming the setting."""
    monkeypatch.setenv("DATABASE_URL", "mysql+pymysql://root@127.0.0.1/schakel")
    with pytest.raises(ConfigError, match="DATABASE_URL must be a PostgreSQL or SQLite URL, not mysql"):
        load_config(str(tmp_path))


def test_unknown_environment_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SCHAKEL_ENV", "staging")
    with pytest.raises(ConfigError, match="SCHAKEL_ENV"):
        load_config(str(tmp_path))


def test_an_unknown_log_format_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="LOG_FORMAT must be text or json"):
        load_config(str(tmp_path))
    monkeypatch.setenv("LOG_FORMAT", "json")
    assert load_config(str(tmp_path))["LOG_FORMAT"] == "json"
