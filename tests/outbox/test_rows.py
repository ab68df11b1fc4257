"""Conversions enter the outbox with the state change that made them: one transaction, once per destination."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from support.lifecycle_fixtures import T0, make_config, patch

import sync.ingest.pipeline
from sync.config.conversions import ConversionRules, Destination, StageRule
from sync.ingest.pipeline import ingest_patches
from sync.outbox.effects import Effects
from sync.reconcile.patch import ConversionData
from sync.store import model

CONFIG = make_config(default_stage="New Lead")
RULES = ConversionRules(
    on_stage=(StageRule("New Lead", "lead"), StageRule("Hot Lead", "qualified_lead"),
              StageRule("Customer", "purchase", value_field="amount", default_currency="EUR")),
    sets_stage=(("purchase", "Customer"),),
    destinations=(Destination("meta", "meta", ("lead", "qualified_lead", "purchase")),
                  Destination("google", "google", ("purchase",)),
                  Destination("tiktok", "tiktok", ("lead", "purchase")),
                  Destination("meta-eu", "meta", ("lead", "purchase"), enabled=False)),
)
CREDENTIALS = frozenset({"meta", "google", "meta-eu"})  # tiktok has none


def ingest(store, *patches, destinations=CREDENTIALS, rules=RULES, **kwargs):
    return ingest_patches(store, CONFIG, [(p, None) for p in patches],
                          effects=Effects(conversion_rules=rules, conversion_destinations=destinations), **kwargs)


def order(record: str, ids: list[str], minutes: int, value: float = 80.0):
    return replace(patch("shop", record, ids, minutes=minutes), object="order", conversions=(
        ConversionData("purchase", T0 + timedelta(minutes=minutes), value, "EUR", record),))


def conversions(store) -> dict[str, tuple]:
    with store.transaction() as s:
        return {c.event_id: (c.contact_id, c.kind, c.object, c.record_id, c.value, c.currency)
                for c in s.scalars(select(model.ConversionEvent))}


def outbox(store) -> list[tuple]:
    with store.transaction() as s:
        return sorted((o.destination, o.kind, o.payload["event_id"], o.contact_id, o.conversion_id, o.status,
                       o.idempotency_key) for o in s.scalars(select(model.Outbox)))


def test_new_conversions_are_queued_for_each_enabled_destination_of_their_kind(store):
    ingest(store, patch("hubspot", "1", ["email:a@x.com"], amount=120),
           order("7", ["email:a@x.com"], minutes=30))
    rows = conversions(store)
    by_kind = {kind: event_id for event_id, (_, kind, *_rest) in rows.items()}
    assert sorted((kind, obj, rid, value, cur) for _, kind, obj, rid, value, cur in rows.values()) == [
        ("lead", "stage:New Lead", "default stage: hubspot contacts 1", None, None),
        ("purchase", "order", "7", 80.0, "EUR"),  # entering Customer through the order adds no second purchase
    ]
    [contact] = {c for c, *_ in rows.values()}
    assert outbox(store) == sorted([
        ("google", "conversion", by_kind["purchase"], contact, None, "pending", f"conv:google:{by_kind['purchase']}"),
        ("meta", "conversion", by_kind["lead"], contact, None, "pending", f"conv:meta:{by_kind['lead']}"),
        ("meta", "conversion", by_kind["purchase"], contact, None, "pending", f"conv:meta:{by_kind['purchase']}"),
    ])  # tiktok: no credentials; meta-eu: disabled in the rules


def test_a_stage_conversion_reads_its_value_from_the_contact(store):
    ingest(store, replace(patch("respondio", "9", ["email:b@x.com"], stage="Customer", amount="250.5")))
    assert sorted((kind, value, cur) for _, kind, _, _, value, cur in conversions(store).values()) == [
        ("purchase", 250.5, "EUR")]


def test_conversions_and_their_outbox_rows_commit_together_or_not_at_all(store, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("crash after the writes, before the commit")

    monkeypatch.setattr(sync.ingest.pipeline, "save_cursor", fail)
    with pytest.raises(RuntimeError):
        ingest(store, order("7", ["email:a@x.com"], minutes=1), cursor=("shop", "order", {"after": "7"}))
    assert conversions(store) == {} and outbox(store) == []
    monkeypatch.undo()
    ingest(store, order("7", ["email:a@x.com"], minutes=1), cursor=("shop", "order", {"after": "7"}))
    assert len(conversions(store)) == 2 and len(outbox(store)) == 3  # lead: meta; purchase: meta, google


def test_re_ingesting_in_any_order_or_batches_adds_nothing(store):
    records = [patch("hubspot", "1", ["email:a@x.com"], minutes=0),
               patch("hubspot", "1", ["email:a@x.com"], minutes=5, stage="Hot Lead"),
               order("7", ["email:a@x.com"], minutes=30),
               order("7", ["email:a@x.com"], minutes=30)]  # delivered twice in one batch
    ingest(store, *records)
    before = (conversions(store), outbox(store))
    assert sorted(kind for _, kind, *_ in before[0].values()) == ["lead", "purchase", "qualified_lead"]
    assert len(before[1]) == 4  # lead, qualified lead: meta; purchase: meta, google
    ingest(store, *reversed(records))
    for r in records:
        ingest(store, r)
    assert (conversions(store), outbox(store)) == before


def test_destinations_without_credentials_or_disabled_get_nothing_and_are_not_backfilled(store):
    ingest(store, order("7", ["email:a@x.com"], minutes=1), destinations=frozenset())
    assert len(conversions(store)) == 2 and outbox(store) == []
    ingest(store, order("7", ["email:a@x.com"], minutes=1), destinations=frozenset({"tiktok", "meta-eu"}))
    assert outbox(store) == []  # the conversions are not new: a replay queues nothing
    ingest(store, order("8", ["email:c@x.com"], minutes=2), destinations=frozenset({"tiktok", "meta-eu"}))
    assert sorted(d for d, *_ in outbox(store)) == ["tiktok", "tiktok"]  # lead and purchase of the new contact


def test_a_merge_queues_nothing_again_and_moves_the_rows_to_the_kept_contact(store):
    ingest(store, patch("hubspot", "1", ["hubspot:1", "email:a@x.com"], minutes=3, stage="Hot Lead"))
    ingest(store, patch("salesforce", "003B", ["salesforce:003B", "phone:+14155550100"], minutes=1, stage="Hot Lead"))
    before = outbox(store)
    assert [d for d, *_ in before] == ["meta", "meta"]  # each person's qualified lead
    ingest(store, patch("respondio", "9", ["email:a@x.com", "phone:+14155550100"], minutes=8))
    after = outbox(store)
    assert [row[2] for row in after] == [row[2] for row in before]  # the same events, no new ones
    with store.transaction() as s:
        [kept] = s.scalars(select(model.Contact.id))
        assert s.scalar(select(func.count()).select_from(model.ConversionEvent)) == 2
    assert {row[3] for row in after} == {kept} and set(c for c, *_ in conversions(store).values()) == {kept}


def test_without_rules_conversions_are_stored_but_no_stage_makes_one(store):
    ingest_patches(store, CONFIG, [(order("7", ["email:a@x.com"], minutes=1), None)])
    assert [kind for _, kind, *_ in conversions(store).values()] == ["purchase"]
    assert outbox(store) == []


def test_a_large_batch_with_redeliveries_writes_each_conversion_once(store):
    orders = [order(str(n), [f"email:p{n}@x.com"], minutes=n) for n in range(60)]  # bulk path on PostgreSQL
    ingest(store, *orders, *orders[:5], destinations=frozenset({"google"}))
    assert sorted(kind for _, kind, *_ in conversions(store).values()) == ["lead"] * 60 + ["purchase"] * 60
    assert len(outbox(store)) == 60  # google takes purchases only


@pytest.mark.parametrize("count", [3, 60])  # a multi-row insert, and COPY on PostgreSQL
def test_a_stored_conversion_seen_again_with_a_new_value_is_updated_not_queued_again(store, count):
    ingest(store, *[order(str(n), [f"email:p{n}@x.com"], minutes=n) for n in range(count)])
    queued = outbox(store)
    ingest(store, *[order(str(n), [f"email:p{n}@x.com"], minutes=n, value=95.0) for n in range(count)],
           order("new", ["email:new@x.com"], minutes=5))
    values = {rid: value for _, kind, _, rid, value, _ in conversions(store).values() if kind == "purchase"}
    assert values == {**{str(n): 95.0 for n in range(count)}, "new": 80.0}
    added = sorted(set(outbox(store)) - set(queued))
    new_contact = {c for c, _, _, rid, *_ in conversions(store).values() if rid == "new"}
    assert added and {contact for _, _, _, contact, *_ in added} == new_contact  # only the new contact's
