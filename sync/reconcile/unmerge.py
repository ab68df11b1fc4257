"""Split a merged contact back into the two it was made of, from the merge's snapshot. Pure: no I/O.

What each contact held when they merged goes back to it. What changed since is given to the
contact its record came from: a candidate by its ``(source, record_id)``, a stage signal by
the record its reason names, a row by its ``(source, record_id)``. A record is the absorbed
contact's when its snapshot knows it (a candidate or signal of that record, or an identity
whose value is the record's id in that system) and the survivor's does not; anything else —
a record neither knew, an identity first seen after the merge, an echo of a later push — stays
with the survivor. Winning values and stages are then recomputed by the reconcile code
(``Workspace.recompute``), never here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sync.reconcile.snapshot import decode_state
from sync.reconcile.state import ContactState, Key, signal_key
from sync.reconcile.survivorship import kept

DEFAULT_PREFIX = "default stage: "


def record_of_reason(reason: str) -> tuple[str, str] | None:
    """The ``(source, record_id)`` a stage signal's reason names (``"<source> <object> <record id>"``), or None."""
    parts = reason.removeprefix(DEFAULT_PREFIX).split(" ", 2)
    return (parts[0], parts[2]) if len(parts) == 3 else None


def records_of(state: ContactState) -> set[tuple[str, str]]:
    """Every ``(source, record_id)`` a contact's inputs name (candidates, signals, its ids in each system)."""
    out = {(c.source, c.record_id) for c in state.candidates.values() if c.record_id}
    out |= {rec for s in state.signals if (rec := record_of_reason(s.reason)) is not None}
    out |= {(source, ref.value) for ref, source in state.identities.items()}
    return out


@dataclass
class Split:
    """The two contacts an unmerge makes (inputs only), and whose each record is."""

    kept: ContactState
    gone: ContactState
    gone_records: set[tuple[str, str]] = field(default_factory=set)
    kept_records: set[tuple[str, str]] = field(default_factory=set)

    def owner(self, source: str | None, record_id: str | None) -> str:
        """``"gone"`` when the record is the absorbed contact's alone, else ``"kept"``."""
        rec = (source or "", record_id or "")
        return "gone" if rec in self.gone_records and rec not in self.kept_records else "kept"

    def side(self, name: str) -> ContactState:
        """The state called ``name`` (``kept`` or ``gone``)."""
        return self.gone if name == "gone" else self.kept


def split(merged: ContactState, snap: dict[str, Any], gone_key: Key) -> Split:
    """The survivor (``merged.key``) and the absorbed contact (``gone_key``) rebuilt from ``snap``."""
    was_kept, was_gone = decode_state(merged.key, snap["kept"]), decode_state(gone_key, snap["gone"])
    out = Split(ContactState(key=merged.key), ContactState(key=gone_key),
                records_of(was_gone), records_of(was_kept))
    for ref, source in merged.identities.items():
        side = out.gone if ref in was_gone.identities and ref not in was_kept.identities else out.kept
        side.identities[ref] = source
    for slot, cand in merged.candidates.items():
        k0, g0 = was_kept.candidates.get(slot), was_gone.candidates.get(slot)
        merged0 = kept(slot[0], k0, g0) if k0 is not None and g0 is not None else (k0 or g0)
        if cand != merged0:  # changed since the merge: its record's contact has it, the other keeps its own
            owner = out.owner(cand.source, cand.record_id)
            k0, g0 = (k0, cand) if owner == "gone" else (cand, g0)
        if k0 is not None:
            out.kept.candidates[slot] = k0
        if g0 is not None:
            out.gone.candidates[slot] = g0
    _split_signals(out, merged.signals, was_kept, was_gone)
    for slot, echo in merged.echoes.items():
        k0, g0 = was_kept.echoes.get(slot), was_gone.echoes.get(slot)
        if echo not in (k0, g0):  # a later push: the survivor's
            k0, g0 = echo, None
        if k0 is not None:
            out.kept.echoes[slot] = k0
        if g0 is not None:
            out.gone.echoes[slot] = g0
    return out


def _split_signals(out: Split, signals: Iterable[Any], was_kept: ContactState, was_gone: ContactState) -> None:
    """Each signal to the contact(s) that had it (its own wording), a later one to its record's contact."""
    kept_keys = {signal_key(s): s for s in was_kept.signals}
    gone_keys = {signal_key(s): s for s in was_gone.signals}
    for signal in signals:
        key = signal_key(signal)
        if key in kept_keys or key in gone_keys:
            if key in kept_keys:
                out.kept.signals.add(kept_keys[key])
            if key in gone_keys:
                out.gone.signals.add(gone_keys[key])
            continue
        rec = record_of_reason(signal.reason) or ("", "")
        out.side(out.owner(*rec)).signals.add(signal)
