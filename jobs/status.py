"""What the queues hold, read from rq's registries: depths, running, failed and scheduled jobs.

The ops API's ``GET /api/jobs`` shows it (``jobs.web`` hands ``overview`` to the web app). A job is
described by its id, function, queue, the schedule.yaml entry that queued it and its times; a failed
one by the last line of its error, redacted — never its arguments or the whole traceback, which
may carry personal data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from redis import Redis
from rq.job import Job, JobStatus
from rq.registry import BaseRegistry

from jobs.queues import QUEUES, queue
from sync.http.redact import redact


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else (moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _error(job: Job) -> str | None:
    result = job.latest_result()
    text = (result.exc_string if result is not None else None) or ""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return redact(lines[-1])[:1000] if lines else None


def describe(job: Job, queue_name: str, registry: BaseRegistry | None = None) -> dict[str, Any]:
    """One job as the API lists it."""
    scheduled_for = None
    if registry is not None and hasattr(registry, "get_scheduled_time"):
        try:
            scheduled_for = registry.get_scheduled_time(job)
        except Exception:  # rq raises NoSuchJobError when it left the registry meanwhile
            scheduled_for = None
    status = job.get_status()
    return {"id": job.id, "func": job.func_name, "queue": queue_name, "status": getattr(status, "value", status) or "",
            "schedule": (job.meta or {}).get("schedule"), "enqueued_at": _aware(job.enqueued_at),
            "started_at": _aware(job.started_at), "ended_at": _aware(job.ended_at),
            "scheduled_for": _aware(scheduled_for), "retries_left": job.retries_left,
            "error": _error(job) if status == JobStatus.FAILED else None}


def _jobs(connection: Redis, ids: list[str], queue_name: str, registry: BaseRegistry | None = None
          ) -> list[dict[str, Any]]:
    return [describe(job, queue_name, registry) for job in Job.fetch_many(ids, connection=connection) if job]


def overview(connection: Redis, limit: int = 50) -> dict[str, Any]:
    """Per queue its depth and registry sizes; the running, failed (newest first) and scheduled jobs, ``limit`` each."""
    queues, running, failed, scheduled = [], [], [], []
    for name in QUEUES:
        q = queue(name, connection)
        started, failures, waiting = q.started_job_registry, q.failed_job_registry, q.scheduled_job_registry
        queues.append({"name": name, "queued": q.count, "running": started.count, "failed": failures.count,
                       "scheduled": waiting.count, "deferred": q.deferred_job_registry.count})
        running += _jobs(connection, started.get_job_ids(0, limit - 1), name)
        failed += _jobs(connection, failures.get_job_ids(0, limit - 1, desc=True), name)
        scheduled += _jobs(connection, waiting.get_job_ids(0, limit - 1), name, waiting)
    queued = [job for name in QUEUES for job in _jobs(connection, queue(name, connection).get_job_ids(0, limit), name)]
    return {"queues": queues, "queued": queued[:limit], "running": running[:limit],
            "failed": sorted(failed, key=lambda j: j["ended_at"] or datetime.min.replace(tzinfo=UTC),
                             reverse=True)[:limit],
            "scheduled": scheduled[:limit]}
