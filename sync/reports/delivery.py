"""Delivery health per ad network: how many conversion events were sent, failed, died, wait.

Read from ``outbox`` items of kind ``conversion`` created in the window, and their
``deliveries``. The contract with the conversion dispatcher:

- a conversion is written to the outbox with ``kind = "conversion"`` and ``destination`` =
  the destination's name (``meta``, ``tiktok``, ``google``, ...); its payload holds at least
  ``{"event_id": ...}`` and is not read here;
- the dispatcher records one delivery per (outbox item, destination) with ``status`` one of
  ``pending`` / ``sent`` / ``failed`` / ``dead``, or — never sent, on purpose — ``expired``
  (older than the network accepts), ``duplicate`` (the same sale told twice) and
  ``validated`` (a validate-only run); an item with no delivery yet counts under
  its outbox status (``pending`` until the dispatcher touches it); unknown statuses count
  as ``other``;
- on a delivery it sent, the dispatcher stores in ``deliveries.response`` a summary with
  exactly these two keys, the only ones this report reads:

  - ``"click_id"``: the name of the click id the event carried (``"ctwa_clid"``, ``"fbc"``,
    ``"ttclid"``, ``"gclid"``, ``"gbraid"``, ``"wbraid"``, ...), or null / absent for none;
  - ``"keys"``: the list of hashed user-data keys the event carried, in the network's own
    names (``["em", "ph", "external_id"]`` for Meta, say).

Click-id and key shares are over the **sent** deliveries of a destination. ``delivered_before``
counts the sent deliveries whose response says ``"duplicate": true``: the network refused the
event as one it already held (an earlier send whose answer a crash lost), so they are among
``sent`` (the network has them) but were not delivered by the request that recorded them.

Adjustments (outbox kind ``adjustment``: retractions and restatements of conversions a
destination was sent, ``sync.attribution.adjust_dispatch``) are counted apart, per status:
``sent``, ``unsupported`` (the network cannot change an event it received: Meta, TikTok),
``skipped`` (nothing to change there), ``expired`` (older than the network adjusts), ``pending``,
``failed``, ``dead``. A conversion retracted
before it was sent counts as ``retracted`` among the conversions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, and_, case, cast, delete, func, literal, null, select, true, union_all
from sqlalchemy.dialects.postgresql import JSON as PG_JSON
from sqlalchemy.orm import Session

from sync.reports.brand_scope import brands_of, check_brand
from sync.reports.delivery_counts import fold as fold_counts
from sync.reports.window import ReportData, reading, share, within
from sync.store import model
from sync.store.engine import Store

if TYPE_CHECKING:
    from sync.config import Config, LifecycleConfig

Counts = dict[str, dict[str, int]]
CONVERSION_KIND = "conversion"
ADJUSTMENT_KIND = "adjustment"
STATUSES = ("sent", "failed", "dead", "pending", "expired", "duplicate", "validated", "retracted", "skipped")


@dataclass(frozen=True)
class DestinationHealth:
    """One destination's conversion deliveries."""

    destination: str
    events: int
    sent: int
    failed: int
    dead: int
    pending: int
    other: int
    with_click_id: int  # sent events that carried a click id
    click_id_share: float | None  # with_click_id / sent
    click_ids: dict[str, int] = field(default_factory=dict)  # click id name → sent events carrying it
    keys: dict[str, int] = field(default_factory=dict)  # hashed key → sent events carrying it
    key_shares: dict[str, float] = field(default_factory=dict)  # hashed key → share of sent events
    expired: int = 0  # older than the network accepts: never sent
    duplicate: int = 0  # the same sale told twice: sent once
    delivered_before: int = 0  # of sent: refused by the network as already held (its duplicate refusal)
    validated: int = 0  # checked in validate-only mode, not recorded by the network
    retracted: int = 0  # retracted (cancelled, refunded) before it was sent: never sent
    skipped: int = 0  # kept from the destination by the privacy policy (privacy.yaml): never sent
    adjustments: dict[str, int] = field(default_factory=dict)  # adjustment status → count


