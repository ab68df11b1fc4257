"""Queue names by concern, and enqueueing with deterministic job ids."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from contextlib import suppress

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError

INGEST, SYNC, DISPATCH, MAINTENANCE = "ingest", "sync", "dispatch", "maintenance"
QUEUES = (INGEST, SYNC, DISPATCH, MAINTENANCE)

# retriable failures (database or broker hiccups) run again after 10 s, 1 min, 5 min
RETRY = Retry(max=3, interval=[10, 60, 300])


def queue(name: str, connection: Redis) -> Queue:
    """One of lifesync's queues."""
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}; lifesync's queues are {', '.join(QUEUES)}")
    return Queue(name, connection=connection)


def inbox_job_id(ids: Sequence[int]) -> str:
    """The same events always make the same job id, so a redelivered webhook adds no job."""
    digest = hashlib.sha256(",".join(str(i) for i in sorted(ids)).encode()).hexdigest()[:24]
    return f"inbox-{digest}"


def enqueue_inbox(connection: Redis, ids: Sequence[int]) -> str | None:
    """Queue processing of stored inbox events; returns the job id (None when nothing to do)."""
    if not ids:
        return None
    job_id = inbox_job_id(ids)
    with suppress(DuplicateJobError):  # the same events are already queued
        queue(INGEST, connection).enqueue_call("jobs.tasks.process_inbox", args=(sorted(ids),), job_id=job_id,
                                               unique=True, retry=RETRY, result_ttl=3600, failure_ttl=7 * 86400)
    return job_id
