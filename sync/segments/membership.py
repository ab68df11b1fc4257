"""Segment membership: who is in each segment now, who entered and left when, kept current two ways.

* **Incremental** (``drain``): the contacts the pipeline changed are queued in ``segment_dirty``
  (``sync.segments.dirty``) in the transaction that changed them; ``drain`` takes them in
  batches (``BATCH``) and re-evaluates every segment for those contacts only — never a full
  scan per change.
* **Full** (``evaluate``): every contact, every segment, on a schedule (``segments_full`` in
  schedule.yaml). Time-based conditions (time in stage, message recency, last purchase) drift
  without any change of the contact's own, so only this notices them.

Both go through ``refresh``: the segment's one query (``sync.segments.compile.members_query``)
restricted or not to a set of ids, and two statements — contacts no longer matching leave
(``left_at``), contacts matching and not current enter (a new stay) — so incremental and full
agree by construction. A merged-away contact no longer exists, matches nothing, and leaves.
A segment whose conditions changed since it was last evaluated (its fingerprint) is evaluated
in full on the next drain. Evaluations take turns (a transaction lock on PostgreSQL, the
writer lock on SQLite), so two workers never record one stay twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, delete, except_, func, insert, literal, select, true, update
from sqlalchemy import text as sql
from sqlalchemy.orm import Session

from sync.segments.compile import members_query
from sync.segments.conditions import Segment
from sync.store import model
from sync.store.engine import Store
from sync.store.planner_stats import note_inserted
from sync.store.planner_stats import refresh as refresh_statistics
from sync.store.sql import one_of, upsert

BATCH = 1000
SM = model.SegmentMember


def current_members(session: Session, segment_key: str) -> Select[Any]:
    """``SELECT contact_id`` of the segment's current members (the partial unique index answers it alone)."""
    del session  # the query is the same on every database; the session is the caller's to run it in
    return select(SM.contact_id).where(SM.segment == segment_key, SM.left_at.is_(None))


@dataclass(frozen=True)
class Change:
    """What one evaluation did to one segment."""

    segment: str
    entered: int
    left: int
    size: int | None = None  # after it (full evaluations count; incremental ones add up)


def _lock(session: Session) -> None:
    """Evaluations take turns; on PostgreSQL without JIT, whose compilation (a second and more per
    statement, set off by the correlated subqueries' cost estimates) costs more than the statement.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sql("SELECT pg_advisory_xact_lock(hashtext('lifesync:segments'))"))
        session.execute(sql("SET LOCAL jit = off"))


def refresh(session: Session, segment: Segment, now: datetime, ids: Sequence[int] | None = None) -> Change:
    """Bring the segment's stays up to date for ``ids`` (None: every contact): leavers leave, joiners enter.

    Both differences are ``EXCEPT`` (a hashed or sorted set operation on either database, whatever
    the statistics say): ``NOT IN`` degrades to a scan per row once the members outgrow work_mem,
    and an anti-join planned on stale statistics of ``segment_members`` to a nested loop.
    """
    dialect = session.get_bind().dialect.name
    # the changed contacts as one array parameter on PostgreSQL (sync.store.sql.one_of): quick to send and plan
    matching = members_query(segment, dialect, now, one_of(session, model.Contact.id, ids) if ids is not None else None)
    current = current_members(session, segment.key)
    if ids is not None:
        current = current.where(one_of(session, SM.contact_id, ids))
    gone = except_(current, matching)
    leave = update(SM).where(SM.segment == segment.key, SM.left_at.is_(None), SM.contact_id.in_(gone))
    left = session.execute(leave.values(left_at=now).execution_options(synchronize_session=False)).rowcount
    joiners = except_(matching, current).subquery()
    entered = len(session.execute(insert(SM).from_select(  # RETURNING: psycopg reports no rowcount here
        ["segment", "contact_id", "entered_at"],
        select(literal(segment.key), joiners.c[0], literal(now, model.AwareDateTime())))
        .returning(SM.contact_id)).all())
    note_inserted(session, SM.__tablename__, entered)  # keeps the planner's idea of the table's size current
    return Change(segment.key, entered, left)


def _size(session: Session, key: str) -> int:
    return session.scalar(select(func.count()).select_from(current_members(session, key).subquery())) or 0


def _record(session: Session, segment: Segment, now: datetime, change: Change, full: bool) -> Change:
    """Keep the segment's last evaluation (``segment_evaluations``); the change with the size after it."""
    ev = session.get(model.SegmentEvaluation, segment.key)
    size = _size(session, segment.key) if full or ev is None else ev.size + change.entered - change.left
    row = {"segment": segment.key, "evaluated_at": now, "size": size, "fingerprint": segment.fingerprint,
           "full_at": now if full else (ev.full_at if ev is not None else None)}
    upsert(session, model.SegmentEvaluation, [row], ["segment"], ["evaluated_at", "size", "fingerprint", "full_at"])
    return Change(change.segment, change.entered, change.left, size)


