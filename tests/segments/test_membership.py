"""Membership: stays entered and left with times; kept incrementally from the pipeline's queue, it equals a full
re-evaluation."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from itertools import count

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from support.lifecycle_fixtures import T0, make_config, patch
from support.segments import NOW, contact, segment

from sync.ingest.pipeline import ingest_patches
from sync.reconcile.patch import ActivityData, ConversionData, TouchpointData
from sync.segments import dirty
from sync.segments.compile import members_query
from sync.segments.membership import current_members, drain, evaluate
from sync.store import model

CONFIG = make_config()
SEGMENTS = [segment(text, key) for key, text in (
    ("hot-sa", "{label: a, conditions: [{stage: Hot Lead}, {field: {name: country, equals: SA}}]}"),
    ("buyers", "{label: b, match: any, conditions: [{purchases: {count: {gte: 2}}}, {has_identity: phone}]}"),
    ("big", "{label: c, conditions: [{purchases: {total: {gt: 100}}}, {not: {field: {name: country, in: [AE]}}}]}"),
    ("active", "{label: d, conditions: [{last_inbound: {within: 30d}}, {not: {lost_stage: any}}]}"),
    ("meta", "{label: e, conditions: [{first_touch: {network: meta}}, {phase: [acquisition, conversion]}]}"),
)]
STAGES = (None, "New Lead", "Hot Lead", "Customer", "Cold Lead")


def current(store, key):
    with store.transaction() as s:
        return set(s.scalars(current_members(s, key)))


def full(store, seg):
    with store.transaction() as s:
        return set(s.scalars(members_query(seg, store.dialect, NOW)))


def test_entering_and_leaving_keep_their_times_and_history(store):
    seg = segment("{label: hot, conditions: [{stage: Hot Lead}]}", "hot")
    with store.transaction() as s:
        a, b = contact(s, stage="Hot Lead"), contact(s, stage="New Lead")
    first = evaluate(store, [seg], NOW)
    assert (first[0].entered, first[0].left, first[0].size) == (1, 0, 1)
    later = NOW + timedelta(hours=1)
    with store.transaction() as s:
        s.execute(model.Contact.__table__.update().where(model.Contact.id == a).values(stage="Customer"))
        s.execute(model.Contact.__table__.update().where(model.Contact.id == b).values(stage="Hot Lead"))
        dirty.mark(s, [a, b])
    assert drain(store, [seg], later)["contacts"] == 2
    with store.transaction() as s:
        stays = s.execute(select(model.SegmentMember.contact_id, model.SegmentMember.entered_at,
                                 model.SegmentMember.left_at).order_by(model.SegmentMember.id)).all()
        left_queue = s.scalar(select(model.SegmentDirty.contact_id))
    assert [tuple(r) for r in stays] == [(a, NOW, later), (b, later, None)]
    assert left_queue is None


def test_a_merged_away_contact_leaves(store):
    seg = segment("{label: any, conditions: [{has_identity: email}]}", "mail")
    ingest_patches(store, CONFIG, [(patch("hubspot", "h1", ["hubspot:1", "email:a@x.com"]), None),
                                   (patch("whatsapp", "w1", ["whatsapp:9", "phone:+34600000001"]), None)])
    evaluate(store, [seg], NOW)
    assert len(current(store, "mail")) == 1
    ingest_patches(store, CONFIG, [(patch("salesforce", "s1", ["email:a@x.com", "phone:+34600000001"],
                                          minutes=5), None)])
    drain(store, [seg], NOW)
    with store.transaction() as s:
        alive = set(s.scalars(select(model.Contact.id)))
    assert len(alive) == 1 and current(store, "mail") == alive


def test_a_changed_segment_is_evaluated_in_full_on_the_next_drain(store):
    with store.transaction() as s:
        hot = contact(s, stage="Hot Lead")
        contact(s, stage="Customer")
    evaluate(store, [segment("{label: x, conditions: [{stage: Customer}]}", "x")], NOW)
    changed = segment("{label: x, conditions: [{stage: Hot Lead}]}", "x")
    assert drain(store, [changed], NOW)["full"] == ["x"]  # nothing queued, yet the new conditions apply
    assert current(store, "x") == {hot}


def test_a_removed_segment_s_members_leave_on_the_full_evaluation(store):
    with store.transaction() as s:
        contact(s, stage="Hot Lead")
    evaluate(store, [segment("{label: x, conditions: [{stage: Hot Lead}]}", "gone")], NOW)
    evaluate(store, [], NOW)
    assert current(store, "gone") == set()


# --- the property: incremental upkeep equals a full re-evaluation ---------------------------------

EXAMPLE = count(1)
record = st.tuples(
    st.lists(st.integers(0, 5), min_size=1, max_size=3, unique=True),  # identities from a small pool: merges
    st.sampled_from(STAGES), st.sampled_from([None, "SA", "AE"]),
    st.sampled_from([None, "inbound", "outbound"]), st.one_of(st.none(), st.tuples(st.integers(0, 3),
                                                                                  st.floats(5, 200))),
    st.one_of(st.none(), st.integers(0, 3)), st.booleans())
POOL = ("email:p{n}-0@x.com", "phone:+3460{n:04d}001", "whatsapp:{n}-2", "email:p{n}-3@x.com",
        "phone:+3460{n:04d}004", "hubspot:{n}-5")


def _patch(n: int, i: int, drawn: tuple):
    ids, stage, country, message, purchase, retract, touch = drawn
    at = T0 + timedelta(minutes=i)
    p = patch("shop", f"r{n}-{i}", [POOL[k].format(n=n) for k in ids], minutes=i, stage=stage,
              **({"country": country} if country else {}))
    conversions = ()
    if purchase is not None:
        conversions += (ConversionData("purchase", at, purchase[1], "EUR", f"o{n}-{purchase[0]}"),)
    if retract is not None:
        conversions += (ConversionData("purchase", at, None, "EUR", f"o{n}-{retract}", adjust="retract"),)
    return replace(p, conversions=conversions,
                   activities=(ActivityData("whatsapp", message, NOW - timedelta(days=i % 40)),) if message else (),
                   touchpoints=(TouchpointData("whatsapp", at, "meta" if touch else "google"),))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(record, min_size=1, max_size=4), min_size=1, max_size=4))
def test_incremental_membership_equals_a_full_re_evaluation(store, batches):
    n = next(EXAMPLE)
    with store.transaction() as s:  # each example starts from nothing: no stays, no queue, no evaluations
        for table in (model.SegmentMember, model.SegmentDirty, model.SegmentEvaluation):
            s.execute(table.__table__.delete())
    evaluate(store, SEGMENTS, NOW)
    i = 0
    for batch in batches:
        items = []
        for drawn in batch:
            i += 1
            items.append((_patch(n, i, drawn), None))
        assert ingest_patches(store, CONFIG, items).dead_lettered == 0
        drain(store, SEGMENTS, NOW, batch=3)  # small batches: several per drain
    kept = {s.key: current(store, s.key) for s in SEGMENTS}
    assert kept == {s.key: full(store, s) for s in SEGMENTS}
    assert all(c.entered == c.left == 0 for c in evaluate(store, SEGMENTS, NOW))  # nothing left to correct
