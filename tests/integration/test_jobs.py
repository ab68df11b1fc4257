"""Webhook → inbox → rq job → canonical state, on real Redis and on the embedded store."""

from __future__ import annotations

from sqlalchemy import select
from support.payloads import body_of, meta_signature, whatsapp_delivery, whatsapp_value

import jobs.tasks
from jobs.connection import redis_connection
from jobs.queues import INGEST, PENDING_KEY, queue
from jobs.worker import run
from sync import model
from sync.export import contacts_json, find_contact
from sync.patch import IdentityRef
from sync.web import create_app


def test_signed_ctwa_message_reaches_the_database_through_a_worker(settings, store):
    client = create_app(settings, store=store).test_client()
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
        raw_id = s.scalar(select(model.RawEvent.id))
    assert [int(i) for i in connection.lrange(PENDING_KEY, 0, -1)] == [raw_id]  # the redelivery adds nothing
    run(settings, burst=True)
    assert q.count == 0 and connection.llen(PENDING_KEY) == 0
    with store.transaction() as s:
        cid = find_contact(s, IdentityRef("whatsapp", "5215512345678"))
        [doc] = contacts_json(s, [cid])
        assert s.scalar(select(model.RawEvent.status)) == "processed"
    assert doc["stage"] == "New Lead" and doc["touchpoints"][0]["click_ids"]["ctwa_clid"]


def test_events_stored_while_a_drain_runs_get_a_drain_of_their_own(settings, store):
    from jobs.queues import enqueue_inbox
    from sync.inbox import InboundEvent, store_events

    connection = redis_connection(settings)
    first, second = whatsapp_value(), whatsapp_value()
    second["messages"][0]["id"] = "wamid.SECOND"
    ids = store_events(store, [InboundEvent("whatsapp", "message", first["messages"][0]["id"], first)])
    assert enqueue_inbox(connection, ids) is True
    assert enqueue_inbox(connection, ids) is False  # a drain is already waiting
    from jobs.queues import drain_started
    drain_started(connection)  # the waiting drain starts ...
    more = store_events(store, [InboundEvent("whatsapp", "message", "wamid.SECOND", second)])
    assert enqueue_inbox(connection, more) is True  # ... so later events queue their own
    run(settings, burst=True)
    with store.transaction() as s:
        assert sorted(s.scalars(select(model.RawEvent.status))) == ["processed", "processed"]


def test_sweeper_requeues_events_whose_job_was_lost(settings, store):
    from sync.inbox import InboundEvent, store_events

    value = whatsapp_value()
    store_events(store, [InboundEvent("whatsapp", "message", value["messages"][0]["id"], value)])
    assert jobs.tasks.sweep_inbox(older_than_seconds=0) == 1
    run(settings, burst=True)
    with store.transaction() as s:
        assert s.scalar(select(model.RawEvent.status)) == "processed"
    assert jobs.tasks.sweep_inbox(older_than_seconds=0) == 0


def test_a_large_hand_over_keeps_every_id_in_order_and_queues_one_drain(settings):
    from jobs.queues import DRAIN_FLAG, DRAIN_FLAG_TTL, enqueue_inbox

    connection = redis_connection(settings)
    ids = list(range(2500, 0, -1))  # more than one script call takes
    assert enqueue_inbox(connection, ids) is True
    assert enqueue_inbox(connection, [9999]) is False
    assert [int(i) for i in connection.lrange(PENDING_KEY, 0, -1)] == [*range(1, 2501), 9999]
    assert 0 < connection.ttl(DRAIN_FLAG) <= DRAIN_FLAG_TTL  # a lost drain job blocks the next one only so long
    assert queue(INGEST, connection).count == 1


def test_the_hand_over_script_is_loaded_when_the_server_lost_it_and_keeps_no_client_alive(settings):
    import gc
    import weakref

    from jobs.queues import enqueue_inbox

    connection = redis_connection(settings)
    connection.script_flush()  # a restarted Redis knows no scripts
    assert enqueue_inbox(connection, [1]) is True
    assert enqueue_inbox(connection, [2]) is False  # now run by its hash
    assert [int(i) for i in connection.lrange(PENDING_KEY, 0, -1)] == [1, 2]
    client = redis_connection(settings)  # e.g. a sweeper run's own client
    enqueue_inbox(client, [3])
    gone = weakref.ref(client)
    del client
    gc.collect()
    assert gone() is None  # nothing caches the client (or its connection pool)
