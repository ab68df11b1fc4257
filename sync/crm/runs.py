"""The record of CRM sync runs (``sync_runs``): one row per run, written where a run starts and ends.

``sync.crm.run.sync_connection`` — the one place a sync run (``lifesync sync``, the scheduled
``sync_hubspot`` / ``sync_salesforce`` jobs, a sync the ops API queued) starts and ends — calls
``start`` and then ``finish`` with the run's report, or with the exception that ended it. A row says
when the run started and ended, how (``ok``; ``quota``: stopped at its API budget, to resume; or
``failed`` with the error as the connector classified it, ending with the vendor's own message,
redacted), the records it read and wrote back, its errors, API calls and rate-limit waits.

Runs are serialised per connection by their lock (``jobs.locks``), so a row still ``running``
when the next run of its connection starts belongs to a run whose process died: it is marked
``abandoned``. The table stays small: each start deletes runs older than ``RETENTION``.
Connection health (``sync.connectors.health``) reads it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update

from sync.connectors.crm import SyncStats
from sync.http.errors import describe_failure
from sync.store import model
from sync.store.engine import Store

RETENTION = timedelta(days=30)
RUNNING, OK, QUOTA, FAILED, ABANDONED = "running", "ok", "quota", "failed", "abandoned"
ABANDONED_REASON = "the run ended without recording its end (its process was killed or lost)"


def start(store: Store, system: str, connection: str, now: datetime | None = None) -> int:
    """Record a run of (system, connection) starting now; its id. Purges runs older than ``RETENTION``."""
    now = now or model.utcnow()
    runs = model.SyncRun
    with store.transaction() as session:
        session.execute(delete(runs).where(runs.started_at < now - RETENTION))
        session.execute(update(runs).where(runs.system == system, runs.connection == connection,
                                           runs.status == RUNNING)
                        .values(status=ABANDONED, finished_at=now, error=ABANDONED_REASON))
        run = model.SyncRun(system=system, connection=connection, started_at=now, status=RUNNING, summary={})
        session.add(run)
        session.flush()
        return run.id


def _counts(report: dict[str, Any]) -> dict[str, Any]:
    objects = report.get("objects") or {}
    pushed = report.get("pushed") or {}
    stats = report.get("stats") or {}
    return {"records_in": sum(o.get("records", 0) for o in objects.values()),
            "records_out": pushed.get("sent", 0),
            "errors": sum(o.get("dead_lettered", 0) for o in objects.values()) + pushed.get("dead", 0),
            "api_calls": stats.get("api_calls", 0), "rate_limit_waits": stats.get("rate_limit_waits", 0),
            "rate_limit_seconds": float(stats.get("rate_limit_seconds", 0.0))}


def finish(store: Store, run_id: int, report: dict[str, Any] | None = None, *, error: BaseException | None = None,
           stats: SyncStats | None = None, now: datetime | None = None) -> None:
    """Record how run ``run_id`` ended: its report (``sync_connection``'s), or the error that ended it."""
    report = dict(report or {})
    if stats is not None and "stats" not in report:
        report["stats"] = stats.as_dict()
    if error is not None:
        status = FAILED
    elif any(o.get("stopped") == "quota" for o in (report.get("objects") or {}).values()):
        status = QUOTA
    else:
        status = OK
    with store.transaction() as session:
        session.execute(update(model.SyncRun).where(model.SyncRun.id == run_id).values(
            status=status, finished_at=now or model.utcnow(), summary=report,
            error=None if error is None else describe_failure(error)[:4000], **_counts(report)))
