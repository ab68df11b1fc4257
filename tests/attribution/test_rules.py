"""Conversion rules: stage → conversion, conversion → stage, and event ids that name the business fact."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.lifecycle_fixtures import T0, make_config, patch

from sync.attribution.rules import (
    entries,
    entry_ids,
    sets_stage_signal,
    stage_changes,
    stage_conversions,
    stage_event_id,
    stage_values,
)
from sync.config.conversions import ConversionRules, StageRule
from sync.errors import ReconcileError
from sync.reconcile.lifecycle import StageSignal, Transition, replay
from sync.reconcile.patch import ActivityData, ConversionData
from sync.reconcile.workspace import ContactState, Workspace

CONFIG = make_config(default_stage="New Lead")
RULES = ConversionRules(
    custom_kinds=("refund",),
    on_stage=(StageRule("New Lead", "lead"), StageRule("Hot Lead", "qualified_lead"),
              StageRule("Customer", "purchase", value_field="amount", currency_field="currency",
                        default_currency="EUR", order_id_field="deal")),
    sets_stage=(("purchase", "Customer"), ("booking", "Hot Lead")),
)


def at(minutes: int):
    return T0 + timedelta(minutes=minutes)


def sig(minutes: int, source: str, stage: str | None, reason: str = "") -> StageSignal:
    kind = "stage" if stage else "inbound_message"
    return StageSignal(at(minutes), source, kind, stage, reason)


def history(*signals: StageSignal) -> tuple[tuple[Transition, ...], tuple[StageSignal, ...]]:
    return replay(signals, CONFIG).transitions, signals


# ---- the pure engine ----------------------------------------------------------------------

def test_each_entry_into_a_stage_with_a_rule_is_one_conversion():
    transitions, signals = history(sig(0, "hubspot", "New Lead", "hubspot contacts 1"),
                                   sig(5, "hubspot", "Hot Lead", "hubspot contacts 1"),
                                   sig(7, "salesforce", "Payment", "salesforce Lead 00Q1"))
    rows = stage_conversions(transitions, RULES, "new:1", signals=signals)
    assert [(r["kind"], r["occurred_at"], r["source"], r["object"], r["record_id"]) for r in rows] == [
        ("lead", at(0), "hubspot", "stage:New Lead", "hubspot contacts 1"),
        ("qualified_lead", at(5), "hubspot", "stage:Hot Lead", "hubspot contacts 1"),
    ]  # Payment has no rule
    assert {r["contact"] for r in rows} == {"new:1"}
    assert rows[0]["event_id"] == stage_event_id("lead", "New Lead", at(0), "hubspot", "stage", "hubspot contacts 1")
    assert all(len(r["event_id"]) == 40 for r in rows)


def test_entries_the_contact_already_had_are_not_converted_again_but_a_re_entry_is():
    first = history(sig(0, "hubspot", "New Lead", "r1"), sig(1, "lifesync", "Cold Lead", "stale"))
    transitions, signals = history(*first[1], sig(9, "whatsapp", None, "whatsapp message wamid.9"))
    assert [t.to_stage for t in transitions] == ["New Lead", "Cold Lead", "New Lead"]  # reactivated on inbound
    assert entries(transitions) == Counter({"New Lead": 2, "Cold Lead": 1})
    before = entry_ids(first[0], RULES, first[1])
    [row] = stage_conversions(transitions, RULES, 1, signals=signals, before=[before])
    # the reactivation is caused by the inbound message: its record anchors the id
    assert (row["kind"], row["occurred_at"], row["record_id"]) == ("lead", at(9), "whatsapp message wamid.9")
    assert row["event_id"] == stage_event_id("lead", "New Lead", at(9), "whatsapp", "inbound_message",
                                             "whatsapp message wamid.9")
    assert stage_conversions(transitions, RULES, 1, signals=signals,
                             before=[entry_ids(transitions, RULES, signals)]) == []


def test_a_stage_corrected_to_an_earlier_time_is_not_a_new_conversion():
    late = history(sig(5, "hubspot", "Hot Lead", "hubspot contacts 1"))
    early = history(*late[1], sig(2, "salesforce", "Hot Lead", "sf 3"))
    [first] = stage_conversions(late[0], RULES, 1, signals=late[1])
    assert first["occurred_at"] == at(5)
    assert stage_conversions(early[0], RULES, 1, signals=early[1], before=[entry_ids(late[0], RULES, late[1])]) == []


def test_an_entry_moved_earlier_replaces_the_known_id_with_the_converged_one():
    late = history(sig(5, "hubspot", "New Lead", "hubspot contacts 1"))
    early = history(*late[1], sig(2, "salesforce", "New Lead", "salesforce Lead 00Q1"))
    [old] = stage_conversions(late[0], RULES, 1, signals=late[1])
    [direct] = stage_conversions(early[0], RULES, 1, signals=early[1])  # the other order, in one go
    found = stage_changes(early[0], RULES, 1, signals=early[1], before=[entry_ids(late[0], RULES, late[1])])
    assert (found.rows, found.withdrawn) == ([], [])
    [moved] = found.moved
    assert moved == {**direct, "replaces": old["event_id"]}
    assert (moved["occurred_at"], moved["source"]) == (at(2), "salesforce")


def test_an_entry_the_history_no_longer_has_is_withdrawn():
    late = history(sig(5, "hubspot", "New Lead", "hubspot contacts 1"))
    skipped = history(*late[1], sig(2, "salesforce", "Hot Lead", "salesforce Lead 00Q1"))  # New Lead@5 is backwards
    assert [t.to_stage for t in skipped[0]] == ["Hot Lead"]
    [old] = stage_conversions(late[0], RULES, 1, signals=late[1])
    found = stage_changes(skipped[0], RULES, 1, signals=skipped[1], before=[entry_ids(late[0], RULES, late[1])])
    assert [r["kind"] for r in found.rows] == ["qualified_lead"] and found.moved == []
    assert found.withdrawn == [{"contact": 1, "replaces": old["event_id"]}]


def test_an_entry_gained_before_the_known_ones_is_the_one_converted():
    # a merge brings an earlier entry into New Lead: that entry converts, not the one already converted
    known = history(sig(2, "salesforce", "Cold Lead", "sf 1"), sig(3, "whatsapp", None, "wa 1"))
    merged = history(*known[1], sig(0, "lifesync", "New Lead", "default stage: respondio contacts 9"))
    assert [t.to_stage for t in merged[0]] == ["New Lead", "Cold Lead", "New Lead"]
    [row] = stage_conversions(merged[0], RULES, 1, signals=merged[1], before=[entry_ids(known[0], RULES, known[1])])
    assert (row["occurred_at"], row["record_id"]) == (at(0), "default stage: respondio contacts 9")


def test_sources_limit_a_rule_and_a_record_carrying_the_kind_is_not_counted_twice():
    rules = replace(RULES, on_stage=(StageRule("Hot Lead", "qualified_lead", sources=("respondio",)),
                                     StageRule("Customer", "purchase")))
    transitions, signals = history(sig(1, "hubspot", "Hot Lead", "hubspot contacts 1"),
                                   sig(2, "shop", "Customer", "shop order 7"))
    assert stage_conversions(transitions, rules, 1, signals=signals,
                             record_kinds={"shop order 7": {"purchase"}}) == []
    [row] = stage_conversions(transitions, rules, 1, signals=signals, record_kinds={"shop order 7": {"booking"}})
    assert row["kind"] == "purchase"


@pytest.mark.parametrize(("attributes", "expected"), [
    ({"amount": {"value": "1250.50", "source": "hubspot"}, "currency": {"value": " usd ", "source": "hubspot"},
      "deal": {"value": 42, "source": "hubspot"}}, {"value": 1250.5, "currency": "USD", "order_id": "42"}),
    ({"amount": {"value": 99, "source": "x"}}, {"value": 99.0, "currency": "EUR", "order_id": None}),
    ({"amount": {"value": "lots", "source": "x"}, "currency": {"value": "euro", "source": "x"},
      "deal": {"value": "  ", "source": "x"}}, {"value": None, "currency": "EUR", "order_id": None}),
    ({"amount": {"value": True, "source": "x"}}, {"value": None, "currency": "EUR", "order_id": None}),
    ({"amount": {"value": "nan", "source": "x"}}, {"value": None, "currency": "EUR", "order_id": None}),
    ({}, {"value": None, "currency": "EUR", "order_id": None}),
])
def test_value_currency_and_order_id_come_from_the_contact_fields(attributes, expected):
    assert stage_values(RULES.rule_for_stage("Customer"), attributes) == expected
    assert stage_values(RULES.rule_for_stage("Hot Lead"), attributes) == {
        "value": None, "currency": None, "order_id": None}


def test_event_id_names_the_fact_not_the_contact():
    transitions, signals = history(sig(3, "hubspot", "Hot Lead", "hubspot contacts 1"))
    [a] = stage_conversions(transitions, RULES, 17, signals=signals)
    [b] = stage_conversions(transitions, RULES, "new:4", signals=signals)
    assert a["event_id"] == b["event_id"]
    # same stage, same time, same tool, another record: another fact
    other, other_signals = history(sig(3, "hubspot", "Hot Lead", "hubspot contacts 2"))
    [c] = stage_conversions(other, RULES, 17, signals=other_signals)
    assert c["event_id"] != a["event_id"]


def test_conversion_sets_a_stage_signal_from_its_source_at_its_time():
    assert sets_stage_signal(RULES, "purchase", "shop", at(4), "shop order 7") == StageSignal(
        at(4), "shop", "stage", "Customer", "purchase: shop order 7")
    assert sets_stage_signal(RULES, "lead", "shop", at(4), "shop order 7") is None


def test_no_rules_no_conversions():
    transitions, signals = history(sig(0, "hubspot", "Customer", "r"))
    assert stage_conversions(transitions, ConversionRules(), 1, signals=signals) == []


# ---- in the workspace -----------------------------------------------------------------------

def order(source: str, record: str, ids: list[str], *, minutes: int, kind: str = "purchase", stage=None):
    return replace(patch(source, record, ids, minutes=minutes, stage=stage),
                   object="order", conversions=(ConversionData(kind, at(minutes), 80.0, "EUR", record),))


def run(ps, rules=RULES, config=CONFIG, ws: Workspace | None = None) -> Workspace:
    ws = ws or Workspace(config, conversion_rules=rules)
    for p in ps:
        ws.apply(p)
    return ws


def stage_rows(ws: Workspace) -> list[dict]:
    return [c for c in ws.conversions if c["object"].startswith("stage:")]


def test_a_new_contact_is_a_lead_and_a_purchase_makes_it_a_customer_once():
    ws = run([patch("hubspot", "1", ["email:a@x.com"], minutes=0),
              order("shop", "7", ["email:a@x.com"], minutes=30)])
    [c] = ws.contacts()
    assert [t.to_stage for t in c.transitions] == ["New Lead", "Customer"]
    assert c.transitions[-1].reason == "forward: purchase: shop order 7" and c.transitions[-1].source == "shop"
    assert sorted((r["kind"], r["object"]) for r in ws.conversions) == [
        ("lead", "stage:New Lead"),
        ("purchase", "order"),  # the order's own purchase; entering Customer through it adds no second one
    ]
    lead = stage_rows(ws)[0]
    assert lead["record_id"] == "default stage: hubspot contacts 1" and lead["contact"] == c.key


def test_a_booking_moves_to_hot_lead_which_is_a_qualified_lead():
    ws = run([order("calendly", "b1", ["email:a@x.com"], minutes=5, kind="booking")])
    [c] = ws.contacts()
    assert [t.to_stage for t in c.transitions] == ["New Lead", "Hot Lead"]
    assert sorted(r["kind"] for r in ws.conversions) == ["booking", "lead", "qualified_lead"]


def test_sets_stage_to_an_unknown_stage_is_rejected_before_any_change():
    ws = Workspace(CONFIG, conversion_rules=replace(RULES, sets_stage=(("purchase", "VIP"),)))
    with pytest.raises(ReconcileError, match="VIP"):
        ws.apply(order("shop", "7", ["email:a@x.com"], minutes=1))
    assert ws.contacts() == [] and ws.conversions == []


def test_without_rules_the_workspace_makes_no_stage_conversions():
    ws = run([order("shop", "7", ["email:a@x.com"], minutes=1)], rules=ConversionRules())
    assert [r["object"] for r in ws.conversions] == ["order"]
    [c] = ws.contacts()
    assert [t.to_stage for t in c.transitions] == ["New Lead"]


def test_rows_of_a_batch_follow_the_final_history_not_each_record():
    # Hot Lead at 5, then a record showing it was Hot Lead since 1: one qualified lead, dated 1
    ws = run([patch("hubspot", "1", ["email:a@x.com"], minutes=5, stage="Hot Lead"),
              patch("salesforce", "2", ["email:a@x.com"], minutes=1, stage="Hot Lead")])
    assert [(r["kind"], r["occurred_at"], r["source"]) for r in stage_rows(ws)] == [
        ("qualified_lead", at(1), "salesforce")]


def reload(ws: Workspace, rules=RULES) -> Workspace:
    """The next batch's workspace: every live contact as the store would load it (database ids)."""
    nxt = Workspace(ws.config, conversion_rules=rules)
    for n, s in enumerate(sorted(ws.contacts(), key=lambda s: sorted(s.identities)), start=1):
        nxt.add_loaded(ContactState(key=n, identities=dict(s.identities), candidates=dict(s.candidates),
                                    signals=set(s.signals), attributes=dict(s.attributes), stage=s.stage,
                                    lost_stage=s.lost_stage))
    return nxt


