"""SQLite inbox writers take turns on a file lock, so the kernel hands the turn over at once.

SQLite lets one transaction write at a time. A connection that finds the database locked
retries from its busy handler, which sleeps 1, 2, 5, 10, … ms between tries. A webhook's
insert holds the lock for about a tenth of a millisecond, so two web workers that collided
lost a millisecond or more each time. Under load (``bench/webhooks.py --generator wrk``) a
quarter of the CPU sat idle that way.

Inbox inserts therefore first queue on an advisory lock (``flock``) on a file beside the
database (``<database>-lifesync-lock``). The kernel wakes the next waiter as soon as the holder
lets go. SQLite's own lock still guards the data: other writers (ingest batches) meet the
inbox inserts there as before. The turn is held for one short transaction, whose wait for
SQLite's lock is itself capped by ``busy_timeout``.

``flock`` belongs to an open file, which the threads of a process share, so threads first
queue on a ``threading.Lock``. A forked child opens its own file and makes its own locks.
Without ``fcntl`` (not POSIX), or where the lock file cannot be opened (a warning says so),
only the threads of one process take turns, and processes meet at SQLite's lock as before.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: SQLite's busy handler alone orders processes
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)
_guard = threading.Lock()
_turns: dict[str, tuple[threading.Lock, int | None]] = {}  # lock file -> (thread lock, open file)


def _after_fork() -> None:
    global _guard, _turns
    _guard, _turns = threading.Lock(), {}  # the parent's files and locks are not this process's


os.register_at_fork(after_in_child=_after_fork)


def lock_path(database: str | None) -> str | None:
    """The lock file of a SQLite database file (None for an in-memory or URI-named database)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{os.path.abspath(database)}-lifesync-lock"  # one key per file, whatever the working directory


def _turn(path: str) -> tuple[threading.Lock, int | None]:
    with _guard:
        found = _turns.get(path)
        if found is None:
            found = _turns[path] = (threading.Lock(), _open(path))
        return found


def _open(path: str) -> int | None:
    """The lock file, opened for flock (read-only suffices); None where it cannot be (SQLite's own lock remains)."""
    if fcntl is None:
        return None
    try:
        return os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:  # a read-only directory, another user's file: slower turns, nothing lost
        log.warning("cannot open the SQLite writer lock %s (%s); inserts fall back to SQLite's busy handler",
                    path, exc.strerror)
        return None


@contextmanager
def writer_turn(database: str | None) -> Iterator[None]:
    """Hold this database's writer turn (threads and processes queue for it) while the block runs."""
    path = lock_path(database)
    if path is None:
        yield
        return
    lock, fd = _turn(path)
    with lock:
        if fd is None:
            yield
            return
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
