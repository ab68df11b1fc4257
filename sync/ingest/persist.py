"""Load a batch's contacts into a Workspace and write back what changed.

Both directions use a fixed number of statements per batch (IN lists chunked at 500,
executemany for writes), whatever the number of records: the pipeline's throughput depends
on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, select, text, update
from sqlalchemy.orm import Session

from sync.config.types import DEFAULT_BRAND, LifecycleConfig
from sync.crm.plan import plan
from sync.ingest import funnel_counts
from sync.ingest.adjustments import write_adjustments
from sync.ingest.moved_conversions import follow_moves
from sync.outbox.effects import Effects
from sync.outbox.rows import conversion_row
from sync.outbox.targets import stage_outbox_rows
from sync.quality.issues import issue_rows, write_issues
from sync.reconcile import lifecycle
from sync.reconcile.patch import IdentityRef
from sync.reconcile.survivorship import Candidate
from sync.reconcile.workspace import ContactState, Echo, Key, Workspace
from sync.segments import dirty as segment_dirty
from sync.store import model
from sync.store.sql import allocate_ids, chunks, insert_ignore, insert_rows, one_of, update_by_id, upsert


def reconcile_lock(session: Session) -> None:
    """Take the lock every writer of contacts' identities holds until its transaction ends.

    One reconcile transaction at a time, across every worker: two batches touching the same
    contact (through any of its identities) must not both load it and write back conflicting
    states, and an identity a batch found free is still free when it writes it. SQLite gets
    the same from BEGIN IMMEDIATE. The lock is released at commit or rollback.

    The same statement caps ``random_page_cost`` at 1.1 for the transaction (``SET LOCAL``;
    a server tuned lower keeps its value). PostgreSQL's default of 4 models spinning disks:
    with it, looking up a batch's thousand identities by the unique index is costed above
    scanning the whole identities table, which the planner then does, batch after batch, at
    two to eight times the time on this data (cached, or on SSDs).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext('lifesync:reconcile')), "
                             "set_config('random_page_cost', "
                             "least(current_setting('random_page_cost')::float8, 1.1)::text, true)"))


def load_workspace(session: Session, refs: Iterable[IdentityRef], config: LifecycleConfig,
                   effects: Effects | None = None) -> Workspace:
    """Every contact owning one of ``refs``, with identities, candidates, signals, echoes.

    ``effects`` (``sync.outbox.effects``) say what the batch's changes must queue in the outbox:
    stage and CRM write-backs, and conversions (made by its conversion rules) for the
    enabled destinations.
    """
    effects = effects or Effects()
    reconcile_lock(session)
    ws = Workspace(config, effects.push_targets, effects.crm_targets, effects.conversion_rules,
                   effects.conversion_destinations, effects.brands, effects.brand_push)
    by_kind: dict[str, list[str]] = {}
    for ref in refs:
        by_kind.setdefault(ref.kind, []).append(ref.value)
    ids: set[int] = set()
    for kind, values in sorted(by_kind.items()):  # one query per identity kind (a handful)
        for part in chunks(sorted(set(values)), 5000):
            ids.update(session.scalars(select(model.Identity.contact_id).where(
                model.Identity.kind == kind, one_of(session, model.Identity.value, part))))
    if not ids:
        return ws
    states: dict[int, ContactState] = {}
    id_list = sorted(ids)
    for part in chunks(id_list, 5000):
        # rows unpack as tuples: a batch loads hundreds of thousands of them
        for cid, attributes, consent, stage, lost in session.execute(select(
                model.Contact.id, model.Contact.attributes, model.Contact.consent, model.Contact.stage,
                model.Contact.lost_stage).where(one_of(session, model.Contact.id, part))):
            states[cid] = ContactState(key=cid, attributes=dict(attributes or {}), consent=dict(consent or {}),
                                       stage=stage, lost_stage=lost)
        for cid, kind, value, source in session.execute(select(
                model.Identity.contact_id, model.Identity.kind, model.Identity.value, model.Identity.source)
                .where(one_of(session, model.Identity.contact_id, part))):
            states[cid].identities[IdentityRef(kind, value)] = source
        fv = model.FieldValue
        for cid, name, source, value, at, record_id in session.execute(select(
                fv.contact_id, fv.field, fv.source, fv.value, fv.source_time, fv.record_id)
                .where(one_of(session, fv.contact_id, part))):
            states[cid].candidates[(name, source)] = Candidate(source, value, at, record_id)
        sg = model.StageSignal
        for cid, at, source, kind, stage, reason, brand in session.execute(select(
                sg.contact_id, sg.at, sg.source, sg.kind, sg.stage, sg.reason, sg.brand)
                .where(one_of(session, sg.contact_id, part))):
            states[cid].signals.add(lifecycle.StageSignal(at=at, source=source, kind=kind, stage=stage or None,
                                                          reason=reason, brand=brand))
        if ws.brands.several:  # the stage in every other brand (none with one brand)
            cs = model.ContactStage
            for cid, brand, stage, lost in session.execute(select(cs.contact_id, cs.brand, cs.stage, cs.lost_stage)
                                                           .where(one_of(session, cs.contact_id, part))):
                states[cid].brand_stages[brand] = lifecycle.StageState(stage=stage, lost_stage=lost)
        er = model.EchoRecord
        for cid, system, name, digest, origin, origin_time in session.execute(select(
                er.contact_id, er.system, er.field, er.digest, er.origin_source, er.origin_time)
                .where(one_of(session, er.contact_id, part))):
            states[cid].echoes[(system, name)] = Echo(digest, origin, origin_time)
    for state in states.values():
        ws.add_loaded(state)
    return ws


