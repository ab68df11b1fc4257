"""How the runs of each schedule.yaml entry went: the ``sync_failing`` and ``quota_spent`` rules read it.

The worker records every scheduled run's end (``jobs.worker`` on success, ``jobs.failures`` on
a final failure): a failure adds one to ``failures_in_row``, a success sets it back to 0.
Reasons are kept as a dead letter keeps them (``reason_for``: lifesync's message, else the
exception type only).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from sync.store import model
from sync.store.engine import Store

OUTCOMES = ("ok", "failed", "quota")


def stopped_at_quota(result: Any) -> bool:
    """Whether a job's result reports a run that stopped at its API budget (``"stopped": "quota"`` anywhere)."""
    if isinstance(result, Mapping):
        return result.get("stopped") == "quota" or any(stopped_at_quota(v) for v in result.values())
    if isinstance(result, list | tuple):
        return any(stopped_at_quota(v) for v in result)
    return False


def record_run(store: Store, name: str, task: str, outcome: str, reason: str | None = None,
               now: datetime | None = None) -> model.ScheduledRun:
    """Record the end of a run of schedule entry ``name``: ``ok``, ``quota`` (done, at its budget) or ``failed``."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown run outcome {outcome!r}; expected one of {', '.join(OUTCOMES)}")
    now = now or model.utcnow()
    for attempt in (1, 2):  # two workers recording a new entry's first runs at once: the loser updates
        try:
            with store.transaction() as session:
                row = session.get(model.ScheduledRun, name[:64], with_for_update=True)
                if row is None:
                    row = model.ScheduledRun(name=name[:64], task=task[:64], failures_in_row=0)
                    session.add(row)
                row.task, row.last_outcome, row.last_run_at = task[:64], outcome, now
                if outcome == "failed":
                    row.failures_in_row = (row.failures_in_row or 0) + 1
                    row.last_reason = (reason or "failed")[:2000]
                else:
                    row.failures_in_row, row.last_ok_at, row.last_reason = 0, now, None
                return row
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
