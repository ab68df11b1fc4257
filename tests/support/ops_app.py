"""The web app as ``lifesync serve`` assembles it (ops API, job queue on the embedded store), for tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobs.connection import redis_connection
from jobs.web import RqJobs
from support.console import SECRET_KEY
from support.webhook_app import ENV
from sync.settings import Settings
from sync.web import create_app

if TYPE_CHECKING:
    from flask import Flask

    from sync.config import Config
    from sync.store.engine import Store

BOOTSTRAP = "bootstrap-admin-token"  # LIFESYNC_OPS_TOKEN: the admin token that exists before any is created


def ops_settings(database_url: str) -> Settings:
    """The webhook test settings, the bootstrap admin token, a secret key (console sessions, PostgreSQL too).

    Bodies up to 64 kB, not the webhook tests' 4 kB: the ops API carries whole configuration documents
    (a mapping file edited or previewed), as it does with the 1 MB default.
    """
    return Settings.from_env({"DATABASE_URL": database_url, **ENV, "LIFESYNC_OPS_TOKEN": BOOTSTRAP,
                              "LIFESYNC_SECRET_KEY": SECRET_KEY, "LIFESYNC_WEBHOOK_MAX_BYTES": "65536"})


def ops_app(settings: Settings, store: Store, config: Config | None) -> Flask:
    """The app on ``store``; ``config`` None: it follows configuration revisions, as ``lifesync serve`` does.

    Jobs it queues stay queued (no worker runs); failed sign-in counts start at zero.
    """
    connection = redis_connection(settings)  # the embedded store (no REDIS_URL): `lifesync serve`'s
    app = create_app(settings, store=store, config=config, enqueue=lambda ids: None, queue=connection,
                     jobs=RqJobs(connection))
    app.extensions["lifesync"]["auth_attempts"].clear()
    return app
