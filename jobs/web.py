"""The web process, assembled: lifesync's app with rq's hand-over and queue connection.

``sync.web`` knows no job system; this is where the process wires one in: stored webhook
events reach a drain job through ``jobs.handover.Nudger``, ``/readyz`` pings the same Redis
(or the embedded store), the ops API queues the jobs an operator asks for and reads the
queues' state through ``RqJobs``, and a replayed job dead letter is queued again on it.
``gunicorn jobs.wsgi:app`` and ``lifesync serve`` both use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from werkzeug.exceptions import ServiceUnavailable

from jobs.connection import redis_connection
from jobs.handover import Nudger
from jobs.queues import enqueue_requested, replay_job
from jobs.status import overview
from jobs.supervise import describe
from sync.settings import Settings
from sync.store.engine import Store
from sync.store.outage import RETRY_AFTER_SECONDS
from sync.web.app import create_app


@contextmanager
def _reachable() -> Iterator[None]:
    """Redis unreachable: 503 with Retry-After and one log line, like a database outage (never a 500)."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError) as exc:
        current_app.logger.warning("job queue unavailable, answered 503: %s", describe(exc))
        raise ServiceUnavailable(description="the job queue is unavailable; try again later",
                                 retry_after=RETRY_AFTER_SECONDS) from None


class RqJobs:
    """What the ops API needs of rq (``sync.web.app.Jobs``): queue a requested job, read the queues."""

    def __init__(self, connection: Redis):
        self.connection = connection

    def enqueue(self, task: str, kwargs: dict[str, Any], job_id: str) -> tuple[str, bool]:
        """Queue ``task`` once under ``job_id`` (``jobs.queues.enqueue_requested``)."""
        with _reachable():
            return enqueue_requested(self.connection, task, kwargs, job_id)

    def overview(self, limit: int) -> dict[str, Any]:
        """Depths, running, failed and scheduled jobs (``jobs.status.overview``)."""
        with _reachable():
            return overview(self.connection, limit)

    def replay(self, payload: dict[str, Any]) -> None:
        """Queue a dead-lettered job again (``jobs.queues.replay_job``)."""
        replay_job(self.connection)(payload)


def create_web_app(settings: Settings | None = None, *, store: Store | None = None) -> Flask:
    """The web app of this process's settings (``store``: an open one to share), handing stored events to rq."""
    settings = settings or Settings.from_env()
    connection = redis_connection(settings)  # one client (and pool) per app, not per request
    return create_app(settings, store=store, enqueue=Nudger(connection), queue=connection, jobs=RqJobs(connection))
