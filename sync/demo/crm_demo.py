"""The demo's CRM part: the world's HubSpot and Salesforce sandboxes pulled and written back by the real connectors."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import fakeredis

from sync.crm.run import CRM_SYSTEMS, sync_connection
from sync.ingest.pipeline import IngestResult

if TYPE_CHECKING:
    from sync.config import Config
    from sync.store.engine import Store

__all__ = ["CRM_SYSTEMS", "CrmDemo", "crm_sync"]

MAX_ROUNDS = 4


@dataclass
class CrmDemo:
    """What the CRM part did, for the demo to print."""

    url: str = ""
    api_calls: dict[str, int] = field(default_factory=dict)
    pushed: dict[str, dict[str, int]] = field(default_factory=dict)
    refused_values: Counter = field(default_factory=Counter)
    echo_runs: dict[int, int] = field(default_factory=dict)  # round -> records pushed in that round

    def summary(self) -> str:
        """A few lines on the pulls, the write-back and the echo check."""
        lines = [f"CRM sandboxes at {self.url}: pulled through the HubSpot and Salesforce connectors "
                 f"({self.api_calls.get('hubspot', 0):,} and {self.api_calls.get('salesforce', 0):,} API calls)."]
        for system, counts in sorted(self.pushed.items()):
            lines.append(f"  written back to {system}: {counts.get('sent', 0):,} records in "
                         f"{counts.get('requests', 0):,} batch requests, {counts.get('dead', 0):,} refused "
                         f"(lifesync deadletter list), {counts.get('conflicts', 0):,} ambiguous matches")
        if self.echo_runs:
            rounds = ", ".join(f"{n:,}" for n in self.echo_runs.values())
            settled = "settled" if list(self.echo_runs.values())[-1] == 0 else "NOT settled"
            lines.append(f"  then syncing both again until nothing moves: {rounds} records pushed per round — "
                         f"{settled}, no ping-pong")
        if self.refused_values:
            top = ", ".join(f"{k} ×{n}" for k, n in self.refused_values.most_common(3))
            lines.append(f"  values the Salesforce org refused at import (as in a real org): {top}")
        return "\n".join(lines)


def crm_sync(world: Any, store: Store, config: Config, row: Callable[[str, str, IngestResult], None]) -> CrmDemo:
    """Sync each CRM sandbox of ``world``, write back what each lacks, then sync until nothing moves."""
    out = CrmDemo(url=world.server.url, refused_values=world.refused_values)
    # the connectors' rate budgets in one in-process store, as `lifesync sync` keeps them in its embedded Redis:
    # HubSpot's searches are paced at its 4 per second per token instead of running into the sandbox's 429s
    redis = fakeredis.FakeRedis()
    for system in CRM_SYSTEMS:
        report = sync_connection(system, "default", settings=world.settings, store=store, config=config,
                                 redis=redis, push=False)
        for obj, counts in report["objects"].items():
            row(system, obj, IngestResult(**{k: v for k, v in counts.items() if k in IngestResult.__annotations__}))
    for system in CRM_SYSTEMS:  # what each CRM lacks, now that both were read
        report = sync_connection(system, "default", settings=world.settings, store=store, config=config, redis=redis)
        out.pushed[system] = report.get("pushed", {})
    # each write comes back as an echo on the next pull; messy records may still settle a value or
    # two (a CRM filling a default, a merge that joined two records), then nothing moves
    for rounds in range(1, MAX_ROUNDS + 1):
        moved = 0
        for system in CRM_SYSTEMS:
            report = sync_connection(system, "default", settings=world.settings, store=store, config=config,
                                     redis=redis)
            moved += report.get("pushed", {}).get("sent", 0)
        out.echo_runs[rounds] = moved
        if moved == 0:
            break
    out.api_calls = {"hubspot": world.hubspot.api_calls, "salesforce": world.salesforce.api_calls}
    return out
