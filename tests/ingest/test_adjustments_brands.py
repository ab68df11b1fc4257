"""A refund or cancellation adjusts only its own brand's order: the same kind and order id in another brand is
another order (``sync.attribution.adjustments``)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from support.brands import brand_config_dir

from sync.config import load_config
from sync.ingest.pipeline import ingest
from sync.store import model

PAID = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    return load_config(brand_config_dir(tmp_path_factory.mktemp("brands")))


def order(status: str, days: int, total: str = "100.00") -> dict:
    record = {"id": 7001, "status": status, "total": total, "currency": "eur", "created_at": PAID.isoformat(),
              "updated_at": (PAID + timedelta(days=days)).isoformat(),
              "customer": {"id": 1, "email": "ana@example.com"}}
    return {**record, "paid_at": PAID.isoformat()} if status == "paid" else record


EVENTS = {"paid": order("paid", 0), "partial": order("partially_refunded", 1, "60.00"),
          "refunded": order("refunded", 2)}


def purchases(store) -> dict[str, tuple]:
    cv = model.ConversionEvent
    with store.transaction() as s:
        return {r.brand: (r.retracted_at, r.adjusted_value) for r in s.execute(
            select(cv.brand, cv.retracted_at, cv.adjusted_value).where(cv.kind == "purchase"))}


def adjustment_brands(store) -> list[tuple[str, str, str]]:
    ca = model.ConversionAdjustment
    with store.transaction() as s:
        return sorted(tuple(r) for r in s.execute(select(ca.brand, ca.action, ca.status)))


def test_a_refund_in_one_brand_leaves_the_same_order_id_of_another_brand_counted(store, config):
    ingest("shop", "order", [EVENTS["paid"]], store=store, config=config)
    ingest("shop", "order", [EVENTS["paid"]], store=store, config=config, brand="lumen")
    ingest("shop", "order", [EVENTS["refunded"]], store=store, config=config, brand="lumen")
    assert purchases(store) == {"default": (None, None), "lumen": (PAID + timedelta(days=2), None)}
    assert adjustment_brands(store) == [("lumen", "retract", "applied")]


def test_a_refund_waits_for_its_own_brands_order_not_another_brands(store, config):
    ingest("shop", "order", [EVENTS["refunded"]], store=store, config=config, brand="lumen")  # before its order
    ingest("shop", "order", [EVENTS["paid"]], store=store, config=config)  # Glow's order 7001: not the refunded one
    assert adjustment_brands(store) == [("lumen", "retract", "unmatched")]
    ingest("shop", "order", [EVENTS["paid"]], store=store, config=config, brand="lumen")
    assert purchases(store) == {"default": (None, None), "lumen": (PAID + timedelta(days=2), None)}
    assert adjustment_brands(store) == [("lumen", "retract", "applied")]


# brand A's records, in every order and interleaved with B's, never change B's conversion
@pytest.mark.parametrize("a_events", list(itertools.permutations(("paid", "partial", "refunded"))))
def test_one_brands_adjustments_never_change_the_other_brands_conversion(store, config, a_events):
    b_events = ["partial", "paid"]  # Glow's partial refund (to 60) comes before its order
    for name in a_events:
        ingest("shop", "order", [EVENTS[name]], store=store, config=config, brand="lumen")
        if b_events:
            ingest("shop", "order", [EVENTS[b_events.pop(0)]], store=store, config=config)
    assert purchases(store) == {"default": (None, 60.0), "lumen": (PAID + timedelta(days=2), None)}
