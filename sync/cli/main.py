"""The ``lifesync`` command line: thin wrappers over the library."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

import click

from sync.cli import context, serving
from sync.errors import ConfigError, ConfigIssue, LifesyncError, RecordError, SettingsError
from sync.settings import settings_table


@click.group()
def main() -> None:
    """lifesync: one truth about every contact across CRMs, messaging channels and ad networks."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    with context.opened_store(context.settings()):
        click.echo("database is at the newest revision")


@main.command("settings")
def settings_cmd() -> None:
    """Print every environment setting with its default and meaning."""
    click.echo(settings_table())


@main.group()
def config() -> None:
    """Configuration: files, and the revisions edits store in the database."""


@config.command("check")
@context.demo_option
@click.option("--on", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Judge vendor API versions as of this day (YYYY-MM-DD; default today, UTC).")
def config_check(on: datetime | None) -> None:
    """Validate the active configuration (files and revisions) and the settings naming it; exit 1 on any error.

    Also the vendor API version each configured connection and destination calls: past its
    published end, or unknown, is an error; within 90 days of it, a warning (exit 0 on warnings alone).
    A mapping without ``modified_at`` is a warning too: its records are dated by their arrival.
    """
    from sync.cli.config_revisions import checked_config
    from sync.config.loader import file_warnings, mapping_warnings
    from sync.connectors.setting_issues import version_issues, version_uses

    settings = context.settings()
    issues, config, note = checked_config(settings)
    warned = mapping_warnings(config.mappings.values()) if config is not None else file_warnings(settings.config_dir)
    uses = version_uses(settings)
    if config is None:  # the connections' own settings can still be checked; their mappings cannot
        from sync.connectors.setting_issues import settings_issues

        issues += settings_issues(settings)
    else:
        from sync.attribution.configure import version_uses as destination_versions
        from sync.connectors.setting_issues import connection_issues

        issues = connection_issues(settings, config)
        try:
            uses += destination_versions(settings, config)
        except SettingsError as exc:  # a destination's own settings (e.g. its conversion actions) do not parse
            issues.append(ConfigIssue("environment", "", str(exc)))
    day = on.date() if on is not None else datetime.now(UTC).date()
    errors, warnings = version_issues(uses, day)
    warnings += warned + ([note] if note else [])
    issues += errors
    for issue in issues:
        click.echo(str(issue), err=True)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if issues:
        click.echo(f"{len(issues)} error(s)", err=True)
        sys.exit(1)
    click.echo("configuration OK" + (f" ({len(warnings)} warning(s))" if warnings else ""))


@main.group()
def mappings() -> None:
    """Mapping files."""


@mappings.command("preview")
@click.argument("mapping_file", type=click.Path(exists=True, dir_okay=False))
@click.argument("record_json")
def mappings_preview(mapping_file: str, record_json: str) -> None:
    """Print the canonical patch RECORD_JSON (a file, - for stdin, or inline JSON) would produce.

    The mapping file is checked as ``config check`` checks it, against the active lifecycle: a
    stage the lifecycle does not have is an error (exit 1). Values the mapping drops are listed
    under ``refused_values``.
    """
    from sync.connectors import jsonread
    from sync.ingest.readfile import Unreadable
    from sync.mappings.engine import preview

    name = "the inline record" if record_json.lstrip().startswith(("{", "[")) else record_json
    if name == "the inline record":
        try:
            record = jsonread.loads(record_json)
        except jsonread.JsonInputError as exc:
            raise click.ClickException(f"{name} is not readable: {exc}") from None
    else:
        records = list(context.read_records(record_json))
        if len(records) != 1:
            raise click.ClickException(f"{record_json}: expected exactly one record, found {len(records)}")
        record = records[0]
    if isinstance(record, Unreadable):
        raise click.ClickException(record.message)
    if not isinstance(record, dict):
        raise click.ClickException(f"{name}: expected a JSON object, got {type(record).__name__}")
    try:
        context.dump(preview(mapping_file, record, _active_lifecycle()))
    except ConfigError as exc:
        raise click.ClickException("the mapping file has errors:\n" + "\n".join(map(str, exc.issues))) from None
    except RecordError as exc:
        raise click.ClickException(f"{name}: {exc}") from None


def _active_lifecycle() -> Any:
    """The lifecycle a previewed mapping is checked against: the active configuration's, else lifecycle.yaml's.

    The active configuration may be invalid (the preview is how one finds out why), or the
    database may not answer; then lifecycle.yaml alone is used, and when even that does not
    load, its issues are the answer.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from sync.config.loader import lifecycle_and_issues, resolve_files

    settings = context.settings()
    try:
        return context.load_config(settings).lifecycle
    except (ConfigError, SQLAlchemyError):  # as config check: a database that does not answer leaves the files
        lifecycle, issues = lifecycle_and_issues(resolve_files(settings.config_dir).lifecycle)
        if lifecycle is None:
            raise ConfigError(issues) from None
        return lifecycle


SHOWN = 20  # unreadable records an ingest names on stderr (all are dead letters)


@main.command("ingest")
@click.argument("source")
@click.argument("object_name", metavar="OBJECT")
@click.argument("file")
def ingest_cmd(source: str, object_name: str, file: str) -> None:
    """Ingest vendor records (JSON array or JSON lines; - for stdin) and print the counts.

    A record that cannot be read (not JSON, or past a limit such as nesting or number length) is
    dead-lettered naming file, line and record, the rest lands, and the exit code is 1.
    """
    from sync.ingest.pipeline import ingest
    from sync.ingest.readfile import Unreadable
    from sync.outbox.effects import Effects

    settings = context.settings()
    config = context.load_config(settings)
    unreadable: list[Unreadable] = []

    def noted() -> Any:
        for record in context.read_records(file):
            if isinstance(record, Unreadable):
                unreadable.append(record)
            yield record

    with context.opened_store(settings) as store:
        result = ingest(source, object_name, noted(), store=store, config=config,
                        batch_size=settings.batch_size, effects=Effects.of(settings, config), map_in_process=False)
    context.dump(result.as_dict())
    for bad in unreadable[:SHOWN]:
        click.echo(f"dead-lettered, unreadable: {bad.message}", err=True)
    if len(unreadable) > SHOWN:
        click.echo(f"... and {len(unreadable) - SHOWN} more unreadable records (lifesync deadletter list)", err=True)
    if unreadable:
        sys.exit(1)


@main.group()
def contacts() -> None:
    """Read contacts."""


@contacts.command("get")
@context.demo_option
@click.argument("identity")
def contacts_get(identity: str) -> None:
    """Print one contact found by an identity such as email:ana@example.com or hubspot:123.

    The document of ``GET /api/contacts/<id>``: every field's candidates and rule, stage history,
    touchpoints, activities, conversions with their deliveries, merges and conflicts.
    """
    from sync.reconcile.patch import IdentityRef
    from sync.reports.contact_detail import contact_detail
    from sync.reports.export import find_contact

    try:
        ref = IdentityRef.parse(identity)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    with context.store_and_config() as (store, config), store.transaction() as session:
        cid = find_contact(session, ref)
        if cid is None:
            raise click.ClickException(f"no contact holds the identity {ref.kind}:<value given>")
        context.dump(contact_detail(session, config.lifecycle, cid, config.brands))


@contacts.command("search")
@context.demo_option
@click.option("--q", "q", help="Prefix of a name or of any identity value.")
@click.option("--identity", help="KIND:VALUE, e.g. email:ana@example.com.")
@click.option("--stage")
@click.option("--lost-stage")
@click.option("--phase")
@click.option("--source", help="A system that supplied one of the contact's identities.")
@click.option("--updated-since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]), help="UTC.")
@click.option("--has-conversions/--no-conversions", default=None)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--before", type=click.IntRange(1), help="Only contacts with a lower id (the next page).")
def contacts_search(limit: int, before: int | None, updated_since: Any, **filters: Any) -> None:
    """Print the contacts matching every filter given, newest first (GET /api/contacts)."""
    from sync.errors import Invalid
    from sync.reports.contact_search import ContactFilter, search
    from sync.utc import utc

    since = utc(updated_since) if updated_since else None
    with context.store_and_config() as (store, config), store.transaction() as session:
        try:
            found = search(session, config.lifecycle, ContactFilter(**filters, updated_since=since), limit, before)
        except Invalid as exc:
            raise click.ClickException(f"{exc}: {exc.errors}") from None
    context.dump(found)


@contacts.command("export")
@context.demo_option
@click.option("--identity", help="KIND:VALUE: only this person, with everything held about them (an access "
                                 "request; the document of GET /api/contacts/<id>/access-request).")
def contacts_export(identity: str | None) -> None:
    """Print every contact as one JSON array, sorted by id; with --identity, everything held about one person."""
    from sync.reports.export import export_all

    if identity is not None:
        _access_request(identity)
        return
    out = sys.stdout
    with context.opened_store(context.settings()) as store, store.transaction() as session:
        out.write("[")
        for n, doc in enumerate(export_all(session)):
            out.write(("," if n else "") + "\n" + json.dumps(doc, sort_keys=True, ensure_ascii=False))
        out.write("\n]\n")


def _access_request(identity: str) -> None:
    """Print :func:`sync.privacy.access.subject_access` of the contact holding ``identity``.

    Audited with who asked and the contact's id only (no personal data).
    """
    from sync.access.audit import record
    from sync.access.roles import shell_user
    from sync.errors import NotFound
    from sync.privacy.access import contact_of, subject_access

    with context.store_and_config() as (store, config), store.transaction() as session:
        try:
            cid = contact_of(session, identity)
        except (ValueError, NotFound) as exc:
            raise click.ClickException(str(exc)) from None
        doc = subject_access(session, config, cid)
        record(session, shell_user(), "contact.access_request", "contact", cid,
               summary=f"access request: contact {cid}")
    context.dump(doc)


@contacts.command("forget")
@context.demo_option
@click.argument("identity")
@click.option("--upstream", is_flag=True, help="Also delete the person in the CRMs (HubSpot GDPR delete, "
                                                "Salesforce delete).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def contacts_forget(identity: str, upstream: bool, yes: bool) -> None:
    """Erase the person holding IDENTITY (KIND:VALUE) everywhere lifesync keeps them; print the counts.

    Their records coming back later recreate no one (a salted suppression hash is kept), they are
    removed from every audience, and the erasure is audited without personal data.
    POST /api/contacts/<id>/forget does the same.
    """
    from sync.access.roles import shell_user
    from sync.errors import NotFound
    from sync.privacy.access import contact_of
    from sync.privacy.erasure import forget

    settings = context.settings()
    with context.store_and_config() as (store, config):
        with store.transaction() as session:
            try:
                cid = contact_of(session, identity)
            except (ValueError, NotFound) as exc:
                raise click.ClickException(str(exc)) from None
        if not yes:
            where = " and in the CRMs" if upstream else ""
            click.confirm(f"Erase contact {cid} and everything held about them{where}? This cannot be undone",
                          abort=True)
        context.dump(forget(store, config, settings, cid, shell_user(), upstream=upstream))


@main.command("serve")
@serving.address_options
@click.option("--workers", default=serving.DEFAULT_WORKERS, show_default=True,
              help="gunicorn workers (with REDIS_URL).")
def serve_cmd(host: str, port: int, workers: int) -> None:
    """Serve webhooks and health checks.

    With REDIS_URL: gunicorn serving the web app only (run `lifesync worker` beside it).
    Without: web app, worker and sweeper in this one process on an embedded store.
    Either way, webhook events stored but not processed before (a crash) are drained at start-up.
    """
    serving.serve(context.settings(), host, port, workers)


@main.command("worker")
@click.argument("queues", nargs=-1)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker_cmd(queues: tuple[str, ...], burst: bool) -> None:
    """Run an rq worker on QUEUES (default: ingest sync dispatch maintenance)."""
    from jobs import worker
    from jobs.queues import QUEUES

    unknown = [q for q in queues if q not in QUEUES]
    if unknown:
        raise click.BadParameter(f"unknown queue {', '.join(map(repr, unknown))}; lifesync's queues are "
                                 f"{', '.join(QUEUES)}", param_hint="QUEUES")
    settings = context.settings()
    if not settings.redis_url:
        raise click.ClickException("REDIS_URL is not set: without it `lifesync serve` runs the worker itself")
    worker.run(settings, queues or QUEUES, burst=burst)


@main.command("scheduler")
def scheduler_cmd() -> None:
    """Run rq's cron scheduler with the jobs of schedule.yaml (needs REDIS_URL; run exactly one)."""
    settings = context.settings()
    if not settings.redis_url:
        raise click.ClickException("REDIS_URL is not set: without it `lifesync serve` runs the schedule itself")
    from jobs.schedule import run_scheduler

    run_scheduler(settings)


@main.command("demo")
@click.option("--people", default=5000, show_default=True, help="People in the synthetic business.")
@click.option("--seed", default=7, show_default=True, help="Random seed (same seed, same business).")
@click.option("--database-url", default=None, help="Database to fill (default: a fresh lifesync-demo.db).")
def demo_cmd(people: int, seed: int, database_url: str | None) -> None:
    """Generate a synthetic business, ingest it through the real mappings, print what happened."""
    from sync.demo.run import run_demo

    settings = context.settings()
    run_demo(settings, people=people, seed=seed, database_url=database_url, echo=click.echo)


def _register_more() -> None:
    from sync.cli import (
        access,
        alerts,
        attribution,
        audiences,
        config_revisions,
        connections,
        console,
        crm,
        deadletters,
        duplicates,
        privacy,
        reports,
        segments,
    )

    for module in (crm, attribution, reports, connections, access, alerts, deadletters, duplicates, console,
                   segments, audiences, privacy):  # segments first: audiences adds commands to its group
        module.register(main)
    config_revisions.register(config)


_register_more()


def run() -> None:
    """Entry point that turns lifesync errors into clear messages and exit code 1."""
    try:
        main(standalone_mode=True)
    except ConfigError as exc:
        for issue in exc.issues:
            click.echo(str(issue), err=True)
        sys.exit(1)
    except LifesyncError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    run()
