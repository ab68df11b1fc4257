"""The all-time funnel's kept counts (``funnel_counts``) against the direct count over the history."""

from __future__ import annotations

from sqlalchemy import select
from support.lifecycle_fixtures import make_config, patch

from sync.ingest import funnel_counts
from sync.ingest.pipeline import ingest_patches
from sync.reports.funnel import _entries, _entries_all_time, funnel
from sync.store import model

CONFIG = make_config()


def ingest(store, *patches):
    return ingest_patches(store, CONFIG, [(p, None) for p in patches])


def assert_counts_match_history(store):
    with store.transaction() as s:
        kept = funnel_counts.counted(s)
        direct = _entries(s, CONFIG, None, None)
        assert _entries_all_time(s, CONFIG) == direct
        rows = [r._asdict() for r in s.execute(select(model.StageTransition.contact_id, model.StageTransition.seq,
                                                       model.StageTransition.to_stage))]
        assert +kept == +funnel_counts.signatures(rows)
    return direct


def test_counts_follow_inserts_rewrites_and_merges(store):
    ingest(store, patch("hubspot", "1", ["hubspot:1", "email:a@x.com"], minutes=0, stage="New Lead"),
           patch("salesforce", "003B", ["salesforce:003B", "phone:+14155550100"], minutes=0, stage="Hot Lead"))
    entered, moved = assert_counts_match_history(store)
    assert entered == {"New Lead": 1, "Hot Lead": 1} and moved == {}
    ingest(store, patch("hubspot", "1", ["hubspot:1"], minutes=10, stage="Payment"))  # moves on
    entered, moved = assert_counts_match_history(store)
    assert entered == {"New Lead": 1, "Hot Lead": 1, "Payment": 1} and moved == {"New Lead": 1}
    # a record older than the history rewrites it (restaged: deleted and inserted again)
    ingest(store, patch("salesforce", "003B", ["salesforce:003B"], minutes=-30, stage="New Lead"))
    entered, moved = assert_counts_match_history(store)
    assert entered["New Lead"] == 2 and moved["New Lead"] == 2
    ingest(store, patch("salesforce", "003B", ["salesforce:003B"], minutes=20, stage="Cold Lead"))  # lost
    assert_counts_match_history(store)
    # one record naming both contacts merges them: the merged-away history leaves the counts
    ingest(store, patch("respondio", "9", ["email:a@x.com", "phone:+14155550100"], minutes=40, stage="Customer"))
    with store.transaction() as s:
        assert len(s.scalars(select(model.Contact.id)).all()) == 1
    entered, moved = assert_counts_match_history(store)
    assert entered["New Lead"] == 1  # the merged-away contact no longer counts


def test_rebuild_recounts_what_was_written_around_the_writer(store):
    ingest(store, patch("hubspot", "1", ["hubspot:1"], minutes=0, stage="New Lead"),
           patch("hubspot", "2", ["hubspot:2"], minutes=0, stage="Payment"))
    ingest(store, patch("hubspot", "1", ["hubspot:1"], minutes=5, stage="Hot Lead"))
    with store.transaction() as s:
        kept = funnel_counts.counted(s)
        s.execute(model.FunnelCount.__table__.delete())
    with store.transaction() as s:
        assert not funnel_counts.counted(s)
        funnel_counts.rebuild(s, batch=1)
    with store.transaction() as s:
        assert funnel_counts.counted(s) == kept
    report = funnel(store, CONFIG)
    assert {r.stage: (r.entered, r.moved_on) for r in report.stages} == {
        "New Lead": (1, 1), "Hot Lead": (1, 0), "Payment": (1, 0), "Customer": (0, 0)}


def test_signatures_take_the_first_entry_and_ignore_order_of_rows():
    rows = [{"contact_id": 1, "seq": 2, "to_stage": "New Lead"}, {"contact_id": 1, "seq": 0, "to_stage": "New Lead"},
            {"contact_id": 1, "seq": 1, "to_stage": "Payment"}, {"contact_id": 2, "seq": 0, "to_stage": "Payment"}]
    assert funnel_counts.signatures(rows) == {
        ("New Lead", frozenset({"Payment", "New Lead"})): 1, ("Payment", frozenset({"New Lead"})): 1,
        ("Payment", frozenset()): 1}
