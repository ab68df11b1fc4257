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
``XXX`` (ISO 4217's "no currency"). Conversions without a value count but add nothing.

Campaigns and ad sets are the touchpoint's own ids when it carries them, else those the ad
network gave for its ad id (the ``ad_names`` cache, ``sync.attribution.adnames``), with their
names. A row is **(unresolved)** when the touch came from an ad network but no campaign (ad set,
ad) is known for it — the ad id was not looked up yet, or the network refused to name it —
and **(none)** when the touch has no ad at all (no network, no ad id).

``brand`` limits it to one brand's conversions (``sync.config.brands``); without it, every brand's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, exists, func, literal, null, select, union_all
from sqlalchemy.orm import Session

from sync.reports.brand_scope import check_brand
from sync.reports.window import ReportData, reading, within
from sync.store import model
from sync.store.engine import Store

if TYPE_CHECKING:
    from sync.config import Config, LifecycleConfig

DIMENSIONS = ("campaign", "adset", "ad", "channel", "network")
NAMED = ("campaign", "adset", "ad")  # the dimensions an ad network names (and that can be unresolved)
NO_CURRENCY = "XXX"
NONE, UNRESOLVED = "(none)", "(unresolved)"
DIMENSION_TITLES = {"campaign": "campaign", "adset": "ad set", "ad": "ad", "channel": "channel", "network": "network"}


@dataclass(frozen=True)
class AttributionRow:
    """Conversions credited to one campaign / ad / channel / network, and their value per currency."""

    key: str | None
    conversions: int
    value: dict[str, float] = field(default_factory=dict)
    name: str | None = None  # the campaign's, ad set's or ad's name as its network gave it
    unresolved: bool = False  # an ad touch whose campaign (ad set, ad) is not known

    @property
    def label(self) -> str:
        """``Spring Promo (1202…)``, the bare id without a name, ``(unresolved)`` or ``(none)``."""
        return touch_label(self.key, self.name, self.unresolved)


@dataclass(frozen=True)
class ModelBreakdown:
    """One attribution model's credit, by each dimension (rows by conversions, most first)."""

    model: str  # first_touch or last_touch
    campaign: tuple[AttributionRow, ...]
    adset: tuple[AttributionRow, ...]
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
                start: datetime | None = None, end: datetime | None = None,
                brand: str | None = None) -> AttributionReport:
    """Compute the attribution report (``config`` names the brands ``brand`` may be)."""
    if brand is not None and config is not None:
        check_brand(config, brand)
    with reading(session_or_store) as session:
        (first, last), unattributed, unattributed_value = _credit(session, start, end, brand)
    total = sum(r.conversions for r in first.channel) + unattributed
    value: dict[str, float] = defaultdict(float)
    for row in (*first.channel, AttributionRow(None, unattributed, unattributed_value)):
        for currency, amount in row.value.items():
            value[currency] += amount
    return AttributionReport(start=start, end=end, conversions=total, value=dict(sorted(value.items())),
                             unattributed=unattributed, unattributed_value=unattributed_value,
                             first_touch=first, last_touch=last)


MODELS = {"first_touch": "asc", "last_touch": "desc"}  # the touch credited: the earliest, the latest