def test_re_sync_adds_nothing_and_a_merge_keeps_every_id():
    a = [patch("hubspot", "1", ["hubspot:1", "email:a@x.com"], minutes=3, stage="Hot Lead")]
    b = [patch("salesforce", "003B", ["salesforce:003B", "phone:+14155550100"], minutes=1),
         patch("salesforce", "003B", ["salesforce:003B"], minutes=6, stage="Hot Lead")]
    first = run(a + b)
    assert len(first.contacts()) == 2
    sent = {r["event_id"] for r in first.conversions}
    assert Counter(r["kind"] for r in first.conversions) == Counter({"qualified_lead": 2, "lead": 1})

    again = run(a + b, ws=reload(first))  # the same records pulled again
    assert again.conversions == []

    bridge = patch("respondio", "9", ["email:a@x.com", "phone:+14155550100"], minutes=8)
    merged = run([bridge], ws=reload(first))
    [c] = merged.contacts()
    assert [t.to_stage for t in c.transitions] == ["New Lead", "Hot Lead"]
    assert merged.conversions == []  # both people's conversions were made before the merge
    # and the merged history, converted from scratch, names facts that were already sent
    assert {r["event_id"] for r in stage_conversions(c.transitions, RULES, c.key, signals=c.signals)} <= sent