@dataclass(frozen=True)
class DeliveryReport(ReportData):
    """Delivery health of the conversions queued in [start, end), per destination."""

    start: datetime | None
    end: datetime | None
    destinations: tuple[DestinationHealth, ...]


@dataclass
class Parts:
    """The counts the report is built from, per destination (computed directly, or read from the kept counts)."""

    status: Counts = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))  # conversions
    click_ids: Counts = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))  # sent, by click id
    before: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # sent, refused as held
    keys: Counts = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))  # sent, by hashed key
    adjustments: Counts = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))  # by status


def delivery(session_or_store: Session | Store, config: Config | LifecycleConfig | None = None, *,
             start: datetime | None = None, end: datetime | None = None,
             brand: str | None = None) -> DeliveryReport:
    """Compute the delivery-health report (``config`` names the brands ``brand`` may be).

    Over all time the counts kept by triggers are read (``sync.reports.delivery_counts``), folded
    first when given the store; a window counts its outbox items and their deliveries directly.
    A destination belongs to one brand (``sync.config.brands``): ``brand`` keeps its destinations.
    """
    brands = brands_of(config) if config is not None else None
    if brand is not None and config is not None:
        check_brand(config, brand)
    if start is None and end is None and isinstance(session_or_store, Store):
        fold_counts(session_or_store)
    with reading(session_or_store) as session:
        parts = (kept(session) if start is None and end is None
                 else direct(session, start, end))
    status, click_ids, before, keys, adjustments = (parts.status, parts.click_ids, parts.before, parts.keys,
                                                    parts.adjustments)
    rows = []
    for dest in sorted(set(status) | set(adjustments)):
        if brand is not None and brands is not None and not brands.owns_destination(brand, dest):
            continue
        counts = status[dest]
        sent, with_click = counts.get("sent", 0), sum(click_ids[dest].values())
        dest_keys = dict(sorted(keys.get(dest, {}).items()))
        rows.append(DestinationHealth(
            destination=dest, events=sum(counts.values()), sent=sent, failed=counts.get("failed", 0),
            dead=counts.get("dead", 0), pending=counts.get("pending", 0),
            other=sum(n for s, n in counts.items() if s not in STATUSES), expired=counts.get("expired", 0),
            duplicate=counts.get("duplicate", 0), delivered_before=before.get(dest, 0),
            validated=counts.get("validated", 0),
            retracted=counts.get("retracted", 0), skipped=counts.get("skipped", 0),
            adjustments=dict(sorted(adjustments.get(dest, {}).items())),
            with_click_id=with_click, click_id_share=share(with_click, sent),
            click_ids=dict(sorted(click_ids[dest].items())), keys=dest_keys,
            key_shares={k: n / sent for k, n in dest_keys.items()} if sent else {}))
    return DeliveryReport(start=start, end=end, destinations=tuple(rows))


def direct(session: Session, start: datetime | None, end: datetime | None) -> Parts:
    """The report's counts of the items created in [start, end), from the outbox and deliveries themselves."""
    o, d = model.Outbox, model.Delivery
    parts = _conversion_counts(session, (o.kind == CONVERSION_KIND, within(o.created_at, start, end)))
    for dest, st, n in session.execute(
            select(o.destination, func.coalesce(d.status, o.status), func.count())
            .select_from(o).outerjoin(d, d.outbox_id == o.id)
            .where(o.kind == ADJUSTMENT_KIND, within(o.created_at, start, end))
            .group_by(o.destination, func.coalesce(d.status, o.status))):
        parts.adjustments[dest][st] += n
    return parts


