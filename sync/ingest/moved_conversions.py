"""Stage conversions follow their stage entry until they are delivered.

A late record can date a contact's entry into a stage earlier than the record that made its
conversion, or make the contact skip the stage (``sync.attribution.rules``: *moved* and
*withdrawn* entries). Had the records come the other way round, the conversion would carry the
earlier time, source, record and event id from the start, or not exist. ``follow_moves`` makes
the stored conversions the same as that, in the batch's own transaction:

- **not delivered** — every outbox row for its event id (one per destination) is still
  ``pending`` and none of their Deliveries is ``sent``: a moved one is re-keyed to the converged
  entry (``event_id``, ``occurred_at``, ``source``, ``record_id``) with its outbox rows (key and
  payload), so they send the converged fact; a withdrawn one is retracted (``retracted_at``, the
  shared mechanism of ``sync.attribution.adjustments``: reports leave it out, the dispatcher
  never sends it);
- **delivered or otherwise told** — any Delivery ``sent``, or any outbox row no longer
  ``pending`` (sent, validated, duplicate, expired, retracted, dead: its destination has seen
  it or its fate is recorded under that id), or an adjustment queued for it: it is never
  silently changed. It stays as it was and a note goes to the conflict log (``field``
  ``conversion:<kind>``, ``rule`` ``delivered_kept``, candidates: the kept event id and time, and
  the converged one or none), so reports can say why the conversion and the history disagree;
- a moved entry whose old id has no stored conversion (its old cause did not count): its row is
  returned, to be written as a new conversion like any other; a new id already stored: nothing.

Known window: a dispatcher that loaded a pending row before this transaction and records its
answer after it records the delivery against the re-keyed (or retracted) conversion, though the
network got the old id and time. Closing it needs the dispatcher to record the event id it sent
and compare.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.outbox.rows import conversion_row
from sync.store import model
from sync.store.sql import chunks, insert_rows, one_of, update_by_id

log = logging.getLogger(__name__)
KEPT_RULE = "delivered_kept"


def follow_moves(session: Session, moved: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Re-key or retract the undelivered conversions of moved or withdrawn entries; note the delivered ones.

    ``moved``: ``Workspace.moved_conversions`` with ``contact_id`` resolved. Returns the moved
    rows whose old id has no stored conversion: new conversions for the caller to write.
    """
    by_old = {row["replaces"]: row for row in moved}
    if not by_old:
        return []
    stored = _stored(session, list(by_old))
    taken = set(_stored(session, [row["event_id"] for row in moved if "event_id" in row]))
    fresh = [{k: v for k, v in row.items() if k != "replaces"} for old, row in by_old.items()
             if old not in stored and "event_id" in row and row["event_id"] not in taken]
    olds = {old for old, row in by_old.items() if old in stored and row.get("event_id") not in taken}
    outbox = _outbox_of(session, sorted({stored[old].contact_id for old in olds}), olds)
    told = _told(session, [o.id for rows in outbox.values() for o in rows])
    events, retracted, queued, notes = [], [], [], []
    for old in sorted(olds):
        conv, row, rows = stored[old], by_old[old], outbox.get(old, [])
        if any(o.kind != "conversion" or o.status != "pending" or o.id in told for o in rows):
            if conv.retracted_at is None:
                notes.append(_note(conv, row, now))
            continue
        if "event_id" not in row:
            if conv.retracted_at is None:
                retracted.append({"id": conv.id, "retracted_at": now})
            continue
        events.append({"id": conv.id, "event_id": row["event_id"], "occurred_at": row["occurred_at"],
                       "source": row["source"], "record_id": row["record_id"]})
        for o in rows:
            key = conversion_row(o.destination, conv.contact_id, row["event_id"])
            queued.append({"id": o.id, "idempotency_key": key["idempotency_key"], "payload": key["payload"]})
    update_by_id(session, model.ConversionEvent, events)
    update_by_id(session, model.ConversionEvent, retracted)
    update_by_id(session, model.Outbox, queued)
    insert_rows(session, model.ConflictLog, notes)
    if events or retracted or notes:
        log.info("stage conversions following their stage entries: %d re-keyed, %d retracted, "
                 "%d kept as delivered", len(events), len(retracted), len(notes))
    return fresh


def _stored(session: Session, event_ids: list[str]) -> dict[str, Any]:
    """The stored conversions with these event ids."""
    ce = model.ConversionEvent
    found: dict[str, Any] = {}
    for part in chunks(sorted(set(event_ids)), 5000):
        for conv in session.execute(select(ce.id, ce.event_id, ce.contact_id, ce.kind, ce.occurred_at, ce.source,
                                           ce.retracted_at).where(one_of(session, ce.event_id, part))):
            found[conv.event_id] = conv
    return found


def _outbox_of(session: Session, contact_ids: list[int], olds: set[str]) -> dict[str, list[Any]]:
    """Outbox rows (conversions and adjustments) naming one of the ``olds`` event ids, per event id."""
    found: dict[str, list[Any]] = {}
    for part in chunks(contact_ids, 5000):
        for o in session.execute(select(model.Outbox.id, model.Outbox.kind, model.Outbox.destination,
                                        model.Outbox.status, model.Outbox.payload)
                                 .where(one_of(session, model.Outbox.contact_id, part),
                                        model.Outbox.kind.in_(("conversion", "adjustment")))):
            event_id = str((o.payload or {}).get("event_id"))
            if event_id in olds:
                found.setdefault(event_id, []).append(o)
    return found


def _told(session: Session, outbox_ids: list[int]) -> set[int]:
    """The outbox rows with a Delivery ``sent``."""
    sent: set[int] = set()
    for part in chunks(sorted(outbox_ids), 5000):
        sent.update(session.scalars(select(model.Delivery.outbox_id).where(
            one_of(session, model.Delivery.outbox_id, part), model.Delivery.status == "sent")))
    return sent


def _note(conv: Any, row: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The conflict-log note of a delivered conversion kept although its stage entry moved or went."""
    return {"contact_id": conv.contact_id, "field": f"conversion:{conv.kind}"[:64], "rule": KEPT_RULE,
            "winner_source": conv.source, "source": row.get("source", "lifesync"),
            "record_id": row.get("record_id", "stage history")[:255], "at": now,
            "candidates": [{"event_id": conv.event_id, "at": conv.occurred_at.isoformat(), "kept": True},
                           {"event_id": row.get("event_id"), "kept": False,
                            "at": row["occurred_at"].isoformat() if "occurred_at" in row else None}]}
