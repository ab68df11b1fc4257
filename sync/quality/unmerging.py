"""Undo a past merge: give each contact back what it brought, recompute both, plan the CRM write-back.

The merge's snapshot (``merge_log.snapshot``, ``sync.reconcile.snapshot``) says what each
contact held; ``sync.reconcile.unmerge.split`` divides the survivor's identities, candidates,
stage signals and echoes between the two (later changes by the record they came from), and
``Workspace.recompute`` derives each one's winning values and stage — the reconcile code,
never a second implementation. Rows follow: the absorbed contact's touchpoints, activities,
conversions, adjustments and outbox items (by the ids its snapshot lists; later ones by their
record), with each conversion's outbox items and so its deliveries; a stage conversion the merge
withdrew (its entry gone from the merged history) counts again when its entry is back. What each CRM now lacks of
either contact is queued like any change (``sync.crm.plan``), stage pushes too. The pair is
remembered as dismissed ("not the same person"), so the queue does not offer it again.

``brands`` (None: every brand) keeps a reader limited to brands to the merges whose surviving
contact dealt with one of them (``sync.reports.brand_scope.dealt_with``); another merge is "not found".

A merge logged before migration 0017 has no snapshot: it cannot be undone without guessing,
and :func:`unmerge` refuses it (409) saying so.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from sync.access import audit
from sync.access.roles import Principal
from sync.attribution.rules import entry_ids
from sync.config.types import LifecycleConfig
from sync.crm.plan import plan
from sync.errors import Conflict, NotFound
from sync.ingest import funnel_counts
from sync.ingest.automation import refresh_conversation_stats
from sync.ingest.persist import brand_stage_push, brand_stage_rows, delete_transitions, histories, load_workspace
from sync.outbox.effects import Effects
from sync.outbox.targets import stage_outbox_rows
from sync.quality.duplicates import Brands
from sync.reconcile.patch import IdentityRef
from sync.reconcile.state import ContactState
from sync.reconcile.unmerge import Split, record_of_reason, split
from sync.reports.brand_scope import dealt_with_any
from sync.segments import dirty as segment_dirty
from sync.store import model
from sync.store.engine import Store
from sync.store.sql import allocate_ids, insert_ignore, insert_rows, upsert

_ROWS = (("touchpoints", model.Touchpoint), ("conversions", model.ConversionEvent),
         ("adjustments", model.ConversionAdjustment), ("quality_issues", model.QualityIssue))


def _of_brands(query: Any, brands: Brands) -> Any:
    """``query`` (of ``merge_log``) kept to the merges whose surviving contact dealt with one of ``brands``."""
    if brands is None:
        return query
    m, c = model.MergeLog, model.Contact
    return query.where(select(c.id).where(c.id == m.kept_contact_id, dealt_with_any(brands, c)).exists())


def _refuse(session: Session, row: model.MergeLog | None, merge_id: int, brands: Brands = None) -> None:
    """Raise when merge ``merge_id`` cannot be undone (or is not a merge of ``brands``), saying why."""
    m = model.MergeLog
    if row is not None and brands is not None and session.scalar(
            _of_brands(select(m.id), brands).where(m.id == merge_id)) is None:
        row = None  # another brand's merge: not found, as if it did not exist
    if row is None:
        raise NotFound(f"no merge {merge_id}", {"id": "the id of a merge (GET /api/merges)"})
    if row.unmerged_at is not None:
        raise Conflict(f"merge {merge_id} was already undone ({row.unmerged_at:%Y-%m-%d %H:%M} UTC by "
                       f"{row.unmerged_by})", {"id": "a merge not undone yet"})
    if not row.snapshot:
        raise Conflict(f"merge {merge_id} was made before lifesync recorded what each contact brought to a merge "
                       "(migration 0017): it cannot be undone without guessing whose identities, values and "
                       "history are whose", {"id": "a merge made since migration 0017"})
    if session.get(model.Contact, row.kept_contact_id) is None:
        later = session.scalar(select(m).where(m.merged_contact_id == row.kept_contact_id, m.id > row.id,
                                               m.unmerged_at.is_(None)).order_by(m.id.desc()).limit(1))
        hint = (f": it was merged into contact {later.kept_contact_id} later (merge {later.id}); undo that merge first"
                if later else " (erased)")
        raise Conflict(f"contact {row.kept_contact_id} of merge {merge_id} no longer exists{hint}",
                       {"id": "a merge whose surviving contact still exists"})


def _row_owner(sp: Split, row: Any, moved: set[int]) -> str:
    """Its contact at the merge; else its record's (a stage conversion's record id is its cause's reason)."""
    if row.id in moved:
        return "gone"
    cause = record_of_reason(row.record_id or "")
    return "gone" if "gone" in (sp.owner(row.source, row.record_id), sp.owner(*cause) if cause else "") else "kept"


