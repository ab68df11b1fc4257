"""bulk_gc: fewer young collections inside bulk work, the process's settings back after it."""

import gc
import threading
import weakref

import pytest

from sync.gcpolicy import BULK_THRESHOLD, bulk_gc


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
    gc.set_threshold(50_000, 10, 10)
    with bulk_gc():
        assert gc.get_threshold()[0] == 50_000
    assert gc.get_threshold() == (50_000, 10, 10)


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
        kept = [[] for _ in range(3 * BULK_THRESHOLD)]  # allocations past the raised threshold
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
