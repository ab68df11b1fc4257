"""The minimal change that brings one audience to a segment's current members (a pure function).

Given what ``audience_members`` says the destination holds (``Stored``) and what each member
should hold now (``Wanted``: its keys, or why it is left out), ``plan`` decides per contact:

- held with the same keys → unchanged, nothing sent (a pending removal of those keys is
  simply cancelled: the destination still holds them);
- held with other keys (an e-mail changed) → the old keys removed, then the new added;
- nothing held → added (a pending add keeps its backoff while its keys are the same);
- left the segment, or left out now (no consent for the destination's purpose, no usable
  identifier) while held → removed; left out and not held → ``skipped`` with the reason;
  left the segment and not held → its row is dropped;
- ``failed`` → parked: not sent again until its dead letter is replayed (a refused addition of a
  contact who then left is dropped: the destination never held it).

A pending row whose ``next_attempt_at`` lies ahead is ``deferred`` (its backoff).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sync.segments.destinations.base import Entry

ADDED, PENDING_ADD, PENDING_REMOVE, SKIPPED, FAILED = "added", "pending_add", "pending_remove", "skipped", "failed"
STATES = (ADDED, PENDING_ADD, PENDING_REMOVE, SKIPPED, FAILED)


@dataclass(frozen=True)
class Stored:
    """One ``audience_members`` row, as the diff reads it."""

    state: str
    keys: Mapping[str, Any] | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    reason: str | None = None
    operation: str | None = None  # a failed row's: add or remove


@dataclass(frozen=True)
class Wanted:
    """A current member of the segment: the keys to hold, or (``keys`` None) why it is left out."""

    keys: Mapping[str, Any] | None
    reason: str | None = None


@dataclass
class Plan:
    """What one sync does: calls to make, rows to write without a call, and what it leaves alone."""

    adds: list[Entry] = field(default_factory=list)
    removes: list[Entry] = field(default_factory=list)  # members gone, or left out while held
    replaces: list[tuple[Entry, Entry]] = field(default_factory=list)  # (old keys to remove, new keys to add)
    skip_after_remove: dict[int, str | None] = field(default_factory=dict)  # a removed member left out: why
    skips: dict[int, str | None] = field(default_factory=dict)  # rows to write as skipped (no call)
    keep: list[Entry] = field(default_factory=list)  # pending removals cancelled: added again, no call
    drops: list[int] = field(default_factory=list)  # rows to delete (no call): gone, nothing held
    unchanged: int = 0
    skipped: int = 0  # members left out (no consent / no usable identifier), including those already skipped
    deferred: int = 0  # pending rows whose backoff has not run out
    parked: int = 0  # failed rows waiting for a replay of their dead letter


def held_keys(stored: Stored | None) -> Mapping[str, Any] | None:
    """The keys the destination holds for a row (None: nothing, as far as lifesync knows)."""
    return stored.keys if stored is not None and stored.state in (ADDED, PENDING_REMOVE) else None


def plan(stored: Mapping[int, Stored], wanted: Mapping[int, Wanted], contact_ids: Iterable[int],
         now: datetime) -> Plan:
    """The plan for ``contact_ids`` (members and stored rows); a contact not in ``wanted`` left the segment."""
    out = Plan()
    for cid in contact_ids:
        s, w = stored.get(cid), wanted.get(cid)
        if s is not None and s.state == FAILED:
            if w is None and s.operation == "add":  # refused, so never held, and gone: nothing to keep
                out.drops.append(cid)
            else:
                out.parked += 1
            continue
        held = held_keys(s)
        waiting = s is not None and s.next_attempt_at is not None and s.next_attempt_at > now
        if w is not None and w.keys is not None:
            if held is not None and held == w.keys:
                if s.state == ADDED:
                    out.unchanged += 1
                else:
                    out.keep.append(Entry(cid, held))
            elif held is not None:
                if s.state == PENDING_REMOVE and waiting:
                    out.deferred += 1
                else:
                    out.replaces.append((Entry(cid, held), Entry(cid, w.keys)))
            elif s is not None and s.state == PENDING_ADD and s.keys == w.keys and waiting:
                out.deferred += 1
            else:
                out.adds.append(Entry(cid, w.keys))
            continue
        if w is not None:
            out.skipped += 1
        if held is not None:
            if s.state == PENDING_REMOVE and waiting:
                out.deferred += 1
                continue
            out.removes.append(Entry(cid, held))
            if w is not None:
                out.skip_after_remove[cid] = w.reason
        elif w is not None:
            if s is None or s.state != SKIPPED or s.reason != w.reason:
                out.skips[cid] = w.reason
        elif s is not None:
            out.drops.append(cid)
    return out
