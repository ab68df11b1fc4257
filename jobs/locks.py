"""A lock per (connection, object): two runs of the same sync, dispatch or automation never overlap.

The lock is a lease (``jobs.lease``): renewed every few seconds while the run lives, lapsing
within seconds of its holder's death, and fencing every commit of the run. A run that finds
the lock taken does nothing and reports it skipped; a run whose lease lapsed under it (it was
frozen or cut off from Redis for longer than the lease) stops at its next commit and reports
that, leaving the rest to the next run.

Embedded mode (no ``REDIS_URL``) has one in-process store per process, so its Redis lock only
keeps apart the runs of one process: ``lifesync sync hubspot`` typed in a terminal would not
see the sync that ``lifesync serve`` scheduled. There the lock is also one the database gives
every process using it (``host_scope``): an advisory lock on PostgreSQL, an ``flock`` on a
file beside a SQLite file. Both are released when their holder dies.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import psycopg
from redis import Redis
from sqlalchemy import make_url

from jobs.lease import Lease, LeaseLost, held, try_acquire
from sync.settings import Settings
from sync.store.sqlite_lock import lock_path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: embedded runs are kept apart within a process only
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)


def lock_key(connection_name: str, obj: str) -> str:
    """The Redis key of the lock of one (connection, object)."""
    return f"lifesync:lock:{connection_name}:{obj}"


def host_scope(settings: Settings) -> str | None:
    """The database whose lock embedded runs also take (``DATABASE_URL``), or None with real Redis."""
    return None if settings.redis_url else settings.database_url


@contextmanager
def _database_lock(database_url: str, key: str) -> Iterator[bool]:
    """A non-blocking lock on ``key`` that every process using this database sees, released when its holder dies.

    PostgreSQL: a session advisory lock, held by a connection of its own for the block. A
    SQLite file: an ``flock`` on a file beside it (``<database>-lifesync-lock-<key digest>``),
    wherever each process's temporary directory is. An in-memory database has no other
    process to meet.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(conninfo, autocommit=True) as conn:  # closing it releases the lock
            row = conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (key,)).fetchone()
            yield bool(row and row[0])
        return
    base = lock_path(url.database)  # the inbox writers' lock file, absolute: one per database file
    if fcntl is None or base is None:
        yield True
        return
    path = f"{base}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing the file releases its flock


@contextmanager
def sync_lock(redis: Redis, connection_name: str, obj: str, scope: str | None = None) -> Iterator[Lease | None]:
    """Hold the lease of (connection, object) inside the block, fencing its commits; None (holding nothing) when taken.

    ``scope`` (``host_scope``: embedded mode) adds the database's own lock, which other processes see.
    """
    key = lock_key(connection_name, obj)
    with ExitStack() as stack:
        if scope is not None and not stack.enter_context(_database_lock(scope, key)):
            yield None
            return
        lease = try_acquire(redis, key)
        if lease is None:
            yield None
            return
        with held(lease):
            yield lease


def run_locked(redis: Redis, connection_name: str, obj: str, work: Callable[[], Any],
               scope: str | None = None) -> dict[str, Any]:
    """Run ``work`` under the lock: ``{"skipped": False, "result": ...}``, or skipped when another run holds it.

    A run whose lease lapsed mid-way ends at its next commit with ``{"skipped": False, "lost": reason}``.
    """
    with sync_lock(redis, connection_name, obj, scope) as lease:
        if lease is None:
            log.info("%s %s: skipped, another run holds the lock", connection_name, obj)
            return {"skipped": True, "reason": f"another run of {connection_name} {obj} is in progress"}
        try:
            return {"skipped": False, "result": work()}
        except LeaseLost as exc:
            log.warning("%s %s: stopped: %s", connection_name, obj, exc)
            return {"skipped": False, "lost": str(exc)}
