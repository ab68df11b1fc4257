"""Sync one segment's members to one audience destination: the minimal diff, in the vendor's batches.

``sync_audience`` takes the segment's current member ids (segment membership is
``sync.segments.membership``'s; this engine only needs the ids) and:

1. asks the destination to ``ensure`` its remote audience (kept in ``audiences``);
2. walks members and stored rows in chunks of ``CHUNK`` contacts: loads the members in bulk
   (``members.load_members``), computes each member's keys (``destination.keys``; privacy.yaml's
   policy, ``policy_of``, leaves a member out with the reason — ``drop``, ``strip``, ``restricted``
   where the destination cannot restrict, and always a denied ``destination.purpose`` —
   ``Unmatchable`` skips it with the reason), and plans the change (``diff.plan``) against ``audience_members``;
3. sends every removal, then the additions, in batches of ``destination.max_batch`` (buffers fill
   across chunks, so a sync makes the fewest requests the vendor's maximum allows; see ``_Sender``
   for why additions wait); a contact whose keys changed is added under its new keys only once
   its old keys are removed;
4. records each batch's results in its own transaction right after the answer: ``done`` → the
   row's new state; ``failed`` → ``failed`` with a dead letter (stage ``audience``) carrying the
   reason, the rest of the batch going on; ``retry`` → pending with ``next_attempt_at`` growing
   exponentially (``sync.outbox.deliveries.backoff``) and attempts counted — given up (failed,
   dead-lettered) after ``MAX_ATTEMPTS``.

``sync_destinations`` does the same for several destinations of one segment in one pass, so
each chunk of members is loaded once whatever the number of destinations.

A destination that raises instead of answering (auth refused, network down) ends this
audience's sync: the batch in flight is pending again with backoff, the rest is planned anew
next time, and the error is kept on the ``audiences`` row. ``dry_run`` plans and counts without
calling the destination or writing. Nothing here logs personal data: contacts are named by id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

import requests
from sqlalchemy import select

from sync.config.privacy import PrivacyConfig, bundled_privacy
from sync.ingest.deadletter import reason_for
from sync.outbox.deliveries import MAX_ATTEMPTS, backoff
from sync.privacy.policy import Exit, decide
from sync.segments import destinations
from sync.segments.audiences import bookkeeping as book
from sync.segments.audiences.diff import ADDED, FAILED, PENDING_ADD, PENDING_REMOVE, SKIPPED, Stored, Wanted, plan
from sync.segments.audiences.members import load_members
from sync.segments.destinations.base import (
    Audience,
    AudienceDestination,
    AudienceMember,
    DestinationEntry,
    Entry,
    MemberResult,
    Unmatchable,
)
from sync.settings import Settings
from sync.store import model
from sync.store.engine import Store
from sync.store.sql import chunks, one_of

log = logging.getLogger(__name__)
CHUNK = 5000  # contacts planned at a time (members loaded, rows read): memory stays small at any size
HOLD = 100_000  # additions held in memory until the removals are sent; beyond, only their contact ids


@dataclass
class AudienceCounts:
    """What one ``sync_audience`` did (or, dry, would do) for one destination."""

    destination: str
    segment: str
    added: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0  # refused now (dead-lettered) plus members parked failed from before
    retrying: int = 0  # pending again with backoff
    deferred: int = 0  # pending, their backoff not run out: not tried this time
    requests: int = 0
    dry_run: bool = False
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready counts."""
        return asdict(self)


def policy_of(destination: AudienceDestination, target: Exit, member: AudienceMember,
              privacy: PrivacyConfig) -> tuple[str | None, str | None]:
    """(the policy the member goes out under, None) — or (None, why it is left out): privacy.yaml decides.

    ``drop`` leaves it out; so does ``strip`` (an audience is nothing but identifiers), and
    ``restricted`` at a destination that cannot restrict processing (``restricts`` False).
    """
    decision = decide(privacy, target, member, destination.purpose)
    if decision.policy == "drop":
        return None, f"privacy policy drop: {decision.reason}"
    if decision.policy == "strip":
        return None, f"privacy policy strip: an audience holds identifiers only ({decision.reason})"
    if decision.policy == "restricted" and not getattr(destination, "restricts", False):
        return None, (f"privacy policy restricted: {target.kind} cannot restrict processing ({decision.reason})")
    return decision.policy, None


