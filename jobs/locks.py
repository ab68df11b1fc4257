"""A lock per (connection, object): two runs of the same sync never overlap.

A Redis lock (redis-py's ``Lock``: ``SET NX PX`` with a random token, released only by its
owner) that expires on its own after ``timeout`` seconds, so a crashed worker cannot block
the sync forever. A run that finds the lock taken does nothing and reports it skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from redis import Redis
from redis.exceptions import LockError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 600  # seconds; a lock outlives its holder at most this long


def lock_key(connection_name: str, obj: str) -> str:
    """The Redis key of the lock of one (connection, object)."""
    return f"lifesync:lock:{connection_name}:{obj}"


@contextmanager
def sync_lock(redis: Redis, connection_name: str, obj: str, timeout: int = DEFAULT_TIMEOUT) -> Iterator[bool]:
    """Hold the lock of (connection, object) inside the block; yields False (holding nothing) when taken."""
    lock = redis.lock(lock_key(connection_name, obj), timeout=timeout, blocking=False)
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
               timeout: int = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """Run ``work`` under the lock: ``{"skipped": False, "result": ...}``, or skipped when another run holds it."""
    with sync_lock(redis, connection_name, obj, timeout) as held:
        if not held:
            log.info("%s %s: skipped, another run holds the lock", connection_name, obj)
            return {"skipped": True, "reason": f"another run of {connection_name} {obj} is in progress"}
        return {"skipped": False, "result": work()}
