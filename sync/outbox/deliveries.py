"""Delivery bookkeeping every dispatcher shares: attempts, backoff, not-before times, dead letters.

Three dispatchers read the outbox — stage write-backs (``sync.outbox.stage_dispatch``), CRM
write-backs (``sync.crm.push``) and conversions (``sync.attribution.dispatch``). Each sends in
its own shape, and records what happened the same way: the outbox row's status and next
attempt, one ``Delivery`` per (outbox row, destination), and a dead letter for what it gave up on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from sync.store import model
from sync.store.sql import update_by_id, upsert

MAX_ATTEMPTS = 6


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    """The delay before attempt ``attempts + 1``: doubling from 30 s, at most an hour, never under Retry-After."""
    return timedelta(seconds=max(retry_after or 0.0, min(3600.0, 30.0 * 2 ** (attempts - 1))))


def defer(session: Session, outbox_ids: Sequence[int], until: datetime) -> None:
    """Keep outbox items pending but not before ``until`` (their not-before time); no attempt is counted."""
    update_by_id(session, model.Outbox, [{"id": i, "status": "pending", "available_at": until} for i in outbox_ids])


def record_attempts(session: Session, outbox: list[dict[str, Any]], deliveries: list[dict[str, Any]],
                    dead: list[dict[str, Any]]) -> None:
    """What a dispatch run did, in the caller's transaction: outbox rows' status and next
    attempt (by id), one Delivery per (outbox row, destination), and the dead letters.
    """
    update_by_id(session, model.Outbox, outbox)
    columns = ["status", "attempts", "last_error", "response", "sent_at", "updated_at"]
    if deliveries and "policy" in deliveries[0]:  # conversions and adjustments record their privacy policy
        columns.append("policy")
    upsert(session, model.Delivery, deliveries, ["outbox_id", "destination"], columns)
    if dead:
        session.execute(model.DeadLetter.__table__.insert(), dead)


def dead_letter(destination: str, kind: str, outbox_id: int, reason: str, now: datetime) -> dict[str, Any]:
    """The dead-letter row of an outbox item a destination refused; replay puts the item back to pending."""
    return {"stage": "dispatch", "source": destination, "object": kind, "record_id": str(outbox_id),
            "reason": reason[:2000], "payload": {"outbox_id": outbox_id}, "status": "open", "created_at": now}