def _activity_owner(sp: Split, row: Any, moved: set[int], inbound: dict[tuple[Any, str], str]) -> str:
    """An activity carries no record id: a later inbound message's own stage signal names its record."""
    if row.id in moved:
        return "gone"
    reason = inbound.get((row.occurred_at, row.source))
    rec = record_of_reason(reason) if reason else None
    return sp.owner(*rec) if rec else "kept"


def _move_rows(session: Session, sp: Split, merged: ContactState, snap: dict[str, Any], gone_id: int) -> dict[str, int]:
    """Re-point the absorbed contact's rows to it; how many of each moved."""
    kept_id = sp.kept.key
    rows_at_merge = {name: set(ids) for name, ids in snap.get("rows", {}).items()}
    moved: dict[str, list[int]] = {}
    for name, entity in _ROWS:
        rows = session.execute(select(entity.id, entity.source, entity.record_id).where(entity.contact_id == kept_id))
        moved[name] = [r.id for r in rows if _row_owner(sp, r, rows_at_merge.get(name, set())) == "gone"]
    inbound = {(s.at, s.source): s.reason for s in merged.signals if s.kind == "inbound_message"}
    a = model.Activity
    moved["activities"] = [r.id for r in session.execute(select(a.id, a.source, a.occurred_at)
                                                         .where(a.contact_id == kept_id))
                           if _activity_owner(sp, r, rows_at_merge.get("activities", set()), inbound) == "gone"]
    for name, entity in (*_ROWS, ("activities", model.Activity)):
        if moved[name]:
            session.execute(update(entity).where(entity.id.in_(moved[name])).values(contact_id=gone_id))
    o = model.Outbox  # an item follows its conversion (deliveries follow their item); else the snapshot's ids
    follows = o.conversion_id.in_(moved["conversions"]) | o.id.in_(sorted(rows_at_merge.get("outbox", ())))
    items = list(session.scalars(select(o.id).where(o.contact_id == kept_id, follows)))
    if items:
        session.execute(update(o).where(o.id.in_(items)).values(contact_id=gone_id))
    moved["outbox"] = items
    return {name: len(ids) for name, ids in moved.items()}


def _revive_stage_conversions(session: Session, states: list[tuple[ContactState, int]], effects: Effects,
                              since: Any) -> int:
    """Stage conversions the merge withdrew (retracted, not by an adjustment) whose entry is back: counted again."""
    if not effects.conversion_rules.on_stage:
        return 0
    c = model.ConversionEvent
    revived = 0
    for s, cid in states:
        ids = {e for found in entry_ids(s.transitions, effects.conversion_rules, s.signals).values() for e in found}
        rows = [r.id for r in session.execute(select(c.id, c.event_id).where(
            c.contact_id == cid, c.retracted_at.is_not(None), c.retracted_at >= since, c.adjusted_at.is_(None)))
            if r.event_id in ids]
        if rows:
            session.execute(update(c).where(c.id.in_(rows)).values(retracted_at=None))
        revived += len(rows)
    return revived


def _write_states(session: Session, states: list[tuple[ContactState, int]], kept_id: int) -> list[dict[str, Any]]:
    """Replace the survivor's inputs and stage history with both contacts'; the transitions written."""
    for entity in (model.FieldValue, model.StageSignal, model.EchoRecord, model.ContactStage):
        session.execute(delete(entity).where(entity.contact_id == kept_id))
    removed = delete_transitions(session, [kept_id])
    now = model.utcnow()
    values, signals, echoes, transitions, stages = [], [], [], [], []
    for s, cid in states:
        values += [{"contact_id": cid, "field": f, "source": src, "value": c.value, "source_time": c.source_time,
                    "arrived_at": now, "record_id": c.record_id} for (f, src), c in s.candidates.items()]
        signals += [{"contact_id": cid, "at": g.at, "source": g.source, "kind": g.kind, "stage": g.stage or "",
                     "reason": g.reason[:255], "brand": g.brand} for g in s.signals]
        echoes += [{"system": sys, "contact_id": cid, "field": f, "digest": e.digest, "origin_source": e.origin_source,
                    "origin_time": e.origin_time, "pushed_at": now} for (sys, f), e in s.echoes.items()]
        transitions += histories(cid, s)  # every brand's
        stages += brand_stage_rows(cid, s)
    insert_rows(session, model.FieldValue, values)
    insert_rows(session, model.StageSignal, signals)
    insert_rows(session, model.EchoRecord, echoes)
    insert_rows(session, model.StageTransition, transitions)
    insert_rows(session, model.ContactStage, stages)
    funnel_counts.record(session, removed, transitions)
    return transitions


def _contact_row(s: ContactState, now: Any) -> dict[str, Any]:
    return {"attributes": s.attributes, "consent": s.consent, "stage": s.stage, "lost_stage": s.lost_stage,
            "updated_at": now,
            "stage_changed_at": s.transitions[-1].at if s.transitions else None}


