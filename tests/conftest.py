"""Shared fixtures: a migrated database (SQLite by default, PostgreSQL when DATABASE_URL says so)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from sync.model import Base
from sync.settings import Settings
from sync.store import Store, open_store


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
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def store(migrated_store: Store) -> Store:
    wipe(migrated_store)
    return migrated_store
