"""Webhook → inbox → rq job → canonical state, on real Redis and on the embedded store."""

from __future__ import annotations

import pytest
from redis.exceptions import LockError
from sqlalchemy import func, select
from support.payloads import body_of, meta_signature, whatsapp_delivery, whatsapp_value

import jobs.tasks
from jobs.connection import redis_connection
from jobs.handover import DRAIN_FLAG, DRAIN_LOCK, Nudger, drain, drain_turn
from jobs.queues import INGEST, queue
from jobs.web import create_web_app
from jobs.worker import run
from sync.reconcile.patch import IdentityRef
from sync.reports.export import contacts_json, find_contact
from sync.store import model


def test_signed_ctwa_message_reaches_the_database_through_a_worker(settings, store):
    client = create_web_app(settings, store=store).test_client()
    body = body_of(whatsapp_delivery(whatsapp_value()))
    for _ in range(2):  # a redelivery collapses into the same job
        res = client.post("/webhooks/whatsapp", data=body,
                          headers={"X-Hub-Signature-256": meta_signature("wa-secret", body)})
        assert res.status_code == 200
    connection = redis_connection(settings)
    q = queue(INGEST, connection)
    assert q.count == 1  # one drain job for both deliveries
    assert q.jobs[0].func_name == "jobs.tasks.drain_inbox"
    with store.transaction() as s:
        assert s.scalar(select(func.count()).select_from(model.RawEvent)) == 1  # the redelivery stored nothing
    run(settings, burst=True)
    assert q.count == 0 and not connection.exists(DRAIN_FLAG)
    with store.transaction() as s:
        cid = find_contact(s, IdentityRef("whatsapp", "5215512345678"))
        [doc] = contacts_json(s, [cid])
        assert s.scalar(select(model.RawEvent.status)) == "processed"
    assert doc["stage"] == "New Lead" and doc["touchpoints"][0]["click_ids"]["ctwa_clid"]


def _store_message(store, wamid):
    from sync.connectors.events import InboundEvent
    from sync.ingest.inbox import store_events

    value = whatsapp_value()
    value["messages"][0]["id"] = wamid
    return store_events(store, [InboundEvent("whatsapp", "message", wamid, value)])


def _statuses(store):
    with store.transaction() as s:
        return sorted(s.scalars(select(model.RawEvent.status)))


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_web_process_nudges_once_per_settle_window_and_retries_a_failed_nudge(settings, store):
    connection, clock = redis_connection(settings), FakeClock()
    nudger = Nudger(connection, interval=0.25, clock=clock)
    q = queue(INGEST, connection)
    assert nudger([]) is False and q.count == 0  # a redelivery stored nothing: nothing to hand over
    assert nudger([1]) is True and q.count == 1
    connection.delete(DRAIN_FLAG)  # that drain starts ...
    clock.now += 0.1
    assert nudger([2]) is False and q.count == 1  # ... and will still look after this event
    assert not connection.exists(DRAIN_FLAG)  # no Redis call was made for it
    clock.now += 0.2  # the window has passed
    assert nudger([3]) is True and q.count == 2
    clock.now += 0.3
    assert nudger([4]) is False and q.count == 2  # a drain is already waiting: no second job

    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisDown
    from redis.retry import Retry

    # no retries: redis-py's default backs off ~8 s before it gives up on a refused connection
    down = Nudger(Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)),
                  interval=0.25, clock=clock)
    for _ in range(2):  # a failed nudge does not open a skip window: the next request tries again
        with pytest.raises(RedisDown):
            down([5])


def test_events_stored_while_a_drain_settles_are_drained_by_it(settings, store):
    connection, clock = redis_connection(settings), FakeClock()
    _store_message(store, "wamid.FIRST")
    connection.set(DRAIN_FLAG, "1")
    config = jobs.tasks.context()[2]
    from sync.ingest import inbox

    naps = []

    def sleep(seconds):
        naps.append(seconds)
        if len(naps) == 2:  # a web process stored this inside its skip window: no nudge came
            _store_message(store, "wamid.SKIPPED")
        clock.now += seconds

    batches = drain(connection, lambda: inbox.received(store, 1), lambda ids: inbox.process_events(store, config, ids),
                    clock=clock, sleep=sleep, settle=0.25)
    assert batches == 2 and _statuses(store) == ["processed", "processed"]
    assert not connection.exists(DRAIN_FLAG)  # cleared when the turn began
    assert clock.now >= 1000.25 and sum(naps) >= 0.25  # it looked until the settle window had passed