def _credit(session: Session, start: datetime | None, end: datetime | None,
            brand: str | None = None) -> tuple[tuple[ModelBreakdown, ...], int, dict[str, float]]:
    """Both models' breakdowns, plus the unattributed count and value (the same under every model).

    One statement: the (conversion, touchpoint) pairs that exist are ranked per model; the
    conversions without any touch before them (most, where ads are not tracked) are an
    anti-join, read once for both models; each part is counted per (model, touch, currency)
    before the few groups meet the touchpoints and ad names.
    """
    cv, tp, an = model.ConversionEvent, model.Touchpoint, model.AdName
    restated = cv.adjusted_value.is_not(None)
    value = case((restated, cv.adjusted_value), else_=cv.value).label("value")
    currency = func.coalesce(case((restated, cv.adjusted_currency), else_=None), cv.currency, NO_CURRENCY)
    counted = (within(cv.occurred_at, start, end), cv.retracted_at.is_(None),
               *(() if brand is None else (cv.brand == brand,)))
    touched = and_(tp.contact_id == cv.contact_id, tp.occurred_at <= cv.occurred_at, tp.brand == cv.brand)
    ranks = {name: func.row_number().over(partition_by=cv.id, order_by=(
        (tp.occurred_at.asc(), tp.id.asc()) if way == "asc" else (tp.occurred_at.desc(), tp.id.desc()))).label(name)
        for name, way in MODELS.items()}
    pairs = (select(value, currency.label("currency"), tp.id.label("touch"), *ranks.values())
             .select_from(cv).join(tp, touched).where(*counted).subquery())
    p = pairs.c
    per_touch = union_all(
        *(select(literal(name).label("model"), p.touch, p.currency, func.count().label("n"),
                 func.sum(p.value).label("value")).where(p[name] == 1).group_by(p.touch, p.currency)
          for name in MODELS),
        select(null(), null(), currency, func.count(), func.sum(value))
        .where(*counted, ~exists().where(touched)).group_by(currency),
    ).subquery()
    ranked = (select(per_touch.c.model, per_touch.c.value, per_touch.c.n, per_touch.c.currency,
                     tp.id.label("touch"), tp.campaign_id, tp.adset_id, tp.ad_id, tp.channel, tp.network,
                     an.campaign_id.label("named_campaign"), an.campaign_name, an.adset_id.label("named_adset"),
                     an.adset_name, an.ad_name)
              .select_from(per_touch)
              .outerjoin(tp, tp.id == per_touch.c.touch)
              .outerjoin(an, and_(an.network == tp.network, an.ad_id == tp.ad_id)).subquery())
    r = ranked.c
    keys = (r.model, r.campaign_id, r.named_campaign, r.campaign_name, r.adset_id, r.named_adset,
            r.adset_name, r.ad_id, r.ad_name, r.channel, r.network, r.currency)
    groups = session.execute(select(*keys, func.sum(r.n), func.sum(r.value)).group_by(*keys)).all()
    none_count, none_value = 0, defaultdict(float)
    for row in groups:
        if row[0] is None:  # no touch: unattributed
            none_count += int(row[-2])
            if row[-1] is not None:
                none_value[row[-3]] += float(row[-1])
    breakdowns = tuple(_breakdown(name, [row[1:] for row in groups if row[0] == name]) for name in MODELS)
    return breakdowns, none_count, dict(sorted(none_value.items()))


def _breakdown(model_name: str, groups: list[Any]) -> ModelBreakdown:
    """One model's credit by each dimension, from its (touch details, currency, count, value) groups."""
    counts: dict[str, dict[tuple[str | None, bool], int]] = {d: defaultdict(int) for d in DIMENSIONS}
    names: dict[str, dict[tuple[str | None, bool], str]] = {d: {} for d in DIMENSIONS}
    values: dict[str, dict[tuple[str | None, bool], dict[str, float]]] = {
        d: defaultdict(lambda: defaultdict(float)) for d in DIMENSIONS}
    for (campaign, named_campaign, campaign_name, adset, named_adset, adset_name, ad, ad_name,
         channel, network, currency, n, amount) in groups:
        n = int(n)
        from_ad = network is not None or ad is not None  # a touch an ad network made
        cells = {"campaign": named_touch(campaign, named_campaign, campaign_name),
                 "adset": named_touch(adset, named_adset, adset_name),
                 "ad": (ad, ad_name), "channel": (channel, None), "network": (network, None)}
        for dimension, (key, name) in cells.items():
            group = (key, key is None and from_ad and dimension in NAMED)
            counts[dimension][group] += n
            if name and group not in names[dimension]:
                names[dimension][group] = name
            if amount is not None:
                values[dimension][group][currency] += float(amount)

    def rows(dimension: str) -> tuple[AttributionRow, ...]:
        made = [AttributionRow(key, n, dict(sorted(values[dimension][(key, unresolved)].items())),
                               names[dimension].get((key, unresolved)), unresolved)
                for (key, unresolved), n in counts[dimension].items()]
        return tuple(sorted(made, key=lambda row: (-row.conversions, row.key is None, row.unresolved, row.key or "")))

    return ModelBreakdown(model_name, *(rows(d) for d in DIMENSIONS))


def touch_label(key: str | None, name: str | None, unresolved: bool) -> str:
    """A credited row's label: ``Spring Promo (1202…)``, the bare id without a name, ``(unresolved)`` or ``(none)``."""
    if unresolved:
        return UNRESOLVED
    if key is None:
        return NONE
    return f"{name} ({key})" if name else key


def named_touch(own: str | None, named: str | None, name: str | None) -> tuple[str | None, str | None]:
    """The touch's own id when it has one, else the network's; the name only when it is that id's."""
    key = own or named
    return key, (name if key is not None and key == named else None)
