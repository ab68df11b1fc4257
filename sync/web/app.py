"""``create_app(settings)``: one blueprint per surface, JSON errors through one handler."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from flask import Flask, current_app, jsonify
from werkzeug.exceptions import HTTPException

from sync.settings import Settings
from sync.store.engine import Store, open_store
from sync.store.outage import RETRY_AFTER_SECONDS, UNAVAILABLE, summary

if TYPE_CHECKING:
    from sync.config import Config

Enqueue = Callable[[Sequence[int]], Any]


class Pingable(Protocol):
    """A queue connection ``/readyz`` can check (a redis client)."""

    def ping(self) -> Any:
        """Answer, or raise when unreachable."""


def database_unavailable(exc: BaseException) -> Any:
    """503 with Retry-After while the database cannot serve; one log line, no traceback (senders deliver again)."""
    current_app.logger.warning("database unavailable, answered 503: %s", summary(exc))
    response = jsonify(error="Service Unavailable", message="the database is unavailable; deliver again later",
                       status=503)
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def create_app(settings: Settings | None = None, *, store: Store | None = None, config: Config | None = None,
               enqueue: Enqueue, queue: Pingable | None = None) -> Flask:
    """Build the web app. ``store`` and ``config`` default to what settings name.

    ``enqueue`` hands the ids of stored webhook events to whatever processes them, and
    ``queue`` is that queue's connection for ``/readyz`` (None: not checked). The web package
    knows no job system: the process that assembles the app wires them (``jobs.web``).
    """
    settings = settings or Settings.from_env()
    app = Flask("lifesync")
    app.config["MAX_CONTENT_LENGTH"] = settings.webhook_max_bytes
    if config is None:
        from sync.config import load_config

        config = load_config(settings.config_dir)
    from sync.connectors.setting_issues import connection_issues
    from sync.errors import ConfigError

    if issues := connection_issues(settings, config):  # malformed settings: refuse to start, never a 500
        raise ConfigError(issues)
    app.extensions["lifesync"] = {"settings": settings, "store": store or open_store(settings.database_url),
                                  "config": config, "enqueue": enqueue, "queue": queue}

    from sync.web.health import bp as health
    from sync.web.webhooks import bp as webhooks

    app.register_blueprint(health)
    app.register_blueprint(webhooks, url_prefix="/webhooks")
    from sync.web.ops_auth import mount_ops_surfaces

    mount_ops_surfaces(app, settings.redis_url, settings.connection_setting("ops", "token"))

    for unavailable in UNAVAILABLE:
        app.register_error_handler(unavailable, database_unavailable)

    @app.errorhandler(HTTPException)
    def json_error(exc: HTTPException) -> Any:
        response = jsonify(error=exc.name, message=exc.description, status=exc.code)
        response.status_code = exc.code or 500
        for name, value in exc.get_response().headers.items():  # e.g. WWW-Authenticate, Allow
            if name.lower() not in ("content-type", "content-length"):
                response.headers[name] = value
        return response

    return app
