"""What the demo prints after the story: conflicts, dead letters, funnel, lost stages, attribution, networks."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from sync.attribution.networks import network
from sync.demo.funnel import funnel
from sync.ingest.pipeline import IngestResult
from sync.reports.attribution import attribution
from sync.store import model

if TYPE_CHECKING:
    from sync.attribution.adnames.resolve import ResolveResult
    from sync.config import Config
    from sync.store.engine import Store


def explain(store: Store, config: Config, total: IngestResult, networks: dict[str, dict[str, Any]],
            echo: Callable[[str], None], hint: Callable[[str], str], names: ResolveResult | None = None) -> None:
    """Print the sections of the demo's closing report; ``hint(ARGS)`` spells a ``lifesync ARGS`` to suggest."""
    with store.transaction() as s:
        rules = s.execute(select(model.ConflictLog.rule, model.ConflictLog.field, func.count())
                          .group_by(model.ConflictLog.rule, model.ConflictLog.field)
                          .order_by(func.count().desc()).limit(8)).all()
        dead = s.execute(select(model.DeadLetter.stage, model.DeadLetter.source, model.DeadLetter.object,
                                func.count()).group_by(model.DeadLetter.stage, model.DeadLetter.source,
                                                       model.DeadLetter.object)).all()
        report = funnel(s, config.lifecycle)
        credit = attribution(s, config)
    echo(f"{total.conflicts:,} conflicting values resolved by survivorship rules (top field/rule pairs):")
    for rule, field, n in rules:
        echo(f"  {field:<22} {rule:<14} {n:>6}")
    if dead:
        echo(f"{sum(n for *_, n in dead):,} records or pushes went to the dead-letter table "
             f"({hint('deadletter list')}):")
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
    _other_brands(store, config, echo)
    echo("")
    echo(f"Attribution (last touch): {credit.conversions:,} conversions, {credit.unattributed:,} with no ad touch")
    echo("  by channel:  " + ", ".join(f"{r.key or '-'} {r.conversions:,}" for r in credit.last_touch.channel[:6]))
    if names is not None:
        echo("  ad names from the ad networks: " + (", ".join(
            f"{net} {names.named.get(net, 0):,} named, {names.refused.get(net, 0):,} refused in "
            f"{names.requests:,} requests" for net in sorted(names.asked)) or "nothing to look up")
             + "".join(f"; {net}: {why}" for net, why in sorted(names.errors.items())))
    width = max((len(r.label) for r in (*credit.last_touch.campaign[:8], *credit.last_touch.adset[:5])), default=10)
    for r in credit.last_touch.campaign[:8]:
        value = ", ".join(f"{v:,.0f} {c}" for c, v in sorted(r.value.items()))
        echo(f"  campaign {r.label:<{width}} {r.conversions:>6,} conversions  {value}")
    for r in credit.last_touch.adset[:5]:
        echo(f"  ad set   {r.label:<{width}} {r.conversions:>6,} conversions")
    echo("")
    echo("What each ad network accepted (sandboxes)")
    for name, n in sorted(networks.items()):
        names = ", ".join(f"{k} {v:,}" for k, v in n["events"].items())
        extra = (f"; {n['business_messaging']:,} as business messaging, {n['with_ctwa_clid']:,} with a ctwa_clid"
                 if network(n["network"]).business_messaging else "")
        via = f" to the {n['vendor']}" if n.get("vendor") else ""
        echo(f"  {name:<8} sent {n['sent']:,}{via} in {n['requests']:,} requests, refused {n['failed']:,} "
             f"(dead letters), too old for the network {n['expired']:,}; accepted {n['accepted']:,}{extra}")
        if names:
            echo(f"           {names}")


def _other_brands(store: Store, config: Config, echo: Callable[[str], None]) -> None:
    """Each other brand's own funnel, and how many of its contacts the default brand knows too (one person each)."""
    brands = getattr(config, "brands", None)
    if brands is None or not brands.several:
        return
    with store.transaction() as s:
        for brand in brands.brands[1:]:
            report = funnel(s, config, brand=brand.key)
            cs, c = model.ContactStage, model.Contact
            shared = s.scalar(select(func.count()).select_from(cs).join(c, c.id == cs.contact_id).where(
                cs.brand == brand.key, c.stage.is_not(None)))
            echo(f"Funnel of {brand.name} (brand {brand.key}): {report.totals['contacts']:,} contacts, {shared:,} of "
                 f"them in the {brands.brands[0].name} funnel too (one person each, with a stage in each brand)")
            for row in report.active:
                share = f"{row.to_next:6.1%}" if row.to_next is not None else "      "
                echo(f"  {row.stage:<16} {row.phase:<13} {row.current:>10} {row.entered:>9}  {share}")
