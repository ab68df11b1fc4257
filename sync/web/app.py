"""``create_app(settings)``: one blueprint per surface, JSON errors through one handler."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from sync.errors import RequestError
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


class Jobs(Protocol):
    """What the ops API needs of the job system (``jobs.web.RqJobs``): queue a requested job, read the queues."""

    def enqueue(self, task: str, kwargs: dict[str, Any], job_id: str) -> tuple[str, bool]:
        """Queue ``task`` once under ``job_id``: (job id, False when one of that id was already pending)."""

    def overview(self, limit: int) -> dict[str, Any]:
        """Queue depths and the running, failed and scheduled jobs (``limit`` of each)."""

    def replay(self, payload: dict[str, Any]) -> None:
        """Queue a dead-lettered job again (its payload: function, arguments, queue)."""


def database_unavailable(exc: BaseException) -> Any:
    """503 with Retry-After while the database cannot serve; one log line, no traceback (senders deliver again)."""
    current_app.logger.warning("database unavailable, answered 503: %s", summary(exc))
    response = error_response(503, "the database is unavailable; deliver again later")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def error_response(status: int, message: str | None, errors: Any = None) -> Any:
    """The one JSON error shape of the whole app (``sync.web.api.schemas.ErrorSchema``)."""
    body: dict[str, Any] = {"error": HTTP_STATUS_CODES.get(status, "Error"), "message": message or "", "status": status}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    return response


def create_app(settings: Settings | None = None, *, store: Store | None = None, config: Config | None = None,
               enqueue: Enqueue, queue: Pingable | None = None, jobs: Jobs | None = None) -> Flask:
    """Build the web app. ``store`` defaults to what settings name, ``config`` to the active configuration.

    Without ``config`` the app follows configuration revisions (``sync.config.active``): request
    handlers take the configuration from ``current_config()``, never from a copy kept at start.

    ``enqueue`` hands the ids of stored webhook events to whatever processes them,
    ``queue`` is that queue's connection for ``/readyz`` (None: not checked), and ``jobs``
    queues what the ops API asks for (syncs, replays of job dead letters) and reads the queues
    (None: those routes answer 503, and job letters cannot be replayed). The web package knows
    no job system: the process that assembles the app wires them (``jobs.web``).
    """
    settings = settings or Settings.from_env()
    app = Flask("lifesync")
    app.config["MAX_CONTENT_LENGTH"] = settings.webhook_max_bytes
    store = store or open_store(settings.database_url)
    from sync.config.active import ActiveConfig, ConfigSource, FixedConfig

    configs: ConfigSource = ActiveConfig(store, settings.config_dir) if config is None else FixedConfig(config)
    from sync.connectors.setting_issues import connection_issues
    from sync.errors import ConfigError

    if issues := connection_issues(settings, configs.get()):  # malformed settings: refuse to start, never a 500
        raise ConfigError(issues)
    app.extensions["lifesync"] = {"settings": settings, "store": store, "configs": configs,
                                  "enqueue": enqueue, "queue": queue, "jobs": jobs}

    from sync.web.health import bp as health
    from sync.web.webhooks import bp as webhooks

    app.register_blueprint(health)
    app.register_blueprint(webhooks, url_prefix="/webhooks")
    from sync.web.ops_auth import mount_ops_surfaces

    mount_ops_surfaces(app, settings.redis_url, settings.connection_setting("ops", "token"))
    from sync.web.api import init_api
    from sync.web.metrics import bp as metrics

    init_api(app)
    app.register_blueprint(metrics)
    from sync.web.console import init_console

    init_console(app)

    for unavailable in UNAVAILABLE:
        app.register_error_handler(unavailable, database_unavailable)

    from sync.web.console.errors import error_page
    from sync.web.console.sessions import in_console

    @app.errorhandler(RequestError)
    def request_error(exc: RequestError) -> Any:  # a service refused an ops request as asked
        if in_console(request.path):
            return error_page(exc.status, str(exc))
        return error_response(exc.status, exc.message, exc.errors)

    @app.errorhandler(HTTPException)
    def json_error(exc: HTTPException) -> Any:
        if in_console(request.path):  # people, not programs: a page in their language
            headers = {k: v for k, v in exc.get_response().headers.items() if k.lower() in ("retry-after", "allow")}
            return error_page(exc.code or 500, exc.description or "", headers)
        data = getattr(exc, "data", None) or {}  # webargs' validation errors (flask-smorest's 422)
        errors = data.get("errors") or data.get("messages")
        message = data.get("message") or ("the request does not match its schema; `errors` says where"
                                          if errors else exc.description)
        response = error_response(exc.code or 500, message, errors)
        for name, value in exc.get_response().headers.items():  # e.g. WWW-Authenticate, Allow
            if name.lower() not in ("content-type", "content-length"):
                response.headers[name] = value
        return response

    return app


def current_config() -> Config:
    """The configuration a request handler uses: the active one (revisions picked up within seconds)."""
    return current_app.extensions["lifesync"]["configs"].get()
