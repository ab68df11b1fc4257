"""The funnel in the shape ``lifesync demo`` prints, built from ``sync.reports`` (funnel + lost).

New code should use ``sync.reports.funnel`` and ``sync.reports.lost`` directly; this module
keeps the demo's small summary: per active stage the contacts now in it, the contacts that
entered it and the share that moved on; contacts now in each lost stage, by the stage they
were lost from (all time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from sync.reports import funnel as funnel_report
from sync.reports import lost as lost_report
from sync.reports.funnel import FunnelReport

if TYPE_CHECKING:
    from sync.config import Config, LifecycleConfig


@dataclass(frozen=True)
class StageRow:
    """One active stage: contacts now in it, contacts that entered it, share that moved on."""

    stage: str
    phase: str
    current: int
    entered: int
    to_next: float | None  # share of those who entered this stage that entered a later one


@dataclass(frozen=True)
class Funnel:
    """The active funnel, the lost stages (by stage, and by the stage they were lost from)."""

    active: tuple[StageRow, ...]
    lost: tuple[tuple[str, int], ...]
    lost_from: tuple[tuple[str, str, int], ...]
    never_staged: int
    totals: dict[str, int] = field(default_factory=dict)


def funnel(session: Session, config: Config | LifecycleConfig, brand: str | None = None) -> Funnel:
    """The all-time funnel and lost stages of ``brand`` (default: the default brand; see ``sync.reports.funnel``)."""
    active: FunnelReport = funnel_report(session, config, brand=brand)
    dropped = lost_report(session, config, brand=brand)
    return Funnel(
        active=tuple(StageRow(r.stage, r.phase, r.current, r.entered, r.conversion_rate) for r in active.stages),
        lost=tuple((r.stage, r.current) for r in dropped.stages),
        lost_from=tuple((r.lost_stage, r.from_stage or "(entered lost)", r.contacts) for r in dropped.lost_from),
        never_staged=active.never_staged,
        totals={"contacts": active.contacts, "lost_now": active.lost_now},
    )
