"""The audience engine: minimal diffs, vendor batch maxima, consent, isolation of refused members, retries."""

from __future__ import annotations

import itertools
from datetime import timedelta

from sqlalchemy import select
from support.audiences import FakeDestination, change_email, make_contacts, set_consent

from sync.ingest.deadletter import replay
from sync.segments.audiences.bookkeeping import AUDIENCE_STAGE
from sync.segments.audiences.engine import sync_audience
from sync.segments.destinations.base import Audience, DestinationEntry
from sync.store import model

SEGMENT = Audience("lapsed", "Lapsed customers")
ENTRY = DestinationEntry("fake-lapsed", "fake")


def _people(n: int, **extra) -> list[dict]:
    return [{"email": f"person{i}@example.com", **extra} for i in range(n)]


def _rows(store) -> dict[int, tuple[str, int]]:
    m = model.AudienceMemberState
    with store.transaction() as s:
        return {r.contact_id: (r.state, r.attempts) for r in s.execute(select(m.contact_id, m.state, m.attempts))}


def test_a_second_sync_without_change_sends_nothing_and_batches_keep_the_maximum(store):
    ids = make_contacts(store, _people(7))
    dest = FakeDestination(max_batch=3)
    first = sync_audience(store, SEGMENT, ENTRY, ids, dest)
    assert (first.added, first.removed, first.requests) == (7, 0, 3)  # 3 + 3 + 1: the fewest requests
    assert [len(c) for _, c in dest.calls] == [3, 3, 1]
    assert set(dest.held) == set(ids)
    dest.calls.clear()
    again = sync_audience(store, SEGMENT, ENTRY, ids, dest)
    assert dest.calls == [] and (again.added, again.removed, again.unchanged) == (0, 0, 7)
    assert dest.ensured[-1].remote_id == "aud-lapsed"  # the stored remote id is handed back to ensure


def test_a_changed_email_is_one_removal_under_the_old_keys_and_one_addition(store):
    ids = make_contacts(store, _people(4))
    dest = FakeDestination()
    sync_audience(store, SEGMENT, ENTRY, ids, dest)
    old = dest.held[ids[2]]
    dest.calls.clear()
    change_email(store, ids[2], "new.address@example.com")
    counts = sync_audience(store, SEGMENT, ENTRY, ids, dest)
    assert dest.calls == [("remove", [ids[2]]), ("add", [ids[2]])]  # removal first: the old hash goes
    assert (counts.added, counts.removed, counts.unchanged) == (1, 1, 3)
    assert dest.held[ids[2]] != old


def test_members_who_leave_are_removed_and_their_rows_dropped(store):
    ids = make_contacts(store, _people(5))
    dest = FakeDestination()
    sync_audience(store, SEGMENT, ENTRY, ids, dest)
    dest.calls.clear()
    counts = sync_audience(store, SEGMENT, ENTRY, ids[:3], dest)
    assert dest.sent("remove") == ids[3:] and dest.sent("add") == []
    assert counts.removed == 2 and set(_rows(store)) == set(ids[:3])


def test_consent_withheld_for_the_purpose_is_never_added_and_a_withdrawal_removes(store):
    ids = make_contacts(store, [{"email": "a@example.com", "consent": {"ad_user_data": False}},
                                {"email": "b@example.com", "consent": {"ad_user_data": None}},  # unknown: sent
                                {"email": "c@example.com", "consent": {"marketing_messages": False}},  # not ours
                                {"email": "d@example.com"}])
    dest = FakeDestination()
    counts = sync_audience(store, SEGMENT, ENTRY, ids, dest)
    assert sorted(dest.sent("add")) == ids[1:] and counts.skipped == 1
    assert _rows(store)[ids[0]] == ("skipped", 0)
    set_consent(store, ids[3], {"ad_user_data": False})
    dest.calls.clear()
    counts = sync_audience(store, SEGMENT, ENTRY, ids, dest)
    assert dest.calls == [("remove", [ids[3]])] and ids[3] not in dest.held
    assert _rows(store)[ids[3]][0] == "skipped" and counts.skipped == 2


def test_an_unmatchable_member_is_skipped_with_its_reason(store):
    ids = make_contacts(store, [{"email": None, "phone": "+447911123456"}, {"email": "x@example.com"}])
    dest = FakeDestination()
    counts = sync_audience(store, SEGMENT, ENTRY, ids, dest)
    with store.transaction() as s:
        row = s.get(model.AudienceMemberState, ("fake-lapsed", "lapsed", ids[0]))
    assert counts.skipped == 1 and dest.sent("add") == [ids[1]]
    assert row.state == "skipped" and row.reason == "unmatchable: no e-mail" and row.keys is None


