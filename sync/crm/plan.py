"""CRM write-back planning: which canonical values a CRM lacks, decided where they change.

For every contact a batch touches, ``plan`` compares the winning value of each field (and
consent purpose, ``consent.<purpose>``) a system's mappings send ``out`` (and the current
stage, when a mapping writes the stage) with what that system itself last reported. What
differs becomes one outbox row, written in the same transaction as the change
(``sync.ingest.persist``), and an echo record per value: when the value comes back from the
system on the next pull it keeps its origin's time and is not a change, and until then the
same value is not planned again. That is the whole ping-pong guard: a value HubSpot reported
is never pushed back to HubSpot, a value pushed to Salesforce comes back as an echo, so a
HubSpot → lifesync → Salesforce → lifesync round trip ends with nothing left to push.

Only contacts the system can address are planned: one with the system's own id, or with an
e-mail address (both CRMs match contacts by e-mail; creating records for chat-only contacts
with no e-mail would fill a CRM with nameless leads).

**Brands** (``sync.config.brands``): a CRM connection belongs to a brand (brands.yaml
``connections: [hubspot:lumen]``; the default connection, and every connection no brand lists,
to the default brand). The stage written to a connection is its brand's stage of the contact,
and only the brand's contacts are written there (for the default brand: those with a stage in
it, or in no brand). A connection other than the default one is its own outbox destination,
``<system>/<connection>``, with its own echoes; only connections brands.yaml gives to a brand
are written to besides the default one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sync.config.brands import DEFAULT_BRAND, ONE_BRAND
from sync.outbox.rows import crm_row
from sync.reconcile.identity import in_namespace
from sync.reconcile.patch import IdentityRef, destination
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
    """A CRM connection lifesync writes to: the canonical fields its mappings send out, whether the stage,
    and the brand whose stage and contacts it gets.
    """

    system: str
    fields: frozenset[str]
    stage: bool
    identity_kinds: tuple[str, ...]
    connection: str = "default"
    brand: str = DEFAULT_BRAND

    @property
    def destination(self) -> str:
        """The outbox destination (and echo system) of this connection: ``hubspot``, ``hubspot/lumen``."""
        return crm_destination(self.system, self.connection)


def crm_destination(system: str, connection: str = "default") -> str:
    """A CRM connection's outbox destination: the system for the default connection, else ``<system>/<connection>``."""
    return destination(system, connection)


def crm_targets(config: Config, names: Iterable[str],
                connections: Mapping[str, Sequence[str]] | None = None) -> tuple[CrmTarget, ...]:
    """The CRM targets from the loaded mappings: the default connection of each system among ``names`` (enabled
    systems), and each connection of ``connections`` (per system, those with credentials) a brand owns.
    """
    brands = getattr(config, "brands", None) or ONE_BRAND
    out = []
    for system in sorted(CRM_IDENTITY_KINDS):
        mappings = [m for (source, _), m in config.mappings.items() if source == system]
        fields = frozenset(f for m in mappings for f in m.out_fields())
        stage = any(m.stage is not None and m.stage.direction != "in" for m in mappings)
        owned = [c for c in (connections or {}).get(system, ()) if brands.brand_of(system, c) != DEFAULT_BRAND]
        for connection in (["default"] if system in names else []) + sorted(set(owned) - {"default"}):
            if fields or stage:
                out.append(CrmTarget(system, fields, stage, CRM_IDENTITY_KINDS[system], connection,
                                     brands.brand_of(system, connection)))
    return tuple(out)


def _last_stage(state: ContactState, system: str, brand: str = DEFAULT_BRAND) -> str | None:
    reports = [s for s in state.signals if s.source == system and s.kind == "stage" and s.stage and s.brand == brand]
    return max(reports, key=lambda s: s.at).stage if reports else None


def brand_position(state: ContactState, brand: str) -> tuple[str | None, tuple[Any, ...]] | None:
    """(stage now — the lost stage while lost —, stage history) of the contact in ``brand``; None: not its contact.

    A contact belongs to the default brand when it has a stage there or in no brand at all.
    """
    if brand == DEFAULT_BRAND:
        if state.stage is None and state.lost_stage is None and state.brand_stages:
            return None
        return state.lost_stage or state.stage, tuple(state.transitions)
    staged = state.brand_stages.get(brand)
    return None if staged is None else (staged.lost_stage or staged.stage, tuple(staged.transitions))


def addressable(identities: Iterable[IdentityRef], target: CrmTarget) -> bool:
    """Whether the system can be told about this contact (its own id there, or an e-mail to match on).

    Its own id: one of the connection's namespace (``sync.reconcile.identity.in_namespace``; bare ids
    for the default connection), never another portal's.
    """
    namespace = None if target.connection == "default" else target.connection
    return any(ref.kind == "email" or (ref.kind in target.identity_kinds
                                       and in_namespace(ref.value, namespace) is not None) for ref in identities)


def plan(state: ContactState, contact_id: int, target: CrmTarget) -> dict[str, Any] | None:
    """The outbox row telling ``target`` what it lacks of this contact (None: nothing), echoes recorded."""
    position = brand_position(state, target.brand)
    if position is None or not addressable(state.identities, target):
        return None
    stage, transitions = position
    echo_system = target.destination
    values: dict[str, Any] = {}
    known: dict[str, Any] = {}
    winners: dict[str, dict[str, Any]] = {}
    for name in sorted(target.fields):
        win = state.winner(name)  # a field's, or a consent purpose's (consent.<purpose>)
        if win is None or is_blank(win["value"]) or win["source"] == target.system:
            continue
        own = state.candidates.get((name, target.system))
        if own is not None and value_key(own.value) == value_key(win["value"]):
            continue
        echo = state.echoes.get((echo_system, name))
        if echo is not None and echo.digest == echo_digest(win["value"]):
            continue  # already on its way (or there)
        values[name], winners[name] = win["value"], win
        known[name] = None if own is None else own.value
        source = state.candidates.get((name, win["source"]))
        state.echoes[(echo_system, name)] = Echo(echo_digest(win["value"]), win["source"],
                                                 source.source_time if source else None)
    known_stage = _last_stage(state, target.system, target.brand)
    last = transitions[-1] if transitions else None
    push_stage = None
    if target.stage and stage and stage != known_stage:
        echo = state.echoes.get((echo_system, STAGE))
        if echo is None or echo.digest != echo_digest(stage):
            push_stage = stage
            state.echoes[(echo_system, STAGE)] = Echo(echo_digest(stage), last.source if last else "lifesync",
                                                      last.at if last else None)
    if not values and push_stage is None:
        return None
    payload = {"values": values, "stage": push_stage, "known_values": known, "known_stage": known_stage}
    # what made these the winners (source and its time per field, the last stage move): the same change
    # planned twice gives one row, a value that returns later (A → B → A) gives a new one
    cause = sorted((name, winners[name]["source"],
                    str(getattr(state.candidates.get((name, winners[name]["source"])), "source_time", "")))
                   for name in values)
    key = digest(value_key(payload), value_key(cause), last.at if last and push_stage else "")
    return crm_row(target.destination, contact_id, key, payload)
