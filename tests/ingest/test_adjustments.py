"""Refunds and cancellations of shop orders through ingest: stored once, applied in any order, queued where sent."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from sync.config import load_config
from sync.ingest.pipeline import ingest
from sync.outbox.effects import Effects
from sync.reports.attribution import attribution
from sync.store import model

CONFIG = load_config(None)
PAID = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
EFFECTS = Effects(conversion_rules=CONFIG.conversions, conversion_destinations=frozenset({"meta", "tiktok", "google"}))


def order(status: str, *, total: str = "100.00", at: datetime = PAID, order_id: int = 7001,
          email: str = "ana@example.com", **extra) -> dict:
    record = {"id": order_id, "status": status, "total": total, "currency": "eur", "created_at": PAID.isoformat(),
              "updated_at": at.isoformat(), "customer": {"id": 1, "email": email}}
    if status == "paid":
        record["paid_at"] = PAID.isoformat()
    return {**record, **extra}


REFUNDED = order("refunded", at=PAID + timedelta(days=2))
PARTIAL = order("partially_refunded", total="60.00", at=PAID + timedelta(days=1))
PARTIAL_LATER = order("partially_refunded", total="30.00", at=PAID + timedelta(days=3))


def send(store, *records: dict) -> None:
    for record in records:  # one batch (transaction) each, as separate webhooks are
        result = ingest("shop", "order", [record], store=store, config=CONFIG, effects=EFFECTS)
        assert result.dead_lettered == 0, result


def conversion(store) -> model.ConversionEvent:
    with store.transaction() as s:
        found = s.scalars(select(model.ConversionEvent).where(model.ConversionEvent.kind == "purchase")).one()
        s.expunge(found)
        return found


def adjustments(store) -> list[tuple[str, str, float | None]]:
    with store.transaction() as s:
        return sorted((a.action, a.status, a.value) for a in s.scalars(select(model.ConversionAdjustment)))


def outbox(store, kind: str) -> list[str]:
    with store.transaction() as s:
        return sorted(o.destination for o in s.scalars(select(model.Outbox).where(model.Outbox.kind == kind)))


def test_the_refund_is_read_from_the_shop_mapping_as_an_adjustment_of_the_purchase():
    from sync.mappings.engine import apply

    (conv,) = apply(CONFIG.mappings[("shop", "order")], PARTIAL).conversions
    assert (conv.kind, conv.adjust, conv.order_id, conv.value, conv.currency) == (
        "purchase", "restate", "7001", 60.0, "EUR")


def mark_sent(store, *destinations: str) -> None:
    with store.transaction() as s:
        purchase = s.scalars(select(model.ConversionEvent.event_id).where(model.ConversionEvent.kind == "purchase"))
        ids = set(purchase)
        for row in s.scalars(select(model.Outbox).where(model.Outbox.kind == "conversion",
                                                        model.Outbox.destination.in_(destinations))):
            if row.payload["event_id"] not in ids:
                continue
            row.status = "sent"


def test_a_refund_retracts_the_purchase_and_the_same_webhook_twice_is_one_adjustment(store):
    send(store, order("paid"))
    mark_sent(store, "meta", "google")  # tiktok's delivery is still pending
    send(store, REFUNDED, REFUNDED)
    conv = conversion(store)
    assert conv.retracted_at == PAID + timedelta(days=2) and conv.value == 100.0  # what it said stays
    assert adjustments(store) == [("retract", "applied", None)]
    # every destination told (or about to be told) the purchase gets the retraction once
    assert outbox(store, "adjustment") == ["google", "meta", "tiktok"]


def test_an_adjustment_that_arrives_before_its_purchase_waits_and_applies_when_it_comes(store):
    send(store, REFUNDED)
    assert adjustments(store) == [("retract", "unmatched", None)]
    with store.transaction() as s:
        assert s.scalars(select(model.ConversionEvent).where(model.ConversionEvent.kind == "purchase")).all() == []
    send(store, order("paid"))
    assert conversion(store).retracted_at is not None
    assert adjustments(store) == [("retract", "applied", None)]
    assert outbox(store, "adjustment") == []  # the purchase is new: it goes out as it stands (retracted: not at all)


@pytest.mark.parametrize("arrival", list(itertools.permutations([order("paid"), PARTIAL, PARTIAL_LATER])))
def test_restatements_leave_the_latest_value_whatever_order_they_arrive_in(store, arrival):
    send(store, *arrival)
    conv = conversion(store)
    assert (conv.adjusted_value, conv.adjusted_currency, conv.retracted_at) == (30.0, "EUR", None)
    assert conv.adjusted_at == PAID + timedelta(days=3)
    assert adjustments(store) == [("restate", "applied", 30.0), ("restate", "applied", 60.0)]


def test_a_retraction_is_final_even_when_a_restatement_is_dated_after_it(store):
    send(store, order("paid"), PARTIAL_LATER, order("cancelled", at=PAID + timedelta(days=2)))
    conv = conversion(store)
    assert conv.retracted_at == PAID + timedelta(days=2) and conv.adjusted_value is None


def test_a_retraction_dated_before_a_purchase_does_not_undo_that_later_sale(store):
    send(store, order("cancelled", at=PAID - timedelta(days=1)), order("paid"))
    assert conversion(store).retracted_at is None
    assert adjustments(store) == [("retract", "unmatched", None)]


def test_a_refund_without_an_order_id_is_dead_lettered_with_the_field_named(store):
    result = ingest("shop", "order", [order("refunded", at=PAID, order_id=None)], store=store, config=CONFIG,
                    effects=EFFECTS)
    assert result.dead_lettered == 1
    with store.transaction() as s:
        reason = s.scalars(select(model.DeadLetter.reason)).one()
    assert "record_id" in reason or "order_id" in reason


def test_reports_leave_retracted_conversions_out_and_count_restated_ones_at_their_new_value(store):
    send(store, order("paid", order_id=1, email="a@example.com"), order("paid", order_id=2, email="b@example.com"),
         order("paid", order_id=3, email="c@example.com"))
    before = attribution(store)
    assert (before.conversions, before.value) == (3, {"EUR": 300.0})
    send(store, order("refunded", order_id=1, email="a@example.com", at=PAID + timedelta(days=1)),
         order("partially_refunded", total="40.00", order_id=2, email="b@example.com", at=PAID + timedelta(days=1)))
    after = attribution(store)
    assert (after.conversions, after.value) == (2, {"EUR": 140.0})


def test_no_adjustment_is_queued_where_the_purchase_was_never_delivered(store):
    send(store, order("paid"))
    mark_sent(store, "meta")
    with store.transaction() as s:
        for row in s.scalars(select(model.Outbox).where(model.Outbox.destination.in_(("google", "tiktok")))):
            row.status = "expired" if row.destination == "google" else "dead"
    send(store, PARTIAL)
    assert outbox(store, "adjustment") == ["meta"]
