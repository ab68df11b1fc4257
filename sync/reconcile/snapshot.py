"""What two contacts held when they merged, as JSON: the snapshot ``merge_log`` keeps for an unmerge.

A snapshot is taken just before a merge (:func:`absorb`, which the Workspace's merges call), of
both contacts: identities (with the source that added each), field candidates, stage signals and
echoes — the inputs every derived value (winning fields, stage, history) is recomputed from.
``sync.ingest.persist`` adds the row ids (touchpoints, activities, conversions, adjustments,
outbox items, data-quality issues) the absorbed contact brought. Pure: no I/O.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sync.config.brands import DEFAULT_BRAND
from sync.reconcile import lifecycle
from sync.reconcile.patch import IdentityRef
from sync.reconcile.state import ContactState, Echo, add_signal
from sync.reconcile.survivorship import Candidate
from sync.reconcile.survivorship import kept as keep

VERSION = 1
ROW_TABLES = ("touchpoints", "activities", "conversions", "adjustments", "outbox", "quality_issues")


def _ts(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def encode_state(state: ContactState) -> dict[str, Any]:
    """One contact's inputs as JSON-ready lists (sorted, so equal states give equal JSON)."""
    return {
        "identities": sorted([ref.kind, ref.value, source] for ref, source in state.identities.items()),
        "candidates": sorted(([name, source, c.value, _ts(c.source_time), c.record_id]
                              for (name, source), c in state.candidates.items()), key=lambda r: (r[0], r[1])),
        "signals": sorted([_ts(s.at), s.source, s.kind, s.stage, s.reason, s.brand] for s in state.signals),
        "echoes": sorted([system, name, e.digest, e.origin_source, _ts(e.origin_time)]
                         for (system, name), e in state.echoes.items()),
    }


def decode_state(key: Any, data: dict[str, Any]) -> ContactState:
    """The ContactState (inputs only: nothing derived) a :func:`encode_state` document describes."""
    state = ContactState(key=key)
    state.identities = {IdentityRef(kind, value): source for kind, value, source in data["identities"]}
    state.candidates = {(name, source): Candidate(source, value, _dt(at), record_id)
                        for name, source, value, at, record_id in data["candidates"]}
    state.signals = {lifecycle.StageSignal(at=_dt(at), source=source, kind=kind, stage=stage or None, reason=reason,
                                           brand=brand[0] if brand else DEFAULT_BRAND)
                     for at, source, kind, stage, reason, *brand in data["signals"]}  # no brand: before brands
    state.echoes = {(system, name): Echo(digest, origin, _dt(at))
                    for system, name, digest, origin, at in data["echoes"]}
    return state


def encode(kept: ContactState, gone: ContactState) -> dict[str, Any]:
    """The snapshot of a merge: both contacts as they were just before it (``rows`` filled at write time)."""
    return {"version": VERSION, "kept": encode_state(kept), "gone": encode_state(gone),
            "rows": {name: [] for name in ROW_TABLES}}


def absorb(kept: ContactState, gone: ContactState) -> dict[str, Any]:
    """Merge ``gone``'s inputs into ``kept`` (``gone`` marked merged into it); the snapshot of both from before.

    ``kept`` keeps its identities' sources and echoes, takes the newer candidate of each slot and
    every signal; its derived values are the caller's to recompute.
    """
    before = encode(kept, gone)
    for ref, source in gone.identities.items():
        kept.identities.setdefault(ref, source)
    for slot, cand in gone.candidates.items():
        kept.candidates[slot] = keep(slot[0], kept.candidates.get(slot), cand)
    for signal in gone.signals:
        add_signal(kept, signal)
    for slot, echo in gone.echoes.items():
        kept.echoes.setdefault(slot, echo)
    gone.merged_into = kept.key
    return before