def transition_rows(contact_id: int, transitions: tuple[lifecycle.Transition, ...],
                    brand: str = DEFAULT_BRAND) -> list[dict[str, Any]]:
    """The ``stage_transitions`` rows of one contact's derived history in one brand."""
    return [{"contact_id": contact_id, "seq": n, "from_stage": t.from_stage, "to_stage": t.to_stage,
             "at": t.at, "source": t.source, "reason": t.reason[:255], "brand": brand}
            for n, t in enumerate(transitions)]


def histories(contact_id: int, state: ContactState) -> list[dict[str, Any]]:
    """The stage history rows of a contact in every brand (seq counts each brand's history from 0)."""
    rows = transition_rows(contact_id, state.transitions)
    for brand, staged in sorted(state.brand_stages.items()):
        rows += transition_rows(contact_id, staged.transitions, brand)
    return rows


def brand_stage_push(contact_id: int, state: ContactState, base: ContactState, target: Any) -> list[dict[str, Any]]:
    """The stage write-back rows telling a brand's connection (``BrandConnection``) the contact's new stage there."""
    now, was = state.brand_stages.get(target.brand), base.brand_stages.get(target.brand)
    stage = (now.lost_stage or now.stage) if now is not None else None
    if stage is None or (was is not None and (was.lost_stage or was.stage) == stage):
        return []
    return stage_outbox_rows(contact_id, stage, len(now.transitions), now.transitions[-1].source if now.transitions
                             else None, state.identities, [target.system], target.connection)


def brand_stage_rows(contact_id: int, state: ContactState) -> list[dict[str, Any]]:
    """``contact_stages`` rows: the contact's stage in each brand but the default one (``contacts.stage``)."""
    return [{"contact_id": contact_id, "brand": brand, "stage": staged.stage, "lost_stage": staged.lost_stage,
             "stage_changed_at": staged.transitions[-1].at if staged.transitions else None}
            for brand, staged in sorted(state.brand_stages.items())]


