"""``lifesync alerts``: evaluate the alert rules now, list incidents (the scheduled job's functions).

``lifesync alerts check [--json]`` evaluates alerts.yaml now, posts as the job would and prints
what fires; ``lifesync alerts list [--open] [--limit N] [--json]`` lists incidents, newest first.
"""

from __future__ import annotations

import click

from sync.cli import context


def register(main: click.Group) -> None:
    """Add the ``alerts`` group to ``main``."""

    @main.group("alerts")
    def alerts() -> None:
        """Alert rules (alerts.yaml) and their incidents."""

    @alerts.command("check")
    @click.option("--json", "as_json", is_flag=True, help="Print the evaluation as JSON.")
    def check_cmd(as_json: bool) -> None:
        """Evaluate every rule now: open and resolve incidents, post each to LIFESYNC_ALERT_WEBHOOK_URL once."""
        from sync.alerts.incidents import check

        settings = context.settings()
        with context.opened_store(settings) as store:
            result = check(store, settings)
        if as_json:
            context.dump(result.as_dict())
            return
        for item in result.firing:
            about = f" [{item['subject']}]" if item["subject"] else ""
            click.echo(f"FIRING {item['rule']}{about}: {item['summary']}")
        if not result.firing:
            click.echo("no rule fires")
        click.echo(f"opened {len(result.opened)}, resolved {len(result.resolved)}, notified {len(result.notified)}"
                   + (f", notification failed {len(result.notify_failed)} (retried next check)"
                      if result.notify_failed else ""))

    @alerts.command("list")
    @context.demo_option
    @click.option("--open", "open_only", is_flag=True, help="Only incidents not resolved yet.")
    @click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
    @click.option("--json", "as_json", is_flag=True, help="Print the incidents as JSON.")
    def list_cmd(open_only: bool, limit: int, as_json: bool) -> None:
        """Incidents, newest first."""
        from sync.alerts.incidents import list_incidents

        settings = context.settings()
        with context.opened_store(settings) as store:
            rows = list_incidents(store, open_only=open_only, limit=limit)
        if as_json:
            context.dump(rows)
            return
        for row in rows:
            state = f"resolved {row['resolved_at']:%Y-%m-%d %H:%M}" if row["resolved_at"] else "OPEN"
            about = f" [{row['subject']}]" if row["subject"] else ""
            click.echo(f"#{row['id']} {row['opened_at']:%Y-%m-%d %H:%M} {state:<24} {row['rule']}{about}: "
                       f"{row['summary']}")
        if not rows:
            click.echo("no incidents")
