"""``lifesync connections check``: a "test connection" button for every configured connection and destination.

``register(main)`` adds the group to the ``lifesync`` click group::

    lifesync connections check [--json]
    lifesync connections list [--json]

``check``: one line per connection — ``hubspot/default  OK (portal 123456, STANDARD, US/Eastern)`` or
``meta/meta  FAILED: <the vendor's message>`` — and exit code 1 when any failed. The calls are
``sync.connectors.checks``' (one place, for the ops API too); rotated OAuth tokens go to the
database's token store as a sync would store them. ``list``: every connection, configured or
not, with its health (``sync.connectors.health``, as ``GET /api/connections``).
"""

from __future__ import annotations

import json
import sys

import click

from sync.cli import context
from sync.errors import ConfigError


def register(main: click.Group) -> None:
    """Add ``lifesync connections`` to ``main``."""

    @main.group()
    def connections() -> None:
        """Configured CRM connections and conversion destinations."""

    @connections.command("check")
    @click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of one line per connection.")
    def connections_check(as_json: bool) -> None:
        """Make one cheap authenticated call per connection and destination; print OK or the vendor's error.

        HubSpot reads its account details, Salesforce its org limits, respond.io its workspace users,
        Meta its dataset, Google Ads the customers the credentials reach. Exit 1 when any call failed.
        """
        from sync.connectors.checks import FAILED, CheckResult, check_all
        from sync.store.credentials import token_store

        settings = context.settings()
        problems: list[CheckResult] = []
        try:
            config = context.load_config(settings)
        except ConfigError as exc:  # the CRM connections can still be checked; the destinations cannot be read
            config = None
            problems = [CheckResult("config", "conversions", FAILED, f"destinations not checked: {issue}")
                        for issue in exc.issues]
        with context.opened_store(settings) as store:
            results = check_all(settings, config, tokens=token_store(store, settings)) + problems
        if as_json:
            click.echo(json.dumps([r.as_dict() for r in results], indent=2))
        elif not results:
            click.echo("no connection or destination is configured")
        else:
            for result in results:
                click.echo(result.line())
        if any(r.failed for r in results):
            sys.exit(1)

    @connections.command("list")
    @context.demo_option
    @click.option("--json", "as_json", is_flag=True, help="Print the JSON the ops API answers with.")
    def connections_list(as_json: bool) -> None:
        """Every connection, configured or not: last success, last failure (the vendor's message), 24 h counts."""
        from sync.connectors.health import connections as listed
        from sync.reports.window import jsonable

        settings = context.settings()
        with context.opened_store(settings) as store:
            found = listed(store, settings, context.load_config(settings))
        if as_json:
            click.echo(json.dumps(jsonable(found), indent=2))
            return
        for item in found:
            day = item["last_24h"]
            state = "configured" if item["configured"] else "not configured"
            ok = item["last_success"]["at"].isoformat(timespec="seconds") if item["last_success"] else "-"
            click.echo(f"{item['kind']}/{item['name']}  {state}; last success {ok}; 24 h: "
                       f"{day['records_in']} in, {day['records_out']} out, {day['errors']} errors, "
                       f"{day['refused_values']} values refused")
            if item["last_failure"]:
                click.echo(f"    last failure {item['last_failure']['at'].isoformat(timespec='seconds')}: "
                           f"{item['last_failure']['message']}")