def _conversion_counts(session: Session, conversions: tuple[Any, ...]) -> Parts:
    """Per destination: conversions by status, sent ones by click id, refused as held, and by hashed key.

    One pass over the conversions' outbox items and their deliveries (the costly part at a
    million conversions), counted into a few groups: each delivery by its destination and status
    (an item no destination answered yet by its own), sent ones also by click id, the duplicate
    refusal and their ``response.keys`` list (as JSON text). The second part of the statement
    unnests those few lists with each database's JSON table function and counts each hashed key;
    a ``keys`` that is not a list is ignored rather than failing the report.
    """
    o, d = model.Outbox, model.Delivery
    sqlite = session.get_bind().dialect.name == "sqlite"
    sent = d.status == "sent"
    click = d.response["click_id"].as_string()
    clicked = case((and_(sent, click != ""), click))
    listed = case((sent, d.response["keys"] if sqlite else cast(d.response["keys"], String)))
    held = func.count(case((and_(sent, d.response["duplicate"].as_boolean().is_(True)), 1)))
    # grouped by plain columns where it can (PostgreSQL then expects few groups and aggregates in
    # each parallel worker, instead of sorting every row by computed keys)
    groups = (select(o.destination.label("o_dest"), o.status.label("o_st"), d.destination.label("d_dest"),
                     d.status.label("d_st"), clicked.label("click"), listed.label("key_list"),
                     func.count().label("n"), held.label("held"))
              .select_from(o).outerjoin(d, d.outbox_id == o.id).where(*conversions)
              .group_by(o.destination, o.status, d.destination, d.status, clicked, listed).cte("conversion_groups"))
    g = groups.c
    if sqlite:
        element = func.json_each(g.key_list).table_valued("value").alias("k")
        is_list = func.json_type(g.key_list) == "array"
    else:
        as_json = cast(g.key_list, PG_JSON)
        array = case((func.json_typeof(as_json) == "array", as_json), else_=cast(literal("[]"), PG_JSON))
        element = func.json_array_elements_text(array).table_valued("value").alias("k")
        is_list = true()
    key = cast(element.c.value, String)
    statement = union_all(
        select(literal(False).label("is_key"), g.o_dest, g.o_st, g.d_dest, g.d_st, g.click, g.n, g.held),
        select(literal(True), g.d_dest, key, null(), null(), null(), func.sum(g.n), null())
        .select_from(groups).join(element, true()).where(g.key_list.is_not(None), is_list).group_by(g.d_dest, key))
    parts = Parts()
    status, click_ids, before, keys = parts.status, parts.click_ids, parts.before, parts.keys
    for is_key, o_dest, o_st, d_dest, d_st, name, n, refused in session.execute(statement):
        n = int(n)  # the union's counts are NUMERIC on PostgreSQL (a sum among them)
        if is_key:  # (True, destination, key, ..., count)
            if o_st:
                keys[o_dest][str(o_st)] = n
            continue
        if d_dest is None:  # no destination answered this item yet: it counts under its own status
            status[o_dest][o_st] += n
            continue
        status[d_dest][d_st] += n
        if name is not None:
            click_ids[d_dest][name] += n
        before[d_dest] += int(refused)
    return parts


def kept(session: Session) -> Parts:
    """The report's parts summed from the kept counts (one index-only read of a few keys)."""
    c = model.DeliveryCount
    parts = Parts()
    into = {CONVERSION_KIND: parts.status, ADJUSTMENT_KIND: parts.adjustments, "click": parts.click_ids,
            "key": parts.keys}
    for part, dest, value, n in session.execute(select(c.part, c.destination, c.value, func.sum(c.n))
                                                .group_by(c.part, c.destination, c.value).having(func.sum(c.n) != 0)):
        if part == "held":
            parts.before[dest] += int(n)
        else:
            into[part][dest][value] += int(n)
    return parts


def rebuild_counts(session: Session) -> None:
    """Recount from the outbox and deliveries (the migration's fill; after a bulk change the triggers miss)."""
    session.execute(delete(model.DeliveryCount))
    parts = direct(session, None, None)
    rows = [{"part": part, "destination": dest, "value": value, "n": n, "pending": False}
            for part, counts in (("conversion", parts.status), ("adjustment", parts.adjustments),
                                 ("click", parts.click_ids), ("key", parts.keys))
            for dest, values in counts.items() for value, n in values.items() if n]
    rows += [{"part": "held", "destination": dest, "value": "", "n": n, "pending": False}
             for dest, n in parts.before.items() if n]
    if rows:
        session.execute(model.DeliveryCount.__table__.insert(), rows)
