"""Serving the web app as ``lifesync serve`` does (its help says how), shared with ``lifesync console``."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import click

from sync.settings import Settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_WORKERS = 2


def address_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--host`` and ``--port``, with the defaults every serving command shares."""
    command = click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)(command)
    return click.option("--host", default=DEFAULT_HOST, show_default=True)(command)


def serve(settings: Settings, host: str, port: int, workers: int = DEFAULT_WORKERS) -> None:
    """Serve until interrupted (with REDIS_URL, by exec'ing gunicorn: this never returns)."""
    if settings.redis_url:
        from jobs.worker import resume_inbox
        from sync.store.engine import open_store

        store = open_store(settings.database_url)  # migrate once (and fail here) before workers start
        try:
            resume_inbox(settings, store)  # events stored before a crash are drained now, not at the next sweep
        finally:
            store.dispose()
        os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "--config", "python:jobs.gunicorn_conf",  # noqa: S606
                                   "--bind", f"{host}:{port}", "--workers", str(workers), "--access-logfile", "-",
                                   "jobs.wsgi:app"])
    from jobs.embedded import serve_embedded

    serve_embedded(settings, host, port, echo=click.echo)
