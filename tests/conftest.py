"""Shared fixtures: a migrated database (SQLite by default, PostgreSQL when DATABASE_URL says so).

The suite runs on two pytest-xdist workers (pyproject's addopts; ``-n0`` runs it in one process).
Each worker has resources of its own: its SQLite file under its own temporary directory, or on
PostgreSQL a database ``<DATABASE_URL's database>_gwN`` it creates at start and drops at the end
(``DATABASE_URL`` is pointed at it in the worker, so subprocesses inherit it), and the Nth Redis db
of ``LIFESYNC_TEST_REDIS_URL`` (comma-separated, one per worker; default dbs 15 and 13).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings as hypothesis_settings
from redis import Redis
from sqlalchemy import create_engine, make_url, text

import jobs.tasks
from jobs.connection import redis_connection
from sync.settings import Settings
from sync.store import planner_stats
from sync.store.engine import Store, open_store
from sync.store.model import Base

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1" ... in a pytest-xdist worker, else ""
# db 14 is bench/webhooks.py's default, 10 the lead's: neither is used here
REDIS_TEST_URLS = os.environ.get("LIFESYNC_TEST_REDIS_URL",
                                 "redis://127.0.0.1:6379/15,redis://127.0.0.1:6379/13").split(",")


def _redis_test_url() -> str:
    """This process's Redis db: the first of LIFESYNC_TEST_REDIS_URL, or worker N's Nth."""
    n = int(WORKER.removeprefix("gw")) if WORKER else 0
    if n >= len(REDIS_TEST_URLS):
        raise pytest.UsageError(f"LIFESYNC_TEST_REDIS_URL names {len(REDIS_TEST_URLS)} Redis db(s), one per "
                                f"pytest-xdist worker, and worker {WORKER} has none: name one more (comma-separated) "
                                "or run fewer workers (-n)")
    return REDIS_TEST_URLS[n].strip()


REDIS_TEST_URL = _redis_test_url()

# CI (CI=true) explores the same examples on every run, without timing deadlines, so a red run
# is always reproducible; locally hypothesis draws fresh examples each time.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


_WORKER_DATABASE = pytest.StashKey[str]()


def _worker_database(url: str) -> str:
    """``url`` naming this worker's own database on the same PostgreSQL server (``<database>_gwN``)."""
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{WORKER}").render_as_string(hide_password=False)


def _postgres_admin(url: str, *statements: str) -> None:
    """Run ``statements`` (CREATE/DROP DATABASE) on the maintenance database of ``url``'s server."""
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        admin.dispose()


def pytest_configure(config: pytest.Config) -> None:
    """In a pytest-xdist worker on PostgreSQL: a fresh database of the worker's own, named in DATABASE_URL."""
    if not WORKER or not os.environ.get("DATABASE_URL"):
        return
    url = _worker_database(Settings.from_env().database_url)
    name = make_url(url).database
    _postgres_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = url  # every fixture, Settings.from_env() and subprocess of the worker uses it
    config.stash[_WORKER_DATABASE] = url


