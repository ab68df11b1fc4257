"""What a route needs from the app: the store, settings, active configuration, and who is asking."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import abort, current_app, g

from sync.access.roles import Principal
from sync.settings import Settings
from sync.store.engine import Store

if TYPE_CHECKING:
    from sync.config import Config
    from sync.web.app import Jobs


def store() -> Store:
    """The app's database."""
    return current_app.extensions["lifesync"]["store"]


def settings() -> Settings:
    """The app's settings."""
    return current_app.extensions["lifesync"]["settings"]


def config() -> Config:
    """The active configuration (revisions picked up within seconds: ``sync.config.active``)."""
    from sync.web.app import current_config

    return current_config()


def jobs() -> Jobs:
    """The job system the process wired in (``jobs.web``); 503 when this app was built without one."""
    found = current_app.extensions["lifesync"].get("jobs")
    if found is None:
        abort(503, description="this web process has no job queue wired in (start it with `lifesync serve` "
                               "or `gunicorn jobs.wsgi:app`)")
    return found


def enqueue_job() -> Callable[[dict[str, Any]], None] | None:
    """How a dead-lettered job is queued again (the wired job system's; None: it cannot be here)."""
    found = current_app.extensions["lifesync"].get("jobs")
    return found.replay if found is not None else None


def principal() -> Principal:
    """Who the request acts as (set by ``sync.web.api.auth`` before any route runs)."""
    return g.principal
