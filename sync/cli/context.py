"""What every ``lifesync`` command shares: settings with logging set up, the store, config, JSON out.

Commands import the library late (inside the command), so ``lifesync --help`` stays fast; this
module imports only click and the settings.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sync.settings import Settings

if TYPE_CHECKING:
    from sync.config import Config
    from sync.store.engine import Store


def settings() -> Settings:
    """The environment's settings, with logging configured at their level."""
    found = Settings.from_env()
    configure_logging(found)
    return found


def configure_logging(found: Settings, *loggers: logging.Logger) -> None:
    """Logging at the settings' level, every line through the one redaction point (``sync.http.redact``).

    Every process configures logging here: the CLI's commands (worker, scheduler, embedded serve)
    and gunicorn's logger class (``jobs.gunicorn_conf``), which passes its error and access logs.
    """
    from sync.http.redact import redact_logs

    logging.basicConfig(level=found.log_level, format="%(levelname)s %(name)s: %(message)s")
    if found.log_level != "DEBUG":  # migration chatter is noise unless debugging
        logging.getLogger("alembic").setLevel(logging.WARNING)
    redact_logs(found.secret_values(), *loggers)


@contextmanager
def opened_store(settings: Settings) -> Iterator[Store]:
    """The database the settings name, migrated, disposed of when the command ends."""
    from sync.store.engine import open_store

    store = open_store(settings.database_url)
    try:
        yield store
    finally:
        store.dispose()


def load_config(settings: Settings, store: Store | None = None) -> Config:
    """The active configuration: the settings' config directory (bundled files by default) and its revisions."""
    from sync.config.revisions import Revisions

    if store is not None:
        return Revisions(store, settings.config_dir).active_config()
    with opened_store(settings) as opened:
        return Revisions(opened, settings.config_dir).active_config()


@contextmanager
def store_and_config() -> Iterator[tuple[Store, Config]]:
    """The store and active config the environment names (settings read without touching logging)."""
    found = Settings.from_env()
    with opened_store(found) as store:
        yield store, load_config(found, store)


def dump(data: Any) -> None:
    """Print ``data`` as indented, key-sorted JSON."""
    click.echo(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str))


def read_records(path: str) -> Iterator[Any]:
    """Records from a JSON array, one JSON object, or JSON lines (``-`` = stdin), ``sync.ingest.readfile``'s way.

    A file that cannot be read at all is a ClickException naming it; a record that cannot be read
    comes as ``Unreadable`` (a dead letter naming file, line and record, and the rest goes on).
    """
    from sync.connectors.jsonread import JsonInputError
    from sync.ingest.readfile import records

    name = "stdin" if path == "-" else path
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise click.ClickException(f"{name}: cannot read the file ({exc.__class__.__name__}: "
                                   f"{exc.strerror or exc})") from None
    try:
        yield from records(name, data)
    except JsonInputError as exc:
        raise click.ClickException(f"{name}: cannot read the file ({exc})") from None
