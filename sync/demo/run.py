"""``lifesync demo``: a synthetic business told end to end against the sandboxes, explained.

CRM records are pulled from the HubSpot and Salesforce sandboxes by the real connectors and
written back; click-to-WhatsApp and click-to-Messenger conversations and shop orders arrive
as signed webhooks; stage changes and orders become conversions that are dispatched to the
Meta, TikTok and Google Ads sandboxes; the demo's segments are evaluated and synced to audiences
in the sandboxes (``sync.demo.audiences``). The demo then prints the funnel, the lost stages,
attribution by campaign and what each network accepted, and writes an HTML report.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, select

from sync.attribution.adnames.resolve import resolve_ad_names
from sync.config import load_config
from sync.demo import second_brand
from sync.demo.audiences import AUDIENCE_DIR, fresh_audience_dir, print_segments, sync_demo_segments
from sync.demo.business import generate_business
from sync.demo.crm_demo import CRM_SYSTEMS, crm_sync
from sync.demo.explain import explain
from sync.demo.hints import reading, shown
from sync.demo.privacy import print_privacy, privacy_story
from sync.demo.story import demo_world, dispatch_everything, receive_refunds, receive_webhooks
from sync.ingest.automation import compute_first_responses
from sync.ingest.pipeline import IngestResult, ingest
from sync.outbox.effects import Effects
from sync.quality.duplicates import scan
from sync.settings import Settings
from sync.store import model
from sync.store.engine import open_store

DEMO_DB = "lifesync-demo.db"
DEMO_CONFIG = "lifesync-demo-config"  # the demo's configuration (its brands, segments), beside the report
REPORT = "lifesync-demo-report.html"
MESSAGING = ("whatsapp",)  # arrive as signed webhooks (sync.demo.story); respond.io is ingested from its export


@contextmanager
def _quiet(*names: str) -> Iterator[None]:
    """Connectors and senders log each page and batch at INFO; the demo prints its own summary."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _fresh_sqlite(path: str) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)
    return f"sqlite:///{path}"


def run_demo(settings: Settings, *, people: int, seed: int, database_url: str | None,
             echo: Callable[[str], None] = print, report_path: str | Path = REPORT) -> IngestResult:
    """Generate, sync, receive, dispatch and report; returns the total ingest counts."""
    started = time.perf_counter()
    url = database_url or _fresh_sqlite(DEMO_DB)
    store = open_store(url)
    audiences = Path(report_path).resolve().parent / AUDIENCE_DIR
    fresh_audience_dir(audiences)
    # with the sister brand (second_brand) and the demo's segments and their destinations (sync.demo.audiences)
    config = load_config(second_brand.config_dir(settings.config_dir, True,
                                                 Path(report_path).resolve().parent / DEMO_CONFIG))
    # dated up to now: conversions of the last days are young enough for every network to accept
    business = generate_business(seed=seed, people_count=people, now=model.utcnow())
    echo(f"lifesync demo — a synthetic business of {people:,} people (seed {seed}), database {shown(url)}")
    echo("")
    echo(f"{'source':<11}{'object':<13}{'records':>8}{'created':>9}{'updated':>9}{'merged':>8}"
         f"{'unchanged':>10}{'conflicts':>10}{'dead':>6}")
    total = IngestResult()

    def row(source: str, obj: str, r: IngestResult) -> None:
        total.add(r)
        echo(f"{source:<11}{obj:<13}{r.records:>8}{r.created:>9}{r.updated:>9}{r.merged:>8}"
             f"{r.unchanged:>10}{r.conflicts:>10}{r.dead_lettered:>6}")

    with _quiet("sync.connectors", "sync.attribution"), demo_world(business, url, settings.batch_size,
                                                                             audiences) as world:
        effects = Effects.of(world.settings, config)
        crm = crm_sync(world, store, config, row)
        hooks = receive_webhooks(world, store, config, business, row)
        compute_first_responses(store, batch_size=settings.batch_size)  # as the scheduled first_response job
        for source, obj, records in business.batches():
            if source not in CRM_SYSTEMS and source not in MESSAGING:
                row(source, obj, ingest(source, obj, records, store=store, config=config,
                                        batch_size=settings.batch_size, effects=effects))
        networks = dispatch_everything(world, store, config)
        refunds = receive_refunds(world, store, config, business, row)  # after their purchases went out
        adjusted = dispatch_everything(world, store, config)
        names = resolve_ad_names(store, world.settings)  # campaign names for attribution, from the Marketing API
        segments = sync_demo_segments(world, store, config)  # as the segments_full and sync_audiences jobs
        privacy = privacy_story(world, store, config)  # consent and policies counted, then one person forgotten
    hint = reading(database_url, settings)
    echo("")
    echo(crm.summary())
    echo(f"Webhooks: {hooks['whatsapp']:,} click-to-WhatsApp messages and {hooks['replies']:,} agents' replies "
         f"(first response: {hint('report response')}), {hooks['messenger']:,} click-to-Messenger "
         f"conversations, {hooks['opt_outs']:,} WhatsApp users stopping marketing messages, "
         f"{hooks['shop']:,} shop orders, bookings and carts posted signed to lifesync, and "
         f"{hooks[second_brand.BRAND]:,} bookings and visits from the shop of {second_brand.NAME} (a second brand); "
         f"{hooks['stored']:,} stored in the inbox, {hooks['refused']:,} refused.")
    told = ", ".join(f"{name} " + (" ".join(f"{k.replace('unsupported', 'not supported')} {v}" for k, v in
                                               sorted(counts.get("adjustments", {}).items())) or "none")
                     for name, counts in sorted(adjusted.items()))
    echo(f"Refunds and cancellations: {refunds:,} posted after the purchases were sent; adjustments: {told}.")
    with store.transaction() as s:
        contacts = s.scalar(select(func.count()).select_from(model.Contact))
        merges = s.scalar(select(func.count()).select_from(model.MergeLog))
    echo("")
    echo(f"{total.records:,} records became {contacts:,} contacts; {merges:,} merges of duplicates across systems.")
    echo(f"{total.refused_values:,} values the mappings could not use were kept as data-quality issues "
         f"({hint('report quality')}).")
    suspects = scan(store)["found"]  # the review queue: e.g. HubSpot contacts sharing an e-mail, refused a merge
    echo(f"{suspects:,} pairs of contacts look like one person but were not merged: review them with "
         f"{hint('duplicates list')} or in the console.")
    explain(store, config, total, networks, echo, hint, names)
    print_segments(segments, echo)
    print_privacy(privacy, echo)
    path = Path(report_path)
    from sync.reports.html import write_html

    write_html(path, store, config)
    echo("")
    echo(f"HTML report (funnel, drop-off, conversions by campaign, segments): {path.resolve()}")
    echo(f"done in {time.perf_counter() - started:.1f}s. Try, on the demo's database:")
    for command in (hint("report funnel"), hint("report quality"), hint("contacts export") + " | head",
                    hint("config check")):
        echo(f"  {command}")
    echo("Open the console (prints an admin token, shown only then, and the address to open; serves until Ctrl-C):")
    echo(f"  {hint('console')}")
    store.dispose()
    return total