@dataclass
class Writes:
    """Every row one batch writes, computed from its Workspace without I/O (``plan_writes``).

    ``write`` sends them, in the caller's transaction. Planning reads only the workspace, so
    it can be inspected (or timed) apart from the database work.
    """

    idmap: dict[Key, int]  # the database id of every contact key
    contacts: list[dict[str, Any]] = field(default_factory=list)  # created in this batch
    gone: list[dict[str, int]] = field(default_factory=list)  # {"b_old", "b_new"}: merged away
    identities: list[dict[str, Any]] = field(default_factory=list)
    values: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    signals: list[dict[str, Any]] = field(default_factory=list)
    echoes: list[dict[str, Any]] = field(default_factory=list)
    echo_gone: list[dict[str, Any]] = field(default_factory=list)
    contact_updates: list[dict[str, Any]] = field(default_factory=list)  # restaged: stage columns too
    value_updates: list[dict[str, Any]] = field(default_factory=list)  # values only: the stage stays
    restaged: list[int] = field(default_factory=list)
    transitions: list[dict[str, Any]] = field(default_factory=list)
    brand_stages: list[dict[str, Any]] = field(default_factory=list)  # contact_stages of restaged contacts
    outbox: list[dict[str, Any]] = field(default_factory=list)
    touchpoints: list[dict[str, Any]] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)
    conversions: list[dict[str, Any]] = field(default_factory=list)
    adjustments: list[dict[str, Any]] = field(default_factory=list)  # retractions/restatements (ingest.adjustments)
    destinations: dict[str, tuple[str, ...]] = field(default_factory=dict)  # event id → where it is queued
    moved: list[dict[str, Any]] = field(default_factory=list)  # stage entries moved (ingest.moved_conversions)
    merges: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)  # refused values (sync.quality.issues)
    checked: set[tuple[str, str, str]] = field(default_factory=set)  # records whose other open issues resolve
    now: Any = None  # when the batch was planned: its rows' write time


def flush(session: Session, ws: Workspace) -> dict[Key, int]:
    """Write the workspace's changes; returns the database id of every contact key."""
    writes = plan_writes(ws, lambda n: allocate_ids(session, "contacts", n))
    write(session, writes)
    return writes.idmap


