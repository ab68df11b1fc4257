"""Queue names by concern, and handing work to them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
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


# a job of the same id in one of these is the same work, still to come: a new one collapses into it
PENDING = (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.STARTED)


def enqueue_unique(q: Queue, func: str, job_id: str, **options: Any) -> Job | None:
    """Enqueue ``func`` under a deterministic ``job_id``; None when a job of that id is pending.

    rq refuses a second job of an id atomically (``unique``). A pending one (queued, scheduled,
    deferred or running) is the same work, so the new request collapses into it; one that
    finished, failed or was stopped is history and is replaced.
    """
    for _ in range(3):
        try:
            return q.enqueue_call(func, job_id=job_id, unique=True, **options)
        except DuplicateJobError:
            try:
                existing = Job.fetch(job_id, connection=q.connection)
            except NoSuchJobError:  # it expired meanwhile: try again
                continue
            if existing.get_status(refresh=True) in PENDING:
                return None
            existing.delete()
    return None  # replaced under our feet each time: another caller's job is the pending one


def replay_job(connection: Redis | None) -> Callable[[dict[str, Any]], None]:
    """How ``sync.ingest.deadletter.replay`` re-runs a job dead letter.

    With a connection the job is enqueued again on its queue (with the usual retries);
    without one (no REDIS_URL: the embedded store lives in the serving process) it runs here
    and now. Only functions of ``jobs.tasks`` are run: the payload comes from the database.
    A payload naming its ``dead_letter`` is enqueued as ``lifesync-replay-<id>``, once.
    """

    def run(payload: dict[str, Any]) -> None:
        func = str(payload.get("func", ""))
        if not func.startswith(TASKS_MODULE) or not func[len(TASKS_MODULE):].isidentifier():
            raise ValueError(f"not a lifesync job function: {func!r}")
        args, kwargs = list(payload.get("args") or ()), dict(payload.get("kwargs") or {})
        if connection is None:
            import_attribute(func)(*args, **kwargs)
            return
        target = queue(str(payload.get("queue") or MAINTENANCE), connection)
        options = {"args": args, "kwargs": kwargs, "retry": RETRY, "result_ttl": 3600, "failure_ttl": 7 * 86400}
        if payload.get("dead_letter") is None:
            target.enqueue_call(func, **options)
        else:  # two replays of one letter (two operators, two terminals) are one job
            enqueue_unique(target, func, f"lifesync-replay-{payload['dead_letter']}", **options)

    return run


# what the ops API may queue on request (sync.connectors.operations): the job function, its queue and timeout
ON_REQUEST: dict[str, tuple[str, int]] = {
    "sync_crm_connection": (SYNC, 3600),
    "dispatch_pushes": (DISPATCH, 600),
    "dispatch_conversions": (DISPATCH, 600),
    "sync_audiences": (DISPATCH, 3600),
}


def enqueue_requested(connection: Redis, task: str, kwargs: dict[str, Any], job_id: str) -> tuple[str, bool]:
    """Queue ``task`` (one of ``ON_REQUEST``) once under ``job_id``: (job id, False when one was already pending)."""
    if task not in ON_REQUEST:
        raise ValueError(f"{task!r} is not a job that can be queued on request; expected one of {sorted(ON_REQUEST)}")
    name, timeout = ON_REQUEST[task]
    job = enqueue_unique(queue(name, connection), TASKS_MODULE + task, job_id, kwargs=kwargs, retry=RETRY,
                         timeout=timeout, result_ttl=3600, failure_ttl=7 * 86400)
    return job_id, job is not None
