"""Worker entry points: rq's SimpleWorker (jobs run in the worker process, no fork per job).

No fork keeps the database pool and, in embedded mode, the in-process store shared with the
web app; scale out by running more worker processes.
"""

from __future__ import annotations

from collections.abc import Sequence

from rq import SimpleWorker

from jobs.connection import redis_connection
from jobs.failures import dead_letter_handler
from jobs.queues import QUEUES, queue
from sync.settings import Settings


class EmbeddedWorker(SimpleWorker):
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
    worker_class = SimpleWorker if settings.redis_url else EmbeddedWorker
    return worker_class([queue(q, connection) for q in queues], connection=connection,
                        exception_handlers=[dead_letter_handler])


def run(settings: Settings, queues: Sequence[str] = QUEUES, burst: bool = False) -> bool:
    """Work until stopped (or, with ``burst``, until the queues are empty)."""
    return make_worker(settings, queues).work(burst=burst, with_scheduler=True)
