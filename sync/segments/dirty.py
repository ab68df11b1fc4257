"""The queue of contacts changed since segments last looked at them (``segment_dirty``).

Whatever changes a contact (the reconcile batch in ``sync.ingest.persist.write``, a merge, an
unmerge) calls ``mark`` in the transaction that changes it, so the queue never misses a change
that was committed and never holds one that was rolled back. ``sync.segments.membership.drain``
empties it in batches, evaluating every segment for those contacts only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from sync.store import model
from sync.store.sql import upsert


def mark(session: Session, contact_ids: Iterable[int], now: datetime | None = None) -> int:
    """Queue these contacts (each once; a contact queued again gets the newer time); how many."""
    ids = sorted({int(i) for i in contact_ids})
    if ids:
        at = now or model.utcnow()
        upsert(session, model.SegmentDirty, [{"contact_id": i, "queued_at": at} for i in ids], ["contact_id"],
               ["queued_at"])
    return len(ids)
