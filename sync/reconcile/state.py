"""What a Workspace holds per contact: its state as the batch sees it, and the small helpers around it.

``ContactState`` is one contact (identities, per-source candidates, stage signals, echoes of
values lifesync pushed, the derived attributes, consent and stage) plus the snapshot it was loaded
with, so only differences are written. ``stage``, ``lost_stage`` and ``transitions`` are the
default brand's; ``brand_stages`` holds the stage in each other brand the contact dealt with
(``sync.config.brands``), empty in an installation with one brand. ``digest`` gives the stable keys of idempotent rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sync.reconcile import lifecycle
from sync.reconcile.patch import IdentityRef
from sync.reconcile.survivorship import Candidate, consent_purpose, consent_slot, consent_winner, value_key

STAGE_SLOT = "stage"  # the echo slot of a pushed stage (no mapping field has this name)

Key = int | str  # database id, or "new:N" for a contact created in this batch


def digest(*parts: Any) -> str:
    """A stable hex key for rows that must be idempotent (touchpoints, activities, events)."""
    return hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode()).hexdigest()


def echo_digest(value: Any) -> str:
    """The fingerprint of a pushed value, compared when the value comes back."""
    return digest(value_key(value))


@dataclass(frozen=True)
class Echo:
    """A value lifesync pushed to ``system``: when it comes back it keeps its origin time."""

    digest: str
    origin_source: str
    origin_time: datetime | None


@dataclass(eq=False)
class ContactState:
    """One contact as the batch sees it, plus what was loaded (to write only differences)."""

    key: Key
    identities: dict[IdentityRef, str] = field(default_factory=dict)
    candidates: dict[tuple[str, str], Candidate] = field(default_factory=dict)
    signals: set[lifecycle.StageSignal] = field(default_factory=set)
    echoes: dict[tuple[str, str], Echo] = field(default_factory=dict)
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    consent: dict[str, bool] = field(default_factory=dict)  # purpose → granted, as contacts.consent holds it
    stage: str | None = None
    lost_stage: str | None = None
    transitions: tuple[lifecycle.Transition, ...] = ()
    brand_stages: dict[str, lifecycle.StageState] = field(default_factory=dict)  # other brands: stage, history
    merged_into: Key | None = None
    loaded: ContactState | None = None

    def snapshot(self) -> ContactState:
        """A copy to diff against at write time."""
        return ContactState(
            key=self.key, identities=dict(self.identities), candidates=dict(self.candidates),
            signals=set(self.signals), echoes=dict(self.echoes), attributes=dict(self.attributes),
            consent=dict(self.consent), stage=self.stage, lost_stage=self.lost_stage, transitions=self.transitions,
            brand_stages=dict(self.brand_stages),
        )

    def visible(self) -> tuple[Any, ...]:
        """What a reader sees: identities, winning values, consent, stage (for changed/unchanged)."""
        return (frozenset(self.identities), value_key(self.attributes), tuple(sorted(self.consent.items())),
                self.stage, self.lost_stage, self.brand_positions())

    def winner(self, name: str) -> dict[str, Any] | None:
        """``{"value", "source"}`` of a field's winner, or a consent purpose's (``consent.<purpose>``); else None."""
        purpose = consent_purpose(name)
        if purpose is None:
            return self.attributes.get(name)
        if purpose not in self.consent:
            return None
        win = consent_winner(c for (f, _), c in self.candidates.items() if f == consent_slot(purpose))
        return None if win is None else {"value": win.value, "source": win.source}

    def brand_positions(self) -> tuple[tuple[str, str | None, str | None], ...]:
        """(brand, stage, lost stage) in every other brand, sorted: what ``contact_stages`` holds."""
        return tuple(sorted((b, s.stage, s.lost_stage) for b, s in self.brand_stages.items()))


@dataclass
class Outcome:
    """What applying one patch did."""

    created: bool = False
    changed: bool = False
    merges: int = 0
    conflicts: int = 0
    refused: int = 0  # values the record's mapping or lifecycle refused (its patch's refusals)
    contact: Key | None = None


def signal_key(signal: lifecycle.StageSignal) -> tuple[Any, ...]:
    """What makes two signals the same observation (the reason text is not part of it)."""
    return (signal.at, signal.source, signal.kind, signal.stage, signal.brand)


def add_signal(state: ContactState, signal: lifecycle.StageSignal) -> None:
    """Add a signal; of two records reporting the same observation the smaller reason is kept.

    Keeping one per observation, chosen by value, keeps the stored rows unique and the stage
    history's wording independent of which record arrived first.
    """
    key = signal_key(signal)
    for old in state.signals:
        if signal_key(old) == key:
            if signal.reason < old.reason:
                state.signals.discard(old)
                state.signals.add(signal)
            return
    state.signals.add(signal)


def age(state: ContactState) -> tuple[int, int]:
    """Older first: database ids before new contacts, then by id / creation order."""
    if isinstance(state.key, int):
        return (0, state.key)
    return (1, int(state.key.split(":")[1]))
