"""Figures the database knows, read when ``/metrics`` is scraped: the same in every process and machine.

Every query is bounded and served by an index (migration 0007), so a scrape stays cheap at
millions of rows:

- counts of one status are index range scans cut at ``COUNT_CAP`` (a count at the cap means
  "at least"); the terminal states (processed events, sent deliveries), which only grow, are
  counted over a recent window instead (``RECENT_SECONDS``) — a rate, not a running total;
- the inbox lag is the oldest ``received`` event: one probe of (status, received_at).

When the database does not answer, the scrape still succeeds with ``lifesync_database_up 0``
(and none of these figures) rather than a 500 that would hide the process counters too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, literal, select
from sqlalchemy.exc import SQLAlchemyError

from sync.store import model
from sync.store.engine import Store
from sync.utc import utc

log = logging.getLogger(__name__)

COUNT_CAP = 100_000
RECENT_SECONDS = 300
INBOX_WAITING = ("received", "dead")
DELIVERY_WAITING = ("failed", "dead")
DELIVERY_OUTCOMES = ("sent", "failed", "dead")


def capped_count(session: Any, *where: Any, group: Any = None) -> dict[Any, int]:
    """Rows matching ``where``, at most ``COUNT_CAP`` of them read: ``{None: n}``, or counts by ``group``."""
    if group is None:
        picked = select(literal(1)).where(*where).limit(COUNT_CAP).subquery()
        return {None: session.scalar(select(func.count()).select_from(picked)) or 0}
    picked = select(group.label("key")).where(*where).limit(COUNT_CAP).subquery()
    return {key: n for key, n in session.execute(select(picked.c.key, func.count()).group_by(picked.c.key))}


def inbox_lag(session: Any, now: datetime) -> float:
    """Seconds the oldest ``received`` event has waited (0 when none waits): one index probe."""
    oldest = session.scalar(select(model.RawEvent.received_at).where(model.RawEvent.status == "received")
                            .order_by(model.RawEvent.received_at).limit(1))
    return max(0.0, (now - utc(oldest)).total_seconds()) if oldest is not None else 0.0


def inbox_backlog(session: Any) -> dict[str, int]:
    """Inbox events waiting (``received``) or given up (``dead``), each count cut at the cap."""
    r = model.RawEvent
    return {status: capped_count(session, r.status == status)[None] for status in INBOX_WAITING}


def open_dead_letters(session: Any) -> dict[str, int]:
    """Open dead letters by stage (mapping, reconcile, dispatch, job), each count cut at the cap."""
    d = model.DeadLetter
    return capped_count(session, d.status == "open", group=d.stage)


class DatabaseCollector(Collector):
    """A prometheus_client collector reading ``store`` at each scrape."""

    def __init__(self, store: Store, clock: Any = model.utcnow):
        self.store, self.clock = store, clock

    def describe(self) -> list[Any]:
        """Nothing up front: the families are known at collect time (no query at registration)."""
        return []

    def collect(self) -> Iterator[Any]:
        """Every family, or ``lifesync_database_up 0`` alone when the database fails."""
        up = GaugeMetricFamily("lifesync_database_up", "1 when the database answered this scrape's queries")
        try:
            families = list(self._families(self.clock()))
        except SQLAlchemyError as exc:
            log.warning("metrics: the database did not answer (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self, now: datetime) -> Iterator[Any]:
        r, dl, s = model.RawEvent, model.Delivery, model.ScheduledRun
        recent = now - timedelta(seconds=RECENT_SECONDS)
        with self.store.transaction() as session:
            inbox = GaugeMetricFamily("lifesync_inbox_events", f"Inbox events by status (counts stop at {COUNT_CAP})",
                                      labels=["status"])
            for status, n in inbox_backlog(session).items():
                inbox.add_metric([status], n)
            yield inbox
            yield GaugeMetricFamily("lifesync_inbox_lag_seconds", "Age of the oldest received (unprocessed) event",
                                    value=inbox_lag(session, now))
            drained = GaugeMetricFamily(
                "lifesync_inbox_drained_recent", f"Events processed or dead-lettered in the last {RECENT_SECONDS} s "
                "(drain throughput = this / window)", labels=["status", "window_seconds"])
            done = capped_count(session, r.processed_at >= recent, group=r.status)
            for status in ("processed", "dead"):
                drained.add_metric([status, str(RECENT_SECONDS)], done.get(status, 0))
            yield drained
            waiting = GaugeMetricFamily("lifesync_deliveries", f"Deliveries waiting for a retry (failed) or given up "
                                        f"(dead), per network (counts stop at {COUNT_CAP})",
                                        labels=["destination", "status"])
            for status in DELIVERY_WAITING:
                for dest, n in sorted(capped_count(session, dl.status == status, group=dl.destination).items()):
                    waiting.add_metric([dest, status], n)
            yield waiting
            outcomes = GaugeMetricFamily("lifesync_deliveries_recent", f"Deliveries sent, failed or dead in the last "
                                         f"{RECENT_SECONDS} s, per network", labels=["destination", "status",
                                                                                     "window_seconds"])
            for status in DELIVERY_OUTCOMES:
                for dest, n in sorted(capped_count(session, dl.status == status, dl.updated_at >= recent,
                                                   group=dl.destination).items()):
                    outcomes.add_metric([dest, status, str(RECENT_SECONDS)], n)
            yield outcomes
            letters = GaugeMetricFamily("lifesync_dead_letters_open", f"Open dead letters by stage (job: failed "
                                        f"jobs; counts stop at {COUNT_CAP})", labels=["stage"])
            for stage, n in sorted(open_dead_letters(session).items()):
                letters.add_metric([stage], n)
            yield letters
            failing = GaugeMetricFamily("lifesync_scheduled_run_failures_in_row",
                                        "Final failures of a schedule.yaml entry since its last success",
                                        labels=["schedule", "task"])
            for row in session.execute(select(s.name, s.task, s.failures_in_row).order_by(s.name).limit(1000)):
                failing.add_metric([row.name, row.task], row.failures_in_row)
            yield failing
