"""Run one CRM sync: pull pages from a connector, ingest them with their cursor, resume after a crash.

The cursor of (``<system>:<connection>``, object) lives in ``sync_cursors`` and is written in
the same transaction as the records it covers (``ingest_patches(cursor=...)``): after a crash
the next run starts from the last committed page, so nothing is lost and, because ingest is
idempotent, a page read twice changes nothing the second time. Pages are gathered until
``batch_size`` records (one transaction), keeping memory flat however large the sync.

A connector that reaches its share of the vendor's API quota raises ``QuotaReached`` between
pages: the run commits what it has and stops cleanly (``stopped="quota"``); the next run
resumes from the stored cursor.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from sync.connectors.crm import Page, Puller, QuotaReached, SyncStats
from sync.ingest.gcpolicy import batch_done, bulk_gc
from sync.ingest.pipeline import IngestResult, ingest_patches, map_records, mapping_for
from sync.metrics.counters import QUOTA_STOPS, RECORDS_PULLED
from sync.outbox.effects import Effects
from sync.store import model
from sync.store.engine import Store

if TYPE_CHECKING:
    from sync.config import Config

log = logging.getLogger(__name__)

Progress = Callable[[str, SyncStats, IngestResult], None]


@dataclass
class ObjectRun:
    """What one object's sync did."""

    object: str
    result: IngestResult = field(default_factory=IngestResult)
    pages: int = 0
    stopped: str | None = None  # "quota" when the run stopped at its API budget
    seconds: float = 0.0


@dataclass
class SyncReport:
    """What a ``run_sync`` did, object by object, and the connector's counters."""

    source: str
    connection: str
    objects: list[ObjectRun]
    stats: SyncStats

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {"source": self.source, "connection": self.connection, "stats": self.stats.as_dict(),
                "objects": {o.object: {**o.result.as_dict(), "pages": o.pages, "stopped": o.stopped,
                                       "seconds": round(o.seconds, 2)} for o in self.objects}}


def cursor_key(source: str, connection: str) -> str:
    """The ``sync_cursors.connection`` value of a connector's connection."""
    return f"{source}:{connection}"


def load_cursor(store: Store, source: str, connection: str, obj: str) -> dict[str, Any]:
    """The stored cursor of (source connection, object); {} when it never ran."""
    with store.transaction() as session:
        row = session.scalar(select(model.SyncCursor.cursor).where(
            model.SyncCursor.connection == cursor_key(source, connection), model.SyncCursor.object == obj))
    return dict(row or {})


def run_sync(connector: Puller, store: Store, config: Config, *, connection: str = "default",
             objects: Sequence[str] | None = None, full: bool = False, batch_size: int = 500,
             effects: Effects | None = None,
             progress: Progress | None = None, now: datetime | None = None) -> SyncReport:
    """Pull ``objects`` (default: all the connector has) and ingest them; see the module docstring."""
    wanted = list(objects) if objects else connector.objects()
    unknown = sorted(set(wanted) - set(connector.objects()))
    if unknown:
        raise ValueError(f"{connector.source} has no object(s) {', '.join(unknown)}; "
                         f"choose from {', '.join(connector.objects())}")
    report = SyncReport(connector.source, connection, [], connector.stats)
    key = cursor_key(connector.source, connection)
    brand = config.brands.brand_of(connector.source, connection)
    namespace = config.brands.namespace(connector.source, brand, connection)  # its record ids' (identity.namespaced)
    with bulk_gc():  # a long pull reconciles like a long ingest
        for obj in wanted:
            run = ObjectRun(obj)
            report.objects.append(run)
            started = time.monotonic()
            cursor = {} if full else load_cursor(store, connector.source, connection, obj)
            pending: list[Page] = []

            def commit(pages: list[Page], run: ObjectRun = run, obj: str = obj) -> None:
                items: list[Any] = []
                dead: list[dict[str, Any]] = []
                for page in pages:
                    mapping = mapping_for(config, connector.source, page.object)
                    page_items, page_dead = map_records(mapping, page.records)
                    items += page_items
                    dead += page_dead
                RECORDS_PULLED.labels(connector.source, obj).inc(sum(len(p.records) for p in pages))
                run.result.add(ingest_patches(store, config.lifecycle, items, dead,
                                              effects or Effects.rules_only(config),
                                              cursor=(key, obj, pages[-1].cursor),
                                              brand=brand, namespace=namespace))
                run.pages += len(pages)
                batch_done()
                if progress is not None:
                    progress(obj, connector.stats, run.result)

            try:
                for page in connector.pull(obj, cursor, full=full, now=now):
                    pending.append(page)
                    if sum(len(p.records) for p in pending) >= batch_size:
                        batch, pending = pending, []
                        commit(batch)
            except QuotaReached as exc:
                run.stopped = "quota"
                QUOTA_STOPS.labels(connector.source).inc()
                log.warning("%s %s: stopping at the run's API budget (%s); the next run resumes here",
                            connector.source, obj, exc)
            finally:
                if pending:  # completed pages are good whatever stopped the run
                    batch, pending = pending, []
                    commit(batch)
                run.seconds = time.monotonic() - started
            if run.stopped:
                break
    return report