def _wire(keys: Any) -> Any:
    """Keys as the database gives them back (JSON: tuples become lists, keys text), so stored and fresh compare."""
    if isinstance(keys, dict):
        return {str(k): _wire(v) for k, v in keys.items()}
    if isinstance(keys, (list, tuple)):
        return [_wire(v) for v in keys]
    return keys


def wanted_of(destination: AudienceDestination, member: AudienceMember, target: Exit,
              privacy: PrivacyConfig) -> Wanted:
    """What ``member`` should hold at ``destination`` (``target``): its keys, or why it is left out."""
    policy, reason = policy_of(destination, target, member, privacy)
    if policy is None:
        return Wanted(None, reason)
    try:
        return Wanted(_wire(destination.keys(replace(member, policy=policy) if policy != member.policy else member)))
    except Unmatchable as exc:
        return Wanted(None, f"unmatchable: {exc}")
    except Exception as exc:  # a bug in one member's keys must not stop the audience
        _log_failure(exc, "computing %s keys of contact %s", type(destination).__name__, member.contact_id)
        return Wanted(None, f"keys could not be computed: {reason_for(exc)}")


def _log_failure(exc: BaseException, message: str, *args: Any) -> None:
    """Log an unexpected failure by its type only: its text may quote a member (an e-mail in a URL).

    The traceback, message included, is logged at DEBUG level, for whoever turns that on to debug.
    """
    log.error(message + ": %s", *args, type(exc).__name__)
    log.debug(message, *args, exc_info=exc)


def open_destination(entry: DestinationEntry, settings: Settings,
                     http: requests.Session | None = None) -> AudienceDestination:
    """The destination an entry names, configured from its options and the settings."""
    cls = destinations.kind(entry.kind)
    return destinations.build(cls.from_settings(entry.name, entry.options, settings), http)


