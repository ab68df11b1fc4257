"""Send pending conversions to one ad-network destination and record a Delivery for each.

Conversions enter the outbox (kind ``conversion``, payload ``{"event_id"}``) in the transaction
that creates them. ``dispatch_conversions`` loads what is due for a destination with the facts
each event needs (the conversion, its contact's values and identities, the contact's
touchpoints), builds every payload with one normalisation cache per pass (repeated cities,
states and countries are normalised and hashed once), sends them in batches of the network's
maximum, and records per event — the events settled without a request first, then each batch
in its own transaction right after its answer, before the next batch goes out, so a crash
re-sends at most the batch in flight:

- ``sent`` → outbox ``sent``; the Delivery keeps what the reports read (``click_id``: the
  click id the event carried, ``keys``: the hashed user keys) and the network's response;
- refused by the network as a duplicate of an event it already holds
  (``EventResult.delivered_before``: the sender's ``response["duplicate"]``) → outbox and
  Delivery ``sent`` too (the network has it, adjustments may follow), the response keeping
  ``duplicate: true``, counted ``delivered_before`` and not ``sent`` (this run did not deliver
  it: an earlier send whose answer was lost did). Only Google's Ads API says so per event
  (``CLICK_CONVERSION_ALREADY_EXISTS``, ``ORDER_ID_ALREADY_IN_USE``, the in-request
  duplicates); Google's Data Manager accepts the request and reports
  ``PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID`` later, per request and as a count
  (``sync.attribution.diagnostics``); Meta and TikTok drop a repeated ``event_id`` silently
  and answer as for a new event, so their re-sends count as ``sent`` — nothing lifesync can
  observe tells them apart;
- ``failed`` (refused locally or by the network) → ``dead``, with a replayable dead letter
  carrying the reason;
- ``retry`` → pending again after a growing delay (dead after ``MAX_ATTEMPTS``);
- the same sale told twice — a stage-derived conversion (conversions.yaml ``on_stage``) and a
  record's own conversion of the same kind for the same contact within ``SAME_FACT_WINDOW``,
  whichever arrived second — → ``duplicate``, not sent: the network is told each fact once,
  under the event id of the first (two records with different order ids are two sales);
- kept from the destination by the privacy policy (privacy.yaml, ``sync.attribution.policy``: ``drop``, or
  ``strip`` leaving nothing the network can match) → ``skipped``, with the reason, not sent; every
  Delivery records the policy it was built under (``deliveries.policy``: send, restricted, strip, drop);
- older than the network accepts (its ``Network.max_event_age``: Meta ``max_event_age_days``,
  7 by default; TikTok 28 days; Google the 90-day click window) → ``expired``, not sent: no retry or replay
  could deliver it, so it is counted, not dead-lettered (a backfill of old history is not an
  error).

The ``event_id`` is the conversion's own, fixed when the conversion was recorded: a resend
after a crash (the batch in flight: sent, then killed before its Delivery rows were
committed) carries the same id, and the network's de-duplication drops it. Each commit runs
in the caller's thread, so a dispatch run under a lease (``jobs.locks``) has every batch's
commit fenced: a holder whose lease lapsed stops before recording over its successor.

A destination in ``validate_only`` mode (Google) marks its rows ``validated`` — checked, not
delivered; they are not sent again when the mode is switched off (replay them to send them) —
and ``dry_run`` builds and validates without sending or writing anything. An unexpected
error building one event fails that event, not the pass.

A conversion retracted before it was sent (``sync.attribution.adjustments``) is ``retracted``,
never sent; a restated one is sent at its current value. What a destination was sent is kept
in its Delivery (``told``) for the adjustments that follow (``sync.attribution.adjust_dispatch``,
which ``dispatch_all`` runs after the conversions).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from sync.attribution.adjust_dispatch import dispatch_adjustments
from sync.attribution.destination import BuiltEvent, DestinationConfig, EventResult, NormalizeCache
from sync.attribution.facts import ConversionFacts
from sync.attribution.loading import load_facts, told_state
from sync.attribution.networks import network_for
from sync.attribution.policy import build_under, decision_for
from sync.attribution.rules import STAGE_OBJECT_PREFIX
from sync.errors import LifesyncError
from sync.http.redact import redact
from sync.outbox.deliveries import MAX_ATTEMPTS, backoff, dead_letter, record_attempts
from sync.store import model
from sync.store.engine import Store
from sync.store.sql import chunks, one_of

SAME_FACT_WINDOW = timedelta(hours=24)  # a stage conversion and a record conversion this close are one fact
log = logging.getLogger(__name__)
PASS_SIZE = 10_000  # outbox rows loaded per pass: several network batches, memory still small


@dataclass
class DispatchCounts:
    """What one ``dispatch_conversions`` did."""

    sent: int = 0
    delivered_before: int = 0  # refused by the network as already held: recorded sent, not sent by this run
    failed: int = 0
    retrying: int = 0
    expired: int = 0
    duplicate: int = 0
    validated: int = 0
    retracted: int = 0  # retracted before it was sent: never sent
    withheld: int = 0  # skipped: kept from the destination by the privacy policy (drop, or strip leaving nothing)
    requests: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)  # dry run: the built payloads (first few)
    adjustments: dict[str, int] = field(default_factory=dict)  # adjustment status -> count (adjust_dispatch)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready counts (and dry-run samples)."""
        out = {k: v for k, v in self.__dict__.items() if k not in ("events", "adjustments")}
        if self.adjustments:
            out["adjustments"] = dict(sorted(self.adjustments.items()))
        if self.events:
            out["sample"] = self.events
        return out


