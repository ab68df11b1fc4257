"""Garbage-collector settings for bulk work (an ingest, a CRM sync, an ingest's mapping worker).

Reconciling a batch allocates millions of small containers (candidates, dicts, tuples) that
are freed by reference counting, never by the cycle collector. CPython still runs a young
collection every 700 net allocations of containers — net of those freed — and, every few of
those, walks the older generations. During a batch nearly every young object is alive (the
batch's workspace and rows), so each collection walks them all, promotes them, and later
walks them again as old objects: on this code that cost a quarter of an ingest's time.

``bulk_gc`` raises the young threshold while bulk work runs, above what one batch holds at
its peak (~100,000 containers for 1,000 records, including the next batch already mapped),
and freezes what exists before it (modules, configuration: objects that live for the whole
process), then restores both. A batch's objects are freed when it ends, which lowers the net
count again, so a batch never triggers a collection; what does is what accumulates across
batches. Survivors are few; cyclic garbage is a few dozen objects a batch, but it can hold
much more: SQLAlchemy builds reference cycles around some statements, and they keep the
statement's parameters, such as a batch's thousand identity values. So bulk work calls
``batch_done`` after each batch, which collects the younger generations every
``COLLECT_EVERY`` batches (and everything every ``FULL_EVERY``), at a moment when little else
is alive; ``BULK_THRESHOLD`` remains the backstop. Memory stays flat (``bench/pipeline.py``
prints peak RSS at two sizes). ``bulk_process`` applies the same young threshold for the rest
of a process that only does bulk work (the mapping worker, which makes no cycles).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

BULK_THRESHOLD = 500_000  # net container allocations between young collections (CPython's default: 700)
COLLECT_EVERY = 5  # batches between collections of the young and middle generations (a few ms each)
FULL_EVERY = 100  # batches between full collections

_lock = threading.Lock()
_active = 0  # blocks running now (threads of one worker may ingest at once)
_saved: tuple[int, int, int] | None = None
_froze = False  # whether this module froze (a process that froze objects itself keeps them frozen)
_batches = 0  # batches done since the outermost block began


@contextmanager
def bulk_gc() -> Iterator[None]:
    """Collect cycles less often inside the block; the last block to end restores the settings."""
    global _active, _saved, _froze, _batches
    with _lock:
        _active += 1
        if _active == 1:
            _batches = 0
            _saved = gc.get_threshold()
            _froze = gc.get_freeze_count() == 0
            if _froze:
                gc.freeze()
            gc.set_threshold(max(_saved[0], BULK_THRESHOLD), *_saved[1:])
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                if _froze:
                    gc.unfreeze()
                _saved, _froze = None, False


def batch_done() -> None:
    """Bulk work finished a batch: collect, every ``COLLECT_EVERY`` batches, the cycles batches left behind.

    Outside a ``bulk_gc`` block it does nothing: CPython's own thresholds apply there.
    """
    global _batches
    with _lock:
        if not _active:
            return
        _batches += 1
        done = _batches
    if done % FULL_EVERY == 0:
        gc.collect()
    elif done % COLLECT_EVERY == 0:
        gc.collect(1)


def bulk_process() -> None:
    """``bulk_gc``'s settings for the rest of this process: one that does nothing but bulk work."""
    young, *older = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(young, BULK_THRESHOLD), *older)