class _Sender:
    """Buffers of removals and additions, each sent when it holds a full batch; results recorded per batch.

    Every removal of a sync goes out before its additions: a key removed from one contact and
    added to another in the same sync (a merge, an e-mail that moved) must end up held. So
    additions are held back until ``finish`` — up to ``HOLD`` of them in memory, the rest as
    contact ids whose keys are computed again then — except while the audience holds nothing
    (its first sync: there is nothing to remove), when they stream out as batches fill.
    """

    def __init__(self, store: Store, destination: AudienceDestination, audience: Audience, name: str,
                 remote_id: str, counts: AudienceCounts, now: datetime, *, streaming: bool = False,
                 target: Exit, privacy: PrivacyConfig):
        self.store, self.destination, self.audience, self.name = store, destination, audience, name
        self.target, self.privacy = target, privacy
        self.remote_id, self.counts, self.now = remote_id, counts, now
        self.size = max(1, int(destination.max_batch))
        self.streaming = streaming
        self.removes: list[Entry] = []
        self.adds: list[Entry] = []
        self.spilled: list[int] = []  # additions beyond HOLD: their keys are computed again at the end
        self.after_remove: dict[int, Any] = {}  # contact -> Entry to add next, or ("skip", reason), or None (drop)
        self.attempts: dict[int, int] = {}

    def remove(self, entry: Entry, then: Any, attempts: int) -> None:
        self.removes.append(entry)
        self.after_remove[entry.contact_id] = then
        self.attempts[entry.contact_id] = attempts
        if len(self.removes) >= self.size:
            self._flush(self.removes, "remove")

    def add(self, entry: Entry, attempts: int) -> None:
        self.attempts[entry.contact_id] = attempts
        if not self.streaming and len(self.adds) >= HOLD:
            self.spilled.append(entry.contact_id)
            return
        self.adds.append(entry)
        if self.streaming and len(self.adds) >= self.size:
            self._flush(self.adds, "add")

    def finish(self) -> None:
        """Send what is left: every removal, then the additions (those spilled with their keys made again)."""
        self._flush(self.removes, "remove")
        self.streaming = True
        self._flush(self.adds, "add")
        spilled, self.spilled = self.spilled, []
        for part in chunks(spilled, CHUNK):
            with self.store.transaction() as session:
                loaded = load_members(session, part)
            for cid, member in loaded.items():
                wanted = wanted_of(self.destination, member, self.target, self.privacy)
                if wanted.keys is not None:  # left out meanwhile: the next sync records it
                    self.add(Entry(cid, wanted.keys), self.attempts.get(cid, 0))
        self._flush(self.adds, "add")

    def _flush(self, buffer: list[Entry], operation: str) -> None:
        while buffer:
            batch = buffer[:self.size]
            del buffer[:self.size]
            self._send(batch, operation)

    def _send(self, batch: Sequence[Entry], operation: str) -> None:
        call = self.destination.remove if operation == "remove" else self.destination.add
        self.counts.requests += 1
        try:
            answered = call(self.remote_id, batch)
        except Exception as exc:  # the destination could not answer: the batch waits, the sync stops
            reason = reason_for(exc)
            self._record(batch, operation, {e.contact_id: MemberResult(e.contact_id, "retry", reason) for e in batch})
            raise _Stopped(reason) from exc
        results = {r.contact_id: r for r in answered}
        self._record(batch, operation, results)

    def _record(self, batch: Sequence[Entry], operation: str, results: dict[int, MemberResult]) -> None:
        rows, drops, dead, follow = [], [], [], []
        name, segment, now = self.name, self.audience.key, self.now
        for entry in batch:
            cid = entry.contact_id
            result = results.get(cid) or MemberResult(cid, "retry", "the destination returned no result for it")
            tries = self.attempts.get(cid, 0) + 1
            if result.status == "done":
                if operation == "add":
                    rows.append(book.member_row(name, segment, cid, ADDED, entry.keys, synced_at=now))
                    self.counts.added += 1
                    continue
                self.counts.removed += 1
                then = self.after_remove.pop(cid, None)
                if isinstance(then, Entry):  # keys changed: the new ones go out now the old are gone
                    rows.append(book.member_row(name, segment, cid, PENDING_ADD, then.keys, synced_at=now))
                    follow.append(then)
                elif isinstance(then, tuple):
                    rows.append(book.member_row(name, segment, cid, SKIPPED, reason=then[1], synced_at=now))
                else:
                    drops.append(cid)
                continue
            self.after_remove.pop(cid, None)
            reason = result.reason or ("refused" if result.status == "failed" else "try again later")
            if result.status == "retry" and tries < MAX_ATTEMPTS:
                state = PENDING_ADD if operation == "add" else PENDING_REMOVE
                rows.append(book.member_row(name, segment, cid, state, entry.keys, attempts=tries, reason=reason,
                                            next_attempt_at=now + backoff(tries, None), synced_at=now))
                self.counts.retrying += 1
                continue
            if result.status == "retry":
                reason = f"gave up after {tries} attempts: {reason}"
            rows.append(book.member_row(name, segment, cid, FAILED, entry.keys, attempts=tries, reason=reason,
                                        synced_at=now, operation=operation))
            dead.append(book.dead_letter(name, segment, self.audience.brand, cid, operation, reason, now))
            self.counts.failed += 1
        with self.store.transaction() as session:  # before the next batch goes out
            book.write_rows(session, rows, drops, name, segment, dead)
        for entry in follow:  # queued once this batch is recorded (an add batch may go out right away)
            self.add(entry, 0)