def test_a_refused_member_is_dead_lettered_and_the_rest_of_its_batch_is_added(store):
    ids = make_contacts(store, _people(3))
    dest = FakeDestination()
    dest.answers[ids[1]] = ("failed", "invalid hash for EMAIL")
    counts = sync_audience(store, SEGMENT, ENTRY, ids, dest)
    assert (counts.added, counts.failed) == (2, 1) and set(dest.held) == {ids[0], ids[2]}
    with store.transaction() as s:
        letters = list(s.scalars(select(model.DeadLetter)))
    assert [(x.stage, x.source, x.object, x.record_id, x.reason) for x in letters] == [
        (AUDIENCE_STAGE, "fake-lapsed", "lapsed", str(ids[1]), "invalid hash for EMAIL")]
    assert "example.com" not in str(letters[0].payload)  # no personal data in the letter
    dest.calls.clear()
    sync_audience(store, SEGMENT, ENTRY, ids, dest)
    assert dest.calls == []  # parked until replayed
    del dest.answers[ids[1]]
    result = replay(store, config=None, ids=[letters[0].id])
    assert result.replayed == [letters[0].id]
    sync_audience(store, SEGMENT, ENTRY, ids, dest)
    assert dest.calls == [("add", [ids[1]])] and _rows(store)[ids[1]] == ("added", 0)


def test_retry_backs_off_counts_attempts_and_gives_up_into_a_dead_letter(store):
    ids = make_contacts(store, _people(2))
    dest = FakeDestination()
    dest.answers[ids[0]] = ("retry", "rate limited")
    t0 = model.utcnow()
    counts = sync_audience(store, SEGMENT, ENTRY, ids, dest, now=t0)
    assert (counts.added, counts.retrying) == (1, 1) and _rows(store)[ids[0]] == ("pending_add", 1)
    with store.transaction() as s:
        first_due = s.get(model.AudienceMemberState, ("fake-lapsed", "lapsed", ids[0])).next_attempt_at
    dest.calls.clear()
    early = sync_audience(store, SEGMENT, ENTRY, ids, dest, now=t0 + timedelta(seconds=5))
    assert dest.calls == [] and early.deferred == 1  # its backoff has not run out
    when, delays = first_due, [first_due - t0]
    for attempt in range(2, 6):
        sync_audience(store, SEGMENT, ENTRY, ids, dest, now=when)
        with store.transaction() as s:
            row = s.get(model.AudienceMemberState, ("fake-lapsed", "lapsed", ids[0]))
        assert (row.state, row.attempts) == ("pending_add", attempt)
        delays.append(row.next_attempt_at - when)
        when = row.next_attempt_at
    assert all(b > a for a, b in itertools.pairwise(delays))  # exponential
    last = sync_audience(store, SEGMENT, ENTRY, ids, dest, now=when)
    with store.transaction() as s:
        letter = s.scalars(select(model.DeadLetter)).one()
    assert last.failed == 1 and _rows(store)[ids[0]] == ("failed", 6)
    assert letter.reason == "gave up after 6 attempts: rate limited"


def test_a_destination_that_raises_stops_the_sync_and_leaves_the_batch_pending(store):
    ids = make_contacts(store, _people(4))
    dest = FakeDestination(max_batch=2)
    dest.raise_on = "add"
    counts = sync_audience(store, SEGMENT, ENTRY, ids, dest)
    assert counts.error == "ConnectionError (details in the worker log)" and counts.retrying == 2
    states = _rows(store)
    assert sorted(states.values()) == [("pending_add", 1)] * 2  # the batch in flight; the rest planned anew
    with store.transaction() as s:
        assert s.get(model.Audience, ("fake-lapsed", "lapsed")).error == counts.error
    dest.raise_on = None
    later = model.utcnow() + timedelta(hours=2)
    counts = sync_audience(store, SEGMENT, ENTRY, ids, dest, now=later)
    assert counts.error is None and set(dest.held) == set(ids)


def test_a_dry_run_counts_without_calling_or_writing(store):
    ids = make_contacts(store, [*_people(3), {"email": None}])
    dest = FakeDestination()
    counts = sync_audience(store, SEGMENT, ENTRY, ids, dest, dry_run=True)
    assert (counts.added, counts.skipped, counts.dry_run) == (3, 1, True)
    assert dest.calls == [] and dest.ensured == [] and _rows(store) == {}


def test_an_erased_contact_is_removed_under_its_stored_keys(store):
    ids = make_contacts(store, _people(2))
    dest = FakeDestination()
    sync_audience(store, SEGMENT, ENTRY, ids, dest)
    with store.transaction() as s:
        s.delete(s.get(model.Contact, ids[0]))
    dest.calls.clear()
    counts = sync_audience(store, SEGMENT, ENTRY, ids, dest)  # still listed: the contact is gone all the same
    assert dest.calls == [("remove", [ids[0]])] and counts.removed == 1 and set(_rows(store)) == {ids[1]}


