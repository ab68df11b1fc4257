"""The delivery report over all time without joining the outbox to its deliveries: ``delivery_counts``.

Kept by triggers on ``outbox`` and ``deliveries`` (migration 0015: whoever writes them — every
dispatcher, defer, dead-letter replay, moved conversions), as +1 / -1 rows, folded now and then
like the dead letters' counts (``sync.ingest.deadletter_counts.compact``). Each row is a
``part`` of the report (see ``model.DeliveryCount``) for one destination; summing the few keys
gives the same counts as ``sync.reports.delivery``'s direct computation, which its ``rebuild_counts`` stores
(``kept`` there sums them: this module knows the table, not the report, so neither imports the other's).
"""

from __future__ import annotations

from sync.ingest.deadletter_counts import compact
from sync.store import model
from sync.store.engine import Store

KEY = ("part", "destination", "value")
TABLE = ((model.DeliveryCount, KEY),)


def fold(store: Store) -> None:
    """Fold the appended rows into one a key once there are enough of them."""
    compact(store, tables=TABLE)
