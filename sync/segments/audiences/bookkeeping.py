"""What an audience sync writes: member rows (upserted or dropped), dead letters, the audience row.

Every write is a bulk statement per batch (``sync.store.sql``): no statement per member.
Dead letters are of stage ``audience`` (source: the destination, object: the segment, record
id: the contact id); their payload names the operation, and a replay (``replay_member``) puts
the member back to pending so the next sync tries it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from sync.store import model
from sync.store.engine import Store
from sync.store.sql import chunks, one_of, upsert

AUDIENCE_STAGE = "audience"  # dead letters of members a destination refused (replayed by sync.ingest.deadletter)
ROW_COLUMNS = ("keys", "state", "attempts", "next_attempt_at", "reason", "synced_at", "operation")


def member_row(destination: str, segment: str, contact_id: int, state: str, keys: Any = None, *,
               attempts: int = 0, next_attempt_at: datetime | None = None, reason: str | None = None,
               synced_at: datetime | None = None, operation: str | None = None) -> dict[str, Any]:
    """One ``audience_members`` row as ``write_rows`` takes it."""
    return {"destination": destination, "segment": segment, "contact_id": contact_id, "keys": keys, "state": state,
            "attempts": attempts, "next_attempt_at": next_attempt_at, "reason": reason and reason[:2000],
            "synced_at": synced_at, "operation": operation}


def write_rows(session: Session, rows: Sequence[dict[str, Any]], drops: Sequence[int], destination: str,
               segment: str, dead: Sequence[dict[str, Any]] = ()) -> None:
    """Upsert member rows, delete the ``drops`` contacts' rows, insert dead letters — in the caller's transaction."""
    if rows:
        upsert(session, model.AudienceMemberState, list(rows), ["destination", "segment", "contact_id"],
               ROW_COLUMNS)
    m = model.AudienceMemberState
    for part in chunks(list(drops), 5000):
        session.execute(delete(m).where(m.destination == destination, m.segment == segment,
                                        one_of(session, m.contact_id, part)))
    if dead:
        session.execute(model.DeadLetter.__table__.insert(), list(dead))


def dead_letter(destination: str, segment: str, brand: str, contact_id: int, operation: str, reason: str,
                now: datetime) -> dict[str, Any]:
    """The dead letter of a member the destination refused (``operation``: add or remove)."""
    return {"stage": AUDIENCE_STAGE, "source": destination[:32], "object": segment[:64],
            "record_id": str(contact_id), "reason": reason[:2000], "status": "open", "created_at": now,
            "brand": None if brand == "default" else brand,
            "payload": {"destination": destination, "segment": segment, "contact_id": contact_id,
                        "operation": operation}}


def stored_ids(session: Session, destination: str, segment: str) -> list[int]:
    """Every contact with a row for this audience."""
    m = model.AudienceMemberState
    return list(session.scalars(select(m.contact_id).where(m.destination == destination, m.segment == segment)))


def forget_audience(session: Session, destination: str, segment: str) -> None:
    """Drop every member row of this audience (the destination now names another audience, which holds none)."""
    m = model.AudienceMemberState
    session.execute(delete(m).where(m.destination == destination, m.segment == segment))


def holds_any(session: Session, destination: str, segment: str) -> bool:
    """Whether the destination holds any member of this audience (added, or a removal pending)."""
    m = model.AudienceMemberState
    return session.scalar(select(m.contact_id).where(m.destination == destination, m.segment == segment,
                                                     m.state.in_(("added", "pending_remove"))).limit(1)) is not None


def replay_member(store: Store, letter: model.DeadLetter) -> str | None:
    """A refused member goes back to pending (attempts from 0, due now): the next sync sends it again."""
    payload = letter.payload or {}
    operation = payload.get("operation")
    state = {"add": "pending_add", "remove": "pending_remove"}.get(str(operation))
    if state is None:
        return f"audience dead letter without a known operation ({operation!r})"
    m = model.AudienceMemberState
    with store.transaction() as session:
        done = session.execute(update(m).where(
            m.destination == str(payload.get("destination")), m.segment == str(payload.get("segment")),
            m.contact_id == int(payload.get("contact_id") or 0), m.state == "failed")
            .values(state=state, attempts=0, next_attempt_at=model.utcnow(), reason=None, operation=None)).rowcount
    return None if done else (f"contact {payload.get('contact_id')} of audience {payload.get('segment')} at "
                              f"{payload.get('destination')} is not failed any more (or is gone)")