def _is_stage(conv: ConversionFacts) -> bool:
    return conv.object.startswith(STAGE_OBJECT_PREFIX)


def _twin(conv: ConversionFacts, told: Iterable[ConversionFacts]) -> ConversionFacts | None:
    """A conversion already told to the destination that is the same fact as ``conv`` (the closest in time)."""
    same = [other for other in told
            if other.event_id != conv.event_id and other.kind == conv.kind and _is_stage(other) != _is_stage(conv)
            and abs(other.occurred_at - conv.occurred_at) <= SAME_FACT_WINDOW
            and not (other.order_id and conv.order_id and other.order_id != conv.order_id)]
    return min(same, key=lambda other: abs(other.occurred_at - conv.occurred_at), default=None)


def _told(session: Any, destination: str, contact_ids: list[int]) -> dict[int, list[ConversionFacts]]:
    """Conversions of these contacts already told to the destination and not yet paired with a duplicate."""
    status: dict[str, str] = {}
    for part in chunks(contact_ids, 5000):
        for o in session.execute(select(model.Outbox.payload, model.Outbox.status).where(
                model.Outbox.destination == destination, model.Outbox.kind == "conversion",
                model.Outbox.status.in_(("sent", "validated", "duplicate")),
                one_of(session, model.Outbox.contact_id, part))):
            status[str((o.payload or {}).get("event_id"))] = o.status
    conversions, owner, _, _ = load_facts(session, list(status), facts=False) if status else ({}, {}, {}, {})
    out: dict[int, list[ConversionFacts]] = defaultdict(list)
    duplicates: dict[int, list[ConversionFacts]] = defaultdict(list)
    for event_id, conv in sorted(conversions.items(), key=lambda item: item[1].occurred_at):
        (duplicates if status[event_id] == "duplicate" else out)[owner[event_id]].append(conv)
    for contact, dups in duplicates.items():  # each duplicate already used up the telling it matched
        for dup in dups:
            if (twin := _twin(dup, out[contact])) is not None:
                out[contact].remove(twin)
    return out


def max_age_days(dest: DestinationConfig) -> int | None:
    """How old an event the destination's network still accepts (None: no limit lifesync knows of)."""
    return network_for(dest).max_event_age(dest)


def summary(dest: DestinationConfig, payload: dict[str, Any]) -> dict[str, Any]:
    """What the delivery report reads: the click id the event carried and its hashed user keys."""
    return network_for(dest).delivery_summary(payload)


