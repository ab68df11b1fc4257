"""Send pending outbox items to one destination and record a Delivery for each.

Only the newest pending stage of a contact is sent; older ones are marked ``superseded``
(telling respond.io "Hot Lead" and then "Customer" a second later helps nobody). Failures are
classified by the error type the sender raises: ``RateLimited``/``TransientError`` → the item
waits and is retried with growing delays, up to ``MAX_ATTEMPTS``; ``AuthError`` and
``PermanentError`` → ``dead`` with a dead letter carrying the reason. The sender is injected,
so this module needs no network and no rq.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync import model
from sync.errors import AuthError, PermanentError, RateLimited, TransientError
from sync.http.redact import redact
from sync.sql import update_by_id, upsert
from sync.store import Store

MAX_ATTEMPTS = 6
Sender = Callable[[dict[str, Any]], dict[str, Any]]  # payload -> response summary


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    """The delay before attempt ``attempts + 1``: doubling from 30 s, at most an hour, never under Retry-After."""
    return timedelta(seconds=max(retry_after or 0.0, min(3600.0, 30.0 * 2 ** (attempts - 1))))


def dispatch(store: Store, destination: str, send: Sender, *, limit: int = 200,
             now: datetime | None = None) -> dict[str, int]:
    """Send what is due for ``destination``; counts of sent / superseded / retrying / dead."""
    now = now or model.utcnow()
    counts = {"sent": 0, "superseded": 0, "retrying": 0, "dead": 0}
    with store.transaction() as session:
        items = list(session.scalars(select(model.Outbox).where(
            model.Outbox.destination == destination, model.Outbox.status == "pending",
            model.Outbox.available_at <= now).order_by(model.Outbox.id).limit(limit)))
        attempts = {d.outbox_id: d.attempts for d in session.scalars(select(model.Delivery).where(
            model.Delivery.outbox_id.in_([i.id for i in items]), model.Delivery.destination == destination))}
    newest: dict[Any, model.Outbox] = {}
    for item in items:  # ordered by id: the last one per contact is the newest
        newest[(item.contact_id, item.kind)] = item
    keep = {i.id for i in newest.values()}
    outbox_updates, deliveries, dead = [], [], []
    for item in items:
        if item.id not in keep:
            outbox_updates.append({"id": item.id, "status": "superseded", "available_at": item.available_at})
            counts["superseded"] += 1
            continue
        tries = attempts.get(item.id, 0) + 1
        delivery = {"outbox_id": item.id, "destination": destination, "attempts": tries, "updated_at": now,
                    "sent_at": None, "last_error": None, "response": {}}
        try:
            response = send(item.payload)
        except (RateLimited, TransientError) as exc:
            retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
            final = tries >= MAX_ATTEMPTS
            delivery.update(status="dead" if final else "failed", last_error=redact(str(exc))[:1000])
            outbox_updates.append({"id": item.id, "status": "dead" if final else "pending",
                                   "available_at": now + backoff(tries, retry_after)})
            counts["dead" if final else "retrying"] += 1
            if final:
                dead.append(dead_letter(item.destination, item.kind, item.id,
                                             f"gave up after {tries} attempts: {redact(str(exc))}", now))
        except (AuthError, PermanentError) as exc:
            delivery.update(status="dead", last_error=redact(str(exc))[:1000])
            outbox_updates.append({"id": item.id, "status": "dead", "available_at": item.available_at})
            dead.append(dead_letter(item.destination, item.kind, item.id, redact(str(exc)), now))
            counts["dead"] += 1
        else:
            delivery.update(status="sent", sent_at=now, response=response)
            outbox_updates.append({"id": item.id, "status": "sent", "available_at": item.available_at})
            counts["sent"] += 1
        deliveries.append(delivery)
    with store.transaction() as session:
        record_attempts(session, outbox_updates, deliveries, dead)
    return counts


def record_attempts(session: Session, outbox: list[dict[str, Any]], deliveries: list[dict[str, Any]],
                    dead: list[dict[str, Any]]) -> None:
    """What one dispatch run did, in the caller's transaction: outbox rows' status and next
    attempt (by id), one Delivery per (outbox row, destination), and the dead letters.
    """
    update_by_id(session, model.Outbox, outbox)
    upsert(session, model.Delivery, deliveries, ["outbox_id", "destination"],
           ["status", "attempts", "last_error", "response", "sent_at", "updated_at"])
    if dead:
        session.execute(model.DeadLetter.__table__.insert(), dead)


def dead_letter(destination: str, kind: str, outbox_id: int, reason: str, now: datetime) -> dict[str, Any]:
    """The dead-letter row of an outbox item a destination refused; replay puts the item back to pending."""
    return {"stage": "dispatch", "source": destination, "object": kind, "record_id": str(outbox_id),
            "reason": reason[:2000], "payload": {"outbox_id": outbox_id}, "status": "open", "created_at": now}
