"""``lifesync demo``: a synthetic business through the real mappings and pipeline, explained."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select

from sync import model
from sync.config import load_config
from sync.demo.business import generate_business
from sync.demo.crm_demo import CRM_SYSTEMS, crm_sync
from sync.funnel import funnel
from sync.pipeline import IngestResult, ingest
from sync.settings import Settings
from sync.store import open_store

DEMO_DB = "lifesync-demo.db"


def _fresh_sqlite(path: str) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)
    return f"sqlite:///{path}"


def run_demo(settings: Settings, *, people: int, seed: int, database_url: str | None,
             echo: Callable[[str], None] = print) -> IngestResult:
    """Generate, ingest and report; returns the total counts."""
    started = time.perf_counter()
    url = database_url or _fresh_sqlite(DEMO_DB)
    store = open_store(url)
    config = load_config(settings.config_dir)
    business = generate_business(seed=seed, people_count=people)
    echo(f"lifesync demo — a synthetic business of {people:,} people (seed {seed}), database {url}")
    echo("")
    echo(f"{'source':<11}{'object':<13}{'records':>8}{'created':>9}{'updated':>9}{'merged':>8}"
         f"{'unchanged':>10}{'conflicts':>10}{'dead':>6}")
    total = IngestResult()

    def row(source: str, obj: str, r: IngestResult) -> None:
        total.add(r)
        echo(f"{source:<11}{obj:<13}{r.records:>8}{r.created:>9}{r.updated:>9}{r.merged:>8}"
             f"{r.unchanged:>10}{r.conflicts:>10}{r.dead_lettered:>6}")

    crm = crm_sync(settings, url, store, config, business, row)
    for source, obj, records in business.batches():
        if source not in CRM_SYSTEMS:
            row(source, obj, ingest(source, obj, records, store=store, config=config, batch_size=settings.batch_size))
    echo("")
    echo(crm.summary())
    with store.transaction() as s:
        contacts = s.scalar(select(func.count()).select_from(model.Contact))
        merges = s.scalar(select(func.count()).select_from(model.MergeLog))
        rules = s.execute(select(model.ConflictLog.rule, model.ConflictLog.field, func.count())
                          .group_by(model.ConflictLog.rule, model.ConflictLog.field)
                          .order_by(func.count().desc()).limit(8)).all()
        dead = s.execute(select(model.DeadLetter.stage, model.DeadLetter.source, model.DeadLetter.object,
                                func.count()).group_by(model.DeadLetter.stage, model.DeadLetter.source,
                                                       model.DeadLetter.object)).all()
        ads = s.execute(select(model.Touchpoint.network, model.Touchpoint.ad_id,
                               func.count(func.distinct(model.Touchpoint.contact_id)))
                        .group_by(model.Touchpoint.network, model.Touchpoint.ad_id)
                        .order_by(func.count(func.distinct(model.Touchpoint.contact_id)).desc()).limit(5)).all()
        report = funnel(s, config.lifecycle)
    echo("")
    echo(f"{total.records:,} records became {contacts:,} contacts; {merges:,} merges of duplicates across systems.")
    echo(f"{total.conflicts:,} conflicting values resolved by survivorship rules (top field/rule pairs):")
    for rule, field, n in rules:
        echo(f"  {field:<22} {rule:<14} {n:>6}")
    if dead:
        echo(f"{sum(n for *_, n in dead):,} records or pushes went to the dead-letter table "
             "(lifesync deadletter list):")
        for stage, source, obj, n in dead:
            echo(f"  {stage:<10} {source} {obj}: {n}")
    echo("")
    echo("Lifecycle funnel (active stages)            now   entered  → next")
    for row in report.active:
        share = f"{row.to_next:6.1%}" if row.to_next is not None else "      "
        echo(f"  {row.stage:<16} {row.phase:<13} {row.current:>10} {row.entered:>9}  {share}")
    echo("Lost stages (kept apart from the funnel)")
    for name, n in report.lost:
        echo(f"  {name:<30} {n:>10}")
    for lost, source_stage, n in report.lost_from:
        echo(f"    {lost} from {source_stage}: {n}")
    echo(f"  contacts with no stage yet: {report.never_staged}")
    if ads:
        echo("Top click-to-message ads by contacts reached")
        for network, ad, n in ads:
            echo(f"  {network or '-'} ad {ad or '-'}: {n}")
    echo("")
    echo(f"done in {time.perf_counter() - started:.1f}s — try: lifesync contacts export | head, "
         "lifesync config check")
    store.dispose()
    return total
