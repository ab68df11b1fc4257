"""Shared fixtures: a migrated database (SQLite by default, PostgreSQL when DATABASE_URL says so)."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings as hypothesis_settings
from redis import Redis
from sqlalchemy import text

import jobs.tasks
from jobs.connection import redis_connection
from sync.settings import Settings
from sync.store import planner_stats
from sync.store.engine import Store, open_store
from sync.store.model import Base

REDIS_TEST_URL = os.environ.get("LIFESYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# CI (CI=true) explores the same examples on every run, without timing deadlines, so a red run
# is always reproducible; locally hypothesis draws fresh examples each time.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


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


def wipe(store: Store) -> None:
    """Empty every table (keeps the schema)."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with store.engine.begin() as conn:
        if store.dialect == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
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
    """Settings for job tests, once on the embedded store and once on real Redis (db 15).

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
