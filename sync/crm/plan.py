"""CRM write-back planning: which canonical values a CRM lacks, decided where they change.

For every contact a batch touches, ``plan`` compares the winning value of each field a
system's mappings send ``out`` (and the current stage, when a mapping writes the stage) with
what that system itself last reported. What differs becomes one outbox row, written in the
same transaction as the change (``sync.ingest.persist``), and an echo record per value: when the
value comes back from the system on the next pull it keeps its origin's time and is not a
change, and until then the same value is not planned again. That is the whole ping-pong
guard: a value HubSpot reported is never pushed back to HubSpot, a value pushed to
Salesforce comes back as an echo, so a HubSpot → lifesync → Salesforce → lifesync round trip
ends with nothing left to push.

Only contacts the system can address are planned: one with the system's own id, or with an
e-mail address (both CRMs match contacts by e-mail; creating records for chat-only contacts
with no e-mail would fill a CRM with nameless leads).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sync.outbox.rows import crm_row
from sync.reconcile.patch import IdentityRef
from sync.reconcile.state import STAGE_SLOT
from sync.reconcile.survivorship import is_blank, value_key
from sync.reconcile.workspace import ContactState, Echo, digest, echo_digest

if TYPE_CHECKING:
    from sync.config import Config

STAGE = STAGE_SLOT  # the echo slot of the stage

# identity kinds that name a contact in each CRM, best first
CRM_IDENTITY_KINDS: dict[str, tuple[str, ...]] = {
    "hubspot": ("hubspot",),
    "salesforce": ("salesforce", "salesforce_lead"),
}


@dataclass(frozen=True)
class CrmTarget:
    """A CRM lifesync writes to: the canonical fields its mappings send out, and whether the stage."""

    system: str
    fields: frozenset[str]
    stage: bool
    identity_kinds: tuple[str, ...]


def crm_targets(config: Config, names: Iterable[str]) -> tuple[CrmTarget, ...]:
    """The CRM targets among ``names`` (enabled systems), from the loaded mappings."""
    out = []
    for system in sorted(set(names) & set(CRM_IDENTITY_KINDS)):
        mappings = [m for (source, _), m in config.mappings.items() if source == system]
        fields = frozenset(f for m in mappings for f in m.out_fields())
        stage = any(m.stage is not None and m.stage.direction != "in" for m in mappings)
        if fields or stage:
            out.append(CrmTarget(system, fields, stage, CRM_IDENTITY_KINDS[system]))
    return tuple(out)


def _last_stage(state: ContactState, system: str) -> str | None:
    reports = [s for s in state.signals if s.source == system and s.kind == "stage" and s.stage]
    return max(reports, key=lambda s: s.at).stage if reports else None


def addressable(identities: Iterable[IdentityRef], target: CrmTarget) -> bool:
    """Whether the system can be told about this contact (its own id, or an e-mail to match on)."""
    return any(ref.kind in target.identity_kinds or ref.kind == "email" for ref in identities)


def plan(state: ContactState, contact_id: int, target: CrmTarget) -> dict[str, Any] | None:
    """The outbox row telling ``target`` what it lacks of this contact (None: nothing), echoes recorded."""
    if not addressable(state.identities, target):
        return None
    values: dict[str, Any] = {}
    known: dict[str, Any] = {}
    for name in sorted(target.fields):
        win = state.attributes.get(name)
        if win is None or is_blank(win["value"]) or win["source"] == target.system:
            continue
        own = state.candidates.get((name, target.system))
        if own is not None and value_key(own.value) == value_key(win["value"]):
            continue
        echo = state.echoes.get((target.system, name))
        if echo is not None and echo.digest == echo_digest(win["value"]):
            continue  # already on its way (or there)
        values[name] = win["value"]
        known[name] = None if own is None else own.value
        source = state.candidates.get((name, win["source"]))
        state.echoes[(target.system, name)] = Echo(echo_digest(win["value"]), win["source"],
                                                   source.source_time if source else None)
    stage = state.lost_stage or state.stage
    known_stage = _last_stage(state, target.system)
    push_stage = None
    if target.stage and stage and stage != known_stage:
        echo = state.echoes.get((target.system, STAGE))
        if echo is None or echo.digest != echo_digest(stage):
            push_stage = stage
            last = state.transitions[-1] if state.transitions else None
            state.echoes[(target.system, STAGE)] = Echo(echo_digest(stage), last.source if last else "lifesync",
                                                        last.at if last else None)
    if not values and push_stage is None:
        return None
    payload = {"values": values, "stage": push_stage, "known_values": known, "known_stage": known_stage}
    # what made these the winners (source and its time per field, the last stage move): the same change
    # planned twice gives one row, a value that returns later (A → B → A) gives a new one
    cause = sorted((name, state.attributes[name]["source"],
                    str(getattr(state.candidates.get((name, state.attributes[name]["source"])), "source_time", "")))
                   for name in values)
    last = state.transitions[-1] if state.transitions else None
    key = digest(value_key(payload), value_key(cause), last.at if last and push_stage else "")
    return crm_row(target.system, contact_id, key, payload)
