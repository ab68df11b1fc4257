"""Lifecycle automation: stale leads move to a lost stage; first-response time per conversation.

**Stale leads** (``automation.stale_leads`` in lifecycle.yaml). A contact in one of a rule's
active stages is *idle since* the later of its last activity and the moment it entered its
stage. What counts as activity is the rule's ``activity`` list (``last_activity``): inbound
and/or outbound messages and conversions of the listed kinds (a purchase, a booking);
by default inbound messages only. When ``after_days`` have passed since then, lifesync reports the rule's
lost stage as a stage signal of its own (source ``lifesync``), dated ``idle since +
after_days``, through the ordinary reconciliation: the stage history records the move like
any other, replay gives the same result whatever order signals arrive in, and a later
inbound message reactivates the contact through the configured transition rule.

Per brand (``sync.config.brands``): each brand's funnel goes stale on its own — its stage
(``contacts`` for the default brand, ``contact_stages`` for the others), its own inbound
messages (those that came through its connections), and the rules of its lifecycle (a brand
with its own lifecycle file uses that file's ``automation:``, the others the shared one).
The signal carries the brand, so it moves that brand's stage and no other.

**First response** (``conversation_stats``). Per (contact, channel, conversation, brand): the first
inbound message, the first outbound message at or after it, and the seconds between. An
outbound message answers the conversation it names; one that names no conversation the
contact opened on that channel — WhatsApp status webhooks carry Meta's billing conversation
id, inbound messages none — answers every conversation of the contact and channel that was
open by then (of the same brand: a reply through one brand's number answers that brand's
conversations only). Contacts are recomputed when they gain activities (an activity-id cursor
re-read with an overlap, so rows of transactions that committed late are not missed) or
absorb another contact in a merge (a merge-log cursor); unchanged rows are not rewritten.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from sync.config.automation_schema import MESSAGE_DIRECTIONS
from sync.config.types import DEFAULT_BRAND, LifecycleConfig, StaleLeadRule
from sync.ingest.pipeline import IngestResult, ingest_patches
from sync.outbox.effects import Effects
from sync.reconcile.patch import IdentityRef, Patch
from sync.reports.brand_scope import StageScope
from sync.store import model
from sync.store.engine import Store
from sync.store.sql import one_of, upsert

AUTOMATION_SOURCE = "lifesync-automation"  # see sync.reconcile.lifecycle.DECISION_SOURCES
CURSOR_CONNECTION, CURSOR_OBJECT = "lifesync", "first_response"
ACTIVITY_OVERLAP = 10_000  # activity ids re-read each run: rows of transactions still open last time


# ---- stale leads ---------------------------------------------------------------------------

@dataclass(frozen=True)
class IdleContact:
    """A contact in an active stage of a brand, with when it last wrote to that brand or entered that stage."""

    contact_id: int
    stage: str
    idle_since: datetime
    identities: tuple[IdentityRef, ...]
    brand: str = DEFAULT_BRAND


def stale_patch(contact: IdleContact, rule: StaleLeadRule, now: datetime) -> Patch | None:
    """The patch moving an idle contact to the rule's lost stage (in its brand), or None while it is not stale yet."""
    at = contact.idle_since + timedelta(days=rule.after_days)
    if contact.stage not in rule.from_stages or at > now or not contact.identities:
        return None
    idle = "no inbound message" if rule.activity == ("inbound",) else f"no activity ({', '.join(rule.activity)})"
    return Patch(source=AUTOMATION_SOURCE, object="automation", source_time=at, stage=rule.to,
                 record_id=f"rule {rule.name}: {idle} for {rule.after_days} days",
                 identities=contact.identities, brand=contact.brand)


def last_activity(rule: StaleLeadRule, contact_id: Any, brand: str = DEFAULT_BRAND, table: Any = None) -> Any:
    """SQL: the time of the contact's latest activity with ``brand`` as the rule counts it (NULL when none).

    Messages of the listed directions (``inbound``, ``outbound``) and conversions of the listed
    kinds (``purchase``, ``booking``, ...; a conversion later retracted still was activity), each
    of that brand. ``contact_id`` is the column the correlated subqueries match, of ``table`` (correlated
    explicitly when given).
    """
    a, e = model.Activity, model.ConversionEvent
    directions = [w for w in rule.activity if w in MESSAGE_DIRECTIONS]
    kinds = [w for w in rule.activity if w not in MESSAGE_DIRECTIONS]
    latest = []
    if directions:
        latest.append(select(func.max(a.occurred_at))
                      .where(a.contact_id == contact_id, a.direction.in_(directions), a.brand == brand))
    if kinds:
        latest.append(select(func.max(e.occurred_at))
                      .where(e.contact_id == contact_id, e.kind.in_(kinds), e.brand == brand))
    latest = [(q.correlate(table) if table is not None else q).scalar_subquery() for q in latest]
    if len(latest) == 1:
        return latest[0]
    # greatest() skips NULLs on PostgreSQL but is NULL on SQLite's max(): coalesce each to the other
    first, second = latest
    return case((first.is_(None), second), (second.is_(None), first), (first > second, first), else_=second)


