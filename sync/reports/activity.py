"""Lifecycle activity per day: how many stage changes into an active stage each UTC day saw.

What the console's date-range brush draws above the funnel: the whole history (or a window), every
day from the first to the last with a change, days without one as 0. Lost stages are left out, as
from the funnel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sync.reports.window import ReportData, day_of, lifecycle_of, reading, within
from sync.store import model
from sync.store.engine import Store

if TYPE_CHECKING:
    from sync.config import Config, LifecycleConfig


@dataclass(frozen=True)
class DayCount:
    """One UTC day and the stage changes into active stages it saw."""

    day: str  # YYYY-MM-DD
    entered: int


@dataclass(frozen=True)
class ActivityReport(ReportData):
    """Stage changes per day over [start, end), each day from the first to the last with one."""

    start: datetime | None
    end: datetime | None
    days: tuple[DayCount, ...]


def activity(session_or_store: Session | Store, config: Config | LifecycleConfig, *, start: datetime | None = None,
             end: datetime | None = None) -> ActivityReport:
    """Count stage changes into active stages per UTC day (one grouped statement)."""
    t = model.StageTransition
    names = lifecycle_of(config).active_names
    with reading(session_or_store) as session:
        day = day_of(session, t.at)
        found = dict(session.execute(select(day, func.count()).where(t.to_stage.in_(names), within(t.at, start, end))
                                     .group_by(day)).all())
    days: list[DayCount] = []
    if found:
        first, last = date.fromisoformat(min(found)), date.fromisoformat(max(found))
        days = [DayCount((first + timedelta(days=i)).isoformat(), found.get((first + timedelta(days=i)).isoformat(), 0))
                for i in range((last - first).days + 1)]
    return ActivityReport(start=start, end=end, days=tuple(days))
