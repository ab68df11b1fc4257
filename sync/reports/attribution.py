"""Conversions and their value by campaign, ad, channel and network, under first- and last-touch.

Read from ``conversion_events`` (those that occurred in the window) and ``touchpoints``:

- **first touch** credits the contact's earliest touchpoint at or before the conversion;
- **last touch** credits the latest touchpoint at or before the conversion.

Both look only at touchpoints up to the conversion's own time (a touch at the same instant
counts), so a later ad click never takes credit for an earlier purchase; equal times break by
touchpoint id. Conversions with no such touchpoint are **unattributed** and counted apart.
Touchpoints without a time cannot be placed before anything and are never credited.

Adjustments count (``sync.attribution.adjustments``): a retracted conversion (an order cancelled
or fully refunded) is left out, and a restated one (a partial refund) counts at its adjusted
value and currency. Values are summed per currency, never converted; a value without a currency is summed under
``XXX`` (ISO 4217's "no currency"). Conversions without a value count but add nothing. A row
whose key is None is a touchpoint that lacked that id (a referral without an ad id, say).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from sync.reports.window import ReportData, reading, within
from sync.store import model
from sync.store.engine import Store

if TYPE_CHECKING:
    from sync.config import Config, LifecycleConfig

DIMENSIONS = ("campaign", "ad", "channel", "network")
NO_CURRENCY = "XXX"


@dataclass(frozen=True)
class AttributionRow:
    """Conversions credited to one campaign / ad / channel / network, and their value per currency."""

    key: str | None
    conversions: int
    value: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelBreakdown:
    """One attribution model's credit, by each dimension (rows by conversions, most first)."""

    model: str  # first_touch or last_touch
    campaign: tuple[AttributionRow, ...]
    ad: tuple[AttributionRow, ...]
    channel: tuple[AttributionRow, ...]
    network: tuple[AttributionRow, ...]

    def rows(self, dimension: str) -> tuple[AttributionRow, ...]:
        """The rows of one of ``DIMENSIONS``."""
        if dimension not in DIMENSIONS:
            raise ValueError(f"unknown dimension {dimension!r}; one of {', '.join(DIMENSIONS)}")
        return getattr(self, dimension)


@dataclass(frozen=True)
class AttributionReport(ReportData):
    """Conversions that occurred in [start, end), credited under both models."""

    start: datetime | None
    end: datetime | None
    conversions: int
    value: dict[str, float]
    unattributed: int
    unattributed_value: dict[str, float]
    first_touch: ModelBreakdown
    last_touch: ModelBreakdown


def attribution(session_or_store: Session | Store, config: Config | LifecycleConfig | None = None, *,
                start: datetime | None = None, end: datetime | None = None) -> AttributionReport:
    """Compute the attribution report; ``config`` is accepted for a uniform signature."""
    with reading(session_or_store) as session:
        first, unattributed, unattributed_value = _credit(session, "first_touch", start, end)
        last, _, _ = _credit(session, "last_touch", start, end)
    total = sum(r.conversions for r in first.channel) + unattributed
    value: dict[str, float] = defaultdict(float)
    for row in (*first.channel, AttributionRow(None, unattributed, unattributed_value)):
        for currency, amount in row.value.items():
            value[currency] += amount
    return AttributionReport(start=start, end=end, conversions=total, value=dict(sorted(value.items())),
                             unattributed=unattributed, unattributed_value=unattributed_value,
                             first_touch=first, last_touch=last)


def _credit(session: Session, model_name: str, start: datetime | None,
            end: datetime | None) -> tuple[ModelBreakdown, int, dict[str, float]]:
    """One model's breakdown, plus the unattributed count and value (same under every model)."""
    cv, tp = model.ConversionEvent, model.Touchpoint
    order = (tp.occurred_at.asc(), tp.id.asc()) if model_name == "first_touch" else (tp.occurred_at.desc(),
                                                                                       tp.id.desc())
    restated = cv.adjusted_value.is_not(None)
    value = case((restated, cv.adjusted_value), else_=cv.value).label("value")
    currency = func.coalesce(case((restated, cv.adjusted_currency), else_=None), cv.currency, NO_CURRENCY)
    ranked = (select(value, currency.label("currency"),
                     tp.id.label("touch"), tp.campaign_id, tp.ad_id, tp.channel, tp.network,
                     func.row_number().over(partition_by=cv.id, order_by=order).label("n"))
              .select_from(cv)
              .outerjoin(tp, and_(tp.contact_id == cv.contact_id, tp.occurred_at <= cv.occurred_at))
              .where(within(cv.occurred_at, start, end), cv.retracted_at.is_(None)).subquery())
    r = ranked.c
    keys = (r.touch.is_(None), r.campaign_id, r.ad_id, r.channel, r.network, r.currency)
    groups = session.execute(select(*keys, func.count(), func.sum(r.value)).where(r.n == 1).group_by(*keys)).all()
    counts: dict[str, dict[str | None, int]] = {d: defaultdict(int) for d in DIMENSIONS}
    values: dict[str, dict[str | None, dict[str, float]]] = {d: defaultdict(lambda: defaultdict(float))
                                                             for d in DIMENSIONS}
    none_count, none_value = 0, defaultdict(float)
    for unattributed, campaign, ad, channel, network, currency, n, amount in groups:
        if unattributed:
            none_count += n
            if amount is not None:
                none_value[currency] += float(amount)
            continue
        for dimension, key in zip(DIMENSIONS, (campaign, ad, channel, network), strict=True):
            counts[dimension][key] += n
            if amount is not None:
                values[dimension][key][currency] += float(amount)

    def rows(dimension: str) -> tuple[AttributionRow, ...]:
        made = [AttributionRow(key, n, dict(sorted(values[dimension][key].items())))
                for key, n in counts[dimension].items()]
        return tuple(sorted(made, key=lambda row: (-row.conversions, row.key is None, row.key or "")))

    breakdown = ModelBreakdown(model_name, *(rows(d) for d in DIMENSIONS))
    return breakdown, none_count, dict(sorted(none_value.items()))
