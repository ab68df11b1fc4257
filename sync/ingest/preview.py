"""Preview of effect: what one record would do to the current state, computed by the real pipeline, writing nothing.

``preview_effect`` maps the record with the given mapping (saved or not), loads the contacts its
identities reach exactly as a batch would (``persist.load_workspace``), applies the patch with the
workspace's own reconcile, and plans the writes (``persist.plan_writes``) — the same code every
ingest, sync, webhook drain and replay runs. The planned rows are then described instead of written:
which field winners change and by which survivorship rule, stage transitions, conversions that would
fire and the destinations they would be queued for, write-backs (outbox rows), merges and conflicts.

Nothing is written, so nothing needs rolling back: not a row, not a sequence value (a rolled-back
insert would still advance PostgreSQL's sequences). New contacts get placeholder ids below zero.
The read happens in one transaction that ends in a rollback; it holds the reconcile lock while it
reads, like any batch, so the state it sees is consistent.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.config import Config
from sync.config.types import DEFAULT_BRAND
from sync.errors import RecordError
from sync.ingest.persist import load_workspace, plan_writes, split_conversions
from sync.ingest.storable import unstorable
from sync.mappings.engine import apply as apply_mapping
from sync.mappings.specs import Mapping
from sync.outbox.effects import Effects
from sync.reconcile.identity import patch_refs
from sync.reconcile.state import ContactState
from sync.store import model
from sync.store.engine import Store


def _placeholder_ids(n: int) -> list[int]:
    """Ids for contacts the record would create: -1, -2, … (never a real row's)."""
    return [-(i + 1) for i in range(n)]


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _winner(state: ContactState | None, field: str) -> dict[str, Any] | None:
    if state is None or field not in state.attributes:
        return None
    found = state.attributes[field]
    return {k: _iso(v) for k, v in found.items()} if isinstance(found, dict) else {"value": found}


def _field_changes(config: Config, before: ContactState | None, after: ContactState) -> list[dict[str, Any]]:
    changes = []
    for field in sorted(set(after.attributes) | set(before.attributes if before else ())):
        old, new = _winner(before, field), _winner(after, field)
        if old == new:
            continue
        rule = config.lifecycle.rule_for(field)
        changes.append({"field": field, "before": old, "after": new, "rule": rule.rule,
                        "rule_sources": list(rule.sources)})
    return changes


def _consent_changes(before: ContactState | None, after: ContactState) -> dict[str, Any]:
    """``{"consent": [{purpose, before, after}]}`` for the purposes whose consent would change; else nothing."""
    was = before.consent if before else {}
    changes = [{"purpose": p, "before": was.get(p), "after": after.consent.get(p)}
               for p in sorted(set(was) | set(after.consent)) if was.get(p) != after.consent.get(p)]
    return {"consent": changes} if changes else {}


def _stored_transitions(session: Session, ids: list[int]) -> set[tuple[Any, ...]]:
    t = model.StageTransition
    return {(cid, a, b, _iso(at), brand) for cid, a, b, at, brand in session.execute(
        select(t.contact_id, t.from_stage, t.to_stage, t.at, t.brand).where(t.contact_id.in_(ids)))} if ids else set()


def _stage_of(state: ContactState | None, brand: str) -> tuple[str | None, str | None]:
    """(stage, lost stage) of a contact in ``brand`` (None, None: no state, or never dealt with the brand)."""
    if state is None:
        return None, None
    if brand == DEFAULT_BRAND:
        return state.stage, state.lost_stage
    found = state.brand_stages.get(brand)
    return (found.stage, found.lost_stage) if found is not None else (None, None)


def _contact(config: Config, state: ContactState, cid: int, writes: Any, stored: set[tuple[Any, ...]],
             brand: str) -> dict:
    before = state.loaded
    transitions = [{k: _iso(v) for k, v in row.items() if k != "contact_id"}  # only the entries this record adds
                   for row in writes.transitions if row["contact_id"] == cid and row["brand"] == brand
                   and (cid, row["from_stage"], row["to_stage"], _iso(row["at"]), brand) not in stored]
    (stage_before, lost_before), (stage_after, lost_after) = _stage_of(before, brand), _stage_of(state, brand)
    return {"id": cid if cid > 0 else None, "new": before is None,
            "stage": {"before": stage_before, "after": stage_after},
            "lost_stage": {"before": lost_before, "after": lost_after},
            "identities_added": sorted(f"{r.kind}:{r.value}" for r in state.identities
                                       if before is None or r not in before.identities),
            "fields": _field_changes(config, before, state), **_consent_changes(before, state),
            "transitions": transitions}


def preview_effect(store: Store, config: Config, mapping: Mapping, record: dict[str, Any],
                   effects: Effects | None = None, brand: str = DEFAULT_BRAND,
                   namespace: str | None = None) -> dict[str, Any]:
    """What ingesting ``record`` through ``mapping`` would change now (nothing is written).

    ``brand``: whose record it is (the brand owning the connection it would arrive on,
    ``sync.config.brands``); contacts' stages, lost stages and new history are that brand's.
    ``namespace``: the connection its record ids belong to (``Brands.namespace``), as the inbox gives it.

    ``effects``: what the deployment queues (default: the config's conversion rules with every
    destination and write-back the caller enables; ``Effects.of(settings, config)`` for the real ones).
    A record the mapping or reconcile refuses is answered with ``refused`` and its reason, as a
    dead letter would say it.
    """
    effects = effects or Effects.rules_only(config)
    try:
        patch = replace(apply_mapping(mapping, record), brand=brand, connection=namespace)  # as the inbox stamps it
    except RecordError as exc:
        return {"patch": None, "refused": f"{type(exc).__name__}: {exc}"}
    refs = patch_refs(patch, config.lifecycle)
    reason = unstorable(patch, refs)
    if reason is not None:
        return {"patch": patch.to_json(), "refused": reason}
    session = store.sessions()
    try:
        session.begin()
        ws = load_workspace(session, set(refs), config.lifecycle, effects)
        try:
            outcome = ws.apply(patch, refs)
        except RecordError as exc:
            return {"patch": patch.to_json(), "refused": f"{type(exc).__name__}: {exc}"}
        writes = plan_writes(ws, _placeholder_ids)
        fresh, stored = split_conversions(session, writes.conversions)
        history = _stored_transitions(session, sorted(writes.restaged))
    finally:
        session.rollback()
        session.close()
    landed = ws.landed[-1][1] if ws.landed else patch  # as reconcile kept it: a stage it does not know refused
    return {
        "patch": landed.to_json(),
        "refused": None,
        "outcome": {"created": outcome.created, "changed": outcome.changed, "merges": outcome.merges,
                    "conflicts": outcome.conflicts},
        "brand": brand,
        "contacts": [_contact(config, s, writes.idmap[s.key], writes, history, brand) for s in ws.contacts()],
        "merged_away": [s.key for s in ws.merged_away()],
        "conversions": [{"event_id": row["event_id"], "kind": row["kind"], "occurred_at": _iso(row["occurred_at"]),
                         "value": row.get("value"), "currency": row.get("currency"),
                         "new": row in fresh, "destinations": list(writes.destinations.get(row["event_id"], ()))}
                        for row in fresh + stored],
        "write_backs": [{"kind": row["kind"], "destination": row.get("destination"),
                         "contact_id": row.get("contact_id"), "payload": row.get("payload")} for row in writes.outbox],
        "merges": [dict(m) for m in writes.merges],
        "conflicts": [{k: _iso(v) for k, v in c.items()} for c in writes.conflicts],
    }
