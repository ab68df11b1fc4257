"""Queue names by concern, and enqueueing with deterministic job ids."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError
from rq.utils import import_attribute

INGEST, SYNC, DISPATCH, MAINTENANCE = "ingest", "sync", "dispatch", "maintenance"
QUEUES = (INGEST, SYNC, DISPATCH, MAINTENANCE)
TASKS_MODULE = "jobs.tasks."

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


def replay_job(connection: Redis | None) -> Callable[[dict[str, Any]], None]:
    """How ``sync.deadletter.replay`` re-runs a job dead letter.

    With a connection the job is enqueued again on its queue (with the usual retries);
    without one (no REDIS_URL: the embedded store lives in the serving process) it runs here
    and now. Only functions of ``jobs.tasks`` are run: the payload comes from the database.
    """

    def run(payload: dict[str, Any]) -> None:
        func = str(payload.get("func", ""))
        if not func.startswith(TASKS_MODULE) or not func[len(TASKS_MODULE):].isidentifier():
            raise ValueError(f"not a lifesync job function: {func!r}")
        args, kwargs = list(payload.get("args") or ()), dict(payload.get("kwargs") or {})
        if connection is None:
            import_attribute(func)(*args, **kwargs)
            return
        queue(str(payload.get("queue") or MAINTENANCE), connection).enqueue_call(
            func, args=args, kwargs=kwargs, retry=RETRY, result_ttl=3600, failure_ttl=7 * 86400)

    return run