def test_destinations_of_one_segment_share_one_load_and_one_stopping_leaves_the_other_going(store, monkeypatch):
    from sync.segments.audiences import engine

    ids = make_contacts(store, _people(5))
    loads = []
    real = engine.load_members
    monkeypatch.setattr(engine, "load_members", lambda s, c: loads.append(len(c)) or real(s, c))
    ok, down = FakeDestination(max_batch=2), FakeDestination(max_batch=2)
    down.raise_on = "add"
    counts = engine.sync_destinations(store, SEGMENT, [(ENTRY, ok), (DestinationEntry("down", "fake"), down)], ids)
    assert loads == [5]  # one chunk, loaded once for both
    assert (counts[0].added, counts[0].error) == (5, None) and set(ok.held) == set(ids)
    assert counts[1].error == "ConnectionError (details in the worker log)" and down.held == {}


def test_every_removal_of_a_sync_goes_out_before_its_additions_across_chunks(store, monkeypatch):
    """A key removed from one contact and added to another in one sync must end up held: removals first."""
    from sync.segments.audiences import engine

    monkeypatch.setattr(engine, "CHUNK", 2)
    ids = make_contacts(store, _people(5))
    dest = FakeDestination(max_batch=1)
    sync_audience(store, SEGMENT, ENTRY, ids[:4], dest)
    dest.calls.clear()
    change_email(store, ids[0], "first.moved@example.com")
    change_email(store, ids[2], "third.moved@example.com")
    counts = sync_audience(store, SEGMENT, ENTRY, [ids[0], ids[2], ids[3], ids[4]], dest)
    ops = [op for op, _ in dest.calls]
    assert ops == ["remove"] * 3 + ["add"] * 3
    assert sorted(dest.sent("remove")) == [ids[0], ids[1], ids[2]]
    assert sorted(dest.sent("add")) == [ids[0], ids[2], ids[4]]
    assert (counts.added, counts.removed, counts.unchanged) == (3, 3, 1)


def test_additions_beyond_what_is_held_in_memory_are_sent_with_their_keys_made_again(store, monkeypatch):
    from sync.segments.audiences import engine

    monkeypatch.setattr(engine, "HOLD", 2)
    ids = make_contacts(store, _people(6))
    dest = FakeDestination(max_batch=2)
    sync_audience(store, SEGMENT, ENTRY, ids[:1], dest)  # the audience holds someone: additions wait
    dest.calls.clear()
    counts = sync_audience(store, SEGMENT, ENTRY, ids[1:], dest)
    assert [op for op, _ in dest.calls] == ["remove", "add", "add", "add"]
    assert set(dest.held) == set(ids[1:]) and (counts.added, counts.removed) == (5, 1)
    assert {state for state, _ in _rows(store).values()} == {"added"}


def test_an_unexpected_failure_is_logged_by_its_type_never_its_text(store, caplog):
    ids = make_contacts(store, _people(1))
    dest = FakeDestination()

    def broken(member):
        raise ValueError(f"cannot read {member.emails[0]}")

    dest.keys = broken
    with caplog.at_level("INFO"):
        counts = sync_audience(store, SEGMENT, ENTRY, ids, dest)
    assert counts.skipped == 1 and "ValueError" in caplog.text
    assert "example.com" not in caplog.text


def test_a_refused_addition_of_a_contact_who_leaves_is_dropped_but_a_refused_removal_stays_parked(store):
    ids = make_contacts(store, _people(3))
    dest = FakeDestination()
    dest.answers[ids[0]] = ("failed", "invalid hash")
    sync_audience(store, SEGMENT, ENTRY, ids, dest)
    dest.answers = {ids[1]: ("failed", "audience upload blocked")}
    counts = sync_audience(store, SEGMENT, ENTRY, [ids[2]], dest)  # 0 and 1 leave
    rows = _rows(store)
    assert ids[0] not in rows  # never held: nothing to remove, nothing to keep
    assert rows[ids[1]] == ("failed", 1) and ids[1] in dest.held  # still held: kept until replayed
    assert counts.failed == 1 and counts.removed == 0


def test_a_destination_pointed_at_another_audience_gets_every_member_added_there(store):
    ids = make_contacts(store, _people(3))
    first = FakeDestination()
    sync_audience(store, SEGMENT, ENTRY, ids, first)
    moved = FakeDestination()  # its id option changed: ensure answers another audience, which holds no one
    moved.ensure = lambda audience: "aud-elsewhere"
    again = sync_audience(store, SEGMENT, ENTRY, ids[:2], moved)
    assert (again.added, again.removed, again.unchanged) == (2, 0, 0) and set(moved.held) == set(ids[:2])
    assert _rows(store) == {ids[0]: ("added", 0), ids[1]: ("added", 0)}
    steady = sync_audience(store, SEGMENT, ENTRY, ids[:2], moved)
    assert (steady.added, steady.unchanged) == (0, 2)