def evaluate(store: Store, segments: Iterable[Segment], now: datetime | None = None,
             retire: bool = True) -> list[Change]:
    """Full evaluation of ``segments``, one transaction per segment; ``retire``: close the stays of gone segments.

    ``retire`` is for the evaluation of every configured segment: a segment whose file was
    removed has its current members leave (its history stays).
    """
    now = now or model.utcnow()
    segments = list(segments)
    changes = []
    if segments:
        with store.transaction() as session:  # each segment's stays as they are now: the set differences plan well
            refresh_statistics(session, SM.__tablename__)
    for segment in segments:
        with store.transaction() as session:
            _lock(session)
            changes.append(_record(session, segment, now, refresh(session, segment, now), full=True))
    if retire:
        with store.transaction() as session:
            _lock(session)
            keys = [s.key for s in segments]
            gone = update(SM).where(SM.left_at.is_(None), SM.segment.not_in(keys) if keys else true())
            session.execute(gone.values(left_at=now).execution_options(synchronize_session=False))
            session.execute(delete(model.SegmentEvaluation).where(model.SegmentEvaluation.segment.not_in(keys))
                            if keys else delete(model.SegmentEvaluation))
    return changes


def drain(store: Store, segments: Iterable[Segment], now: datetime | None = None, batch: int = BATCH,
          max_batches: int | None = None) -> dict[str, Any]:
    """Evaluate every segment for the queued contacts, ``batch`` at a time, until the queue is empty.

    A segment never evaluated, or whose conditions changed since, is first evaluated in full
    (the queue alone cannot bring it up to date). Each batch is one transaction; a contact
    queued again while its batch ran stays queued.
    """
    segments = list(segments)
    now = now or model.utcnow()
    with store.transaction() as session:
        ev = model.SegmentEvaluation
        known = {row.segment: row.fingerprint for row in session.execute(select(ev.segment, ev.fingerprint))}
    stale = [s for s in segments if known.get(s.key) != s.fingerprint]
    full = [c.segment for c in evaluate(store, stale, now, retire=False)]
    totals = {"contacts": 0, "batches": 0, "entered": 0, "left": 0, "full": full}
    while max_batches is None or totals["batches"] < max_batches:
        with store.transaction() as session:
            _lock(session)
            rows = session.execute(select(model.SegmentDirty.contact_id, model.SegmentDirty.queued_at)
                                   .order_by(model.SegmentDirty.contact_id).limit(batch)).all()
            if not rows:
                break
            ids = [r.contact_id for r in rows]  # at most BATCH: within SQLite's parameter limit
            for segment in segments:
                change = _record(session, segment, now, refresh(session, segment, now, ids), full=False)
                totals["entered"] += change.entered
                totals["left"] += change.left
            d = model.SegmentDirty.__table__.c  # only the rows as read: one queued again meanwhile stays
            session.execute(delete(model.SegmentDirty.__table__).where(
                d.contact_id == bindparam("b_c"), d.queued_at == bindparam("b_q")),
                [{"b_c": r.contact_id, "b_q": r.queued_at} for r in rows])
            totals["contacts"] += len(ids)
            totals["batches"] += 1
    return totals
