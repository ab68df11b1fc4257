"""Worker entry points: rq's SimpleWorker (jobs run in the worker process, no fork per job).

No fork keeps the database pool and, in embedded mode, the in-process store shared with the
web app; scale out by running more worker processes. ``lifesync worker`` runs under
``jobs.supervise``: a Redis or PostgreSQL outage makes it reconnect, not exit; and at each
(re)start it queues a drain when webhook events wait (a killed worker's, say).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import suppress
from typing import Any

from rq import SimpleWorker

from jobs.connection import redis_connection
from jobs.failures import dead_letter_handler, record_scheduled_success
from jobs.queues import QUEUES, queue
from jobs.supervise import OUTAGES, describe, run_supervised
from sync.settings import Settings
from sync.store.engine import Store

log = logging.getLogger(__name__)


class Worker(SimpleWorker):
    """rq's SimpleWorker, with a pub/sub shutdown that cannot hang.

    rq stops its pub/sub thread by sending UNSUBSCRIBE, then ``PubSubWorkerThread.stop()``,
    meaning to wait a second for it. redis-py 8's ``stop()`` waits without a bound, and a
    thread that read the UNSUBSCRIBE reply before its stop flag was cleared then waits up to
    rq's 60 s poll for a new subscription: a stop (SIGTERM) took up to a minute, now and then.
    Here the flag is cleared first, so the reply ends the thread's loop; a thread cut off from
    Redis is waited for at most a second (it is a daemon thread, and ends on its next loop).
    """

    def unsubscribe(self) -> None:
        """Stop the pub/sub thread, then unsubscribe and close; never blocks for more than a second."""
        thread = self.pubsub_thread
        if thread is None:
            return
        self.log.info("Worker %s: unsubscribing from channel %s", self.name, self.pubsub_channel_name)
        thread.stop(timeout=0)  # clears its flag; the UNSUBSCRIBE reply below then ends its loop
        with suppress(Exception):  # Redis may be gone: the thread's loop ends all the same
            self.pubsub.unsubscribe()
        thread.join(timeout=1)
        with suppress(Exception):
            self.pubsub.close()


    def handle_job_success(self, job: Any, queue: Any, started_job_registry: Any, *args: Any, **kwargs: Any) -> Any:
        """The bookkeeping of rq, then the run's end for the alert rules (a schedule.yaml entry's runs in a row)."""
        done = super().handle_job_success(job, queue, started_job_registry, *args, **kwargs)
        record_scheduled_success(job)
        return done


class EmbeddedWorker(Worker):
    """The worker of embedded mode, whose store (fakeredis) lives in this process.

    rq's warm-shutdown handler writes the request's date to Redis from inside the SIGTERM
    handler, which runs in the interrupted main thread. If that thread was inside a store call,
    it holds the store's (non-reentrant) lock, and the handler waits for it forever: `lifesync
    serve` then never stops. Nobody else reads this worker's key here, so the date stays in
    memory; the stop itself is requested as rq does.
    """

    def set_shutdown_requested_date(self) -> None:
        """Keep the date in memory (``_shutdown_requested_date``): no store call from a signal handler."""


def make_worker(settings: Settings, queues: Sequence[str] = QUEUES) -> SimpleWorker:
    """A worker listening on ``queues`` (in priority order)."""
    connection = redis_connection(settings)
    worker_class = Worker if settings.redis_url else EmbeddedWorker
    return worker_class([queue(q, connection) for q in queues], connection=connection,
                        exception_handlers=[dead_letter_handler])


def run(settings: Settings, queues: Sequence[str] = QUEUES, burst: bool = False) -> bool:
    """Work until stopped (or, with ``burst``, until the queues are empty), reconnecting after outages."""
    if burst:
        return make_worker(settings, queues).work(burst=True, with_scheduler=True)
    worked = False

    def once() -> bool:
        nonlocal worked
        resume_inbox(settings)
        worker = make_worker(settings, queues)
        try:
            worked = worker.work(with_scheduler=True) or worked
        finally:
            _release(worker)
        return worker._shutdown_requested_date is not None  # rq sets it on SIGTERM/SIGINT only, busy or idle

    run_supervised(once, "lifesync worker", redis_connection(settings).ping)
    return worked


def resume_inbox(settings: Settings, store: Store | None = None) -> bool:
    """Queue a drain when webhook events wait (stored before a crash); best effort: the sweeper is the fallback."""
    from jobs import tasks
    from jobs.handover import drain_leftovers

    try:
        return drain_leftovers(redis_connection(settings), store or tasks.store(settings))
    except OUTAGES as exc:
        log.warning("could not look for waiting webhook events at start-up (%s); the inbox sweep will",
                    describe(exc))
        return False


def _release(worker: SimpleWorker) -> None:
    """What rq's teardown leaves behind when Redis went away under it (register_death raised first): pub/sub."""
    if worker.pubsub_thread is not None and worker.pubsub_thread.is_alive():
        worker.unsubscribe()