# ---- properties ------------------------------------------------------------------------------

SOURCES = ["hubspot", "salesforce", "respondio"]
STAGES = [None, None, "New Lead", "Hot Lead", "Payment", "Customer", "Cold Lead"]


@st.composite
def patches(draw, max_size=10):
    out = []
    for n in range(draw(st.integers(1, max_size))):
        # records naming two people's e-mails merge them (e-mail matches are never blocked, so the
        # people a batch ends up with do not depend on the order either)
        ids = draw(st.lists(st.sampled_from(["email:p0@x.com", "email:p1@x.com", "email:p2@x.com"]),
                            min_size=1, max_size=2, unique=True))
        minutes = draw(st.integers(0, 6))
        p = patch(draw(st.sampled_from(SOURCES)), f"r{n}", ids, minutes=minutes,
                  stage=draw(st.sampled_from(STAGES)), amount=draw(st.sampled_from([None, 10, 25])))
        kind = draw(st.sampled_from([None, None, "purchase", "booking"]))
        if kind:
            p = replace(p, conversions=(ConversionData(kind, at(minutes)),))
        if draw(st.booleans()):
            p = replace(p, activities=(ActivityData("whatsapp", "inbound", at(draw(st.integers(0, 6))), f"m{n}"),))
        out.append(p)
    return out


