"""Retractions and restatements of conversions: what an adjustment is, and what it makes of its conversion.

A mapping's ``conversions:`` entry with ``adjust: retract`` or ``adjust: restate`` (a refund,
a cancellation, a deal reopened as lost) is an **adjustment** of the conversion(s) with the same
kind and order id. Pure rules, no I/O (``sync.ingest.adjustments`` stores and applies them):

- **Identity.** An adjustment's ``key`` is a digest of the record that made it (source, object,
  record id), the conversion it names (kind, order id) and what it says (action, value,
  currency) — not of its time: the same refund webhook delivered twice, or the record re-synced
  with an unrelated change, is one adjustment; a second partial refund (a new value) is another.
- **Matching.** An adjustment applies to every stored conversion of its brand, kind and order id
  that occurred at or before it. Another brand's order of the same id is another order (a
  refund Lumen's shop reports never retracts Glow's sale, ``sync.config.brands``). Not before
  it: Google refuses an adjustment dated before its conversion,
  ADJUSTMENT_PRECEDES_CONVERSION; and a deal lost, then won again later, is a new sale that an
  older retraction must not undo. One that matches nothing yet is kept, ``unmatched``, and
  applies when its conversion arrives: arrival order does not matter.
- **State.** A conversion's state follows from the set of its adjustments, whatever order they
  came in: retracted at its earliest retraction (final: Google refuses to restate a retracted
  conversion, CONVERSION_ALREADY_RETRACTED), else valued at its latest restatement by the
  adjustment's own time (ties broken by key), else as it was recorded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sync.config.types import DEFAULT_BRAND

RETRACT, RESTATE = "retract", "restate"


def adjustment_key(source: str, obj: str, record_id: str, kind: str, order_id: str, action: str,
                   value: float | None, currency: str | None, brand: str = DEFAULT_BRAND) -> str:
    """The adjustment's id: its record (and brand), the conversion it names and what it says (not its time)."""
    parts = ("adjustment", source, obj, record_id, kind, order_id, action,
             None if value is None else repr(float(value)), (currency or "").upper(),
             *(() if brand == DEFAULT_BRAND else (brand,)))
    return hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Adjustment:
    """One retraction or restatement, as stored."""

    key: str
    kind: str
    order_id: str
    action: str  # RETRACT | RESTATE
    occurred_at: datetime
    value: float | None = None
    currency: str | None = None
    brand: str = DEFAULT_BRAND


@dataclass(frozen=True)
class AdjustedState:
    """What a conversion's adjustments made of it (all None: as recorded)."""

    retracted_at: datetime | None = None
    adjusted_value: float | None = None
    adjusted_currency: str | None = None
    adjusted_at: datetime | None = None  # the time of the adjustment that decided the state

    def columns(self) -> dict[str, object]:
        """The ``conversion_events`` columns of this state."""
        return {"retracted_at": self.retracted_at, "adjusted_value": self.adjusted_value,
                "adjusted_currency": self.adjusted_currency, "adjusted_at": self.adjusted_at}


def applies(adjustment: Adjustment, kind: str, order_id: str | None, occurred_at: datetime,
            brand: str = DEFAULT_BRAND) -> bool:
    """True when ``adjustment`` adjusts ``brand``'s conversion of ``kind``/``order_id`` made at ``occurred_at``."""
    return (order_id is not None and adjustment.kind == kind and adjustment.order_id == order_id
            and adjustment.brand == brand and adjustment.occurred_at >= occurred_at)


def adjusted_state(kind: str, order_id: str | None, occurred_at: datetime, currency: str | None,
                   adjustments: Iterable[Adjustment], brand: str = DEFAULT_BRAND) -> AdjustedState:
    """The state the applicable ``adjustments`` give ``brand``'s conversion (see the module docstring)."""
    mine = [a for a in adjustments if applies(a, kind, order_id, occurred_at, brand)]
    retractions = sorted((a for a in mine if a.action == RETRACT), key=lambda a: (a.occurred_at, a.key))
    if retractions:
        first = retractions[0]
        return AdjustedState(retracted_at=first.occurred_at, adjusted_at=first.occurred_at)
    restatements = sorted((a for a in mine if a.action == RESTATE), key=lambda a: (a.occurred_at, a.key))
    if not restatements:
        return AdjustedState()
    last = restatements[-1]
    return AdjustedState(adjusted_value=last.value, adjusted_currency=(last.currency or currency),
                         adjusted_at=last.occurred_at)
