"""The audience diff is minimal: property test over random membership, key and consent changes."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.segments.audiences.diff import ADDED, SKIPPED, Stored, Wanted, plan

NOW = datetime(2026, 12, 7, tzinfo=UTC)
CONTACTS = range(1, 9)
# per contact: absent from the segment, a member left out (None), or a member with one of three keys
STEP = st.fixed_dictionaries({c: st.sampled_from(["absent", None, "k1", "k2", "k3"]) for c in CONTACTS})


def _wanted(step: dict[int, str | None]) -> dict[int, Wanted]:
    return {c: Wanted({"em": v} if v else None, None if v else "no consent for ad_user_data")
            for c, v in step.items() if v != "absent"}


def _apply(stored: dict[int, Stored], todo) -> dict[int, Stored]:
    """What the engine records when the destination accepts every call."""
    out = dict(stored)
    for e in todo.removes:
        if e.contact_id in todo.skip_after_remove:
            out[e.contact_id] = Stored(SKIPPED, reason=todo.skip_after_remove[e.contact_id])
        else:
            del out[e.contact_id]
    for _, new in todo.replaces:
        out[new.contact_id] = Stored(ADDED, new.keys)
    for e in [*todo.adds, *todo.keep]:
        out[e.contact_id] = Stored(ADDED, e.keys)
    for c, reason in todo.skips.items():
        out[c] = Stored(SKIPPED, reason=reason)
    for c in todo.drops:
        del out[c]
    return out


@settings(max_examples=60)
@given(st.lists(STEP, min_size=1, max_size=6))
def test_each_sync_sends_exactly_the_members_whose_keys_changed_and_a_repeat_sends_nothing(steps):
    stored: dict[int, Stored] = {}
    held: dict[int, dict] = {}  # what the destination holds
    for step in steps:
        wanted = _wanted(step)
        todo = plan(stored, wanted, sorted(set(stored) | set(wanted)), NOW)
        should = {c: w.keys for c, w in wanted.items() if w.keys is not None}
        changed = {c for c in set(should) | set(held) if should.get(c) != held.get(c)}
        sent = ([e.contact_id for e in todo.adds] + [n.contact_id for _, n in todo.replaces]
                + [e.contact_id for e in todo.removes])
        assert sorted(sent) == sorted(changed)  # minimal: nothing unchanged is sent, every change is
        for e in todo.removes:
            assert held.pop(e.contact_id) == e.keys  # a removal sends exactly the keys that were added
        for old, new in todo.replaces:
            assert held.pop(old.contact_id) == old.keys
            held[new.contact_id] = new.keys
        for e in todo.adds:
            held[e.contact_id] = e.keys
        assert held == should
        stored = _apply(stored, todo)
        again = plan(stored, wanted, sorted(set(stored) | set(wanted)), NOW)
        assert (again.adds, again.removes, again.replaces, again.skips, again.drops) == ([], [], [], {}, [])
        assert set(stored) == set(wanted)  # a row per member (held or skipped), none for those gone