def facts(ws: Workspace) -> list[tuple]:
    """Every distinct conversion row (the store keeps one per event id), its contact named by its identities.

    (Database keys depend on the order contacts were created in.)
    """
    return sorted({(tuple(sorted(map(str, ws.live(r["contact"]).identities))),
                   *(str(r[k]) for k in ("event_id", "kind", "value", "currency", "occurred_at", "source", "object",
                                         "record_id")))
                   for r in ws.conversions})


@settings(max_examples=200, deadline=None)
@given(ps=patches(), data=st.data())
def test_any_order_of_the_same_patches_gives_the_same_conversions(ps, data):
    expected = facts(run(ps))
    assert facts(run(data.draw(st.permutations(ps), label="arrival order"))) == expected
    redelivered = data.draw(st.lists(st.sampled_from(ps), max_size=3), label="redeliveries")
    assert facts(run(data.draw(st.permutations(ps + redelivered), label="with redeliveries"))) == expected


@settings(max_examples=200, deadline=None)
@given(ps=patches(), data=st.data())
def test_each_batch_converts_only_the_entries_it_adds_and_a_re_sync_adds_none(ps, data):
    """One person, records in any order and any batches: a batch converts the stage entries it adds, once."""
    ps = [replace(p, identities=patch("x", "r", ["email:one@x.com"]).identities) for p in ps]
    ps = data.draw(st.permutations(ps), label="arrival order")
    ends = sorted(data.draw(st.sets(st.integers(1, len(ps)), max_size=4), label="batch ends") | {len(ps)})
    ws, start, before = None, 0, Counter()
    for end in ends:
        ws = run(ps[start:end], ws=reload(ws) if ws else None)
        [c] = ws.contacts()
        now = entries(replay(c.signals, CONFIG).transitions)  # (an unchanged contact's history is not loaded)
        made = Counter(r["object"].removeprefix("stage:") for r in stage_rows(ws))
        for stage in ("New Lead", "Hot Lead"):  # no record here carries a lead or qualified_lead itself
            assert made[stage] == max(0, now[stage] - before[stage])
        assert made["Customer"] <= max(0, now["Customer"] - before["Customer"])  # minus purchases the order made
        before, start = now, end
    again = data.draw(st.permutations(ps), label="re-sync order")
    assert stage_rows(run(again, ws=reload(ws))) == []


