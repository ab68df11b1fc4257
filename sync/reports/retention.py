"""Retention and loyalty: repeat-purchase rate, historical CLV by cohort and first-touch campaign, churn, cohorts.

Everything is about **the customers acquired in the window**: the contacts whose first
purchase falls in ``[start, end)``. Their history is read up to **as of** — the window's end,
or the end of today (UTC) when the window is open-ended, so the CLI and the API agree all day —
so a report of March shows what March's new customers
have done since, as it stands at the end of the window:

- **repeat-purchase rate**: the share of them with two purchases or more;
- **historical CLV**: the value of all their purchases, per customer, per currency (never
  converted), by **cohort** (the month of the first purchase, UTC) and by **first-touch
  campaign** (the campaign of the contact's earliest touchpoint at or before its first purchase,
  named as the attribution report names it: ``(unresolved)``, ``(none)``);
- **churn**: the share whose last activity — a message either way, or a conversion of any kind
  — is more than ``inactive_days`` before as of;
- **cohort retention**: per cohort, the share of its customers who bought in each month since
  the first purchase (month 0 is the first purchase's month, so it is always 100%).

Purchases are conversions of kind ``purchase`` net of their adjustments
(``sync.attribution.adjustments``), as in the attribution report: a retracted purchase (an order
cancelled or fully refunded) is left out — a contact whose only purchase was retracted is no
customer — and a restated one counts at its adjusted value and currency.

``brand`` limits it to one brand's purchases and conversions (``sync.config.brands``); without it,
every brand's, a person buying from two brands being one customer. Messages carry no brand: a
message counts as activity in every brand.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from sync.reports.attribution import NO_CURRENCY, named_touch, touch_label
from sync.reports.brand_scope import check_brand
from sync.reports.window import ReportData, reading, share, utc
from sync.store import model
from sync.store.engine import Store
from sync.store.sql import chunks, one_of

if TYPE_CHECKING:
    from sync.config import Config, LifecycleConfig

PURCHASE = "purchase"
DEFAULT_INACTIVE_DAYS = 90
MAX_INACTIVE_DAYS = 3650


@dataclass(frozen=True)
class CohortRow:
    """The customers whose first purchase was in one month, and what they have done since."""

    cohort: str  # YYYY-MM
    customers: int
    repeat_customers: int
    purchases: int
    value: dict[str, float] = field(default_factory=dict)
    clv: dict[str, float] = field(default_factory=dict)  # value per customer, per currency
    buyers: tuple[int, ...] = ()  # customers who bought in month 0, 1, 2, ... since (up to as of)
    retention: tuple[float, ...] = ()  # buyers / customers, per month since


@dataclass(frozen=True)
class CampaignRow:
    """The customers a campaign touched first, and their value per customer."""

    key: str | None
    customers: int
    purchases: int
    value: dict[str, float] = field(default_factory=dict)
    clv: dict[str, float] = field(default_factory=dict)
    name: str | None = None
    unresolved: bool = False  # an ad touch whose campaign is not known (yet)

    @property
    def label(self) -> str:
        """``Spring Promo (1202…)``, the bare id, ``(unresolved)`` or ``(none)`` (as the attribution report's)."""
        return touch_label(self.key, self.name, self.unresolved)


@dataclass(frozen=True)
class RetentionReport(ReportData):
    """Customers acquired in [start, end), as of the end (see the module docstring)."""

    start: datetime | None
    end: datetime | None
    as_of: datetime
    inactive_days: int
    customers: int
    repeat_customers: int
    repeat_rate: float | None
    purchases: int
    value: dict[str, float]
    clv: dict[str, float]
    churned: int
    churn_rate: float | None
    retracted: int  # their purchases left out as retracted (cancelled, refunded)
    cohorts: tuple[CohortRow, ...]
    campaigns: tuple[CampaignRow, ...]


@dataclass
class _Customer:
    first: datetime
    purchases: list[tuple[datetime, str, float | None]]  # (at, currency, value) in time order
    last_active: datetime | None = None
    touch: tuple[str | None, str | None, bool] = (None, None, False)  # (campaign key, name, unresolved)


def check_inactive_days(days: int) -> int:
    """``days`` when it is a whole number of days from 1 to 3650; ValueError saying so otherwise."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_INACTIVE_DAYS:
        raise ValueError(f"inactive days must be a whole number from 1 to {MAX_INACTIVE_DAYS}, not {days!r}")
    return days


def retention(session_or_store: Session | Store, config: Config | LifecycleConfig | None = None, *,
              start: datetime | None = None, end: datetime | None = None, brand: str | None = None,
              inactive_days: int = DEFAULT_INACTIVE_DAYS, now: datetime | None = None) -> RetentionReport:
    """Compute the retention report: repeat rate, CLV by cohort and first-touch campaign, churn, cohort retention."""
    check_inactive_days(inactive_days)
    if brand is not None and config is not None:
        check_brand(config, brand)
    as_of = utc(end) or _end_of_day(utc(now) or model.utcnow())
    with reading(session_or_store) as session:
        customers, retracted = _customers(session, start, as_of, brand)
        ids = sorted(customers)
        _last_activity(session, customers, ids, as_of, brand)
        _first_touches(session, customers, ids, brand)
    return _report(customers, retracted, start, end, as_of, inactive_days)


def _end_of_day(moment: datetime) -> datetime:
    """The midnight (UTC) after ``moment``."""
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC) + timedelta(days=1)


def _net_purchases(brand: str | None) -> Any:
    """(contact, at, currency, value, retracted) of every purchase, its value and currency as adjusted."""
    cv = model.ConversionEvent
    restated = cv.adjusted_value.is_not(None)
    value = case((restated, cv.adjusted_value), else_=cv.value)
    currency = func.coalesce(case((restated, cv.adjusted_currency), else_=None), cv.currency, NO_CURRENCY)
    return (select(cv.contact_id, cv.occurred_at, currency, value, cv.retracted_at.is_not(None))
            .where(cv.kind == PURCHASE, *(() if brand is None else (cv.brand == brand,))))


def _customers(session: Session, start: datetime | None, as_of: datetime,
               brand: str | None) -> tuple[dict[int, _Customer], int]:
    """The customers acquired in [start, as_of) with their purchases before as of; their retracted purchases."""
    cv = model.ConversionEvent
    live = _net_purchases(brand).where(cv.retracted_at.is_(None)).subquery()
    firsts = (select(live.c.contact_id).group_by(live.c.contact_id)
              .having(and_(func.min(live.c.occurred_at) < as_of,
                           *(() if start is None else (func.min(live.c.occurred_at) >= utc(start),)))))
    rows = session.execute(_net_purchases(brand).where(cv.occurred_at < as_of, cv.contact_id.in_(firsts))
                           .order_by(cv.contact_id, cv.occurred_at, cv.id)).all()
    customers: dict[int, _Customer] = {}
    retracted = 0
    for contact, at, currency, value, gone in rows:
        if gone:
            retracted += 1
            continue
        at = utc(at)
        found = customers.setdefault(contact, _Customer(first=at, purchases=[]))
        found.purchases.append((at, currency, value))
    return customers, retracted


def _last_activity(session: Session, customers: dict[int, _Customer], ids: list[int], as_of: datetime,
                   brand: str | None) -> None:
    """Each customer's last message (either way) or conversion (any kind) before as of."""
    a, cv = model.Activity, model.ConversionEvent
    for part in chunks(ids):
        for table, extra in ((a, ()), (cv, () if brand is None else (cv.brand == brand,))):
            for contact, last in session.execute(
                    select(table.contact_id, func.max(table.occurred_at))
                    .where(one_of(session, table.contact_id, part), table.occurred_at < as_of, *extra)
                    .group_by(table.contact_id)):
                customer, last = customers[contact], utc(last)
                if customer.last_active is None or last > customer.last_active:
                    customer.last_active = last


def _first_touches(session: Session, customers: dict[int, _Customer], ids: list[int], brand: str | None) -> None:
    """Each customer's first touch at or before its first purchase: campaign key, name, unresolved."""
    tp, an = model.Touchpoint, model.AdName
    for part in chunks(ids):
        rows = session.execute(
            select(tp.contact_id, tp.occurred_at, tp.id, tp.campaign_id, tp.network, tp.ad_id,
                   an.campaign_id, an.campaign_name)
            .outerjoin(an, and_(an.network == tp.network, an.ad_id == tp.ad_id))
            .where(one_of(session, tp.contact_id, part), tp.occurred_at.is_not(None),
                   *(() if brand is None else (tp.brand == brand,)))
            .order_by(tp.contact_id, tp.occurred_at, tp.id)).all()
        seen: set[int] = set()
        for contact, at, _, campaign, network, ad, named, name in rows:
            customer = customers[contact]
            if contact in seen or utc(at) > customer.first:
                continue
            seen.add(contact)
            key, label = named_touch(campaign, named, name)
            customer.touch = (key, label, key is None and (network is not None or ad is not None))


def _month(at: datetime) -> int:
    return at.year * 12 + at.month - 1


def _month_name(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _sum(purchases: list[tuple[datetime, str, float | None]]) -> dict[str, float]:
    total: dict[str, float] = defaultdict(float)
    for _, currency, value in purchases:
        if value is not None:
            total[currency] += float(value)
    return dict(sorted(total.items()))


def _per(value: dict[str, float], customers: int) -> dict[str, float]:
    return {c: v / customers for c, v in value.items()} if customers else {}


def _report(customers: dict[int, _Customer], retracted: int, start: datetime | None, end: datetime | None,
            as_of: datetime, inactive_days: int) -> RetentionReport:
    everyone = list(customers.values())
    repeat = sum(1 for c in everyone if len(c.purchases) > 1)
    # a window ending in year 1 has no "inactive days before" within datetime's range: every date is after it
    idle_since = as_of - min(timedelta(days=inactive_days), as_of - datetime.min.replace(tzinfo=UTC))
    churned = sum(1 for c in everyone if c.last_active is None or c.last_active < idle_since)
    value = _sum([p for c in everyone for p in c.purchases])
    last_month = _month(as_of - timedelta(microseconds=1))
    by_cohort: dict[int, list[_Customer]] = defaultdict(list)
    by_touch: dict[tuple[str | None, str | None, bool], list[_Customer]] = defaultdict(list)
    for c in everyone:
        by_cohort[_month(c.first)].append(c)
        by_touch[c.touch].append(c)
    cohorts = []
    for month, members in sorted(by_cohort.items()):
        buyers = [sum(1 for c in members if any(_month(at) == m for at, _, _ in c.purchases))
                  for m in range(month, max(month, last_month) + 1)]
        total = _sum([p for c in members for p in c.purchases])
        cohorts.append(CohortRow(
            cohort=_month_name(month), customers=len(members),
            repeat_customers=sum(1 for c in members if len(c.purchases) > 1),
            purchases=sum(len(c.purchases) for c in members), value=total, clv=_per(total, len(members)),
            buyers=tuple(buyers), retention=tuple(n / len(members) for n in buyers)))
    campaigns = []
    for (key, name, unresolved), members in by_touch.items():
        total = _sum([p for c in members for p in c.purchases])
        campaigns.append(CampaignRow(key=key, customers=len(members), purchases=sum(len(c.purchases) for c in members),
                                     value=total, clv=_per(total, len(members)), name=name, unresolved=unresolved))
    campaigns.sort(key=lambda r: (-r.customers, r.key is None, r.unresolved, r.key or ""))
    return RetentionReport(
        start=start, end=end, as_of=as_of.astimezone(UTC), inactive_days=inactive_days, customers=len(everyone),
        repeat_customers=repeat, repeat_rate=share(repeat, len(everyone)),
        purchases=sum(len(c.purchases) for c in everyone), value=value, clv=_per(value, len(everyone)),
        churned=churned, churn_rate=share(churned, len(everyone)), retracted=retracted,
        cohorts=tuple(cohorts), campaigns=tuple(campaigns))
