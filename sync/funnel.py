"""Lifecycle funnel: contacts per stage, with lost stages reported apart from the active funnel."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from sync import model
from sync.config.types import LifecycleConfig


@dataclass(frozen=True)
class StageRow:
    """One active stage: contacts currently in it, contacts that ever entered it."""

    stage: str
    phase: str
    current: int
    entered: int
    to_next: float | None  # share of those who entered this stage that entered the next one


@dataclass(frozen=True)
class Funnel:
    """The active funnel, the lost stages (by stage, and by the stage they were lost from)."""

    active: tuple[StageRow, ...]
    lost: tuple[tuple[str, int], ...]
    lost_from: tuple[tuple[str, str, int], ...]
    never_staged: int
    totals: dict[str, int] = field(default_factory=dict)


def funnel(session: Session, config: LifecycleConfig) -> Funnel:
    """Compute the funnel from current contact stages and the stage history."""
    current = dict(session.execute(
        select(model.Contact.stage, func.count()).where(model.Contact.lost_stage.is_(None))
        .group_by(model.Contact.stage)).all())
    # a contact that skipped a stage still passed it: count entries cumulatively from the top
    reached: dict[str, int] = {}
    for stage in config.stages:
        reached[stage.name] = session.scalar(
            select(func.count(distinct(model.StageTransition.contact_id))).where(
                model.StageTransition.to_stage.in_(config.active_names[config.rank(stage.name):]))) or 0
    rows = []
    for i, stage in enumerate(config.stages):
        nxt = config.stages[i + 1].name if i + 1 < len(config.stages) else None
        share = (reached[nxt] / reached[stage.name]) if nxt and reached[stage.name] else None
        rows.append(StageRow(stage.name, stage.phase, current.get(stage.name, 0), reached[stage.name], share))
    lost = session.execute(select(model.Contact.lost_stage, func.count()).where(
        model.Contact.lost_stage.is_not(None)).group_by(model.Contact.lost_stage)).all()
    lost_from = session.execute(select(model.Contact.lost_stage, model.Contact.stage, func.count()).where(
        model.Contact.lost_stage.is_not(None)).group_by(model.Contact.lost_stage, model.Contact.stage)).all()
    lost_counts = dict(lost)
    return Funnel(
        active=tuple(rows),
        lost=tuple((name, lost_counts.get(name, 0)) for name in config.lost_names),
        lost_from=tuple(sorted((ls, st or "(entered lost)", n) for ls, st, n in lost_from)),
        never_staged=current.get(None, 0),
        totals={"contacts": session.scalar(select(func.count()).select_from(model.Contact)) or 0,
                "entered_any": session.scalar(select(func.count(distinct(model.StageTransition.contact_id)))) or 0},
    )
