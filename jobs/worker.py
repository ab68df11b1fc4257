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


def make_worker(settings: Settings, queues: Sequence[str] = QUEUES) -> SimpleWorker:
    """A worker listening on ``queues`` (in priority order)."""
    connection = redis_connection(settings)
    return SimpleWorker([queue(q, connection) for q in queues], connection=connection,
                        exception_handlers=[dead_letter_handler])


def run(settings: Settings, queues: Sequence[str] = QUEUES, burst: bool = False) -> bool:
    """Work until stopped (or, with ``burst``, until the queues are empty)."""
    return make_worker(settings, queues).work(burst=burst, with_scheduler=True)