def idle_contacts(session: Session, rule: StaleLeadRule, now: datetime, after_id: int, limit: int,
                  scope: StageScope | None = None) -> tuple[list[IdleContact], int | None]:
    """One page of contacts the rule may apply to in ``scope``'s brand (two queries), and the id to continue after.

    ``scope``: the brand whose funnel is read (None: the default brand's, with ``rule``'s lifecycle unused).
    """
    scope = scope or StageScope(DEFAULT_BRAND, LifecycleConfig())
    c = model.Contact
    table, contact_id, stage, lost, in_brand = scope.now()
    last_seen = last_activity(rule, contact_id, scope.brand, table)
    entered = func.coalesce(scope.entered(), c.created_at)
    query = select(contact_id.label("id"), stage.label("stage"), scope.entered().label("stage_changed_at"),
                   c.created_at, last_seen.label("last_inbound"))
    if not scope.default:
        query = query.select_from(table).join(c, c.id == contact_id)
    rows = session.execute(
        query.where(in_brand, lost.is_(None), stage.in_(rule.from_stages), contact_id > after_id,
                    entered <= now - timedelta(days=rule.after_days))
        .order_by(contact_id).limit(limit)).all()
    if not rows:
        return [], None
    idle = {r.id: (r.stage, max(t for t in (r.stage_changed_at or r.created_at, r.last_inbound) if t))
            for r in rows}
    due = [cid for cid, (_, since) in idle.items() if since + timedelta(days=rule.after_days) <= now]
    refs: dict[int, list[IdentityRef]] = defaultdict(list)
    if due:
        for i in session.execute(select(model.Identity.contact_id, model.Identity.kind, model.Identity.value)
                                 .where(one_of(session, model.Identity.contact_id, due))):
            refs[i.contact_id].append(IdentityRef(i.kind, i.value))
    found = [IdleContact(cid, idle[cid][0], idle[cid][1], tuple(sorted(refs[cid])), scope.brand) for cid in due]
    return found, rows[-1].id


def apply_stale_leads(store: Store, config: LifecycleConfig, now: datetime | None = None,
                      batch_size: int = 500, effects: Effects | None = None) -> IngestResult:
    """Move every stale contact to its rule's lost stage, brand by brand; each page is one reconcile transaction.

    The brands are ``effects.brands`` (the reconciliation that moves the stage needs them too);
    each brand's rules are its lifecycle's (``config``, the shared lifecycle, for the default brand).
    """
    now = now or model.utcnow()
    effects = effects or Effects()
    total = IngestResult()
    for brand in effects.brands.keys:
        scope = StageScope(brand, config if brand == DEFAULT_BRAND else effects.brands.lifecycle(brand, config))
        for rule in scope.lifecycle.stale_rules:
            after: int | None = 0
            while after is not None:
                with store.transaction() as session:
                    page, after = idle_contacts(session, rule, now, after, batch_size, scope)
                patches = [p for p in (stale_patch(c, rule, now) for c in page) if p is not None]
                if patches:
                    total.add(ingest_patches(store, config, [(p, None) for p in patches], effects=effects))
    return total


# ---- first response -----------------------------------------------------------------------

@dataclass(frozen=True)
class ActivityRow:
    """The parts of an activity first-response time needs."""

    contact_id: int
    channel: str
    conversation_id: str | None
    direction: str
    occurred_at: datetime
    brand: str = DEFAULT_BRAND


Conversation = tuple[int, str, str, str]  # (contact, channel, conversation id or "", brand)


