"""Where each audience of a segment stands: per destination, members by state and the last sync."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from sync.segments.audiences.diff import STATES
from sync.store import model
from sync.store.engine import Store


def audience_status(store: Store, segment: str) -> list[dict[str, Any]]:
    """Per destination of ``segment`` (those synced at least once): kind, remote id, last sync, counts by state."""
    a, m = model.Audience, model.AudienceMemberState
    with store.transaction() as session:
        audiences = list(session.execute(select(a.destination, a.kind, a.brand, a.remote_id, a.synced_at, a.counts,
                                                a.error).where(a.segment == segment).order_by(a.destination)))
        by_state: dict[str, dict[str, int]] = {}
        for row in session.execute(select(m.destination, m.state, func.count()).where(m.segment == segment)
                                   .group_by(m.destination, m.state)):
            by_state.setdefault(row[0], {})[row[1]] = row[2]
    return [{"destination": r.destination, "kind": r.kind, "brand": r.brand, "remote_id": r.remote_id,
             "synced_at": r.synced_at, "last_sync": dict(r.counts or {}), "error": r.error,
             "members": {s: by_state.get(r.destination, {}).get(s, 0) for s in STATES}}
            for r in audiences]
