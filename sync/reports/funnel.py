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

Over all time, "entered" and "moved on" are read from ``funnel_counts`` (kept where the
transitions are written, ``sync.ingest.funnel_counts``) instead of the history.

Lost stages are not part of the funnel (``sync.reports.lost`` reports them); ``lost_now``
only says how many contacts sit in one.

The funnel is one brand's (``brand``, default: the default brand; ``sync.reports.brand_scope``):
its lifecycle, its history, its contacts' stage in it. Another brand's all-time funnel is read
from its history (the kept counts are the default brand's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from sync.config.types import DEFAULT_BRAND, LifecycleConfig
from sync.ingest import funnel_counts
from sync.reports.brand_scope import StageScope, stage_scope
from sync.reports.window import ReportData, median, reading, seconds_between, share, within
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
    brand: str = "default"  # whose funnel (sync.config.brands)


def funnel(session_or_store: Session | Store, config: Config | LifecycleConfig, *, start: datetime | None = None,
           end: datetime | None = None, brand: str | None = None) -> FunnelReport:
    """Compute the funnel (see the module docstring for what each number means)."""
    scope = stage_scope(config, brand)
    lifecycle = scope.lifecycle
    with reading(session_or_store) as session:
        entered, moved = (_entries(session, lifecycle, start, end, scope)
                          if start is not None or end is not None or not scope.default
                          else _entries_all_time(session, lifecycle))
        stays = _stays(session, lifecycle, start, end, scope)
        current, contacts, lost_now = _now(session, scope)
    rows = tuple(
        StageRow(stage=s.name, phase=s.phase, entered=entered.get(s.name, 0), current=current.get(s.name, 0),
                 moved_on=moved.get(s.name, 0), conversion_rate=share(moved.get(s.name, 0), entered.get(s.name, 0)),
                 median_seconds=median(stays[s.name]), timed=len(stays[s.name]))
        for s in lifecycle.stages)
    return FunnelReport(start=start, end=end, stages=rows, contacts=contacts,
                        never_staged=current.get(None, 0), lost_now=lost_now, brand=scope.brand)


def _entries(session: Session, config: LifecycleConfig, start: datetime | None,
             end: datetime | None, scope: StageScope | None = None) -> tuple[dict[str, int], dict[str, int]]:
    """Per active stage: distinct contacts that entered it in the window, and those of them that moved on.

    One pass over the history, grouped by contact: a contact entered stage *i* when it has a
    transition into it in the window, and moved on when its first such entry (lowest ``seq``)
    comes before its last transition (highest ``seq``, before ``end``) into a later active
    stage: some entry is then followed by a later stage, and none is when even the first is not.
    A million contacts' history is one streamed aggregate, with no sort of the rows by stage.
    """
    t = model.StageTransition
    scope = scope or StageScope(DEFAULT_BRAND, config)
    names = config.active_names
    if not names:
        return {}, {}
    first_entry = [func.min(case((and_(t.to_stage == name, within(t.at, start, end)), t.seq))).label(f"e{i}")
                   for i, name in enumerate(names)]
    last_later = [func.max(case((and_(t.to_stage.in_(names[i + 1:]), within(t.at, None, end)), t.seq))).label(f"l{i}")
                  for i in range(len(names) - 1)]
    # transitions into lost stages feed none of the aggregates: left out, a contact with only those makes no group
    per_contact = (select(*first_entry, *last_later).where(t.to_stage.in_(names), scope.history())
                   .group_by(t.contact_id).subquery())
    c = per_contact.c
    entered = [func.count(c[f"e{i}"]) for i in range(len(names))]
    moved = [func.count(case((c[f"e{i}"] < c[f"l{i}"], 1))) for i in range(len(names) - 1)]
    row = session.execute(select(*entered, *moved)).one()
    return ({name: row[i] for i, name in enumerate(names) if row[i]},
            {name: row[len(names) + i] for i, name in enumerate(names[:-1]) if row[len(names) + i]})


def _entries_all_time(session: Session, config: LifecycleConfig) -> tuple[dict[str, int], dict[str, int]]:
    """:func:`_entries` over all time, from the counts kept as transitions are written (``funnel_counts``):
    per (stage, set of stages entered after the first entry into it), how many contacts.
    """
    names = config.active_names
    later = {name: set(names[i + 1:]) for i, name in enumerate(names)}
    entered: dict[str, int] = {}
    moved: dict[str, int] = {}
    for (stage, after), n in funnel_counts.counted(session).items():
        if stage in later:
            entered[stage] = entered.get(stage, 0) + n
            if after & later[stage]:
                moved[stage] = moved.get(stage, 0) + n
    return ({k: v for k, v in entered.items() if v}, {k: v for k, v in moved.items() if v})


def _now(session: Session, scope: StageScope) -> tuple[dict[str | None, int], int, int]:
    """Contacts per stage now (lost ones left out), every contact, and those in a lost stage.

    Counted from the stage index and the (small) lost-stage index, never by reading every
    contact row: per stage, all contacts minus the lost ones. Another brand's contacts are
    those with a stage in it (``contact_stages``).
    """
    _, _, stage, lost_stage, where = scope.now()
    every = dict(session.execute(select(stage, func.count()).where(where).group_by(stage)).all())
    lost_by_stage = dict(session.execute(
        select(stage, func.count()).where(where, lost_stage.is_not(None)).group_by(stage)).all())
    current = {stage: n - lost_by_stage.get(stage, 0) for stage, n in every.items()}
    return current, sum(every.values()), sum(lost_by_stage.values())


def _stays(session: Session, config: LifecycleConfig, start: datetime | None,
           end: datetime | None, scope: StageScope | None = None) -> dict[str, list[float]]:
    """Per active stage, the seconds from each entry in the window to the contact's next transition."""
    e, nxt = aliased(model.StageTransition), aliased(model.StageTransition)
    scope = scope or StageScope(DEFAULT_BRAND, config)
    seconds = seconds_between(session, e.at, nxt.at)
    stays: dict[str, list[float]] = {name: [] for name in config.active_names}
    # seq numbers a contact's transitions 0, 1, 2, ... (sync.ingest.persist), so the next one is seq + 1,
    # and only a transition with seq > 0 is anyone's next: said outright, so the planner builds its hash
    # of those alone (none at all where every contact has one transition: 1.26 s -> 0.16 s at 1M);
    # to the millisecond: SQLite's julianday arithmetic is off by some microseconds
    for stage, value in session.execute(
            select(e.to_stage, seconds).select_from(e)
            .join(nxt, and_(nxt.contact_id == e.contact_id, nxt.seq == e.seq + 1, nxt.seq > 0, nxt.brand == e.brand))
            .where(e.to_stage.in_(config.active_names), within(e.at, start, end), within(nxt.at, None, end),
                   scope.history(e))):
        stays[stage].append(round(float(value), 3))
    return stays
