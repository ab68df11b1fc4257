"""A lock per (connection, object): two runs of the same sync never overlap.

A Redis lock (redis-py's ``Lock``: ``SET NX PX`` with a random token, released only by its
owner) that expires on its own after ``timeout`` seconds, so a crashed worker cannot block
the sync forever. A run that finds the lock taken does nothing and reports it skipped.

Embedded mode (no ``REDIS_URL``) has one in-process store per process, so its Redis lock only
keeps apart the runs of one process: ``lifesync sync hubspot`` typed in a terminal would not
see the sync that ``lifesync serve`` scheduled. There the lock is also an ``flock`` on a file
named for the database and the key (``host_scope``), which every process of the machine
sees, and which the kernel releases when its holder dies.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from redis import Redis
from redis.exceptions import LockError
from sqlalchemy import make_url

from sync.settings import Settings

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: embedded runs are kept apart within a process only
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 600  # seconds; a lock outlives its holder at most this long


def lock_key(connection_name: str, obj: str) -> str:
    """The Redis key of the lock of one (connection, object)."""
    return f"lifesync:lock:{connection_name}:{obj}"


def host_scope(settings: Settings) -> str | None:
    """What embedded runs on this machine share (their database), or None with real Redis."""
    if settings.redis_url:
        return None
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        url = url.set(database=os.path.abspath(url.database))  # one scope per file, whatever the directory
    return url.render_as_string(hide_password=True)


@contextmanager
def _host_lock(scope: str, key: str) -> Iterator[bool]:
    """A non-blocking ``flock`` for ``key`` among this machine's processes sharing ``scope``."""
    if fcntl is None:
        yield True
        return
    directory = Path(tempfile.gettempdir()) / "lifesync-locks"
    directory.mkdir(mode=0o700, exist_ok=True)
    name = hashlib.sha256(f"{scope}\0{key}".encode()).hexdigest()[:32]
    fd = os.open(directory / f"{name}.lock", os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
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
def sync_lock(redis: Redis, connection_name: str, obj: str, timeout: int = DEFAULT_TIMEOUT,
              scope: str | None = None) -> Iterator[bool]:
    """Hold the lock of (connection, object) inside the block; yields False (holding nothing) when taken.

    ``scope`` (``host_scope``: embedded mode) adds the machine-wide file lock.
    """
    key = lock_key(connection_name, obj)
    with ExitStack() as stack:
        if scope is not None and not stack.enter_context(_host_lock(scope, key)):
            yield False
            return
        lock = redis.lock(key, timeout=timeout, blocking=False)
        held = lock.acquire(blocking=False)
        try:
            yield held
        finally:
            if held:
                try:
                    lock.release()
                except LockError:  # it expired while we ran: someone else may hold it now; leave it
                    log.warning("lock %s expired before the run ended (timeout %ss)", lock.name, timeout)


def run_locked(redis: Redis, connection_name: str, obj: str, work: Callable[[], Any],
               timeout: int = DEFAULT_TIMEOUT, scope: str | None = None) -> dict[str, Any]:
    """Run ``work`` under the lock: ``{"skipped": False, "result": ...}``, or skipped when another run holds it."""
    with sync_lock(redis, connection_name, obj, timeout, scope) as held:
        if not held:
            log.info("%s %s: skipped, another run holds the lock", connection_name, obj)
            return {"skipped": True, "reason": f"another run of {connection_name} {obj} is in progress"}
        return {"skipped": False, "result": work()}