def _write_back(session: Session, states: list[tuple[ContactState, int]], merged: ContactState,
                effects: Effects) -> int:
    """Queue what each CRM (and stage push target) now lacks of either contact; echoes recorded in the states."""
    rows = []
    for s, cid in states:
        rows += [r for t in effects.crm_targets if (r := plan(s, cid, t)) is not None]
        was = merged.lost_stage or merged.stage if s.key == merged.key else None
        if effects.push_targets and (s.lost_stage or s.stage) != was:
            rows += stage_outbox_rows(cid, s.lost_stage or s.stage, len(s.transitions),
                                      s.transitions[-1].source if s.transitions else None, s.identities,
                                      effects.push_targets)
        before = merged if s.key == merged.key else ContactState(key=s.key)
        rows += [r for t in effects.brand_push for r in brand_stage_push(cid, s, before, t)]  # brands' connections
    insert_ignore(session, model.Outbox, rows, ["idempotency_key"])
    return len(rows)


def unmerge(store: Store, config: LifecycleConfig, actor: Principal, merge_id: int,
            effects: Effects | None = None, brands: Brands = None) -> dict[str, Any]:
    """Undo merge ``merge_id`` (a merge of ``brands``): both contacts restored and recomputed, write-backs
    queued, audited.
    """
    effects = effects or Effects()
    with store.transaction() as session:
        row = session.get(model.MergeLog, merge_id)
        _refuse(session, row, merge_id, brands)
        kept_id, gone_id = row.kept_contact_id, row.merged_contact_id
        i = model.Identity
        refs = [IdentityRef(k, v) for k, v in session.execute(select(i.kind, i.value).where(i.contact_id == kept_id))]
        ws = load_workspace(session, refs, config, effects)
        if gone_id == kept_id or session.get(model.Contact, gone_id) is not None:  # new in its batch, or id reused
            gone_id = allocate_ids(session, "contacts", 1)[0]
        merged = ws.states[kept_id]
        sp = split(merged, row.snapshot, gone_id)
        for state in (sp.kept, sp.gone):
            ws.recompute(state)
        now = model.utcnow()
        insert_rows(session, model.Contact, [{"id": gone_id, "created_at": now,
                                              **_contact_row(sp.gone, now)}])
        session.execute(update(model.Contact).where(model.Contact.id == kept_id).values(**_contact_row(sp.kept, now)))
        if sp.gone.identities:
            session.execute(update(i.__table__).where(i.__table__.c.kind == bindparam("b_kind"),
                                                      i.__table__.c.value == bindparam("b_value"))
                            .values(contact_id=gone_id),
                            [{"b_kind": r.kind, "b_value": r.value} for r in sp.gone.identities])
        moved = _move_rows(session, sp, merged, row.snapshot, gone_id)
        states = [(sp.kept, kept_id), (sp.gone, gone_id)]
        planned = _write_back(session, states, merged, effects)
        # the merge's own transaction retracted them, a moment before it logged the merge
        moved["revived_conversions"] = _revive_stage_conversions(session, states, effects,
                                                                 row.at - timedelta(minutes=1))
        _write_states(session, states, kept_id)
        session.execute(delete(model.ConversationStat).where(model.ConversationStat.contact_id == kept_id))
        refresh_conversation_stats(session, [kept_id, gone_id])  # conversations follow their activities
        segment_dirty.mark(session, [kept_id, gone_id], now)  # both are re-evaluated for every segment
        row.unmerged_at, row.unmerged_by = now, actor.name[:120]
        a, b = sorted((kept_id, gone_id))
        upsert(session, model.DuplicatePair, [{"contact_a": a, "contact_b": b, "evidence": [{"kind": "unmerged"}],
                                               "status": "dismissed", "found_at": now, "dismissed_at": now,
                                               "dismissed_by": actor.name[:120]}],
               ["contact_a", "contact_b"], ["status", "dismissed_at", "dismissed_by"])
        result = {"merge_id": merge_id, "kept": kept_id, "restored": gone_id, "moved": moved,
                  "identities": len(sp.gone.identities), "write_backs": planned}
        audit.record(session, actor, "duplicates.unmerge", "merge", merge_id, before={"contact": kept_id},
                     after={"contacts": [kept_id, gone_id], "moved": moved, "write_backs": planned})
    return result


def merges(store: Store, limit: int = 50, before: int | None = None,
           contact: int | None = None, brands: Brands = None) -> list[dict[str, Any]]:
    """Past merges (of ``brands``), newest first (keyset by id), each saying whether it can be undone."""
    m = model.MergeLog
    query = _of_brands(select(m), brands).order_by(m.id.desc()).limit(limit)
    if before is not None:
        query = query.where(m.id < before)
    if contact is not None:
        query = query.where((m.kept_contact_id == contact) | (m.merged_contact_id == contact))
    with store.transaction() as session:
        return [{"id": r.id, "kept_contact_id": r.kept_contact_id, "merged_contact_id": r.merged_contact_id,
                 "via": r.via, "source": r.source, "at": r.at, "actor": r.actor, "unmerged_at": r.unmerged_at,
                 "unmerged_by": r.unmerged_by, "undoable": bool(r.snapshot) and r.unmerged_at is None}
                for r in session.scalars(query)]
