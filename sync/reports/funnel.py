"""Lifecycle funnel: per active stage, who entered, who is there now, who moved on, how long they stayed.

Read from ``stage_transitions`` (the history the stage engine derives) and ``contacts``:

- **entered**: distinct contacts with a transition *into* the stage inside the window. A
  contact that skipped the stage (New Lead → Payment) did not enter Hot Lead.
- **current**: contacts in the stage now and not lost (the window does not apply: it is a
  snapshot of today).
- **moved on**: of those who entered, the contacts whose history later (higher ``seq``, before
  the window's end) has a transition into any later active stage; **conversion rate** =
  moved on / entered.
- **median time in stage**: over the entries in the window, the time from entering to the
  contact's next transition (forward, lost, or by a rule), when that next transition happened
  before the window's end; stays still open are left out (``timed`` says how many were measured).

Lost stages are not part of the funnel (``sync.reports.lost`` reports them); ``lost_now``
only says how many contacts sit in one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, case, distinct, func, literal, select
from sqlalchemy.orm import Session, aliased

from sync.config.types import LifecycleConfig
from sync.reports.window import ReportData, lifecycle_of, median, reading, seconds_between, share, within
from sync.store import model
from sync.store.engine import Store

if TYPE_CHECKING:
    from sync.config import Config


@dataclass(frozen=True)
class StageRow:
    """One active stage of the funnel."""

    stage: str
    phase: str
    entered: int
    current: int
    moved_on: int
    conversion_rate: float | None  # moved_on / entered; None when nobody entered
    median_seconds: float | None  # median time from entering to the next transition
    timed: int  # stays the median was taken over


@dataclass(frozen=True)
class FunnelReport(ReportData):
    """The active funnel in funnel order, for the window [start, end)."""

    start: datetime | None
    end: datetime | None
    stages: tuple[StageRow, ...]
    contacts: int  # every contact, staged or not
    never_staged: int  # contacts with no stage at all yet
    lost_now: int  # contacts in a lost stage now (see sync.reports.lost)


def stage_rank(column: Any, config: LifecycleConfig) -> ColumnElement[int]:
    """SQL for an active stage's funnel position (0 = first); -1 for lost or unknown stages."""
    if not config.active_names:
        return literal(-1)
    return case({name: i for i, name in enumerate(config.active_names)}, value=column, else_=-1)


def funnel(session_or_store: Session | Store, config: Config | LifecycleConfig, *, start: datetime | None = None,
           end: datetime | None = None) -> FunnelReport:
    """Compute the funnel (see the module docstring for what each number means)."""
    lifecycle = lifecycle_of(config)
    with reading(session_or_store) as session:
        entered, moved = _entries(session, lifecycle, start, end)
        stays = _stays(session, lifecycle, start, end)
        c = model.Contact
        current = dict(session.execute(
            select(c.stage, func.count()).where(c.lost_stage.is_(None)).group_by(c.stage)).all())
        contacts = session.scalar(select(func.count()).select_from(c)) or 0
        lost_now = session.scalar(select(func.count()).where(c.lost_stage.is_not(None))) or 0
    rows = tuple(
        StageRow(stage=s.name, phase=s.phase, entered=entered.get(s.name, 0), current=current.get(s.name, 0),
                 moved_on=moved.get(s.name, 0), conversion_rate=share(moved.get(s.name, 0), entered.get(s.name, 0)),
                 median_seconds=median(stays[s.name]), timed=len(stays[s.name]))
        for s in lifecycle.stages)
    return FunnelReport(start=start, end=end, stages=rows, contacts=contacts,
                        never_staged=current.get(None, 0), lost_now=lost_now)


def _entries(session: Session, config: LifecycleConfig, start: datetime | None,
             end: datetime | None) -> tuple[dict[str, int], dict[str, int]]:
    """Per active stage: distinct contacts that entered it in the window, and those of them that moved on.

    One pass over the history: a window function gives every transition the highest funnel
    position the contact reached in its later transitions (before ``end``), so moving on is a
    comparison, not a correlated lookup per row.
    """
    t = model.StageTransition
    rank = stage_rank(t.to_stage, config)
    later = func.max(case((within(t.at, None, end), rank), else_=-1)).over(
        partition_by=t.contact_id, order_by=t.seq, rows=(1, None))
    history = select(t.contact_id, t.to_stage, t.at, rank.label("rank"), later.label("later")).subquery()
    h = history.c
    rows = session.execute(
        select(h.to_stage, func.count(distinct(h.contact_id)), func.count(distinct(case((h.later > h.rank,
                                                                                         h.contact_id)))))
        .where(h.rank >= 0, within(h.at, start, end)).group_by(h.to_stage)).all()
    return {r[0]: r[1] for r in rows}, {r[0]: r[2] for r in rows}


def _stays(session: Session, config: LifecycleConfig, start: datetime | None,
           end: datetime | None) -> dict[str, list[float]]:
    """Per active stage, the seconds from each entry in the window to the contact's next transition."""
    e, nxt = aliased(model.StageTransition), aliased(model.StageTransition)
    seconds = seconds_between(session, e.at, nxt.at)
    stays: dict[str, list[float]] = {name: [] for name in config.active_names}
    # seq numbers a contact's transitions 0, 1, 2, ... (sync.ingest.persist), so the next one is seq + 1;
    # to the millisecond: SQLite's julianday arithmetic is off by some microseconds
    for stage, value in session.execute(
            select(e.to_stage, seconds).select_from(e)
            .join(nxt, and_(nxt.contact_id == e.contact_id, nxt.seq == e.seq + 1))
            .where(e.to_stage.in_(config.active_names), within(e.at, start, end), within(nxt.at, None, end))):
        stays[stage].append(round(float(value), 3))
    return stays
