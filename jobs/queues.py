"""Queue names by concern, and handing work to them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from redis import Redis
from redis.exceptions import NoScriptError
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


PENDING_KEY = "lifesync:inbox:pending"  # ids of stored events waiting for a drain job
DRAIN_FLAG = "lifesync:inbox:drain-queued"  # set while a drain job is queued and not started
DRAIN_FLAG_TTL = 300  # seconds: a lost drain job does not block the next one for longer


def enqueue_inbox(connection: Redis, ids: Sequence[int]) -> bool:
    """Hand stored inbox events to a drain job; True when this call queued a new drain job.

    A webhook request costs one Redis round trip: its event ids go on a list and, only when
    no drain job is already waiting, one is queued. The drain job (``jobs.tasks.drain_inbox``)
    processes whatever has accumulated in batches, so a burst of webhooks becomes a few
    batched ingests rather than a job per event; redeliveries were already collapsed by the
    inbox's unique key.
    """
    if not ids:
        return False
    ordered, queued_now = sorted(ids), False
    for start in range(0, len(ordered), 1000):  # Lua's unpack takes a few thousand values at most
        queued_now = bool(_hand_over(connection, ordered[start:start + 1000])) or queued_now
    if queued_now:
        queue(INGEST, connection).enqueue_call("jobs.tasks.drain_inbox", retry=RETRY, result_ttl=600,
                                               failure_ttl=7 * 86400)
    return bool(queued_now)


# RPUSH the ids, then SET the flag if absent: one command (a script, run by its hash) rather than
# a two-command pipeline — a third less of the webhook request's Redis work on the client.
_HAND_OVER = """
redis.call('RPUSH', KEYS[1], unpack(ARGV, 2))
return redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1])
"""
_HAND_OVER_SHA = hashlib.sha1(_HAND_OVER.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1


def _hand_over(connection: Redis, ids: Sequence[int]) -> Any:
    """Run the hand-over script by its hash; a server that does not know it yet gets its text (and keeps it)."""
    args = [PENDING_KEY, DRAIN_FLAG, DRAIN_FLAG_TTL, *ids]
    try:
        return connection.evalsha(_HAND_OVER_SHA, 2, *args)
    except NoScriptError:
        return connection.eval(_HAND_OVER, 2, *args)


def take_pending(connection: Redis, limit: int) -> list[int]:
    """Pop up to ``limit`` pending event ids (the drain job's side of ``enqueue_inbox``)."""
    popped = connection.lpop(PENDING_KEY, limit) or []
    return [int(i) for i in popped]


def drain_started(connection: Redis) -> None:
    """Clear the flag first: events stored from now on queue a fresh drain job."""
    connection.delete(DRAIN_FLAG)


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