def test_drains_take_turns(settings, store):
    connection = redis_connection(settings)
    connection.set(DRAIN_FLAG, "1")
    other = connection.lock(DRAIN_LOCK, timeout=30)
    assert other.acquire(blocking=False)
    with pytest.raises(LockError), drain_turn(connection, wait=0.2):
        pass
    assert connection.exists(DRAIN_FLAG)  # a drain that never got its turn leaves the flag to the next
    other.release()
    with drain_turn(connection, wait=0.2):
        assert not connection.exists(DRAIN_FLAG)
        assert not connection.lock(DRAIN_LOCK).acquire(blocking=False)  # held for the turn
    assert connection.lock(DRAIN_LOCK).acquire(blocking=False)  # and released after it


def test_a_drain_past_its_budget_leaves_the_rest_to_a_successor(settings, store):
    connection, clock = redis_connection(settings), FakeClock()
    for n in range(3):
        _store_message(store, f"wamid.B{n}")
    config = jobs.tasks.context()[2]
    from sync.ingest import inbox

    def process(ids):
        inbox.process_events(store, config, ids)
        clock.now += 1.0

    assert drain(connection, lambda: inbox.received(store, 2), process, clock=clock, budget=0.5) == 1
    assert _statuses(store) == ["processed", "processed", "received"]
    q = queue(INGEST, connection)
    assert q.count == 1 and connection.exists(DRAIN_FLAG)  # the successor is queued
    run(settings, burst=True)
    assert _statuses(store) == ["processed"] * 3


def test_sweeper_requeues_events_whose_job_was_lost(settings, store):
    from sync.connectors.events import InboundEvent
    from sync.ingest.inbox import store_events

    value = whatsapp_value()
    store_events(store, [InboundEvent("whatsapp", "message", value["messages"][0]["id"], value)])
    connection = redis_connection(settings)
    connection.set(DRAIN_FLAG, "1")  # the flag of a drain job that was lost
    assert jobs.tasks.sweep_inbox(older_than_seconds=0) == 1
    assert queue(INGEST, connection).count == 1  # queued despite the flag
    run(settings, burst=True)
    with store.transaction() as s:
        assert s.scalar(select(model.RawEvent.status)) == "processed"
    assert jobs.tasks.sweep_inbox(older_than_seconds=0) == 0
    assert queue(INGEST, connection).count == 0


def test_the_sweeper_queues_nothing_behind_a_running_drain(settings, store):
    _store_message(store, "wamid.WAITING")
    connection = redis_connection(settings)
    running = connection.lock(DRAIN_LOCK, timeout=30)
    assert running.acquire(blocking=False)  # a drain is working through a backlog
    assert jobs.tasks.sweep_inbox(older_than_seconds=0) == 1
    assert queue(INGEST, connection).count == 0
    running.release()  # had it died, its lock would expire and the next sweep queue a drain
    assert jobs.tasks.sweep_inbox(older_than_seconds=0) == 1
    assert queue(INGEST, connection).count == 1



def test_an_event_that_raises_is_quarantined_and_the_rest_still_drain(settings, store, monkeypatch):
    import sync.ingest.inbox
    from sync.ingest import deadletter

    for wamid in ("wamid.A", "wamid.POISON", "wamid.C"):
        _store_message(store, wamid)
    real = sync.ingest.inbox.map_records

    def buggy(mapping, records, arrived=None):  # a bug that only this one event's record triggers
        if any(r["messages"][0]["id"] == "wamid.POISON" for r in records):
            raise RuntimeError("bug")
        return real(mapping, records, arrived)

    monkeypatch.setattr(sync.ingest.inbox, "map_records", buggy)
    result = jobs.tasks.drain_inbox()
    assert (result["records"], result["dead_lettered"]) == (3, 1)
    with store.transaction() as s:
        status = dict(s.execute(select(model.RawEvent.event_key, model.RawEvent.status)).all())
        [letter] = s.scalars(select(model.DeadLetter)).all()
    assert status == {"wamid.A": "processed", "wamid.POISON": "dead", "wamid.C": "processed"}
    assert (letter.stage, letter.record_id, letter.reason) == ("reconcile", "wamid.POISON",
                                                               "RuntimeError (details in the worker log)")
    monkeypatch.setattr(sync.ingest.inbox, "map_records", real)  # the bug is fixed: replay it
    config = jobs.tasks.context()[2]
    assert deadletter.replay(store, config).replayed == [letter.id]
    with store.transaction() as s:
        assert find_contact(s, IdentityRef("whatsapp", "5215512345678")) is not None


def test_database_trouble_while_draining_is_retried_not_quarantined(settings, store, monkeypatch):
    from sqlalchemy.exc import OperationalError

    import sync.ingest.inbox

    _store_message(store, "wamid.A")

    def down(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(sync.ingest.inbox, "ingest_patches", down)
    with pytest.raises(OperationalError):
        jobs.tasks.drain_inbox()
    assert _statuses(store) == ["received"]  # left for the retried job
    with store.transaction() as s:
        assert s.scalar(select(func.count()).select_from(model.DeadLetter)) == 0
