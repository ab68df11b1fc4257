"""What every ``lifesync`` command shares: settings with logging set up, the store, config, JSON out.

Commands import the library late (inside the command), so ``lifesync --help`` stays fast; this
module imports only click and the settings.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sync.settings import Settings

if TYPE_CHECKING:
    from sync.config import Config
    from sync.store.engine import Store


_DATABASE = "lifesync.database_url"  # key in click's context meta: the database an option chose over DATABASE_URL


def settings() -> Settings:
    """The environment's settings, with logging configured at their level."""
    found = _from_env()
    configure_logging(found)
    return found


def _from_env() -> Settings:
    """The environment's settings; the demo's database, configuration and no Redis where the command was given
    ``--demo`` (the configuration the demo wrote beside its database: its second brand and segments).
    """
    found = Settings.from_env()
    ctx = click.get_current_context(silent=True)
    chosen = ctx.meta.get(_DATABASE) if ctx is not None else None
    if not chosen:
        return found
    from sync.demo.run import DEMO_CONFIG

    config = Path(DEMO_CONFIG).resolve()
    return replace(found, database_url=chosen, redis_url=None,
                   config_dir=config if config.is_dir() else found.config_dir)


def demo_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--demo``: the command works on the database ``lifesync demo`` wrote instead of DATABASE_URL's.

    That is the SQLite file the demo writes in its working directory (``sync.demo.run.DEMO_DB``), read
    with the configuration it wrote there (``DEMO_CONFIG``);
    a command given ``--demo`` where there is none stops with exit code 1, naming the command that
    writes it. The demo's world needs no Redis: jobs run in this process (REDIS_URL is not used).
    """
    return click.option("--demo", is_flag=True, expose_value=False, callback=_choose_demo,
                        help="Use the database `lifesync demo` wrote in this directory instead of "
                             "DATABASE_URL (and no Redis).")(command)


def _choose_demo(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[_DATABASE] = demo_database_url()


def demo_database_url() -> str:
    """The URL of the demo's SQLite file in the working directory; a ClickException if the demo has not run here."""
    from sync.demo.hints import program
    from sync.demo.run import DEMO_DB

    path = Path(DEMO_DB).resolve()
    if not path.is_file():
        raise click.ClickException(f"there is no demo database here ({path}): `{program()} demo` writes it "
                                   "(run it in this directory first)")
    return f"sqlite:///{path}"


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
    found = _from_env()
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
