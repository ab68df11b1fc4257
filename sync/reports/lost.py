"""Lost stages, apart from the active funnel: who dropped, from which stage, and who came back.

Read from ``stage_transitions`` and ``contacts``:

- **stages**: per configured lost stage, the contacts in it now (a snapshot, no window) and
  the distinct contacts that entered it in the window.
- **lost from**: transitions into a lost stage in the window, by (lost stage, the active
  stage it was lost from); ``from_stage`` is None for contacts whose first stage was a lost
  one. Counts are distinct contacts.
- **dropped from**: the same per active stage, over every lost stage (what the drop-off
  chart shows), distinct contacts.
- **came back**: transitions *out of* a lost stage in the window (a rule reactivated the
  contact, e.g. it wrote again), by (lost stage, stage moved to).

One brand's (``brand``, default: the default brand; ``sync.reports.brand_scope``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, distinct, func, or_, select
from sqlalchemy.orm import Session

from sync.reports.brand_scope import stage_scope
from sync.reports.window import ReportData, reading, within
from sync.store import model
from sync.store.engine import Store

if TYPE_CHECKING:
    from sync.config import Config, LifecycleConfig


@dataclass(frozen=True)
class LostStageRow:
    """One lost stage: contacts in it now, contacts that entered it in the window."""

    stage: str
    current: int
    entered: int


@dataclass(frozen=True)
class LostFromRow:
    """Contacts that went from an active stage (None: straight in) to a lost stage in the window."""

    lost_stage: str
    from_stage: str | None
    contacts: int


@dataclass(frozen=True)
class DropRow:
    """Contacts lost from one active stage in the window, whichever lost stage they went to."""

    stage: str
    contacts: int


@dataclass(frozen=True)
class ComebackRow:
    """Contacts that left a lost stage in the window, and where to."""

    lost_stage: str
    to_stage: str
    contacts: int


@dataclass(frozen=True)
class LostReport(ReportData):
    """Drop-off for the window [start, end), kept apart from the active funnel."""

    start: datetime | None
    end: datetime | None
    stages: tuple[LostStageRow, ...]
    lost_from: tuple[LostFromRow, ...]
    dropped_from: tuple[DropRow, ...]
    came_back: tuple[ComebackRow, ...]
    lost_contacts: int  # distinct contacts that entered any lost stage in the window
    came_back_contacts: int  # distinct contacts that left a lost stage in the window
    brand: str = "default"  # whose funnel (sync.config.brands)


def lost(session_or_store: Session | Store, config: Config | LifecycleConfig, *, start: datetime | None = None,
         end: datetime | None = None, brand: str | None = None) -> LostReport:
    """Compute the lost-stage report (see the module docstring)."""
    scope = stage_scope(config, brand)
    lifecycle = scope.lifecycle
    active, lost_names = lifecycle.active_names, lifecycle.lost_names
    t = model.StageTransition
    _, _, _, lost_now, now_where = scope.now()
    contacts = func.count(distinct(t.contact_id))
    in_window = and_(within(t.at, start, end), scope.history())
    into_lost = (t.to_stage.in_(lost_names), in_window)
    from_active = or_(t.from_stage.in_(active), t.from_stage.is_(None))
    out_of_lost = (t.from_stage.in_(lost_names), in_window)
    with reading(session_or_store) as session:
        current = dict(session.execute(select(lost_now, func.count()).where(now_where, lost_now.in_(lost_names))
                                       .group_by(lost_now)).all())
        entered = dict(session.execute(select(t.to_stage, contacts).where(*into_lost).group_by(t.to_stage)).all())
        pairs = session.execute(select(t.to_stage, t.from_stage, contacts).where(*into_lost, from_active)
                                .group_by(t.to_stage, t.from_stage)).all()
        drops = dict(session.execute(select(t.from_stage, contacts).where(*into_lost, t.from_stage.in_(active))
                                     .group_by(t.from_stage)).all())
        back = session.execute(select(t.from_stage, t.to_stage, contacts).where(*out_of_lost)
                               .group_by(t.from_stage, t.to_stage)).all()
        lost_total = session.scalar(select(contacts).where(*into_lost)) or 0
        back_total = session.scalar(select(contacts).where(*out_of_lost)) or 0

    def order(stage: str | None) -> tuple[int, str]:
        """Funnel order: active stages first, then lost ones, then straight-in (None)."""
        names = (*active, *lost_names)
        return (names.index(stage), "") if stage in names else (len(names), stage or "")

    return LostReport(
        start=start, end=end,
        stages=tuple(LostStageRow(n, current.get(n, 0), entered.get(n, 0)) for n in lost_names),
        lost_from=tuple(LostFromRow(ls, fs, n)
                        for ls, fs, n in sorted(pairs, key=lambda r: (order(r[0]), order(r[1])))),
        dropped_from=tuple(DropRow(s, drops[s]) for s in active if drops.get(s)),
        came_back=tuple(ComebackRow(fs, ts, n)
                        for fs, ts, n in sorted(back, key=lambda r: (order(r[0]), order(r[1])))),
        lost_contacts=lost_total, came_back_contacts=back_total, brand=scope.brand,
    )
