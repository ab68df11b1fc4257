"""The web process, assembled: lifesync's app with rq's hand-over and queue connection.

``sync.web`` knows no job system; this is where the process wires one in: stored webhook
events reach a drain job through ``jobs.handover.Nudger``, ``/readyz`` pings the same
Redis (or the embedded store), and a replayed job dead letter is queued again on it.
``gunicorn jobs.wsgi:app`` and ``lifesync serve`` both use it.
"""

from __future__ import annotations

from flask import Flask

from jobs.connection import redis_connection
from jobs.handover import Nudger
from jobs.queues import replay_job
from sync.settings import Settings
from sync.store.engine import Store
from sync.web.app import create_app


def create_web_app(settings: Settings | None = None, *, store: Store | None = None) -> Flask:
    """The web app of this process's settings (``store``: an open one to share), handing stored events to rq."""
    settings = settings or Settings.from_env()
    connection = redis_connection(settings)  # one client (and pool) per app, not per request
    return create_app(settings, store=store, enqueue=Nudger(connection), queue=connection,
                      enqueue_job=replay_job(connection))
