"""Garbage-collector settings for bulk work (an ingest, a CRM sync).

Reconciling a batch allocates millions of small containers (candidates, dicts, tuples) that
are freed by reference counting, never by the cycle collector. CPython still runs a
collection every 700 net allocations and, every few of those, walks the older generations:
on this code that costs a quarter of an ingest's time. ``bulk_gc`` raises the first
threshold while bulk work runs and freezes what exists before it (modules, configuration:
objects that live for the whole process), then restores both. Cycles are still collected,
just less often; memory stays flat (``bench/pipeline.py`` prints peak RSS at two sizes).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

BULK_THRESHOLD = 10_000  # allocations between young collections (CPython's default: 700)

_lock = threading.Lock()
_active = 0  # blocks running now (threads of one worker may ingest at once)
_saved: tuple[int, int, int] | None = None
_froze = False  # whether this module froze (a process that froze objects itself keeps them frozen)


@contextmanager
def bulk_gc() -> Iterator[None]:
    """Collect cycles less often inside the block; the last block to end restores the settings."""
    global _active, _saved, _froze
    with _lock:
        _active += 1
        if _active == 1:
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