class _Stopped(Exception):
    """The destination raised: this audience's sync ends here."""


def _stored(session: Any, name: str, segment: str, contact_ids: Sequence[int]) -> dict[int, Stored]:
    m = model.AudienceMemberState
    rows = session.execute(select(m.contact_id, m.state, m.keys, m.attempts, m.next_attempt_at, m.reason, m.operation)
                           .where(m.destination == name, m.segment == segment, one_of(session, m.contact_id,
                                                                                      list(contact_ids))))
    return {r.contact_id: Stored(r.state, r.keys, r.attempts or 0, r.next_attempt_at, r.reason, r.operation)
            for r in rows}


def sync_audience(store: Store, audience: Audience, entry: DestinationEntry, member_ids: Sequence[int],
                  destination: AudienceDestination | None = None, *, settings: Settings | None = None,
                  http: requests.Session | None = None, dry_run: bool = False,
                  now: datetime | None = None, privacy: PrivacyConfig | None = None) -> AudienceCounts:
    """Bring ``entry``'s audience of segment ``audience`` to ``member_ids`` (see the module docstring)."""
    if destination is None:
        destination = open_destination(entry, settings or Settings.from_env(), http)
    return sync_destinations(store, audience, [(entry, destination)], member_ids, dry_run=dry_run, now=now,
                             privacy=privacy)[0]


@dataclass
class _Target:
    """One destination of the segment during a sync."""

    entry: DestinationEntry
    destination: AudienceDestination
    counts: AudienceCounts
    remote_id: str | None = None
    kind: str | None = None  # the kind it had at the last sync
    sender: _Sender | None = None
    stopped: bool = False
    holds: bool = True  # the destination holds members (a removal may come): additions wait for the removals
    privacy: PrivacyConfig | None = None

    @property
    def exit(self) -> Exit:
        """The destination as privacy.yaml's rules name it."""
        return Exit(self.entry.name, self.entry.kind)


def sync_destinations(store: Store, audience: Audience, pairs: Sequence[tuple[DestinationEntry, AudienceDestination]],
                      member_ids: Sequence[int], *, dry_run: bool = False,
                      now: datetime | None = None, privacy: PrivacyConfig | None = None) -> list[AudienceCounts]:
    """``sync_audience`` for several destinations of one segment in one pass: each chunk of members is loaded
    once for all of them; one destination stopping (an error) does not stop the others. ``privacy``:
    privacy.yaml's policies (None: the bundled ones).
    """
    now = now or model.utcnow()
    privacy = privacy or bundled_privacy()
    members = set(member_ids)
    targets = [_Target(entry, dest, AudienceCounts(entry.name, audience.key, dry_run=dry_run), privacy=privacy)
               for entry, dest in pairs]
    stored_ids: set[int] = set()
    with store.transaction() as session:
        for t in targets:
            row = session.get(model.Audience, (t.entry.name, audience.key))
            t.remote_id, t.kind = (row.remote_id, row.kind) if row is not None else (None, None)
            stored_ids.update(book.stored_ids(session, t.entry.name, audience.key))
            t.holds = book.holds_any(session, t.entry.name, audience.key)
    if not dry_run:
        for t in targets:
            _guarded(t, dry_run, _open_remote, store, audience, t, now)
    for part in chunks(sorted(members | stored_ids), CHUNK):
        live = [t for t in targets if not t.stopped]
        if not live:
            break
        with store.transaction() as session:
            loaded = load_members(session, [c for c in part if c in members])
            stored = {t.entry.name: _stored(session, t.entry.name, audience.key, part) for t in live}
        for t in live:
            _guarded(t, dry_run, _sync_chunk, store, t, audience, part, loaded, stored[t.entry.name], now)
    for t in targets:
        if t.sender is not None and not t.stopped:
            _guarded(t, dry_run, t.sender.finish)
        if not dry_run:
            _save_audience(store, t.entry, audience, t.remote_id, now, t.counts, t.counts.error)
    return [t.counts for t in targets]


