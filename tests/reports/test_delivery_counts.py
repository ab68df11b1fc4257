"""The delivery report's trigger-kept counts (``delivery_counts``) against the direct join of outbox and deliveries."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from support.report_data import CONFIG, at, queued
from support.report_data import delivery_data as delivery_data  # database fixture, re-exported for pytest

from sync.ingest.deadletter_counts import compact
from sync.outbox.deliveries import defer, record_attempts
from sync.reports import delivery, delivery_counts
from sync.reports.delivery import direct, rebuild_counts
from sync.reports.delivery import kept as kept_counts
from sync.store import model

EVER = datetime(2000, 1, 1, tzinfo=UTC)


def plain(parts):
    """The parts as plain dicts without zero counts (the kept ones drop keys summing to zero)."""
    def nested(counts):
        return {dest: {k: n for k, n in values.items() if n} for dest, values in counts.items()
                if any(values.values())}
    return (nested(parts.status), nested(parts.click_ids), {d: n for d, n in parts.before.items() if n},
            nested(parts.keys), nested(parts.adjustments))


def assert_kept_counts_match(store):
    """The kept counts equal the direct computation, and so does the all-time report built from them."""
    with store.transaction() as s:
        kept, computed = plain(kept_counts(s)), plain(direct(s, None, None))
    assert kept == computed
    assert delivery(store, CONFIG) == replace(delivery(store, CONFIG, start=EVER), start=None)
    return kept


def item_id(store, key):
    with store.transaction() as s:
        return s.scalar(select(model.Outbox.id).where(model.Outbox.idempotency_key == key))


def attempt(store, outbox_id, destination, status, response=None, *, outbox_status=None):
    now = datetime(2026, 12, 7, tzinfo=UTC)
    with store.transaction() as s:
        record_attempts(s, [{"id": outbox_id, "status": outbox_status or status, "available_at": now}],
                        [{"outbox_id": outbox_id, "destination": destination, "status": status, "attempts": 1,
                          "last_error": None, "response": response or {}, "sent_at": None, "updated_at": now}], [])


def test_counts_follow_sends_failures_retries_and_status_changes(delivery_data):
    store = delivery_data
    first = assert_kept_counts_match(store)
    assert first[0]["meta"] == {"sent": 4, "failed": 1, "pending": 1, "dead": 1}
    assert first[3]["meta"] == {"em": 3, "ph": 2, "external_id": 1}
    pending = item_id(store, "k5")  # not picked up yet: counted under its outbox status
    attempt(store, pending, "meta", "failed", outbox_status="pending")
    kept = assert_kept_counts_match(store)
    assert kept[0]["meta"] == {"sent": 4, "failed": 2, "dead": 1}
    # the retry sends it, with a duplicate refusal and keys
    attempt(store, pending, "meta", "sent", {"click_id": "fbc", "keys": ["em", "em"], "duplicate": True})
    kept = assert_kept_counts_match(store)
    assert (kept[0]["meta"]["sent"], kept[1]["meta"]["fbc"], kept[2], kept[3]["meta"]["em"]) == (
        5, 3, {"meta": 1}, 5)
    failed, waiting = item_id(store, "k4"), item_id(store, "k8")
    attempt(store, failed, "meta", "dead")
    with store.transaction() as s:  # a dead-letter replay puts the item back; its delivery still counts
        s.execute(update(model.Outbox).where(model.Outbox.id == failed).values(status="pending"))
        defer(s, [waiting], datetime(2026, 12, 8, tzinfo=UTC))
    kept = assert_kept_counts_match(store)
    assert kept[0]["meta"] == {"sent": 5, "dead": 2}
    # an item never answered changes status: counted under the new one
    queued_item(store, 20, "tiktok")
    with store.transaction() as s:
        s.execute(update(model.Outbox).where(model.Outbox.idempotency_key == "k20").values(status="expired"))
    kept = assert_kept_counts_match(store)
    assert kept[0]["tiktok"] == {"sent": 1, "pending": 1, "expired": 1}


def queued_item(store, n, destination, status=None, response=None, **kwargs):
    with store.transaction() as s:
        queued(s, n, destination, status, response, created=at(1), **kwargs)


def test_counts_follow_deletes_of_deliveries_and_items(delivery_data):
    store = delivery_data
    with store.transaction() as s:  # a delivery deleted: its item counts under its own status again
        s.execute(delete(model.Delivery).where(model.Delivery.outbox_id == item_id(store, "k1")))
    kept = assert_kept_counts_match(store)
    assert kept[0]["meta"] == {"sent": 3, "failed": 1, "pending": 2, "dead": 1}
    assert "ctwa_clid" not in kept[1]["meta"]
    with store.transaction() as s:  # items deleted with their deliveries (the cascade), and without any
        s.execute(delete(model.Outbox).where(model.Outbox.idempotency_key.in_(("k2", "k3", "k5", "k10"))))
    kept = assert_kept_counts_match(store)
    assert kept[0]["meta"] == {"sent": 1, "failed": 1, "pending": 1, "dead": 1}
    assert kept[3]["meta"] == {"em": 1}  # k11's, before the window


def test_one_statement_writing_or_deleting_two_deliveries_of_an_item_moves_it_once(store):
    queued_item(store, 1, "meta")
    outbox_id = item_id(store, "k1")
    rows = [{"outbox_id": outbox_id, "destination": dest, "status": "sent", "response": {}} for dest in ("meta", "x")]
    with store.transaction() as s:
        s.execute(model.Delivery.__table__.insert().values(rows))  # one statement of two rows
    assert assert_kept_counts_match(store)[0] == {"meta": {"sent": 1}, "x": {"sent": 1}}
    with store.transaction() as s:
        s.execute(delete(model.Delivery))
    assert assert_kept_counts_match(store)[0] == {"meta": {"pending": 1}}


def test_adjustments_are_counted_apart_and_other_kinds_not_at_all(store):
    queued_item(store, 1, "google", kind="adjustment")
    queued_item(store, 2, "meta", "unsupported", kind="adjustment")
    queued_item(store, 3, "hubspot", "sent", {"click_id": "gclid", "keys": ["em"]}, kind="push")
    attempt(store, item_id(store, "k1"), "google", "sent")
    kept = assert_kept_counts_match(store)
    assert kept == ({}, {}, {}, {}, {"google": {"sent": 1}, "meta": {"unsupported": 1}})


def test_rebuild_and_folding_keep_the_same_counts(delivery_data):
    store = delivery_data
    with store.transaction() as s:
        kept = plain(kept_counts(s))
        s.execute(delete(model.DeliveryCount))
    with store.transaction() as s:
        assert plain(kept_counts(s)) == ({}, {}, {}, {}, {})
        rebuild_counts(s)
    with store.transaction() as s:
        assert plain(kept_counts(s)) == kept
        assert not s.scalar(select(model.DeliveryCount.id).where(model.DeliveryCount.pending).limit(1))
    attempt(store, item_id(store, "k5"), "meta", "sent", {"keys": ["ph"]})
    assert compact(store, 0, delivery_counts.TABLE)
    with store.transaction() as s:
        rows = s.execute(select(model.DeliveryCount.part, model.DeliveryCount.destination,
                                model.DeliveryCount.value)).all()
        assert len(rows) == len(set(rows))  # one row a key once folded
    assert_kept_counts_match(store)
