"""``lifesync report``: the reports on the command line, as text tables, JSON or one HTML file.

``register(main)`` adds the group to the ``lifesync`` click group::

    lifesync report funnel [--from 2026-03-01] [--to 2026-03-31] [--json | --csv]
    lifesync report lost | response | attribution | delivery | retention | quality  (same options)
    lifesync report retention --inactive-days 60                              (its own option)
    lifesync report html report.html [--from ...] [--to ...]

``--from`` and ``--to`` take ISO dates or date-times; ``--to`` with a bare date includes
that whole day. The database and config come from the environment (``DATABASE_URL``,
``LIFESYNC_CONFIG_DIR``) like every other command; ``--demo`` reads the demo's database instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click

from sync.cli import context
from sync.reports import REPORTS
from sync.reports.brand_scope import check_brand
from sync.reports.csv_export import to_csv
from sync.reports.retention import DEFAULT_INACTIVE_DAYS, MAX_INACTIVE_DAYS
from sync.reports.text import format_report
from sync.reports.window import check_window, parse_moment

HELP = {
    "funnel": "Active stages: entered, in it now, moved on, conversion rate, median stay.",
    "lost": "Lost stages apart from the funnel: by stage, by the stage lost from, who came back.",
    "response": "First-response time buckets vs the share of those contacts that ended lost.",
    "attribution": "Conversions and value by campaign / ad set / ad / channel / network, first and last touch "
                   "(ad names looked up first where a Marketing API token is set).",
    "delivery": "Conversion delivery per destination: sent, failed, dead, pending, click ids, hashed keys.",
    "retention": "Customers acquired in the window: repeat-purchase rate, CLV by cohort and first-touch campaign, "
                 "churn, monthly cohort retention.",
    "quality": "Data quality: invalid or missing e-mails and phones by source, values refused per mapping and field, "
               "contacts without a stage, issues per day.",
}


class IsoMoment(click.ParamType):
    """An ISO date or date-time; a bare date given as the end of a window means the end of that day."""

    name = "DATE"

    def __init__(self, *, end: bool = False) -> None:
        self.end = end

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        """Parse ``value``; a bad one fails with the accepted forms."""
        if isinstance(value, datetime):
            return value
        try:
            return parse_moment(str(value), end=self.end)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _window_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--to", "end", type=IsoMoment(end=True),
                           help="End of the window (a bare date includes that day).")(command)
    return click.option("--from", "start", type=IsoMoment(), help="Start of the window, inclusive.")(command)


def _check_window(start: datetime | None, end: datetime | None) -> None:
    try:
        check_window(start, end)
    except ValueError:
        raise click.BadParameter(f"--from ({start.isoformat()}) must be before --to ({end.isoformat()})",  # type: ignore[union-attr]
                                 param_hint="--from/--to") from None


def _look_up_ad_names(store: Any) -> None:
    """Name the ads the ``ad_names`` cache lacks before reporting by campaign; what happened goes to stderr.

    Only stale ids are asked (``sync.attribution.adnames``), so a second report costs no request;
    a refusal is reported and the report still runs, its campaigns "(unresolved)".
    """
    from sync.attribution.adnames.resolve import resolve_ad_names
    from sync.settings import Settings

    done = resolve_ad_names(store, Settings.from_env())
    for network, asked in sorted(done.asked.items()):
        click.echo(f"ad names from {network}: {asked} looked up, {done.named.get(network, 0)} named, "
                   f"{done.refused.get(network, 0)} refused", err=True)
    for network, why in sorted(done.errors.items()):
        click.echo(f"ad names from {network} stopped: {why}", err=True)


# Options of one report only, passed to its function as keywords (the API's ``sync.web.api.reports.ARGS``).
OPTIONS: dict[str, tuple[Callable[..., Any], ...]] = {
    "retention": (click.option("--inactive-days", "inactive_days", type=click.IntRange(1, MAX_INACTIVE_DAYS),
                               default=DEFAULT_INACTIVE_DAYS, show_default=True,
                               help="A customer with no message (either way) or conversion for this many days "
                                    "before the window's end counts as churned."),),
}


def _report_command(name: str, compute: Callable[..., Any]) -> click.Command:
    """``lifesync report NAME``: compute one report, print it as a table or JSON."""

    @click.command(name, help=HELP.get(name) or (compute.__doc__ or "").splitlines()[0])
    @context.demo_option
    @_window_options
    @click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
    @click.option("--csv", "as_csv", is_flag=True,
                  help="Print the report as one CSV table (what the console's download gives).")
    @click.option("--brand", default=None, metavar="BRAND",
                  help="One brand's report (brands.yaml); funnel, lost and response default to the default brand, "
                       "attribution and delivery to every brand.")
    def command(start: datetime | None, end: datetime | None, as_json: bool, as_csv: bool,
                brand: str | None, **options: Any) -> None:
        if as_json and as_csv:
            raise click.UsageError("--json and --csv are two outputs: choose one")
        _check_window(start, end)
        with context.store_and_config() as (store, config):
            try:
                check_brand(config, brand)
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint="--brand") from None
            if name == "attribution":
                _look_up_ad_names(store)
            report = compute(store, config, start=start, end=end, brand=brand, **options)
        if as_json:
            click.echo(json.dumps(report.as_dict(), indent=2, sort_keys=True, ensure_ascii=False))
        elif as_csv:
            click.echo(to_csv(report), nl=False)
        else:
            click.echo(format_report(report))

    for option in OPTIONS.get(name, ()):
        command = option(command)
    return command


@click.command("html")
@context.demo_option
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@_window_options
def html_command(path: str, start: datetime | None, end: datetime | None) -> None:
    """Write every report to PATH as one self-contained HTML file (inline charts, opens offline)."""
    from sync.reports.html import write_html

    _check_window(start, end)
    with context.store_and_config() as (store, config):
        _look_up_ad_names(store)
        written = write_html(path, store, config, start=start, end=end)
    click.echo(f"wrote {written}")


def register(main: click.Group) -> None:
    """Add the ``report`` command group (one command per report, plus ``html``) to ``main``."""

    @main.group("report")
    def report() -> None:
        """Lifecycle reports: funnel, lost, response, attribution, delivery, retention, quality; html for the rest."""

    for name, compute in REPORTS.items():
        report.add_command(_report_command(name, compute))
    report.add_command(html_command)