@pytest.hookimpl(trylast=True)  # after the session's fixtures are torn down
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop the worker's database (its last connections closed by force).

    Here, not at unconfigure: once the session finishes, xdist tears the worker down.
    """
    url = session.config.stash.get(_WORKER_DATABASE, None)
    if url:
        _postgres_admin(url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """With pytest-xdist left out (``-p no:xdist``), accept and ignore its options in pyproject's addopts."""
    if not pluginmanager.has_plugin("xdist"):
        group = parser.getgroup("xdist (not loaded: its options are ignored)")
        group.addoption("--numprocesses", dest="numprocesses", default=None)  # -n is only a plugin's to add
        group.addoption("--dist", dest="dist", default="no")


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a pytest-xdist worker, group (``--dist loadgroup``) the tests that must share one worker.

    The console's browser tests (tests/console/) share one demo fill and one Chromium; the tests of a
    module with a module-scoped fixture share its set-up. Any other test goes to whichever worker is free.
    """
    if not WORKER:
        return
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        module = item.nodeid.partition("::")[0]
        if module.startswith("tests/console/"):
            item.add_marker(pytest.mark.xdist_group("console"))
        elif any(d.scope == "module" for defs in item._fixtureinfo.name2fixturedefs.values() for d in defs):
            item.add_marker(pytest.mark.xdist_group(module))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if os.environ.get("DATABASE_URL"):
        return Settings.from_env().database_url
    return f"sqlite:///{tmp_path_factory.mktemp('db')}/lifesync-test.db"


@pytest.fixture(scope="session")
def migrated_store(database_url: str) -> Store:
    store = open_store(database_url)
    yield store
    store.dispose()


BIG = 500  # rows: a table holding more is emptied by TRUNCATE (see wipe)


def wipe(store: Store) -> None:
    """Empty every table (keeps the schema) and restart its ids at 1.

    PostgreSQL: DELETE from the tables that hold rows and ANALYZE them (their planner statistics
    start from nothing again, as tests/store/test_planner_stats.py needs), then restart the
    sequences that were used. A TRUNCATE of every table with RESTART IDENTITY did the same in
    150-400 ms, once per test (new files for each table and index); this takes 2-5 ms. A table of
    more than ``BIG`` rows is still TRUNCATEd (with every other): DELETE cascades row by row.
    """
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]  # referencing tables first
    with store.engine.begin() as conn:
        if store.dialect == "postgresql":
            big = text(" UNION ALL ".join(f"(SELECT '{name}' FROM {name} OFFSET {BIG} LIMIT 1)" for name in tables))
            if conn.execute(big).first():  # DELETE of many rows cascades row by row: TRUNCATE is quicker
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
                planner_stats.forget()
                return
            probe = text(" UNION ALL ".join(f"(SELECT '{name}' FROM {name} LIMIT 1)" for name in tables))
            emptied: set[str] = set()
            for _ in range(3):  # again: a trigger (dead_letter_counts) may write to a table already emptied
                filled = set(conn.execute(probe).scalars())
                if not filled:
                    break
                for name in tables:
                    if name in filled:
                        conn.execute(text(f"DELETE FROM {name}"))
                emptied |= filled
            assert not filled, f"wipe left rows in {sorted(filled)}"
            for name in sorted(emptied):
                conn.execute(text(f"ANALYZE {name}"))
            used = conn.execute(text("SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) "
                                     "FROM pg_sequences WHERE last_value IS NOT NULL")).scalars().all()
            for sequence in used:
                conn.execute(text(f"ALTER SEQUENCE {sequence} RESTART"))
        else:  # twice: a trigger (dead_letter_counts) may write to a table the first pass already emptied
            for name in tables + tables:
                conn.execute(text(f"DELETE FROM {name}"))
    planner_stats.forget()  # its growth counts were of rows that are gone: an ANALYZE must not fire mid-test


@pytest.fixture
def store(migrated_store: Store) -> Store:
    wipe(migrated_store)
    return migrated_store


@pytest.fixture(params=["embedded", "redis"])
def settings(request, monkeypatch, database_url, store):
    """Settings for job tests, once on the embedded store and once on real Redis (this worker's db).

    CI starts Redis: a missing one fails the run, it is never skipped.
    """
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("LIFESYNC_WHATSAPP_APP_SECRET", "wa-secret")
    monkeypatch.delenv("LIFESYNC_CONFIG_DIR", raising=False)
    if request.param == "redis":
        Redis.from_url(REDIS_TEST_URL).ping()
        monkeypatch.setenv("REDIS_URL", REDIS_TEST_URL)
    else:
        monkeypatch.delenv("REDIS_URL", raising=False)
    jobs.tasks.reset()
    s = Settings.from_env()
    redis_connection(s).flushdb()
    yield s
    redis_connection(s).flushdb()
    jobs.tasks.reset()


@pytest.fixture
def redis(settings):
    return redis_connection(settings)