def _guarded(target: _Target, dry_run: bool, work: Callable[..., None], *args: Any) -> None:
    """Run ``work(*args)`` for ``target``; an error stops this destination's sync (its error), not the others'."""
    try:
        work(*args)
    except _Stopped as exc:
        target.counts.error, target.stopped = str(exc), True
    except Exception as exc:  # ensure() refused, a bug: this audience stops, the others go on
        if dry_run:
            raise
        _log_failure(exc, "audience %s of segment %s stopped", target.entry.name, target.counts.segment)
        target.counts.error, target.stopped = reason_for(exc), True


def _open_remote(store: Store, audience: Audience, t: _Target, now: datetime) -> None:
    """The remote audience; one other than last time (its id option or kind changed) holds none of the members."""
    before = t.remote_id
    t.remote_id = t.destination.ensure(Audience(audience.key, audience.label, audience.brand, t.remote_id))
    if before is not None and (t.remote_id != before or t.kind != t.entry.kind):
        with store.transaction() as session:  # every member is added to it anew
            book.forget_audience(session, t.entry.name, audience.key)
        t.holds = False
    _save_audience(store, t.entry, audience, t.remote_id, None, None, None)
    t.sender = _Sender(store, t.destination, audience, t.entry.name, t.remote_id, t.counts, now,
                       streaming=not t.holds, target=t.exit, privacy=t.privacy or bundled_privacy())


def _sync_chunk(store: Store, t: _Target, audience: Audience, part: Sequence[int],
                loaded: dict[int, AudienceMember], stored: dict[int, Stored], now: datetime) -> None:
    name, counts, sender = t.entry.name, t.counts, t.sender
    privacy = t.privacy or bundled_privacy()
    wanted = {cid: wanted_of(t.destination, m, t.exit, privacy) for cid, m in loaded.items()}
    todo = plan(stored, wanted, part, now)
    counts.unchanged += todo.unchanged
    counts.skipped += todo.skipped
    counts.deferred += todo.deferred
    counts.failed += todo.parked
    if sender is None:  # dry run: what would be sent
        counts.added += len(todo.adds) + len(todo.replaces)
        counts.removed += len(todo.removes) + len(todo.replaces)
        return
    quiet = [book.member_row(name, audience.key, cid, SKIPPED, reason=reason, synced_at=now)
             for cid, reason in todo.skips.items()]
    quiet += [book.member_row(name, audience.key, e.contact_id, ADDED, e.keys, synced_at=now) for e in todo.keep]
    if quiet or todo.drops:
        with store.transaction() as session:
            book.write_rows(session, quiet, todo.drops, name, audience.key)
    attempts: Callable[[int], int] = lambda cid: stored[cid].attempts if cid in stored else 0  # noqa: E731
    for e in todo.removes:
        then = ("skip", todo.skip_after_remove[e.contact_id]) if e.contact_id in todo.skip_after_remove else None
        sender.remove(e, then, attempts(e.contact_id))
    for old, new in todo.replaces:
        sender.remove(old, new, attempts(old.contact_id))
    for e in todo.adds:
        sender.add(e, attempts(e.contact_id))


def _save_audience(store: Store, entry: DestinationEntry, audience: Audience, remote_id: str | None,
                   synced_at: datetime | None, counts: AudienceCounts | None, error: str | None) -> None:
    with store.transaction() as session:
        row = session.get(model.Audience, (entry.name, audience.key))
        if row is None:
            row = model.Audience(destination=entry.name, segment=audience.key, counts={})
            session.add(row)
        row.brand, row.kind, row.remote_id = audience.brand, entry.kind, remote_id
        if counts is not None:
            row.synced_at, row.error = synced_at, error
            row.counts = {k: v for k, v in counts.as_dict().items() if isinstance(v, int) and not isinstance(v, bool)}