def plan_writes(ws: Workspace, allocate: Callable[[int], list[int]]) -> Writes:
    """The rows that bring the database to the workspace's state; ``allocate(n)``: ids for n new contacts.

    CRM write-back planning records the echoes of what it queues in the states, so call this
    once, before anything else reads the states as written.
    """
    now = model.utcnow()
    live = ws.contacts()
    new = [s for s in live if isinstance(s.key, str)]
    idmap: dict[Key, int] = {s.key: s.key for s in ws.states.values() if isinstance(s.key, int)}
    w = Writes(idmap)
    if new:
        ids = allocate(len(new))
        w.contacts = [{"id": i, "created_at": now, "updated_at": now, "stage": s.stage, "lost_stage": s.lost_stage,
                       "stage_changed_at": s.transitions[-1].at if s.transitions else None,
                       "attributes": s.attributes, "consent": s.consent} for s, i in zip(new, ids, strict=True)]
        idmap.update({s.key: i for s, i in zip(new, ids, strict=True)})

    def cid(key: Key) -> int:
        return idmap[ws.live(key).key]

    gone = ws.merged_away()
    w.gone = [{"b_old": g.key, "b_new": cid(g.key)} for g in gone]
    moved = {ref for g in gone for ref in (g.loaded.identities if g.loaded else ())}
    restage = []
    for s in live:
        c, base = idmap[s.key], s.loaded or ContactState(key=s.key)
        if ws.crm_targets and (s.loaded is None or (s.candidates, s.signals, s.identities) != (
                base.candidates, base.signals, base.identities)):
            w.outbox += [row for t in ws.crm_targets if (row := plan(s, c, t)) is not None]  # records echoes
        if ws.push_targets and (s.lost_stage or s.stage) != (base.lost_stage or base.stage):
            w.outbox += stage_outbox_rows(c, s.lost_stage or s.stage, len(s.transitions),
                                          s.transitions[-1].source if s.transitions else None,
                                          s.identities, ws.push_targets)
        for target in ws.brand_push:  # a brand's own connection: that brand's stage (sync.outbox.targets)
            w.outbox += brand_stage_push(c, s, base, target)
        w.identities += [{"contact_id": c, "kind": r.kind, "value": r.value, "source": src, "first_seen_at": now}
                         for r, src in s.identities.items() if r not in base.identities and r not in moved]
        w.values += [{"contact_id": c, "field": f, "source": src, "value": cand.value,
                      "source_time": cand.source_time, "arrived_at": now, "record_id": cand.record_id}
                     for (f, src), cand in s.candidates.items() if base.candidates.get((f, src)) != cand]
        w.removed += [{"b_c": c, "b_f": f, "b_s": src} for (f, src) in base.candidates if (f, src) not in s.candidates]
        w.signals += [{"contact_id": c, "at": g.at, "source": g.source, "kind": g.kind, "stage": g.stage or "",
                       "reason": g.reason[:255], "brand": g.brand} for g in s.signals - base.signals]
        w.echoes += [{"system": sys, "contact_id": c, "field": f, "digest": e.digest,
                      "origin_source": e.origin_source, "origin_time": e.origin_time, "pushed_at": now}
                     for (sys, f), e in s.echoes.items() if base.echoes.get((sys, f)) != e]
        w.echo_gone += [{"b_c": c, "b_sys": sys, "b_f": f} for (sys, f) in base.echoes if (sys, f) not in s.echoes]
        if s.loaded is None:
            continue
        if s.signals != s.loaded.signals:  # its stage history was replayed: the stage columns are current
            restage.append(s)
            w.contact_updates.append({"id": c, "attributes": s.attributes, "consent": s.consent, "stage": s.stage,
                                      "lost_stage": s.lost_stage, "updated_at": now,
                                      "stage_changed_at": s.transitions[-1].at if s.transitions else None})
        elif (s.attributes, s.consent, s.stage, s.lost_stage) != (s.loaded.attributes, s.loaded.consent,
                                                                  s.loaded.stage, s.loaded.lost_stage):
            w.value_updates.append({"id": c, "attributes": s.attributes, "consent": s.consent,
                                    "updated_at": now})  # the stage stays
    w.restaged = [idmap[s.key] for s in restage]
    w.transitions = [row for s in new + restage for row in histories(idmap[s.key], s)]
    w.brand_stages = [row for s in new + restage for row in brand_stage_rows(idmap[s.key], s)]

    def resolved(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for row in rows:
            row = dict(row)
            row["contact_id"] = cid(row.pop("contact"))
            out.append(row)
        return out

    w.touchpoints = resolved(ws.touchpoints)
    w.activities = resolved(ws.activities)
    w.conversions = list({row["event_id"]: row for row in resolved(ws.conversions)}.values())  # one row per id
    w.adjustments = resolved(ws.adjustments)
    w.moved = resolved(ws.moved_conversions)
    if ws.conversion_destinations:  # a brand's conversions go to its own destinations only
        w.destinations = {row["event_id"]: ws.brands.destinations(
                              row.get("brand", DEFAULT_BRAND),
                              ws.conversion_rules.destinations_for(row["kind"], ws.conversion_destinations))
                          for row in w.conversions + [m for m in w.moved if "event_id" in m]}
    w.merges = [{"kept_contact_id": cid(m["kept"]), "merged_contact_id": m["merged"] if isinstance(m["merged"], int)
                 else cid(m["merged"]), "via": m["via"], "source": m["source"], "record_id": m["record_id"][:255],
                 "actor": m.get("actor"), "snapshot": m.get("snapshot")} for m in ws.merges]
    w.conflicts = [{"contact_id": cid(c.pop("contact")), **c, "record_id": c["record_id"][:255],
                    "candidates": [_resolved_other(x, cid) for x in c["candidates"]]}
                   for c in (dict(x) for x in ws.conflicts)]
    w.issues, w.checked = issue_rows([(cid(key), patch) for key, patch in ws.landed], now)
    w.now = now
    return w


def _resolved_other(candidate: dict[str, Any], cid: Callable[[Key], int]) -> dict[str, Any]:
    """A blocked merge's ``other`` contact as its database id (it may be new in the batch)."""
    return {**candidate, "other": cid(candidate["other"])} if "other" in candidate else candidate


# the rows a merged-away contact brings along (re-pointed to the survivor): its snapshot lists their ids
_MOVED = (("touchpoints", model.Touchpoint), ("activities", model.Activity), ("conversions", model.ConversionEvent),
          ("adjustments", model.ConversionAdjustment), ("outbox", model.Outbox),
          ("quality_issues", model.QualityIssue))


def _note_moved_rows(session: Session, w: Writes) -> None:
    """Record in each merge's snapshot the ids of the rows its absorbed contact brought (for an unmerge)."""
    by_gone = {m["merged_contact_id"]: m["snapshot"] for m in w.merges if m.get("snapshot")}
    olds = sorted({g["b_old"] for g in w.gone} & set(by_gone))
    for name, entity in _MOVED:
        for part in chunks(olds, 5000):
            for row_id, contact_id in session.execute(select(entity.id, entity.contact_id)
                                                      .where(one_of(session, entity.contact_id, part))):
                by_gone[contact_id]["rows"][name].append(row_id)


def delete_transitions(session: Session, contact_ids: list[int]) -> list[dict[str, Any]]:
    """Delete these contacts' stage histories; the rows deleted (contact_id, seq, to_stage)."""
    t = model.StageTransition
    removed: list[dict[str, Any]] = []
    for part in chunks(contact_ids, 5000):
        removed += [r._asdict() for r in session.execute(
            delete(t).where(one_of(session, t.contact_id, part)).returning(t.contact_id, t.seq, t.to_stage,
                                                                          t.brand))]
    return removed


def write(session: Session, w: Writes) -> None:
    """Send a batch's planned rows (a fixed number of statements, whatever the row count)."""
    insert_rows(session, model.Contact, w.contacts)
    removed: list[dict[str, Any]] = []  # the stage histories deleted: counted out of the funnel's summary
    if w.gone:
        _note_moved_rows(session, w)
        for entity in (model.Identity, model.Touchpoint, model.Activity, model.ConversionEvent,
                       model.ConversionAdjustment, model.Outbox, model.QualityIssue):
            table = entity.__table__
            session.execute(update(table).where(table.c.contact_id == bindparam("b_old"))
                            .values(contact_id=bindparam("b_new")), w.gone)
        olds = [{"b_old": g["b_old"]} for g in w.gone]
        for entity in (model.FieldValue, model.StageSignal, model.ContactStage):  # no FK cascade there
            table = entity.__table__
            session.execute(delete(table).where(table.c.contact_id == bindparam("b_old")), olds)
        removed += delete_transitions(session, [g["b_old"] for g in w.gone])
        contacts = model.Contact.__table__
        session.execute(delete(contacts).where(contacts.c.id == bindparam("b_old")), olds)
    fresh = {c["id"] for c in w.contacts}  # rows of contacts created in this batch cannot collide: plain inserts
    # identities a new contact took were free when loaded, and stay so under reconcile_lock
    insert_rows(session, model.Identity, [r for r in w.identities if r["contact_id"] in fresh])
    insert_ignore(session, model.Identity, [r for r in w.identities if r["contact_id"] not in fresh],
                  ["kind", "value"])
    insert_rows(session, model.FieldValue, [v for v in w.values if v["contact_id"] in fresh])
    upsert(session, model.FieldValue, [v for v in w.values if v["contact_id"] not in fresh],
           ["contact_id", "field", "source"], ["value", "source_time", "arrived_at", "record_id"])
    if w.removed:
        fv = model.FieldValue.__table__.c
        session.execute(delete(model.FieldValue.__table__).where(
            fv.contact_id == bindparam("b_c"), fv.field == bindparam("b_f"), fv.source == bindparam("b_s")), w.removed)
    insert_rows(session, model.StageSignal, [g for g in w.signals if g["contact_id"] in fresh])
    upsert(session, model.StageSignal, [g for g in w.signals if g["contact_id"] not in fresh],
           ["contact_id", "source", "kind", "stage", "at", "brand"], ["reason"])
    upsert(session, model.EchoRecord, w.echoes, ["system", "contact_id", "field"],
           ["digest", "origin_source", "origin_time", "pushed_at"])
    if w.echo_gone:
        ec = model.EchoRecord.__table__.c
        session.execute(delete(model.EchoRecord.__table__).where(
            ec.contact_id == bindparam("b_c"), ec.system == bindparam("b_sys"), ec.field == bindparam("b_f")),
            w.echo_gone)
    update_by_id(session, model.Contact, w.contact_updates)
    update_by_id(session, model.Contact, w.value_updates)
    removed += delete_transitions(session, w.restaged)
    insert_rows(session, model.StageTransition, w.transitions)
    upsert(session, model.ContactStage, w.brand_stages, ["contact_id", "brand"],
           ["stage", "lost_stage", "stage_changed_at"])
    funnel_counts.record(session, removed, w.transitions)
    insert_ignore(session, model.Outbox, w.outbox, ["idempotency_key"])
    insert_ignore(session, model.Touchpoint, w.touchpoints, ["key"])
    insert_ignore(session, model.Activity, w.activities, ["key"])
    # stage conversions follow their moved entries (or keep a note); one whose old id was never stored is new
    conversions = list({r["event_id"]: r for r in w.conversions + follow_moves(session, w.moved, model.utcnow())}
                       .values())
    # events not stored yet cannot collide (only reconcile transactions write them): plain inserts
    fresh_events, stored_events = split_conversions(session, conversions)
    insert_rows(session, model.ConversionEvent, fresh_events)
    upsert(session, model.ConversionEvent, stored_events, ["event_id"],
           ["value", "currency", "order_id", "occurred_at"])
    insert_ignore(session, model.Outbox, [
        conversion_row(name, row["contact_id"], row["event_id"])
        for row in fresh_events for name in w.destinations.get(row["event_id"], ())], ["idempotency_key"])
    adjusted = write_adjustments(session, w.adjustments, fresh_events, model.utcnow())
    insert_rows(session, model.MergeLog, w.merges)
    insert_rows(session, model.ConflictLog, w.conflicts)
    if w.checked:
        write_issues(session, w.issues, w.checked, w.now or model.utcnow())
    segment_dirty.mark(session, changed_contacts(w, conversions) | adjusted, w.now)


def changed_contacts(w: Writes, conversions: list[dict[str, Any]]) -> set[int]:
    """Every contact this batch changed (merged-away ones too: they leave their segments)."""
    ids = {c["id"] for c in w.contacts} | {u["id"] for u in w.contact_updates + w.value_updates}
    ids |= {g["b_old"] for g in w.gone} | {g["b_new"] for g in w.gone} | {r["b_c"] for r in w.removed}
    for rows in (w.identities, w.values, w.signals, w.brand_stages, w.touchpoints, w.activities, conversions,
                 w.adjustments):
        ids.update(r["contact_id"] for r in rows)
    return ids


def split_conversions(session: Session, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]],
                                                                                list[dict[str, Any]]]:
    """The conversion rows whose event id is not stored yet (only those are queued for sending), and the others."""
    ids = sorted(row["event_id"] for row in rows)
    stored: set[str] = set()
    for part in chunks(ids, 5000):
        stored.update(session.scalars(select(model.ConversionEvent.event_id).where(
            one_of(session, model.ConversionEvent.event_id, part))))
    fresh: list[dict[str, Any]] = []
    seen: list[dict[str, Any]] = []
    for row in rows:
        (seen if row["event_id"] in stored else fresh).append(row)
    return fresh, seen
