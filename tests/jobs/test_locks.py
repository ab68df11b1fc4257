"""One run per (connection, object): a second run while the lock is held is skipped cleanly."""

from __future__ import annotations

import multiprocessing
import os
import threading

import pytest

from jobs import tasks
from jobs.connection import redis_connection
from jobs.locks import host_scope, lock_key, run_locked, sync_lock
from sync.settings import Settings


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


def test_automation_jobs_skip_while_another_run_holds_their_lock(settings, redis):
    with sync_lock(redis, "lifesync", "stale_leads") as held:
        assert held
        assert tasks.stale_leads()["skipped"] is True
        assert tasks.first_response()["skipped"] is False  # a different lock
    result = tasks.stale_leads()
    assert result["skipped"] is False and result["result"]["records"] == 0


def _hold(url: str, key: str, inside, release) -> None:
    settings = Settings.from_env({"DATABASE_URL": url})
    with sync_lock(redis_connection(settings), "lifesync", key, scope=host_scope(settings)) as held:
        assert held
        inside.set()
        release.wait(30)


def test_embedded_runs_in_two_processes_of_one_database_do_not_overlap(database_url, tmp_path, monkeypatch):
    """`lifesync sync` in a terminal and the sync `lifesync serve` scheduled: each has its own embedded store.

    The holder runs with another temporary directory (a service's private /tmp): the lock is the
    database's, not a file there. On SQLite this process names the file by a relative path.
    """
    ctx = multiprocessing.get_context("spawn")
    inside, release = ctx.Event(), ctx.Event()
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the holder's temporary directory only
    holder = ctx.Process(target=_hold, args=(database_url, "hubspot", inside, release))
    holder.start()
    monkeypatch.delenv("TMPDIR")
    url = database_url
    if url.startswith("sqlite:///"):
        monkeypatch.chdir(os.path.dirname(url.removeprefix("sqlite:///")))
        url = "sqlite:///" + os.path.basename(url.removeprefix("sqlite:///"))
    try:
        assert inside.wait(30)
        settings = Settings.from_env({"DATABASE_URL": url})
        redis, scope = redis_connection(settings), host_scope(settings)
        assert run_locked(redis, "lifesync", "hubspot", lambda: "ran", scope=scope)["skipped"] is True
        assert run_locked(redis, "lifesync", "salesforce", lambda: "ran", scope=scope)["result"] == "ran"
        other = Settings.from_env({"DATABASE_URL": f"sqlite:///{tmp_path}/other.db"})  # another installation
        assert run_locked(redis, "lifesync", "hubspot", lambda: "ran", scope=host_scope(other))["result"] == "ran"
    finally:
        release.set()
        holder.join(30)
    assert holder.exitcode == 0
    assert run_locked(redis, "lifesync", "hubspot", lambda: "ran", scope=scope) == {"skipped": False, "result": "ran"}


def test_a_killed_embedded_holder_leaves_no_lock_behind(database_url):
    settings = Settings.from_env({"DATABASE_URL": database_url})
    ctx = multiprocessing.get_context("spawn")
    inside, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(settings.database_url, "hubspot", inside, release))
    holder.start()
    assert inside.wait(30)
    holder.kill()
    holder.join(30)
    redis = redis_connection(settings)
    assert run_locked(redis, "lifesync", "hubspot", lambda: "ran", scope=host_scope(settings))["result"] == "ran"


def test_real_redis_needs_no_host_scope():
    assert host_scope(Settings.from_env({"DATABASE_URL": "sqlite:///x.db", "REDIS_URL": "redis://127.0.0.1/1"})) is None
