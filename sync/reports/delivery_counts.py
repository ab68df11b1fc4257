"""The delivery report over all time without joining the outbox to its deliveries: ``delivery_counts``.

Kept by triggers on ``outbox`` and ``deliveries`` (migration 0015: whoever writes them — every
dispatcher, defer, dead-letter replay, moved conversions), as +1 / -1 rows, folded now and then
like the dead letters' counts (``sync.ingest.deadletter_counts.compact``). Each row is a
``part`` of the report (see ``model.DeliveryCount``) for one destination; summing the few keys
gives the same counts as ``sync.reports.delivery``'s direct computation, which ``rebuild`` stores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from sync.ingest.deadletter_counts import compact
from sync.store import model
from sync.store.engine import Store

if TYPE_CHECKING:
    from sync.reports.delivery import Parts

KEY = ("part", "destination", "value")
TABLE = ((model.DeliveryCount, KEY),)


def counted(session: Session) -> Parts:
    """The report's parts summed from the kept counts (one index-only read of a few keys)."""
    from sync.reports.delivery import ADJUSTMENT_KIND, CONVERSION_KIND, Parts

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


def fold(store: Store) -> None:
    """Fold the appended rows into one a key once there are enough of them."""
    compact(store, tables=TABLE)


def rebuild(session: Session) -> None:
    """Recount from the outbox and deliveries (the migration's fill; after a bulk change the triggers miss)."""
    from sync.reports.delivery import direct

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


