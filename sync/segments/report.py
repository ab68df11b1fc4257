"""Each segment as the HTML report shows it: its summary, its size a day, its audiences' state.

Gathered with the ops surfaces' own service functions (``sync.segments.service.summaries`` and
``sizes_over_time``, ``sync.segments.audiences.status.audience_status``): no query of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sync.segments.audiences.status import audience_status
from sync.segments.service import sizes_over_time, summaries
from sync.store.engine import Store

DAYS = 30


@dataclass(frozen=True)
class SegmentState:
    """One segment: ``summaries``' row, its size at the end of each of the last ``DAYS`` days, its audiences."""

    summary: dict[str, Any]
    sizes: list[tuple[str, int]]
    audiences: list[dict[str, Any]]
    unsynced: list[str]  # destinations of the segment never synced

    @property
    def changed(self) -> bool:
        """Whether the size moved over the days shown (a history worth a chart, not one step from nothing)."""
        held = [n for _day, n in self.sizes if n]
        return len(held) > 1 and len(set(held)) > 1


def segment_states(store: Store, segments: Sequence[Any], days: int = DAYS,
                   now: datetime | None = None) -> list[SegmentState]:
    """Every segment's state, in the order given."""
    out = []
    for summary in summaries(store, list(segments)):
        audiences = audience_status(store, summary["key"])
        synced = {a["destination"] for a in audiences}
        out.append(SegmentState(summary, sizes_over_time(store, summary["key"], days, now), audiences,
                                [d for d in summary["destinations"] if d not in synced]))
    return out
