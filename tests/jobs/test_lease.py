"""Leases follow their holder: renewed while it lives, lapsing soon after it dies, fencing a lapsed holder's commits."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest
from conftest import REDIS_TEST_URL
from redis import Redis
from sqlalchemy import func, select

import jobs.tasks
from jobs import lease
from jobs.connection import redis_connection
from jobs.handover import DRAIN_LOCK, drain
from jobs.locks import lock_key, run_locked
from sync.settings import Settings
from sync.store import model


def _write_letter(store, record_id: str) -> None:
    with store.transaction() as s:
        s.add(model.DeadLetter(stage="job", source="test", object="lease", record_id=record_id, reason="r",
                               payload={}, status="open", created_at=model.utcnow()))


def _letters(store) -> list[str]:
    with store.transaction() as s:
        return sorted(s.scalars(select(model.DeadLetter.record_id)))


def test_a_lease_is_renewed_while_its_holder_lives_and_released_after(redis):
    held = lease.try_acquire(redis, "lifesync:lock:test", ttl=0.6, renew_every=0.15)
    assert held is not None
    time.sleep(2.0)  # more than three leases: only renewals keep it
    assert lease.try_acquire(redis, "lifesync:lock:test") is None
    held.ensure()
    held.release()
    successor = lease.try_acquire(redis, "lifesync:lock:test")
    assert successor is not None and successor.fence > held.fence  # fencing numbers only grow
    successor.release()
    assert redis.get("lifesync:lock:test") is None


def _lapse_by_freezing(redis, held):
    time.sleep(held.ttl + 0.3)  # no renewal came: as if the holder were frozen


def _lapse_by_losing_the_key(redis, held):
    redis.delete(held.key)  # Redis restarted without its data, or failed over


@pytest.mark.parametrize("lapse", [_lapse_by_freezing, _lapse_by_losing_the_key], ids=["frozen", "key lost"])
def test_a_holder_whose_lease_lapsed_cannot_commit_over_its_successor(redis, store, lapse):
    old = lease.try_acquire(redis, "lifesync:lock:fenced", ttl=0.5, renew_every=60)  # its heartbeat never comes
    assert old is not None
    results: list[object] = []
    with lease.held(old):
        _write_letter(store, "before the lapse")
        lapse(redis, old)

        def successor() -> None:  # another worker, taking over and committing
            new = lease.acquire(redis, "lifesync:lock:fenced", wait=10)
            with lease.held(new):
                _write_letter(store, "successor")
            results.append(new.fence)

        thread = threading.Thread(target=successor)
        thread.start()
        thread.join(30)
        with pytest.raises(lease.LeaseLost, match="lost"):
            _write_letter(store, "stale holder")  # refused before it reached the database
    assert results and results[0] > old.fence
    assert _letters(store) == ["before the lapse", "successor"]


def test_a_run_whose_lease_lapsed_stops_and_says_so(redis, store, monkeypatch):
    monkeypatch.setattr(lease, "TTL", 0.4)
    monkeypatch.setattr(lease, "RENEW_EVERY", 60)

    def work() -> str:
        _write_letter(store, "first page")
        time.sleep(0.7)
        _write_letter(store, "second page")
        return "done"

    result = run_locked(redis, "hubspot", "contacts", work)
    assert result["skipped"] is False and "not renewed" in result["lost"]
    assert _letters(store) == ["first page"]
    assert run_locked(redis, "hubspot", "contacts", lambda: "next run")["result"] == "next run"


def _hold_and_hang(redis_url: str, key: str, ttl: float, inside, fence) -> None:
    held = lease.try_acquire(Redis.from_url(redis_url), key, ttl=ttl, renew_every=ttl / 4)
    fence.value = held.fence
    inside.set()
    time.sleep(600)  # working, until killed


@pytest.mark.parametrize("settings", ["redis"], indirect=True)
def test_a_killed_holder_is_taken_over_once_its_lease_lapses(settings, redis):
    """A process holding a lease is SIGKILLed: it never releases, and its lease lapses on its own."""
    key = lock_key("lifesync", "crm:hubspot:default")
    ctx = multiprocessing.get_context("spawn")
    inside, fence = ctx.Event(), ctx.Value("i", 0)
    holder = ctx.Process(target=_hold_and_hang, args=(REDIS_TEST_URL, key, 2.0, inside, fence))
    holder.start()
    try:
        assert inside.wait(60)
        time.sleep(5.0)  # two and a half leases: the holder's heartbeat renews it across processes
        assert run_locked(redis, "lifesync", "crm:hubspot:default", lambda: "ran")["skipped"] is True
    finally:
        holder.kill()
        holder.join(30)
    assert lease.try_acquire(redis, key) is None  # killed, not released: the lease outlives it ...
    taken = lease.acquire(redis, key, wait=30)  # ... for one lease at most
    assert taken is not None and taken.fence > fence.value
    taken.release()


def _drain_and_hang(database_url: str, redis_url: str, inside) -> None:
    from sync.ingest import inbox
    from sync.store.engine import open_store

    lease.TTL, lease.RENEW_EVERY = 2.0, 0.5
    store = open_store(database_url)

    def process(ids: list[int]) -> None:
        inside.set()
        time.sleep(600)  # in the middle of its first batch when killed

    drain(redis_connection(Settings.from_env({"DATABASE_URL": database_url, "REDIS_URL": redis_url})),
          lambda: inbox.received(store, 1), process)


@pytest.mark.parametrize("settings", ["redis"], indirect=True)
def test_a_waiting_drain_takes_over_from_a_killed_one_once_its_lease_lapses(settings, store, database_url):
    from support.payloads import whatsapp_value

    from sync.connectors.events import InboundEvent
    from sync.ingest.inbox import store_events

    for n in range(3):
        value = whatsapp_value()
        value["messages"][0]["id"] = f"wamid.K{n}"
        store_events(store, [InboundEvent("whatsapp", "message", f"wamid.K{n}", value)])
    ctx = multiprocessing.get_context("spawn")
    inside = ctx.Event()
    draining = ctx.Process(target=_drain_and_hang, args=(database_url, REDIS_TEST_URL, inside))
    draining.start()
    try:
        assert inside.wait(60)
    finally:
        draining.kill()  # kill -9 of the draining worker
        draining.join(30)
    killed = time.monotonic()
    assert redis_connection(settings).exists(DRAIN_LOCK)  # its turn outlives it, for one lease
    result = jobs.tasks.drain_inbox()  # the drain job queued behind it: waits for its turn
    assert time.monotonic() - killed < 30  # a generous bound; before leases this waited 300 s
    assert result["records"] == 3
    with store.transaction() as s:
        assert s.scalar(select(func.count()).select_from(model.RawEvent).where(
            model.RawEvent.status == "processed")) == 3
