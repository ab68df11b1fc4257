"""``lifesync deadletter``: dead letters at the shell — list, group by cause, replay, dismiss.

``register(main)`` adds::

    lifesync deadletter list [--json]
    lifesync deadletter groups [--status open|replayed|dismissed|any] [--stage S] [--source S] [--limit N] [--json]
    lifesync deadletter replay (IDS... | --group GROUP | --all)
    lifesync deadletter dismiss (IDS... | --group GROUP) --note TEXT

The same service functions as ``/api/dead-letters`` (``sync.ingest.deadletter_groups``); the
person at the shell acts as ``cli:<user>`` (``sync.access.roles.shell_user``), audited the same way.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from sync.cli import context
from sync.errors import RequestError

STATUS_CHOICES = ("open", "replayed", "dismissed", "any")


@contextmanager
def _as_click() -> Iterator[None]:
    """A request the service refuses (unknown ids, a malformed group) is a clear message, exit 1."""
    try:
        yield
    except RequestError as exc:
        details = "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
        raise click.ClickException(f"{exc.message}{f' ({details})' if details else ''}") from None


def _selection(ids: tuple[int, ...], group: str | None):  # -> Selection (imported late)
    from sync.ingest.deadletter_groups import GroupKey, Selection

    return Selection(ids=list(ids) if ids else None, group=GroupKey.parse(group) if group else None)


def register(main: click.Group) -> None:
    """Add ``lifesync deadletter`` to ``main``."""

    @main.group()
    def deadletter() -> None:
        """Records and jobs that could not be processed."""

    @deadletter.command("list")
    @context.demo_option
    @click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
    def deadletter_list(as_json: bool) -> None:
        """Print the open dead letters: id, stage, source/object, record id, reason, created."""
        from sync.ingest.deadletter import format_table, list_open

        with context.opened_store(context.settings()) as store:
            rows = list_open(store)
        if as_json:
            context.dump(rows)
        else:
            click.echo(format_table(rows))

    @deadletter.command("groups")
    @context.demo_option
    @click.option("--status", type=click.Choice(STATUS_CHOICES), default="open", show_default=True)
    @click.option("--stage", default=None, help="Only this stage: mapping, reconcile, dispatch or job.")
    @click.option("--source", default=None, help="Only this source or destination.")
    @click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
    @click.option("--json", "as_json", is_flag=True, help="Print JSON instead of lines.")
    def deadletter_groups(status: str, stage: str | None, source: str | None, limit: int, as_json: bool) -> None:
        """Dead letters grouped by (stage, source or destination, reason class), largest first."""
        from sync.ingest.deadletter_groups import LetterFilter, groups

        where = LetterFilter(status=None if status == "any" else status, stage=stage, source=source)
        with context.opened_store(context.settings()) as store:
            found = groups(store, where, limit)
        if as_json:
            context.dump([{k: v for k, v in g.items() if k != "position"} for g in found])
            return
        if not found:
            click.echo(f"no {'' if status == 'any' else status + ' '}dead letters")
        for g in found:
            click.echo(f"{g['count']:>7}  {g['stage']:<9} {g['source']:<12} {g['reason_class']}\n"
                       f"         group {g['group']}  first {g['first_seen']:%Y-%m-%d %H:%M}  "
                       f"last {g['last_seen']:%Y-%m-%d %H:%M}  e.g. letter {g['sample']['id']}")

    @deadletter.command("replay")
    @click.argument("ids", nargs=-1, type=int)
    @click.option("--group", default=None, help="Replay every open letter of this group (from `groups`).")
    @click.option("--all", "replay_all", is_flag=True, help="Replay every open dead letter.")
    def deadletter_replay(ids: tuple[int, ...], group: str | None, replay_all: bool) -> None:
        """Replay dead letters IDS (or a --group, or --all): records are mapped and reconciled again, jobs re-run.

        Prints what happened; exit 1 when any of them still fails or is not open.
        """
        if sum((bool(ids), group is not None, replay_all)) != 1:
            raise click.ClickException("give the ids of the dead letters to replay, a --group, or --all")
        from jobs.connection import redis_connection
        from jobs.queues import replay_job
        from sync.access.roles import shell_user
        from sync.ingest.deadletter import replay
        from sync.ingest.deadletter_groups import replay_selection
        from sync.outbox.effects import Effects

        settings = context.settings()
        config = context.load_config(settings)
        enqueue_job = replay_job(redis_connection(settings) if settings.redis_url else None)
        with context.opened_store(settings) as store, _as_click():
            effects = Effects.of(settings, config)
            if replay_all:
                result = replay(store, config, None, enqueue_job, effects=effects, actor=shell_user()).as_dict()
            else:
                result = replay_selection(store, config, shell_user(), _selection(ids, group),
                                          enqueue_job=enqueue_job, effects=effects)
        context.dump(result)
        if result["failed"] or result["not_open"]:
            sys.exit(1)

    @deadletter.command("dismiss")
    @click.argument("ids", nargs=-1, type=int)
    @click.option("--group", default=None, help="Dismiss every open letter of this group (from `groups`).")
    @click.option("--note", required=True, help="Why: kept with each letter and in the audit log.")
    def deadletter_dismiss(ids: tuple[int, ...], group: str | None, note: str) -> None:
        """Dismiss dead letters IDS (or a --group) with a note: they stop counting as open."""
        if bool(ids) == (group is not None):
            raise click.ClickException("give the ids of the dead letters to dismiss, or a --group")
        from sync.access.roles import shell_user
        from sync.ingest.deadletter_groups import dismiss

        with context.opened_store(context.settings()) as store, _as_click():
            result = dismiss(store, shell_user(), _selection(ids, group), note)
        context.dump(result)
        if result["not_open"]:
            sys.exit(1)