def dispatch_conversions(store: Store, dest: DestinationConfig, sender: Any, *, now: datetime | None = None,
                         dry_run: bool = False, limit: int = PASS_SIZE) -> DispatchCounts:
    """One pass over what is due for ``dest`` (see the module docstring)."""
    now = now or model.utcnow()
    counts = DispatchCounts()
    with store.transaction() as session:
        rows = list(session.execute(select(model.Outbox.id, model.Outbox.payload, model.Outbox.available_at)
                                    .where(model.Outbox.destination == dest.name, model.Outbox.kind == "conversion",
                                           model.Outbox.status == "pending", model.Outbox.available_at <= now)
                                    .order_by(model.Outbox.id).limit(limit)))
        attempts: dict[int, int] = {}
        for part in chunks([r.id for r in rows], 5000):
            attempts.update({d.outbox_id: d.attempts for d in session.scalars(select(model.Delivery).where(
                one_of(session, model.Delivery.outbox_id, part), model.Delivery.destination == dest.name))})
        event_ids = [str((r.payload or {}).get("event_id")) for r in rows]
        conversions, owner, contacts, touches = load_facts(session, event_ids)
        told = _told(session, dest.name, sorted(set(owner.values())))
    build, cache = network_for(dest).build, NormalizeCache()
    oldest = now - timedelta(days=max_age_days(dest)) if max_age_days(dest) is not None else None
    built: list[BuiltEvent] = []
    by_key: dict[str, Any] = {}
    results: dict[int, tuple[EventResult, dict[str, Any]]] = {}
    policies: dict[int, str] = {}  # outbox id -> the privacy policy applied (sync.attribution.policy)
    for row, event_id in zip(rows, event_ids, strict=True):
        conv = conversions.get(event_id)
        if conv is None:
            results[row.id] = (EventResult(event_id, "failed", "the conversion no longer exists"), {})
            continue
        if conv.retracted_at is not None:  # cancelled or refunded before it went out: there is nothing to tell
            results[row.id] = (EventResult(event_id, "retracted", f"retracted on {conv.retracted_at:%Y-%m-%d} "
                                           "before it was sent"), {})
            continue
        twin = _twin(conv, told.get(owner[event_id], ()))
        if twin is not None:
            told[owner[event_id]].remove(twin)  # a fact is told once, and pairs with one other telling only
            results[row.id] = (EventResult(event_id, "duplicate", f"the same {conv.kind} as event {twin.event_id} "
                                           f"(one from a stage change, one from a record), already told"), {})
            continue
        if oldest is not None and conv.occurred_at < oldest:
            results[row.id] = (EventResult(event_id, "expired", f"occurred {conv.occurred_at:%Y-%m-%d}, older than "
                                           f"the {max_age_days(dest)} days {dest.network} accepts"), {})
            continue
        contact = contacts[owner[event_id]]
        decision = decision_for(dest, contact)
        policies[row.id] = decision.policy
        try:
            event = build_under(decision, event_id, contact, lambda c, conv=conv, cid=owner[event_id]: build(
                conv, c, touches.get(cid, []), dest, now=now, cache=cache))
        except LifesyncError as exc:
            results[row.id] = (EventResult(event_id, "failed", str(exc)), {})
            continue
        except Exception as exc:  # a bug must not hold every later event back: this one fails, replayably
            log.exception("building %s event %s", dest.name, event_id)
            results[row.id] = (EventResult(event_id, "failed", f"internal error: {type(exc).__name__}"), {})
            continue
        if isinstance(event, EventResult):  # the privacy policy keeps it from this destination
            results[row.id] = (event, {})
            continue
        told.setdefault(owner[event_id], []).append(conv)  # being told now (a twin later in the pass is not)
        if event.key in by_key:  # two outbox rows for one event cannot exist (unique key); be safe anyway
            continue
        by_key[event.key] = row
        built.append(event)
    if dry_run:
        counts.sent = len(built)
        counts.failed = sum(1 for r, _ in results.values() if r.status == "failed")
        counts.expired = sum(1 for r, _ in results.values() if r.status == "expired")
        counts.withheld = sum(1 for r, _ in results.values() if r.status == "skipped")
        counts.events = [e.payload for e in built[:3]]
        return counts
    if results:  # settled without a request (failed, expired, duplicate, retracted): recorded before any is made
        _record(store, dest, rows, results, attempts, now, counts, policies)
    before = sender.requests
    for part in chunks(built, sender.max_batch):
        batch: dict[int, tuple[EventResult, dict[str, Any]]] = {}
        payloads = {e.key: e.payload for e in part}
        for result in sender.send(part):
            conv = conversions[result.key]
            batch[by_key[result.key].id] = (result, {**summary(dest, payloads[result.key]),
                                                     "told": told_state(conv.value, conv.currency)})
        # committed before the next batch goes out: a crash re-sends at most the batch in flight
        _record(store, dest, [by_key[e.key] for e in part], batch, attempts, now, counts, policies)
    counts.requests = sender.requests - before
    return counts