@settings(max_examples=200, deadline=None)
@given(a=patches(max_size=5), b=patches(max_size=5), data=st.data())
def test_a_merge_converts_only_entries_beyond_those_both_people_had(a, b, data):
    """Two people converted apart, then merged: nothing is sent again, ids made before stay as they were."""
    a = [replace(p, identities=patch("x", "r", ["email:a@x.com"]).identities) for p in a]
    b = [replace(p, record_id=f"b-{p.record_id}", identities=patch("x", "r", ["email:b@x.com"]).identities)
         for p in b]
    first = run(data.draw(st.permutations(a + b), label="arrival order"))
    sent = {r["event_id"] for r in stage_rows(first)}
    parts = sum((entries(replay(c.signals, CONFIG).transitions) for c in first.contacts()), Counter())
    bridge = patch("respondio", "bridge", ["email:a@x.com", "email:b@x.com"], minutes=data.draw(st.integers(0, 6)))
    merged = run([bridge], ws=reload(first))
    [c] = merged.contacts()
    made = stage_rows(merged)
    assert not {r["event_id"] for r in made} & sent
    now = entries(c.transitions)
    for stage in ("New Lead", "Hot Lead"):
        assert sum(r["object"] == f"stage:{stage}" for r in made) == max(0, now[stage] - parts[stage])
