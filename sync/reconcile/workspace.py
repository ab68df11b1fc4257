"""Reconcile a batch of patches in memory: identity resolution, merges, survivorship, stages.

The store loads every contact a batch can touch into a Workspace (a fixed number of
queries), the Workspace applies the patches with no I/O at all, and the store writes the
difference back (a fixed number of statements). Everything a test needs to check the
reconciliation rules — order independence, idempotency, merge safety — lives here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sync.attribution.adjustments import adjustment_key
from sync.attribution.rules import sets_stage_signal, stage_changes
from sync.config.brands import DEFAULT_BRAND, ONE_BRAND, Brands
from sync.config.conversions import NO_RULES, ConversionRules
from sync.config.types import LifecycleConfig
from sync.errors import ReconcileError
from sync.reconcile import brands as funnels
from sync.reconcile import identity, lifecycle, snapshot
from sync.reconcile.brands import brand_part, brand_signals, conversion_event_id
from sync.reconcile.patch import IdentityRef, Patch
from sync.reconcile.state import (
    STAGE_SLOT,
    ContactState,
    Echo,
    Key,
    Outcome,
    add_signal,
    age,
    digest,
    echo_digest,
    signal_key,
)
from sync.reconcile.survivorship import (
    Candidate,
    choose,
    consent_purpose,
    consent_slot,
    consent_winner,
    disagreement,
    is_blank,
    kept,
    value_key,
)

__all__ = ["ContactState", "Echo", "Key", "Outcome", "Workspace", "add_signal", "digest", "echo_digest", "signal_key"]

@dataclass
class Workspace:
    """Contacts loaded for one batch and the rows the batch adds."""

    config: LifecycleConfig
    push_targets: frozenset[str] = frozenset()  # systems told about stage changes (sync.outbox.targets)
    crm_targets: tuple[Any, ...] = ()  # CRMs told about value and stage changes (sync.crm.plan.CrmTarget)
    conversion_rules: ConversionRules = NO_RULES  # conversions.yaml: on_stage, sets_stage (sync.config.conversions)
    conversion_destinations: frozenset[str] = frozenset()  # destinations whose credentials exist (sync.ingest.persist)
    brands: Brands = ONE_BRAND  # brands.yaml: each brand's lifecycle and rules (sync.config.brands)
    brand_push: tuple[Any, ...] = ()  # stage targets' connections of brands (sync.outbox.targets.BrandConnection)
    states: dict[Key, ContactState] = field(default_factory=dict)
    index: dict[IdentityRef, Key] = field(default_factory=dict)
    touchpoints: list[dict[str, Any]] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)
    conversions: list[dict[str, Any]] = field(default_factory=list)
    adjustments: list[dict[str, Any]] = field(default_factory=list)  # retractions/restatements of conversions
    moved_conversions: list[dict[str, Any]] = field(default_factory=list)  # rows that "replaces" an id, or withdraw it
    merges: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    landed: list[tuple[Key, Patch]] = field(default_factory=list)  # each applied patch (its refusals are issues)
    _new: int = 0
    _record_kinds: dict[str, set[str]] = field(default_factory=dict)  # signal reason → kinds its record carries
    _stage_rows: dict[Key, list[dict[str, Any]]] = field(default_factory=dict)  # stage conversions per contact
    _moved_rows: dict[Key, list[dict[str, Any]]] = field(default_factory=dict)  # moved stage entries per contact
    _entered: dict[tuple[Key, str], dict[str, list[str]]] = field(default_factory=dict)  # loaded stage entries

    def lifecycle_of(self, brand: str) -> LifecycleConfig:
        """The lifecycle whose stages ``brand``'s funnel moves through (its own, else the shared one)."""
        return funnels.lifecycle_of(self.brands, brand, self.config)

    def rules_of(self, brand: str) -> ConversionRules:
        """``brand``'s conversion rules (its own on_stage / sets_stage, else the shared ones)."""
        return funnels.rules_of(self.brands, brand, self.conversion_rules)

    # ---- loading -------------------------------------------------------------------
    def add_loaded(self, state: ContactState) -> None:
        """Register a contact read from the database."""
        state.loaded = state.snapshot()
        self.states[state.key] = state
        for ref in state.identities:
            self.index[ref] = state.key

    def live(self, key: Key) -> ContactState:
        """The state a key refers to now, following merges."""
        state = self.states[key]
        while state.merged_into is not None:
            state = self.states[state.merged_into]
        return state

    # ---- applying ------------------------------------------------------------------
    def validate(self, patch: Patch, refs: list[IdentityRef] | None = None) -> list[IdentityRef]:
        """Check a patch against the configuration before anything changes; its clean ids.

        ``refs``: the patch's identities already passed through ``identity.clean``.
        """
        if refs is None:
            refs = identity.patch_refs(patch, self.config)
        if not refs:
            raise ReconcileError(
                f"{patch.source} {patch.object} record {patch.record_id}: no usable identity "
                "(every identifier was blank or a junk value)"
            )
        if patch.source_time is None:  # the mapping engine always dates a record (never the epoch)
            raise ReconcileError(f"{patch.source} {patch.object} record {patch.record_id}: the patch has no time "
                                 "(neither the record's modified_at nor its arrival)")
        clash = identity.own_clash(refs, self.config)
        if clash:
            raise ReconcileError(
                f"{patch.source} {patch.object} record {patch.record_id}: carries two different {clash} ids"
            )
        brand_config, brand_rules = self.lifecycle_of(patch.brand), self.rules_of(patch.brand)
        if patch.stage is not None:  # apply() refuses an unknown one first (lifecycle.screened)
            lifecycle.check_stage(patch.stage, brand_config)
        for conv in patch.conversions:
            if conv.adjust is not None:
                continue
            if (stage := brand_rules.stage_for_kind(conv.kind)) is not None:
                lifecycle.check_stage(stage, brand_config)
        for act in patch.activities:
            if act.direction not in ("inbound", "outbound"):
                raise ReconcileError(
                    f"{patch.source} {patch.object} record {patch.record_id}: activity direction "
                    f"must be inbound or outbound, got {act.direction!r}"
                )
        return refs

    def apply(self, patch: Patch, refs: list[IdentityRef] | None = None) -> Outcome:
        """Apply one patch; raises ReconcileError (changing nothing) when it is invalid.

        A stage the lifecycle does not have is dropped and refused (``lifecycle.screened``); every
        applied patch is kept in ``landed``, its refusals to be written as data-quality issues.
        """
        patch = lifecycle.screened(patch, self.lifecycle_of(patch.brand))
        refs = self.validate(patch, refs)
        out = Outcome(refused=len(patch.refusals))
        primary = self._primary(patch, refs, out)
        before = primary.visible() if not out.created else None
        primary = self._link(patch, refs, primary, out)
        self._apply_fields(patch, primary, out)
        self._apply_events(patch, primary)
        self._default_stage(primary, patch)
        self._recompute_stage(primary)
        out.contact = primary.key
        out.changed = out.created or before != primary.visible()
        self.landed.append((primary.key, patch))
        return out

    def _new_state(self) -> ContactState:
        self._new += 1
        state = ContactState(key=f"new:{self._new}")
        self.states[state.key] = state
        return state

    def _default_stage(self, state: ContactState, patch: Patch) -> None:
        """A contact enters the default stage as of the earliest record that reports no stage.

        Only the earliest such signal can matter (later ones repeat the same stage from the
        same source, which replay ignores), so the state stays independent of arrival order.
        A record that reports a stage itself needs no default: the contact enters that stage.
        The reason names the record (stage conversions' event ids build on it); of two records
        at the same time the smaller reason is kept, whichever came first.
        """
        default_stage = self.lifecycle_of(patch.brand).default_stage
        if not default_stage or patch.stage is not None:
            return
        at: datetime = patch.source_time  # type: ignore[assignment]  # validate() made sure of it
        if any(s.source == "lifesync" and s.kind == "stage" and s.at < at and s.brand == patch.brand
               for s in state.signals):
            return
        reason = f"default stage: {patch.source} {patch.object} {patch.record_id}"
        if kinds := {c.kind for c in patch.conversions if c.adjust is None}:
            self._record_kinds.setdefault(reason, set()).update(kinds)
        add_signal(state, lifecycle.StageSignal(at=at, source="lifesync", kind="stage",
                                                stage=default_stage, reason=reason, brand=patch.brand))

    def _primary(self, patch: Patch, refs: list[IdentityRef], out: Outcome) -> ContactState:
        owners = [(ref, self.live(self.index[ref])) for ref in refs if ref in self.index]
        for ref, owner in owners:  # the record's own system id decides when it is known
            if self.config.identity_kind(ref.kind).exclusive:
                return owner
        for ref, owner in owners:  # else the best-ranked compatible owner
            if identity.merge_blocker(list(owner.identities), refs, ref.kind, self.config) is None:
                return owner
        if not patch.creates_contact:
            raise ReconcileError(
                f"{patch.source} {patch.object} record {patch.record_id}: no known contact holds its "
                f"{', '.join(sorted({r.kind for r in refs}))} (its mapping only adds to existing contacts; "
                "replay it once the contact is known)"
            )
        out.created = True
        return self._new_state()

    def _link(self, patch: Patch, refs: list[IdentityRef], primary: ContactState, out: Outcome) -> ContactState:
        for ref in refs:
            owner_key = self.index.get(ref)
            if owner_key is None:
                clash = self.config.identity_kind(ref.kind).exclusive and identity.exclusive_clash(
                    list(primary.identities), [ref], self.config)
                if clash:
                    self._blocked(primary, patch, ref, f"record's {clash} id differs from the contact's")
                    out.conflicts += 1
                    continue
                primary.identities[ref] = patch.source
                self.index[ref] = primary.key
                continue
            owner = self.live(owner_key)
            if owner is primary:
                continue
            reason = identity.merge_blocker(list(primary.identities), list(owner.identities), ref.kind, self.config)
            if reason:
                self._blocked(primary, patch, ref, reason, owner.key)
                out.conflicts += 1
                continue
            primary = self._merge(primary, owner, ref.kind, patch)
            out.merges += 1
        return primary

    def _blocked(self, primary: ContactState, patch: Patch, ref: IdentityRef, reason: str,
                 other: Key | None = None) -> None:
        """A merge the identity rules refused; ``other``: the contact holding ``ref`` (duplicate review)."""
        self.conflicts.append({
            "contact": primary.key, "field": f"identity:{ref.kind}", "rule": "merge_blocked",
            "winner_source": None, "candidates": [{"reason": reason, **({"other": other} if other else {})}],
            "source": patch.source, "record_id": patch.record_id,
        })

    def merge_on_purpose(self, a: Key, b: Key, actor: str) -> ContactState:
        """Merge two loaded contacts as an operator asked, overriding any blocker; the survivor.

        The same merge as identity resolution's (the older contact survives, survivorship picks
        the values, the stage is replayed from both histories), logged with ``actor``.
        """
        record = Patch(source="lifesync", object="merge", record_id=f"review:{actor}"[:255])
        kept = self._merge(self.live(a), self.live(b), "review", record, actor)
        self._recompute_stage(kept)
        return kept

    def recompute(self, state: ContactState) -> None:
        """Derive a contact's winning values and stage again from its candidates and signals (unmerge)."""
        state.attributes, state.consent = {}, {}
        self._recompute_fields(state, {name for name, _ in state.candidates})
        self._replay_stages(state)

    def _merge(self, a: ContactState, b: ContactState, via: str, patch: Patch,
               actor: str | None = None) -> ContactState:
        kept, gone = sorted((a, b), key=age)
        before = snapshot.absorb(kept, gone)  # with what each held, for an unmerge
        for ref in gone.identities:
            self.index[ref] = kept.key
        self.merges.append({"kept": kept.key, "merged": gone.key, "via": via, "source": patch.source,
                            "record_id": patch.record_id, "actor": actor, "snapshot": before})
        self._recompute_fields(kept, {f for f, _ in kept.candidates})
        return kept

    def _apply_fields(self, patch: Patch, primary: ContactState, out: Outcome) -> None:
        touched: set[str] = set()
        if patch.deleted:  # the record is gone from its system: none of its values count any more
            for slot in [s for s in primary.candidates if s[1] == patch.source]:
                del primary.candidates[slot]
                touched.add(slot[0])
            out.conflicts += self._recompute_fields(primary, touched, patch)
            return
        # A record carrying a value lifesync wrote to it was modified by that write: its other
        # values did not change then, so they keep the time they had (a record-level timestamp
        # would otherwise make every untouched field look brand new and win "newest").
        echoes = primary.echoes
        # consent is kept like a field, in the slot consent.<purpose>
        values = (*patch.fields, *((consent_slot(purpose), granted) for purpose, granted in patch.consent))
        ours = bool(echoes) and any((e := echoes.get((patch.echo_system, name))) is not None
                                    and e.digest == echo_digest(value) for name, value in values)
        for name, value in values:
            cand = Candidate(patch.source, value, patch.source_time, patch.record_id)
            echo = primary.echoes.get((patch.echo_system, name))
            if echo is not None:
                if echo.digest == echo_digest(value):
                    cand = cand._replace(source_time=echo.origin_time)  # our own push coming back
                else:
                    del primary.echoes[(patch.echo_system, name)]
            slot = (name, patch.source)
            old = primary.candidates.get(slot)
            if ours and old is not None and value_key(old.value) == value_key(value):
                continue
            keep = kept(name, old, cand)
            if keep is not old:
                primary.candidates[slot] = keep
                touched.add(name)
        out.conflicts += self._recompute_fields(primary, touched, patch)

    def _recompute_fields(self, state: ContactState, fields: set[str], patch: Patch | None = None) -> int:
        conflicts = 0
        by_field: dict[str, list[Candidate]] = {name: [] for name in fields}
        for (name, _), cand in state.candidates.items():
            if name in by_field:
                by_field[name].append(cand)
        for name in sorted(fields):
            cands = by_field[name]
            if (purpose := consent_purpose(name)) is not None:  # consent's own rule, never an attribute
                win = consent_winner(cands)
                if win is None:
                    state.consent.pop(purpose, None)
                else:
                    state.consent[purpose] = win.value
                continue
            if len(cands) == 1:  # one source knows this field: nothing to choose, no conflict
                if is_blank(cands[0].value):
                    state.attributes.pop(name, None)
                else:
                    state.attributes[name] = {"value": cands[0].value, "source": cands[0].source}
                continue
            cands.sort(key=lambda c: c.source)
            rule = self.config.rule_for(name)
            win = choose(rule, cands)
            if win is None:
                state.attributes.pop(name, None)
            else:
                state.attributes[name] = {"value": win.value, "source": win.source}
            if patch is not None and win is not None and disagreement(cands):
                conflicts += 1
                self.conflicts.append({
                    "contact": state.key, "field": name, "rule": rule.rule, "winner_source": win.source,
                    "candidates": [{"source": c.source, "value": c.value,
                                    "at": c.source_time.isoformat() if c.source_time else None}
                                   for c in cands],
                    "source": patch.source, "record_id": patch.record_id,
                })
        return conflicts

    def _apply_events(self, patch: Patch, primary: ContactState) -> None:
        at: datetime = patch.source_time  # type: ignore[assignment]  # validate() made sure of it
        reason = f"{patch.source} {patch.object} {patch.record_id}"
        if patch.stage is not None:
            add_signal(primary, lifecycle.StageSignal(at=at, source=patch.source, kind="stage",
                                                      stage=patch.stage, reason=reason, brand=patch.brand))
            echo = primary.echoes.get((patch.echo_system, STAGE_SLOT))
            if echo is not None and echo.digest != echo_digest(patch.stage):
                del primary.echoes[(patch.echo_system, STAGE_SLOT)]  # the system moved on from what lifesync told it
        for act in patch.activities:
            key = digest("activity", patch.source, act.channel, act.direction,
                         act.external_id or act.occurred_at.isoformat(), *brand_part(patch.brand))
            self.activities.append({"key": key, "contact": primary.key, "channel": act.channel,
                                    "direction": act.direction, "occurred_at": act.occurred_at,
                                    "external_id": act.external_id, "conversation_id": act.conversation_id,
                                    "source": patch.source, "brand": patch.brand})
            if act.direction == "inbound":
                add_signal(primary, lifecycle.StageSignal(at=act.occurred_at, source=patch.source,
                                                          kind="inbound_message", stage=None, reason=reason,
                                                          brand=patch.brand))
        for tp in patch.touchpoints:
            key = digest("touchpoint", patch.source, patch.record_id, tp.channel, tp.ad_id,
                         sorted(tp.click_ids), tp.occurred_at)
            self.touchpoints.append({"key": key, "contact": primary.key, "channel": tp.channel,
                                     "network": tp.network, "campaign_id": tp.campaign_id,
                                     "adset_id": tp.adset_id, "ad_id": tp.ad_id,
                                     "click_ids": dict(tp.click_ids), "referral_url": tp.referral_url,
                                     "headline": tp.headline, "extra": dict(tp.extra),
                                     "occurred_at": tp.occurred_at or patch.source_time,
                                     "source": patch.source, "record_id": patch.record_id, "brand": patch.brand})
        for conv in patch.conversions:
            if conv.adjust is not None and conv.order_id:  # validate() made sure it has a time
                self.adjustments.append({
                    "key": adjustment_key(patch.source, patch.object, patch.record_id, conv.kind, conv.order_id,
                                          conv.adjust, conv.value, conv.currency, patch.brand),
                    "contact": primary.key, "kind": conv.kind, "order_id": conv.order_id[:255],
                    "action": conv.adjust, "value": conv.value, "currency": conv.currency,
                    "occurred_at": conv.occurred_at or patch.source_time, "source": patch.source,
                    "object": patch.object, "record_id": patch.record_id[:255], "brand": patch.brand})
        conversions = [conv for conv in patch.conversions if conv.adjust is None]
        kinds = {conv.kind for conv in conversions}
        if kinds:
            self._record_kinds.setdefault(reason, set()).update(kinds)
        for conv in conversions:
            self.conversions.append({"event_id": conversion_event_id(patch, conv.kind),
                                     "contact": primary.key, "kind": conv.kind, "value": conv.value,
                                     "currency": conv.currency, "order_id": conv.order_id,
                                     "occurred_at": conv.occurred_at or at, "source": patch.source,
                                     "object": patch.object, "record_id": patch.record_id, "brand": patch.brand})
            signal = sets_stage_signal(self.rules_of(patch.brand), conv.kind, patch.source, conv.occurred_at or at,
                                       reason, patch.brand)
            if signal is not None:  # conversions.yaml sets_stage: e.g. a purchase makes a Customer
                self._record_kinds.setdefault(signal.reason, set()).update(kinds)
                add_signal(primary, signal)

    def _recompute_stage(self, state: ContactState) -> None:
        if state.loaded is not None and state.signals == state.loaded.signals:
            self._stage_conversions(state, changed=False)
            return
        self._replay_stages(state)
        self._stage_conversions(state, changed=True)

    def _replay_stages(self, state: ContactState) -> None:
        """The contact's stage and history in each brand: the replay of that brand's signals through its lifecycle."""
        result, state.brand_stages = funnels.replay_brands(state.signals, self.brands, self.config)
        state.stage, state.lost_stage, state.transitions = result.stage, result.lost_stage, result.transitions

    def _stage_conversions(self, state: ContactState, changed: bool) -> None:
        """Conversions for the stage entries the contact gained (conversions.yaml on_stage).

        Recomputed from the latest history on each patch, replacing the rows an earlier patch
        made for the contact or a contact merged into it: a batch's rows do not depend on the
        order of its records. The entries these contacts had when loaded converted then; one of
        them now with another cause (a late record moved it earlier) or gone from the history is
        in ``moved_conversions`` (a row that ``replaces`` the old event id, or only ``contact`` and
        ``replaces``: withdrawn; see ``sync.attribution.rules``), replaced the same way.
        """
        if not funnels.converts_on_stage(self.brands, self.conversion_rules):
            return
        keys = [state.key, *(m["merged"] for m in self.merges if self.live(m["merged"]) is state)]
        stale = {id(row) for key in keys for row in self._stage_rows.pop(key, ())}
        if stale:
            self.conversions[:] = [row for row in self.conversions if id(row) not in stale]
        stale = {id(row) for key in keys for row in self._moved_rows.pop(key, ())}
        if stale:
            self.moved_conversions[:] = [row for row in self.moved_conversions if id(row) not in stale]
        if not changed:
            return
        by_brand = brand_signals(state.signals, self.brands)
        loaded = [s for k in keys if (old := self.states[k].loaded) for s in old.signals]
        for brand in funnels.converting_brands(self.brands, by_brand, loaded):
            rules = self.rules_of(brand)
            if not rules.on_stage:
                continue
            history = state.transitions if brand == DEFAULT_BRAND else (
                state.brand_stages[brand].transitions if brand in state.brand_stages else ())
            found = stage_changes(history, rules, state.key, signals=by_brand.get(brand, ()),
                                  attributes=state.attributes, record_kinds=self._record_kinds, brand=brand,
                                  before=[self._entered_when_loaded(k, brand) for k in keys])
            if found.rows:
                self._stage_rows.setdefault(state.key, []).extend(found.rows)
                self.conversions.extend(found.rows)
            if moved := found.moved + found.withdrawn:
                self._moved_rows.setdefault(state.key, []).extend(moved)
                self.moved_conversions.extend(moved)

    def _entered_when_loaded(self, key: Key, brand: str = DEFAULT_BRAND) -> dict[str, list[str]]:
        """Event ids of the stage entries a contact had in ``brand`` when it was loaded (none for a new contact)."""
        if (key, brand) not in self._entered:
            loaded = self.states[key].loaded
            self._entered[(key, brand)] = funnels.entered_ids(
                loaded.signals if loaded is not None else (), self.brands, brand, self.config, self.conversion_rules)
        return self._entered[(key, brand)]

    def contacts(self) -> list[ContactState]:
        """Every live contact (not merged away)."""
        return [s for s in self.states.values() if s.merged_into is None]

    def merged_away(self) -> list[ContactState]:
        """Contacts loaded from the database that a merge absorbed this batch."""
        return [s for s in self.states.values() if s.merged_into is not None and isinstance(s.key, int)]
