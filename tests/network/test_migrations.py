"""Migrations are the only way the schema is made: up, down and up again, and the models
match the newest revision (`alembic check`), on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from network.db import db
from network.models_index import import_all_models, include_name, include_unmodelled

CORE_TABLES = {"region", "organisation", "account", "membership", "student", "audit_event", "audit_checkpoint",
               "audit_chain_head", "web_session", "password_reset_token", "outbox_message", "job_run"}


def _tables():
    return set(inspect(db.engine).get_table_names())


def test_upgrade_downgrade_upgrade(app_ctx):
    assert CORE_TABLES <= _tables()
    downgrade(revision="base")
    assert not (CORE_TABLES & _tables())
    upgrade()
    assert CORE_TABLES <= _tables()
    with db.engine.connect() as conn:
        head = conn.exec_driver_sql("SELECT last_seq, last_hash FROM audit_chain_head WHERE id = 1").one()
    assert head == (0, "0" * 64)


def test_models_match_migrations(app_ctx):
    import_all_models()
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name,
                                                            "include_object": include_unmodelled})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations differ; write a migration: {diff}"


def test_no_create_all_in_product_code():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = [str(p) for pkg in ("network", "consent", "referrals", "socialmap")
                 for p in (root / pkg).rglob("*.py") if "create_all(" in p.read_text()]
    assert offenders == []
