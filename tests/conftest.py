"""Shared fixtures. The database is SQLite (a temp file) unless ``TEST_DATABASE_URL`` names
another (CI runs the suite again with PostgreSQL). The schema comes from the Alembic
migrations, never from ``create_all``. Requests commit for real (one commit point each, as in
production), so each test starts from empty tables (emptied after every test that used the
database: a few milliseconds).

Under pytest-xdist each worker has a database of its own: a SQLite file in the worker's temp
directory, or on PostgreSQL ``<database>_<worker>`` (``test_gw0``, ``test_gw1``…), created on
the server of ``TEST_DATABASE_URL`` when missing, as is that database itself. The test
databases commit without waiting for the disk (``synchronous_commit = off``): a crash of the
server could lose the last commits of a test run, which nobody needs back, and it halves the
time of the PostgreSQL run."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from network import create_app
from network.config import generate_secrets
from network.db import db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")


def ensure_postgres_database(url: URL) -> None:
    """Create the database ``url`` names when the server has none by that name, and let it
    commit without waiting for the disk. Stops the run saying what is missing: a server that
    does not answer, or one that answers but will not make the database."""
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        conn = engine.connect()
    except OperationalError as exc:
        pytest.exit(f"PostgreSQL does not answer at {url.host}:{url.port} (TEST_DATABASE_URL): {exc.orig}",
                    returncode=3)
    try:
        with conn:
            # one worker at a time: two CREATE DATABASE at once fail on the shared template
            conn.execute(text("SELECT pg_advisory_lock(hashtext('schakel test databases'))"))
            if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}) is None:
                conn.execute(text(f'CREATE DATABASE "{url.database}"'))
            conn.execute(text(f'ALTER DATABASE "{url.database}" SET synchronous_commit = off'))
    except (OperationalError, ProgrammingError) as exc:
        pytest.exit(f"PostgreSQL at {url.host}:{url.port} answers, but the test database {url.database!r} could "
                    f"not be made ready: the user {url.username!r} needs CREATEDB (or create it yourself: "
                    f"createdb -h {url.host} -U {url.username} {url.database}): {exc.orig}", returncode=3)
    finally:
        engine.dispose()


@functools.cache
def worker_database_url() -> str:
    """``TEST_DATABASE_URL`` for this xdist worker (its own PostgreSQL database), made ready."""
    url = make_url(TEST_DATABASE_URL)
    if url.get_backend_name() != "postgresql":
        return TEST_DATABASE_URL
    ensure_postgres_database(url)  # the reliability tests make their scratch databases from it
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        url = url.set(database=f"{url.database}_{worker}")
        ensure_postgres_database(url)
    return url.render_as_string(hide_password=False)


def database_url(tmp_dir: Path) -> str:
    return worker_database_url() if TEST_DATABASE_URL else f"sqlite:///{tmp_dir / 'test.db'}"


def test_config(tmp_dir: Path, **overrides) -> dict:
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url(tmp_dir),
        "SECRETS": generate_secrets(),
        "SECRETS_FILE": str(tmp_dir / "secrets.json"),
        "MAIL_BACKEND": "mailbox",
        "RATELIMIT_STORAGE_URI": "memory://",
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "VERIFY_RATE_LIMIT": "1000 per minute",
        "TOKEN_RATE_LIMIT": "100000 per minute",
        "SERVER_NAME": None,
        # no "SELECT 1" before each use of a pooled connection: a test's database does not go
        # away under it (the fault tests start hubs of their own, configured as in production);
        # each request of a test checks a connection out, so this is ~14 % of the PostgreSQL run
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False},
        # cheap hashing in tests; production uses argon2-cffi's RFC 9106 low-memory profile
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 1024,
    }
    config.update(overrides)
    return config


test_config.__test__ = False  # a helper, not a test, when imported into test modules

#: the modules of the longest tests (servers started, schemathesis, state machines, browsers):
#: run first, so that parallel workers do not wait on one of them at the end of the run
SLOW_FIRST = ("tests/reliability/", "tests/e2e/", "test_api_schemathesis.py", "test_state_machine.py",
              "test_every_read_is_decided.py", "test_authorization_matrix.py", "test_bandit.py")


def pytest_addoption(parser):
    parser.addoption("--database-only", action="store_true",
                     help="only the tests that reach a database (./scripts/test's PostgreSQL run: the others "
                          "ran on SQLite already)")


def pytest_collection_modifyitems(config, items):
    """Slow modules first, each module in its own order where it defines ``collection_order``;
    with ``--database-only`` leave out the tests that cannot reach a
    database: no ``app`` fixture, and not in tests/reliability (whose served hubs and backups use
    ``TEST_DATABASE_URL`` themselves)."""
    if config.getoption("--database-only"):
        dropped = [item for item in items
                   if "app" not in item.fixturenames and "reliability" not in item.path.parts]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            gone = set(dropped)
            items[:] = [item for item in items if item not in gone]
    for module in {item.module for item in items if hasattr(getattr(item, "module", None), "collection_order")}:
        # a module may order its own tests (the authorization matrix: the cases sharing a world together)
        mine = [index for index, item in enumerate(items) if item.module is module]
        for index, item in zip(mine, sorted((items[i] for i in mine), key=module.collection_order), strict=True):
            items[index] = item
    items.sort(key=lambda item: not any(part in item.nodeid for part in SLOW_FIRST))


def reset_schema(app) -> None:
    """Drop everything and migrate to head, as a fresh install does."""
    from flask_migrate import upgrade

    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        else:
            db.engine.dispose()
            path = engine.url.database
            if path and os.path.exists(path):
                os.remove(path)
        upgrade()


def head_revision() -> str:
    """The newest Alembic revision (what ``upgrade()`` ends at), inside an app context."""
    from alembic.script import ScriptDirectory
    from flask import current_app

    return ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config()).get_current_head()


def truncate_all(app) -> None:
    """Empty every table. DELETE, not TRUNCATE: on PostgreSQL TRUNCATE takes ~0.1 s per call
    on these tiny tables, DELETE a few milliseconds; on PostgreSQL all the DELETEs go as one
    script, one round trip (~1 ms instead of ~10). Ids are not reset (tests don't rely on them)."""
    from network.models_index import import_all_models

    import_all_models()
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # one round trip for all tables (psycopg sends a script without parameters as one)
                conn.exec_driver_sql(_truncate_script())
                return
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
            conn.execute(text(_CHAIN_HEAD))


_CHAIN_HEAD = ("INSERT INTO audit_chain_head (id, last_seq, last_hash, updated_at) "
               f"VALUES (1, 0, '{'0' * 64}', CURRENT_TIMESTAMP)")


@functools.cache
def _truncate_script() -> str:
    return "".join(f'DELETE FROM "{table.name}";' for table in reversed(db.metadata.sorted_tables)) + _CHAIN_HEAD


class FreshContextClient(FlaskClient):
    """Each request gets its own app context (and so its own ``g`` and database session), as
    in production, even while the test holds an app context open for its own queries."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@contextmanager
def extra_app(config: dict):
    """A second app for one test (another configuration on the same database). Flask-Limiter
    is a module-level singleton that ``init_app`` reconfigures, so its state is put back
    afterwards; the extra engine is closed."""
    from network.extensions import limiter

    saved = dict(vars(limiter))
    other = create_app(config)
    other.test_client_class = FreshContextClient
    try:
        yield other
    finally:
        with other.app_context():
            db.engine.dispose()
        vars(limiter).clear()
        vars(limiter).update(saved)


@pytest.fixture(scope="session")
def app_tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("schakel")


@pytest.fixture(scope="session")
def app(app_tmp):
    app = create_app(test_config(app_tmp))
    app.test_client_class = FreshContextClient
    reset_schema(app)
    yield app
    with app.app_context():
        db.engine.dispose()


#: the world a read-only test left in the tables for the next one (see :func:`shared_world`),
#: by its key; at most one, per process (each xdist worker has its own database)
_KEPT_WORLD: dict[str, dict] = {}


def shared_world(request, key: str, build: Callable[[], dict]) -> dict:
    """For tests that only read (GET requests, no writes of their own that another test could
    see): the world ``build()`` made for an earlier test with the same ``key``, still in the
    tables, or a new one on empty tables. The tables are kept after the test, for the next test
    with that key; any other test starts on empty tables again. Such a test is marked
    ``shared_world``. The world must hold plain values (ids), not ORM objects of one session."""
    assert request.node.get_closest_marker("shared_world"), "mark the test shared_world"
    if key not in _KEPT_WORLD:
        fresh_tables(request)
        _KEPT_WORLD[key] = build()
    request.node.keeps_tables = True
    return _KEPT_WORLD[key]


def fresh_tables(request) -> None:
    """Empty tables for a ``shared_world`` test that does not share (it writes)."""
    if _KEPT_WORLD:
        _KEPT_WORLD.clear()
        truncate_all(request.getfixturevalue("app"))


@pytest.fixture(autouse=True)
def _clean_database(request):
    """Empty every table after a test that touched the database, except the world a read-only
    test keeps for the next (:func:`shared_world`); a test not marked ``shared_world`` never
    sees it."""
    if "app" in request.fixturenames and not request.node.get_closest_marker("shared_world"):
        fresh_tables(request)
    yield
    if "app" in request.fixturenames and not getattr(request.node, "keeps_tables", False):
        _KEPT_WORLD.clear()
        truncate_all(request.getfixturevalue("app"))


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def session(app_ctx):
    """The request-scoped SQLAlchemy session, inside an app context."""
    yield db.session
    db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def keyring(app):
    return app.extensions["schakel.keyring"]


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def post_form(client, page_url: str, data: dict, *, post_url: str | None = None, follow_redirects=False):
    """Submit a form as a browser does: load the page, take its CSRF token, post."""
    page = client.get(page_url)
    token = csrf_from(page.get_data(as_text=True))
    return client.post(post_url or page_url, data={**data, "csrf_token": token},
                       follow_redirects=follow_redirects)
