"""``lifesync segments``: segments at the shell — list, show, preview a file, evaluate, members.

``register(main)`` adds::

    lifesync segments list
    lifesync segments show KEY
    lifesync segments preview FILE          (size and a sample of FILE as segments/<file name>, nothing saved)
    lifesync segments evaluate [KEY] [--full]
    lifesync segments members KEY [--csv] [--after ID] [--limit N]

The same service functions as ``/api/segments`` and the console (``sync.segments.service``).
Output is JSON (``members --csv``: CSV).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from sync.cli import context


@contextmanager
def _opened() -> Iterator[tuple[Any, Any, Any]]:
    """(store, revisions, active config); a refused preview printed as its issues (exit 1), never a traceback."""
    from sync.config.revisions import Revisions
    from sync.errors import ConfigError, RequestError

    settings = context.settings()
    with context.opened_store(settings) as store:
        revisions = Revisions(store, settings.config_dir)
        try:
            yield store, revisions, revisions.active_config()
        except ConfigError as exc:
            for issue in exc.issues:
                click.echo(str(issue), err=True)
            click.echo(f"{len(exc.issues)} error(s)", err=True)
            sys.exit(1)
        except RequestError as exc:  # no such segment, a key that cannot name one
            raise click.ClickException(str(exc)) from None


def register(main: click.Group) -> None:
    """Add ``lifesync segments`` to ``main``."""

    @main.group()
    def segments() -> None:
        """Segments (config segments/<key>.yaml): sizes, members, preview, evaluation."""

    @segments.command("list")
    @context.demo_option
    def list_cmd() -> None:
        """Every configured segment with its size and last evaluation (null: not evaluated since it changed)."""
        from sync.segments.service import summaries

        with _opened() as (store, _, config):
            context.dump(summaries(store, config.segments))

    @segments.command("show")
    @context.demo_option
    @click.argument("key")
    def show_cmd(key: str) -> None:
        """One segment: its summary, its file, a sample of its members and its size over 30 days."""
        from sync.segments.service import find, members_page, sizes_over_time, summaries

        with _opened() as (store, _, config):
            segment = find(config, key)
            detail = summaries(store, [segment])[0]
            detail["file"] = segment.file
            detail["sample"] = members_page(store, segment, None, 20)[0]
            detail["sizes"] = [{"day": day, "size": size} for day, size in sizes_over_time(store, key)]
            context.dump(detail)

    @segments.command("preview")
    @context.demo_option
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--sample", type=click.IntRange(0, 100), default=20, show_default=True)
    def preview_cmd(file: Path, sample: int) -> None:
        """Size and a sample of FILE's segment now, judged as saving it as segments/<file name> would; saves nothing."""
        from sync.segments.service import preview, trial_segment

        text = file.read_bytes().decode("utf-8", "surrogateescape")
        with _opened() as (store, revisions, _):
            context.dump(preview(store, trial_segment(revisions, file.stem, text), sample=sample).as_dict())

    @segments.command("evaluate")
    @context.demo_option
    @click.argument("key", required=False)
    @click.option("--full", is_flag=True, help="Every contact (else: only the contacts changed since the last run).")
    def evaluate_cmd(key: str | None, full: bool) -> None:
        """Bring membership up to date: the queued changes, or (--full) every contact; KEY: that segment only."""
        from sync.access.roles import shell_user
        from sync.segments.service import run_evaluation

        with _opened() as (store, _, config):
            context.dump(run_evaluation(store, config, shell_user(), key, full))

    @segments.command("members")
    @context.demo_option
    @click.argument("key")
    @click.option("--csv", "as_csv", is_flag=True, help="Every member as CSV instead of a JSON page.")
    @click.option("--after", type=click.IntRange(0), default=None, help="Members with a higher contact id (next page).")
    @click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
    def members_cmd(key: str, as_csv: bool, after: int | None, limit: int) -> None:
        """The segment's current members: id, name, stage, entered_at."""
        from sync.segments.service import find, members_csv, members_page

        with _opened() as (store, _, config):
            segment = find(config, key)
            if as_csv:
                click.echo(members_csv(store, segment), nl=False)
                return
            rows, cursor = members_page(store, segment, after, limit)
            context.dump({"members": rows, "next": cursor})
