"""Database engine, sessions and schema migrations.

``open_store(url)`` returns a Store whose schema is at the newest Alembic revision; every
command goes through it, so only ``lifesync db upgrade`` needs to be run by hand, and only
when you want to migrate without doing anything else.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from sync.store import jsontext

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # lifesync issues BEGIN itself (see _begin_immediate)
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA busy_timeout=10000")
    _wal(cur)
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _wal(cur: Any, attempts: int = 100) -> None:
    """Put the database in WAL mode (kept in the file: later connections find it so).

    Switching a new file to WAL needs it to itself, and SQLite answers "database is locked"
    at once, without its busy handler, while another process holds it — as when several
    workers open a fresh database together. Such a switch is retried for up to 10 s.
    """
    for attempt in range(attempts):
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.1)


def _begin_immediate(conn: Any) -> None:
    # Take SQLite's writer lock when the transaction starts, not at its first write: no
    # "database is locked" half-way through a batch, and primary keys can be reserved safely.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL mode, foreign keys, a busy timeout, BEGIN IMMEDIATE."""
    if url.startswith("sqlite"):
        engine = create_engine(url, json_serializer=jsontext.dumps, json_deserializer=jsontext.loads)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _begin_immediate)
        return engine
    # No server-side prepared statements: their generic plans are made once, often while a
    # table is still small, and then keep scanning it sequentially as it grows.
    return create_engine(url, pool_pre_ping=True, connect_args={"prepare_threshold": None},
                         json_serializer=jsontext.dumps, json_deserializer=jsontext.loads)


def alembic_config(engine: Engine) -> AlembicConfig:
    """An Alembic config pointing at lifesync's migrations and this engine."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    command.upgrade(alembic_config(engine), revision)


@dataclass(frozen=True)
class Store:
    """An engine plus a session factory, with the schema migrated.

    ``statements`` runs single statements that must be durable when they return, with the
    fewest round trips: on PostgreSQL an autocommit pool without a pre-ping (the webhook inbox
    insert is then one round trip instead of ping, BEGIN, INSERT and COMMIT; a connection
    that went stale fails that one request, which the sender retries, and is replaced).
    Elsewhere it is the main engine.
    """

    engine: Engine
    sessions: sessionmaker[Session]
    statements: Engine | None = None

    @property
    def single(self) -> Engine:
        """The engine for durable single statements (see the class docstring)."""
        return self.statements or self.engine

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on error."""
        with self.sessions.begin() as session:
            yield session

    @property
    def dialect(self) -> str:
        """The database dialect name (``sqlite`` or ``postgresql``)."""
        return self.engine.dialect.name

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
        if self.statements is not None:
            self.statements.dispose()


def open_store(url: str, *, migrate: bool = True) -> Store:
    """Open the database at ``url`` and bring its schema to the newest revision."""
    engine = make_engine(url)
    if migrate:
        upgrade(engine)
    statements = None
    if engine.dialect.name == "postgresql":
        # inbox inserts have no plan to go stale: a one-event insert is prepared once per
        # connection (sync.ingest.inbox), several events' by psycopg after a few uses
        # autocommit: a returned connection holds no transaction, so the pool skips its rollback
        statements = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"prepare_threshold": 2},
                                   pool_reset_on_return=None,
                                   json_serializer=jsontext.dumps, json_deserializer=jsontext.loads)
    return Store(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False), statements=statements)