def first_responses(activities: Iterable[ActivityRow]) -> dict[Conversation, tuple[datetime, datetime | None]]:
    """(contact, channel, conversation, brand) → (first inbound, first reply at or after it); see module doc.

    A brand's conversation is answered by that brand's replies only (those sent through its connections).
    """
    inbound: dict[Conversation, datetime] = {}
    outbound: dict[tuple[int, str, str], list[tuple[datetime, str]]] = defaultdict(list)
    for a in activities:
        conv = a.conversation_id or ""
        if a.direction == "inbound":
            key = (a.contact_id, a.channel, conv, a.brand)
            inbound[key] = min(inbound.get(key, a.occurred_at), a.occurred_at)
        elif a.direction == "outbound":
            outbound[(a.contact_id, a.channel, a.brand)].append((a.occurred_at, conv))
    opened: dict[tuple[int, str, str], set[str]] = defaultdict(set)
    for contact, channel, conv, brand in inbound:
        opened[(contact, channel, brand)].add(conv)
    result: dict[Conversation, tuple[datetime, datetime | None]] = {}
    for key, first_in in inbound.items():
        contact, channel, conv, brand = key
        thread = (contact, channel, brand)
        replies = (at for at, names in sorted(outbound.get(thread, ()))
                   if at >= first_in and (names == conv or names not in opened[thread]))
        result[key] = (first_in, next(replies, None))
    return result


def _stat_rows(stats: dict[Conversation, tuple[datetime, datetime | None]]) -> list[dict[str, Any]]:
    return [{"contact_id": c, "channel": ch, "conversation_id": conv[:255], "brand": brand,
             "first_inbound_at": first_in, "first_outbound_at": first_out,
             "first_response_seconds": int((first_out - first_in).total_seconds()) if first_out else None}
            for (c, ch, conv, brand), (first_in, first_out) in sorted(stats.items())]


def refresh_conversation_stats(session: Session, contact_ids: Sequence[int]) -> int:
    """Recompute the conversations of these contacts (three statements); returns rows written."""
    if not contact_ids:
        return 0
    a, s = model.Activity, model.ConversationStat
    rows = [ActivityRow(*r) for r in session.execute(
        select(a.contact_id, a.channel, a.conversation_id, a.direction, a.occurred_at, a.brand)
        .where(one_of(session, a.contact_id, contact_ids)))]
    fresh = _stat_rows(first_responses(rows))
    stored = {(r.contact_id, r.channel, r.conversation_id, r.brand): (r.first_inbound_at, r.first_outbound_at)
              for r in session.execute(select(s.contact_id, s.channel, s.conversation_id, s.brand, s.first_inbound_at,
                                              s.first_outbound_at).where(one_of(session, s.contact_id, contact_ids)))}
    now = model.utcnow()
    changed = [{**r, "updated_at": now} for r in fresh if stored.get(
        (r["contact_id"], r["channel"], r["conversation_id"], r["brand"])) != (r["first_inbound_at"],
                                                                                r["first_outbound_at"])]
    upsert(session, s, changed, ["contact_id", "channel", "conversation_id", "brand"],
           ["first_inbound_at", "first_outbound_at", "first_response_seconds", "updated_at"])
    return len(changed)


def compute_first_responses(store: Store, batch_size: int = 500) -> dict[str, int]:
    """Bring conversation_stats up to date with new activities and merges; returns counts."""
    with store.transaction() as session:
        cursor = session.get(model.SyncCursor, (CURSOR_CONNECTION, CURSOR_OBJECT))
        state = dict(cursor.cursor) if cursor else {}
    last_activity, last_merge = int(state.get("activity_id", 0)), int(state.get("merge_id", 0))
    contacts = written = 0
    for table, column, start, name in (
            (model.Activity, model.Activity.contact_id, max(0, last_activity - ACTIVITY_OVERLAP), "activity_id"),
            (model.MergeLog, model.MergeLog.kept_contact_id, last_merge, "merge_id")):
        after = start
        while True:
            with store.transaction() as session:
                page = session.execute(select(table.id, column).where(table.id > after)
                                       .order_by(table.id).limit(batch_size)).all()
                if not page:
                    break
                ids = sorted({r[1] for r in page})
                written += refresh_conversation_stats(session, ids)
            contacts += len(ids)
            after = page[-1].id
            state[name] = max(int(state.get(name, 0)), after)
    with store.transaction() as session:
        upsert(session, model.SyncCursor, [{"connection": CURSOR_CONNECTION, "object": CURSOR_OBJECT,
                                            "cursor": state, "updated_at": model.utcnow()}],
               ["connection", "object"], ["cursor", "updated_at"])
    return {"contacts": contacts, "written": written}
