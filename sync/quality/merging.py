"""Merge two contacts on purpose: preview the survivorship outcome, then merge as identity resolution does.

Both run the real reconcile code: the two contacts are loaded into a Workspace
(``sync.ingest.persist.load_workspace``) and merged by ``Workspace.merge_on_purpose`` — the
merge automatic resolution makes, with the operator overriding whatever blocked it. The
preview reads the result and writes nothing; the merge writes it through
``sync.ingest.persist.flush`` like any batch (rows re-pointed, outbox write-backs queued, the
merge logged with its snapshot and who asked), audited, and the pair leaves the queue.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.access import audit
from sync.access.roles import Principal
from sync.config.types import LifecycleConfig
from sync.errors import Conflict
from sync.ingest.persist import flush, load_workspace
from sync.outbox.effects import Effects
from sync.quality.duplicates import Brands, forget_contacts, get_pair
from sync.reconcile import identity
from sync.reconcile.patch import IdentityRef
from sync.reconcile.workspace import ContactState, Workspace
from sync.store import model
from sync.store.engine import Store


def _workspace(session: Session, a: int, b: int, config: LifecycleConfig, effects: Effects) -> Workspace:
    if a == b:
        raise Conflict(f"contact {a} cannot be merged with itself", {"contacts": "two different contacts"})
    i = model.Identity
    refs = [IdentityRef(k, v) for k, v in session.execute(select(i.kind, i.value).where(i.contact_id.in_((a, b))))]
    ws = load_workspace(session, refs, config, effects)
    missing = [cid for cid in (a, b) if cid not in ws.states]
    if missing:
        raise Conflict(f"contact {missing[0]} no longer exists (merged or erased): scan the queue again",
                       {"contacts": "two existing contacts"})
    return ws


def _stage(state: ContactState) -> dict[str, Any]:
    last = state.transitions[-1] if state.transitions else None
    return {"stage": state.stage, "lost_stage": state.lost_stage,
            "source": last.source if last else None, "reason": last.reason if last else None,
            "at": last.at if last else None}


def _outcome(ws: Workspace, a: ContactState, b: ContactState, kept: ContactState) -> dict[str, Any]:
    """What merging does: each field's winner (value, source, rule, whose it was), the stage after."""
    before_a, before_b = a.loaded, b.loaded
    fields = []
    for name in sorted(set(before_a.attributes) | set(before_b.attributes) | set(kept.attributes)):
        win = kept.attributes.get(name)
        came = None
        if win is not None:
            cand = kept.candidates.get((name, win["source"]))
            came = ("a" if before_a.candidates.get((name, win["source"])) == cand else
                    "b" if before_b.candidates.get((name, win["source"])) == cand else None)
        fields.append({"field": name, "rule": ws.config.rule_for(name).rule,
                       "a": before_a.attributes.get(name), "b": before_b.attributes.get(name),
                       "winner": win, "from": came})
    blocker = identity.exclusive_clash(before_a.identities, before_b.identities, ws.config)
    return {"kept": kept.key, "merged": b.key if kept.key == a.key else a.key,
            "overrides": f"both hold a different {blocker} id" if blocker else None,
            "fields": fields, "stage_before": {"a": _stage(before_a), "b": _stage(before_b)},
            "stage_after": _stage(kept), "identities": sorted(str(r) for r in kept.identities)}


def _pair_contacts(session: Session, pair_id: int, brands: Brands) -> tuple[int, int]:
    row = get_pair(session, pair_id, brands)
    return row.contact_a, row.contact_b


def preview(store: Store, config: LifecycleConfig, pair_id: int, effects: Effects | None = None,
            brands: Brands = None) -> dict[str, Any]:
    """The outcome of merging pair ``pair_id`` (of ``brands``), computed by the reconcile code and rolled back."""
    session = store.sessions()
    try:
        a, b = _pair_contacts(session, pair_id, brands)
        ws = _workspace(session, a, b, config, effects or Effects())
        kept = ws.merge_on_purpose(a, b, "preview")
        return {"pair": pair_id, **_outcome(ws, ws.states[a], ws.states[b], kept)}
    finally:
        session.rollback()
        session.close()


def merge(store: Store, config: LifecycleConfig, actor: Principal, pair_id: int,
          effects: Effects | None = None, brands: Brands = None) -> dict[str, Any]:
    """Merge pair ``pair_id`` (a pair of ``brands``) on purpose (overriding a blocker), logged with ``actor``
    and audited.
    """
    with store.transaction() as session:
        a, b = _pair_contacts(session, pair_id, brands)
    return merge_contacts(store, config, actor, a, b, effects, pair_id)


def merge_contacts(store: Store, config: LifecycleConfig, actor: Principal, a: int, b: int,
                   effects: Effects | None = None, pair_id: int | None = None) -> dict[str, Any]:
    """Merge contacts ``a`` and ``b`` on purpose: :func:`merge`'s work, for two contact ids."""
    with store.transaction() as session:
        ws = _workspace(session, a, b, config, effects or Effects())
        kept = ws.merge_on_purpose(a, b, actor.name)
        outcome = _outcome(ws, ws.states[a], ws.states[b], kept)
        flush(session, ws)
        m = model.MergeLog
        merge_id = session.scalar(select(m.id).where(m.kept_contact_id == outcome["kept"],
                                                     m.merged_contact_id == outcome["merged"])
                                  .order_by(m.id.desc()).limit(1))
        forget_contacts(session, [outcome["merged"]])
        audit.record(session, actor, "duplicates.merge", "contact", outcome["kept"],
                     before={"contacts": [a, b], "pair": pair_id},
                     after={"kept": outcome["kept"], "merged": outcome["merged"], "merge_id": merge_id,
                            "overrode": outcome["overrides"]})
    return {"pair": pair_id, "merge_id": merge_id, **outcome}
