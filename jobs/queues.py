"""Queue names by concern, and handing work to them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from redis import Redis
from rq import Queue, Retry
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
