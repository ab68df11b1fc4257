"""Store a batch's conversion adjustments, apply them, and queue them for the destinations told the original.

Called by ``sync.ingest.persist.write`` in the batch's transaction (under ``reconcile_lock``),
after the batch's conversions are stored. The rules are ``sync.attribution.adjustments``'s:

1. New adjustments are inserted once by ``key`` (the same refund told twice adds nothing).
2. For every (brand, kind, order id) the batch touched — its new adjustments, and its new conversions,
   which adjustments stored earlier may be waiting for — the conversions' state (retracted,
   adjusted value) is recomputed from *all* their adjustments, and each adjustment's status
   (``applied`` / ``unmatched``) follows: the result does not depend on arrival order.
3. An adjustment newly applied to a conversion stored *before* this batch is queued (outbox
   kind ``adjustment``, ``sync.outbox.rows.adjustment_row``) for every destination whose
   delivery of that conversion is ``sent`` or still ``pending`` (a pending one may be in
   flight; the dispatcher settles it, ``sync.attribution.adjust_dispatch``). A conversion new
   in this batch needs none: it is sent as it now stands, or not at all when retracted.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.attribution.adjustments import Adjustment, adjusted_state, applies
from sync.outbox.rows import adjustment_row
from sync.store import model
from sync.store.sql import chunks, insert_ignore, one_of, update_by_id

TOLD = ("sent", "pending")  # original deliveries an adjustment is queued for


def write_adjustments(session: Session, rows: list[dict[str, Any]], fresh_events: list[dict[str, Any]],
                      now: datetime) -> set[int]:
    """Steps 1-3 of the module docstring for one batch (``rows``: its adjustments, contact ids resolved).

    Returns the contacts whose conversions changed state (retracted, restated): an order's
    conversion may be another contact's than the adjustment's, and segments count purchases.
    """
    rows = list({row["key"]: row for row in rows}.values())
    stored = _stored_keys(session, [row["key"] for row in rows])
    new = [{**row, "status": "unmatched", "created_at": now, "applied_at": None}
           for row in rows if row["key"] not in stored]
    insert_ignore(session, model.ConversionAdjustment, new, ["key"])
    orders = {row["order_id"] for row in new} | {row["order_id"] for row in fresh_events if row.get("order_id")}
    if not orders:
        return set()
    conversions, adjustments = _load(session, sorted(orders))
    fresh = {row["event_id"] for row in fresh_events}
    new_keys = {row["key"] for row in new}
    updates, applied, told = [], set(), []
    for conv in conversions:
        mine = adjustments.get((conv.brand, conv.kind, conv.order_id), [])  # another brand's order is another order
        state = adjusted_state(conv.kind, conv.order_id, conv.occurred_at, conv.currency, (a for a, _, _ in mine),
                               conv.brand)
        columns = state.columns()
        if columns != {name: getattr(conv, name) for name in columns}:
            updates.append({"id": conv.id, **columns})
        for adjustment, status, _ in mine:
            if not applies(adjustment, conv.kind, conv.order_id, conv.occurred_at, conv.brand):
                continue
            applied.add(adjustment.key)
            if conv.event_id not in fresh and (status == "unmatched" or adjustment.key in new_keys):
                told.append((conv, adjustment))
    update_by_id(session, model.ConversionEvent, updates)
    update_by_id(session, model.ConversionAdjustment, [
        {"id": row_id, "status": "applied", "applied_at": now}
        for found in adjustments.values() for a, status, row_id in found if a.key in applied and status != "applied"])
    insert_ignore(session, model.Outbox, _outbox_rows(session, told), ["idempotency_key"])
    changed = {row["id"] for row in updates}
    return {conv.contact_id for conv in conversions if conv.id in changed}


def _stored_keys(session: Session, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for part in chunks(sorted(keys), 5000):
        found.update(session.scalars(select(model.ConversionAdjustment.key).where(
            one_of(session, model.ConversionAdjustment.key, part))))
    return found


Loaded = dict[tuple[str, str, str], list[tuple[Adjustment, str, int]]]  # (brand, kind, order id) -> (adjustment, ...)


def _load(session: Session, orders: list[str]) -> tuple[list[Any], Loaded]:
    """Every adjustment of these order ids by (brand, kind, order id), with status and row id, and the conversions
    they name.

    Adjustments are read first: a batch of orders nobody adjusted costs one query.
    """
    cv, ca = model.ConversionEvent, model.ConversionAdjustment
    adjustments: Loaded = defaultdict(list)
    for part in chunks(orders, 5000):
        for a in session.execute(select(ca.id, ca.key, ca.kind, ca.order_id, ca.action, ca.occurred_at, ca.value,
                                        ca.currency, ca.status, ca.brand).where(one_of(session, ca.order_id, part))):
            adjustments[(a.brand, a.kind, a.order_id)].append((
                Adjustment(a.key, a.kind, a.order_id, a.action, a.occurred_at, a.value, a.currency, a.brand),
                a.status, a.id))
    conversions: list[Any] = []
    for part in chunks(sorted({order for _, _, order in adjustments}), 5000):
        conversions += session.execute(select(
            cv.id, cv.event_id, cv.contact_id, cv.kind, cv.order_id, cv.occurred_at, cv.currency, cv.retracted_at,
            cv.adjusted_value, cv.adjusted_currency, cv.adjusted_at, cv.brand).where(
            one_of(session, cv.order_id, part))).all()
    return conversions, adjustments


def _outbox_rows(session: Session, told: list[tuple[Any, Adjustment]]) -> list[dict[str, Any]]:
    """Adjustment rows for the destinations whose delivery of each conversion is sent or pending."""
    if not told:
        return []
    by_event: dict[str, list[str]] = defaultdict(list)
    owners = sorted({conv.contact_id for conv, _ in told})
    for part in chunks(owners, 5000):
        for destination, payload, status in session.execute(select(
                model.Outbox.destination, model.Outbox.payload, model.Outbox.status).where(
                model.Outbox.kind == "conversion", one_of(session, model.Outbox.contact_id, part))):
            if status in TOLD:
                by_event[str((payload or {}).get("event_id"))].append(destination)
    return [adjustment_row(destination, conv.contact_id, conv.event_id, adjustment.key)
            for conv, adjustment in told for destination in sorted(by_event.get(conv.event_id, ()))]
