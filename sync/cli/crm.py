"""``lifesync sync`` and ``lifesync sandbox``: CRM connections from the command line."""

from __future__ import annotations

import sys
from typing import Any

import click

from sync.cli import context
from sync.connectors.crm import SyncStats
from sync.ingest.pipeline import IngestResult


class _ProgressLine:
    """One status line per object, rewritten in place on a terminal, one line per batch otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = ""

    def __call__(self, obj: str, stats: SyncStats, result: IngestResult) -> None:
        text = (f"{obj}: {result.records:,} records ({result.created:,} new, {result.updated:,} changed, "
                f"{result.dead_lettered:,} dead, {result.refused_values:,} values refused), {stats.pages:,} pages, "
                f"{stats.api_calls:,} API calls, "
                f"{stats.rate_limit_waits:,} rate-limit waits ({stats.rate_limit_seconds:.1f} s)")
        click.echo(("\r" + text.ljust(len(self.last))) if self.tty else text, err=True, nl=not self.tty)
        self.last = text

    def done(self) -> None:
        if self.tty and self.last:
            click.echo("", err=True)


def register(main: click.Group) -> None:
    """Add the CRM commands to ``main`` (shared helpers in ``sync.cli.context``)."""

    @main.command("sync")
    @click.argument("connection")
    @click.argument("object_name", metavar="[OBJECT]", required=False)
    @click.option("--full", is_flag=True, help="Re-read everything instead of what changed since the last run.")
    @click.option("--no-push", is_flag=True, help="Only pull; leave pending write-backs for later.")
    def sync_cmd(connection: str, object_name: str | None, full: bool, no_push: bool) -> None:
        """Pull CONNECTION (hubspot, salesforce, or hubspot/<name>) and write back what it lacks."""
        from jobs.connection import redis_connection
        from jobs.lease import LeaseLost
        from jobs.locks import host_scope, sync_lock
        from sync.crm.run import lock_name, parse_connection, sync_connection

        settings = context.settings()
        system, conn = parse_connection(connection)
        progress = _ProgressLine()
        redis = redis_connection(settings)
        with context.opened_store(settings) as store, sync_lock(redis, "lifesync", lock_name(system, conn),
                                                                host_scope(settings)) as lease:
            if lease is None:
                raise click.ClickException(f"another run of {connection} (a scheduled sync or write-back) holds its "
                                           "lock; try again when it has finished")
            try:
                report = sync_connection(system, conn, settings=settings, store=store,
                                         config=context.load_config(settings), redis=redis,
                                         objects=[object_name] if object_name else None, full=full, push=not no_push,
                                         progress=progress, check_mappings=True)
            except LeaseLost as exc:  # what was committed stays; the next run resumes from its cursor
                raise click.ClickException(f"stopped: {exc}; what was committed stays, the next run goes on") from None
        progress.done()
        context.dump(report)

    @main.command("sandbox")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=8900, show_default=True, type=int)
    @click.option("--contacts", default=1000, show_default=True, help="Seeded HubSpot contacts.")
    @click.option("--leads", default=500, show_default=True, help="Seeded Salesforce leads (and as many contacts).")
    @click.option("--seed", default=42, show_default=True)
    @click.option("--no-rate-limits", is_flag=True, help="Switch the API limits off (per-second, search, daily).")
    def sandbox_cmd(host: str, port: int, contacts: int, leads: int, seed: int, no_rate_limits: bool) -> None:
        """Serve every sandbox (HubSpot, Salesforce, Meta, TikTok, Google Ads, respond.io) until interrupted.

        Prints the settings that point lifesync at them, with the seeded credentials.
        """
        from sync.sandbox.ads.google_ads import GoogleAdsSandbox
        from sync.sandbox.ads.meta import MetaSandbox
        from sync.sandbox.ads.tiktok import TikTokSandbox
        from sync.sandbox.hubspot.sandbox import HubSpotSandbox
        from sync.sandbox.respondio import RespondioSandbox
        from sync.sandbox.salesforce.sandbox import SalesforceSandbox
        from sync.sandbox.server import SandboxServer

        hub_limits: dict[str, Any] = ({"rate_per_10s": None, "daily_limit": None, "search_per_second": None}
                                      if no_rate_limits else {})
        sf_limits: dict[str, Any] = {"daily_limit": 10**9} if no_rate_limits else {}
        server = SandboxServer(hubspot=HubSpotSandbox.seeded(contacts=contacts, deals=contacts // 4, seed=seed,
                                                             **hub_limits),
                               salesforce=SalesforceSandbox.seeded(leads=leads, contacts=leads // 2,
                                                                   opportunities=leads // 4, seed=seed, **sf_limits),
                               meta=MetaSandbox(), tiktok=TikTokSandbox(), google=GoogleAdsSandbox(),
                               respondio=RespondioSandbox.seeded(contacts, seed=seed,
                                                                 rate_per_second=None if no_rate_limits else 5),
                               host=host, port=port).bind()
        click.echo(f"sandboxes at {server.url} (HubSpot /hubspot, Salesforce /salesforce, Meta /meta, "
                   "TikTok /tiktok, Google Ads /google, respond.io /respondio)")
        click.echo("point lifesync at them with:")
        for name, value in sorted(server.env().items()):
            click.echo(f"  export {name}={value}")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
