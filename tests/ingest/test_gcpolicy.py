"""bulk_gc: fewer young collections inside bulk work, the process's settings back after it; bulk_process."""

import contextlib
import gc
import threading
import weakref

import pytest

from sync.ingest.gcpolicy import BULK_THRESHOLD, COLLECT_EVERY, batch_done, bulk_gc, bulk_process


@pytest.fixture(autouse=True)
def default_thresholds():
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*saved)


def test_raises_the_young_threshold_inside_and_restores_after():
    with bulk_gc():
        assert gc.get_threshold() == (BULK_THRESHOLD, 10, 10)
        assert gc.get_freeze_count() > 0  # what existed before is out of the collector's way
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


def test_restores_after_an_error():
    with pytest.raises(RuntimeError), bulk_gc():
        raise RuntimeError("batch failed")
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


def test_never_lowers_a_higher_threshold():
    gc.set_threshold(2 * BULK_THRESHOLD, 10, 10)
    with bulk_gc():
        assert gc.get_threshold()[0] == 2 * BULK_THRESHOLD
    assert gc.get_threshold() == (2 * BULK_THRESHOLD, 10, 10)


def test_nested_and_concurrent_blocks_restore_only_when_the_last_ends():
    inner_started, release = threading.Event(), threading.Event()

    def other_thread():
        with bulk_gc():
            inner_started.set()
            release.wait(5)

    with bulk_gc():
        t = threading.Thread(target=other_thread)
        t.start()
        assert inner_started.wait(5)
        with bulk_gc():
            assert gc.get_threshold()[0] == BULK_THRESHOLD
    assert gc.get_threshold()[0] == BULK_THRESHOLD  # the other thread's ingest is still running
    release.set()
    t.join(5)
    assert gc.get_threshold() == (700, 10, 10)


def test_cycles_are_still_collected_inside_without_being_asked():
    class Node:
        pass

    with bulk_gc():
        a, b = Node(), Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        assert gone() is not None  # a cycle: reference counting alone cannot free it
        kept = [[] for _ in range(BULK_THRESHOLD + 1_000)]  # net allocations past the raised threshold
        assert gone() is None  # ... made the collector run on its own
        del kept


def test_objects_the_process_froze_itself_stay_frozen():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with bulk_gc():
            pass
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_objects_freed_within_a_batch_never_trigger_a_collection():
    def young_collections(bulk: bool) -> int:
        collections = []

        def count(phase, info):
            if phase == "start":
                collections.append(info["generation"])

        gc.callbacks.append(count)
        try:
            with bulk_gc() if bulk else contextlib.nullcontext():
                for _ in range(10):  # ten batches of 100,000 containers, each freed when its batch ends
                    batch = [{"value": n} for n in range(100_000)]
                    del batch
        finally:
            gc.callbacks.remove(count)
        return len(collections)

    assert young_collections(bulk=False) > 1_000  # the default threshold: one every 700
    assert young_collections(bulk=True) == 0


def test_a_bulk_process_keeps_the_settings_for_good():
    try:
        bulk_process()
        assert gc.get_threshold() == (BULK_THRESHOLD, 10, 10)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_cycles_batches_leave_behind_are_collected_every_few_batches():
    class Statement:  # a cycle holding a batch's parameters, as some SQLAlchemy constructs are
        pass

    def batch() -> weakref.ref:
        a, b = Statement(), Statement()
        a.other, b.other, a.values = b, a, [f"value {n}" for n in range(1_000)]
        return weakref.ref(a)

    with bulk_gc():
        left = []
        for _ in range(COLLECT_EVERY - 1):
            left.append(batch())
            batch_done()
        assert all(ref() is not None for ref in left)  # the earlier batches' cycles are still there
        left.append(batch())
        batch_done()  # the last of COLLECT_EVERY batches: collected
        assert all(ref() is None for ref in left)
    outside = batch()
    for _ in range(2 * COLLECT_EVERY):
        batch_done()  # outside bulk work: CPython's own thresholds, nothing collected here
    assert outside() is not None
    gc.collect()
    assert outside() is None
