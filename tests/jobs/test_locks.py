"""One run per (connection, object): a second run while the lock is held is skipped cleanly."""

from __future__ import annotations

import threading
import time

import pytest

from jobs import tasks
from jobs.locks import lock_key, run_locked, sync_lock


def test_a_second_run_is_skipped_while_the_first_holds_the_lock(redis):
    inside, release = threading.Event(), threading.Event()
    results: list[dict] = []

    def slow() -> str:
        inside.set()
        release.wait(5)
        return "done"

    first = threading.Thread(target=lambda: results.append(run_locked(redis, "hubspot", "contacts", slow)))
    first.start()
    assert inside.wait(5)
    second = run_locked(redis, "hubspot", "contacts", lambda: "must not run")
    assert second == {"skipped": True, "reason": "another run of hubspot contacts is in progress"}
    assert run_locked(redis, "hubspot", "deals", lambda: "other object")["result"] == "other object"
    assert run_locked(redis, "salesforce", "contacts", lambda: "other connection")["result"] == "other connection"
    release.set()
    first.join(5)
    assert results == [{"skipped": False, "result": "done"}]
    assert redis.get(lock_key("hubspot", "contacts")) is None  # released
    assert run_locked(redis, "hubspot", "contacts", lambda: "again") == {"skipped": False, "result": "again"}


def test_the_lock_is_released_when_the_run_fails(redis):
    def boom() -> None:
        raise RuntimeError("sync failed")

    with pytest.raises(RuntimeError):
        run_locked(redis, "hubspot", "contacts", boom)
    assert run_locked(redis, "hubspot", "contacts", lambda: 1)["skipped"] is False


def test_a_crashed_holder_blocks_only_until_the_timeout(redis):
    with sync_lock(redis, "hubspot", "contacts", timeout=0.3) as held:
        assert held
        time.sleep(0.5)  # the holder "hung" past its timeout
        assert run_locked(redis, "hubspot", "contacts", lambda: "took over")["result"] == "took over"
    # releasing an expired lock neither raises nor frees someone else's
    with sync_lock(redis, "hubspot", "contacts") as held:
        assert held


def test_automation_jobs_skip_while_another_run_holds_their_lock(settings, redis):
    with sync_lock(redis, "lifesync", "stale_leads") as held:
        assert held
        assert tasks.stale_leads()["skipped"] is True
        assert tasks.first_response()["skipped"] is False  # a different lock
    result = tasks.stale_leads()
    assert result["skipped"] is False and result["result"]["records"] == 0