def _record(store: Store, dest: DestinationConfig, rows: Iterable[Any], results: dict[int, tuple[EventResult, dict]],
            attempts: dict[int, int], now: datetime, counts: DispatchCounts, policies: dict[int, str]) -> None:
    outbox, deliveries, dead = [], [], []
    for row in rows:
        if row.id not in results:
            continue
        result, sums = results[row.id]
        tries = attempts.get(row.id, 0) + 1
        status, available = result.status, row.available_at
        error = redact(result.error) if result.error else None
        if status in ("expired", "duplicate", "retracted", "skipped"):
            outbox_status = status
            counted = "withheld" if status == "skipped" else status  # "skipped" means a busy lock to run_locked
            setattr(counts, counted, getattr(counts, counted) + 1)
        elif status == "sent" and dest.validate_only:  # checked by the network, deliberately not recorded there
            status = outbox_status = "validated"
            counts.validated += 1
        elif status == "sent":
            outbox_status = "sent"
            if result.delivered_before:
                counts.delivered_before += 1
            else:
                counts.sent += 1
        elif status == "retry" and tries < MAX_ATTEMPTS:
            outbox_status, status = "pending", "failed"
            available = now + backoff(tries, result.retry_after)
            counts.retrying += 1
        else:
            if status == "retry":
                error = f"gave up after {tries} attempts: {error}"
            status = outbox_status = "dead"
            counts.failed += 1
            dead.append(dead_letter(dest.name, "conversion", row.id, error or "refused", now))
        outbox.append({"id": row.id, "status": outbox_status, "available_at": available})
        deliveries.append({"outbox_id": row.id, "destination": dest.name, "status": status, "attempts": tries,
                           "last_error": error and error[:1000], "response": {**sums, **dict(result.response or {})},
                           "sent_at": now if status == "sent" else None, "updated_at": now,
                           "policy": policies.get(row.id)})
    with store.transaction() as session:
        record_attempts(session, outbox, deliveries, dead)


def dispatch_all(store: Store, dest: DestinationConfig, sender: Any, *, dry_run: bool = False,
                 now: datetime | None = None) -> DispatchCounts:
    """Passes until nothing is due for ``dest`` now (a dry run makes one pass)."""
    total = DispatchCounts()
    while True:
        one = dispatch_conversions(store, dest, sender, dry_run=dry_run, now=now)
        settled = ("sent", "delivered_before", "failed", "retrying", "validated", "expired", "duplicate", "retracted",
                   "withheld")
        for name in settled:
            setattr(total, name, getattr(total, name) + getattr(one, name))
        total.requests += one.requests
        total.events = total.events or one.events
        if dry_run or sum(getattr(one, name) for name in settled) == 0:
            break
    if not dry_run:  # after the conversions: an adjustment waits for its conversion's delivery
        total.adjustments, requests = dispatch_adjustments(store, dest, sender, now=now)
        total.requests += requests
    return total
