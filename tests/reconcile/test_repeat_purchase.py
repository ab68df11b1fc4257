"""Loyalty stages: ``on: conversion`` rules count a contact's purchases (a second one makes a Repeat Customer)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from itertools import permutations

from support.lifecycle_fixtures import T0, make_config, patch

from sync.config.brands import Brand, Brands
from sync.config.conversions import ConversionRules
from sync.config.types import StageDef, TransitionRule
from sync.reconcile.lifecycle import StageSignal, conversion_reason, replay
from sync.reconcile.patch import ConversionData
from sync.reconcile.workspace import Workspace

REPEAT = TransitionRule("repeat-purchase", ("Customer",), on="conversion", to="Repeat Customer",
                        kind="purchase", count=2)
LOYAL = make_config(stages=(*make_config().stages, StageDef("Repeat Customer", "loyalty")),
                    transitions=(*make_config().transitions, REPEAT))
RULES = ConversionRules(sets_stage=(("purchase", "Customer"),))


def bought(minute: int, source: str, record: str, kind: str = "purchase") -> StageSignal:
    """The stage signal of a record's conversion (what conversions.yaml sets_stage makes)."""
    return StageSignal(at=T0 + timedelta(minutes=minute), source=source, kind="stage", stage="Customer",
                       reason=conversion_reason(kind, f"{source} orders {record}"))


def test_a_second_purchase_makes_a_repeat_customer_in_any_order():
    signals = [bought(1, "shop", "1"), bought(5, "hubspot", "d9"), bought(9, "shop", "2")]
    results = {replay(order, LOYAL).transitions for order in permutations(signals)}
    [transitions] = results
    assert [(t.to_stage, t.at, t.reason.split(":")[0]) for t in transitions] == [
        ("Customer", T0 + timedelta(minutes=1), "forward"),
        ("Repeat Customer", T0 + timedelta(minutes=5), "rule repeat-purchase")]  # the second, not the third


def test_one_order_resent_at_another_time_is_one_purchase():
    state = replay([bought(1, "shop", "1"), bought(3, "shop", "1")], LOYAL)
    assert (state.stage, state.conversions("purchase")) == ("Customer", 1)


def test_a_stage_report_or_another_kind_is_not_a_purchase():
    reported = StageSignal(at=T0, source="hubspot", kind="stage", stage="Customer", reason="hubspot contacts 1")
    state = replay([reported, bought(2, "shop", "b1", kind="booking"), bought(3, "shop", "1")], LOYAL)
    assert (state.stage, state.conversions("purchase")) == ("Customer", 1)


def test_purchases_count_only_from_the_rules_from_stages():
    cold = StageSignal(at=T0, source="hubspot", kind="stage", stage="Cold Lead", reason="hubspot contacts 1")
    state = replay([cold, bought(1, "shop", "1"), bought(2, "shop", "2")], LOYAL)
    assert (state.lost_stage, state.conversions("purchase")) == ("Cold Lead", 2)  # lost: a rule is needed to leave


def _order(record: str, minutes: int, brand: str = "default"):
    p = patch("shop", record, ["email:ana@example.com"], minutes=minutes)
    return replace(p, object="orders", brand=brand, conversions=(
        ConversionData("purchase", T0 + timedelta(minutes=minutes), 50.0, "EUR", record),))


def test_two_orders_through_the_workspace_reach_repeat_customer_per_brand_lifecycle():
    """The default brand's lifecycle has the loyalty rule; brand ``spa`` owns one without it."""
    brands = Brands((Brand("default", "Glow"), Brand("spa", "Spa", ("shop:spa",), lifecycle=make_config(),
                                                    conversions=RULES)))
    records = [_order("o1", 1), _order("o2", 2), _order("s1", 3, "spa"), _order("s2", 4, "spa")]
    seen = set()
    for order in permutations(records):
        ws = Workspace(LOYAL, conversion_rules=RULES, brands=brands)
        for p in order:
            ws.apply(p)
        [ana] = ws.contacts()
        seen.add((ana.stage, ana.brand_stages["spa"].stage))
    assert seen == {("Repeat Customer", "Customer")}
