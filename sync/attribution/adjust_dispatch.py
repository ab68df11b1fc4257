"""Send pending adjustments (retractions, restatements) to one destination, and record a Delivery for each.

An adjustment enters the outbox (kind ``adjustment``, ``sync.outbox.rows.adjustment_row``) for
every destination whose delivery of the conversion it adjusts was sent or pending when it was
applied (``sync.ingest.adjustments``). ``dispatch_all`` runs this after the destination's
conversions. Each adjustment tells the conversion's **current** state — retracted, or its
latest restated value — so adjustments that arrived out of order, or several in one pass,
still leave the network with the right figure. Per row:

- its conversion's delivery is still pending → left pending until that delivery is settled
  (no attempt counted);
- its conversion was not delivered there (expired, dead, duplicate, validated, retracted), or
  the destination already holds the current state (the conversion went out after the
  adjustment) → ``skipped``, with the reason;
- the network has no adjustments (``Network.adjust`` None: Meta, TikTok), or cannot retract
  (``Adjusts.retracts`` False) → ``unsupported``, with the network's reason; not failed, not
  retried, counted in the delivery report;
- the conversion is older than the network adjusts (``Adjusts.max_age_days``: Google, 54 days)
  → ``expired``, counted, not sent;
- another adjustment of the same conversion in this pass tells the same state → ``skipped``;
- the privacy policy (``sync.attribution.policy``) keeps the contact from the destination now →
  ``skipped``, with the reason; its Delivery records the policy, as a conversion's does;
- else built by the network's ``Adjusts.build`` and sent by its sender: ``sent`` (and the
  conversion's Delivery ``told`` becomes the new state), ``failed`` → ``dead`` with a
  replayable dead letter, ``retry`` → pending after a growing delay, as for conversions. A
  refusal saying the network already holds that state (Google's ``CONVERSION_ALREADY_RETRACTED``,
  ``RESTATEMENT_ALREADY_EXISTS``: ``EventResult.delivered_before``) is recorded ``sent`` and
  counted ``delivered_before``.

As for conversions, the rows settled without a request are committed first, then each sent
batch in its own transaction right after its answer: a crash re-sends at most the batch in flight.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from sync.attribution.destination import BuiltEvent, DestinationConfig, EventResult, NormalizeCache
from sync.attribution.facts import AdjustmentFacts, ConversionFacts
from sync.attribution.loading import load_facts, told_state
from sync.attribution.networks import network_for
from sync.attribution.policy import build_under, decision_for
from sync.errors import LifesyncError
from sync.http.redact import redact
from sync.outbox.deliveries import MAX_ATTEMPTS, backoff, dead_letter, defer, record_attempts
from sync.store import model
from sync.store.engine import Store
from sync.store.sql import chunks, one_of, update_by_id

log = logging.getLogger(__name__)
KIND = "adjustment"
PASS_SIZE = 10_000  # outbox rows loaded per pass, as for conversions
WAIT = timedelta(seconds=30)  # after its conversion's next attempt, an adjustment looks again


def not_supported(dest: DestinationConfig) -> str:
    """Why ``dest``'s network takes no adjustment (its ``Network.no_adjust``)."""
    net = network_for(dest)
    return net.no_adjust or f"not supported by {net.vendor}"


def state_of(conv: ConversionFacts) -> dict[str, Any]:
    """The conversion's current state as ``told_state`` writes it."""
    return told_state(conv.value, conv.currency, retracted=conv.retracted_at is not None)


def _originals(session: Any, dest: str, event_ids: list[str]) -> dict[str, tuple[str, Any, dict[str, Any]]]:
    """Per event id: (status, available_at, told state) of its conversion's delivery to ``dest`` (outbox id last)."""
    keys = {f"conv:{dest}:{event_id}"[:128]: event_id for event_id in event_ids}
    found: dict[str, Any] = {}
    o, d = model.Outbox, model.Delivery
    for part in chunks(sorted(keys), 5000):
        for row in session.execute(select(o.id, o.idempotency_key, o.status, o.available_at, d.id.label("delivery"),
                                          d.response).outerjoin(d, d.outbox_id == o.id)
                                   .where(one_of(session, o.idempotency_key, part))):
            found[keys[row.idempotency_key]] = row
    return found


def dispatch_adjustments(store: Store, dest: DestinationConfig, sender: Any, *, now: datetime | None = None,
                         limit: int = PASS_SIZE) -> tuple[dict[str, int], int]:
    """Passes over the adjustments due for ``dest`` (see the module docstring); (status counts, requests made)."""
    counts: Counter[str] = Counter()
    requests = 0
    while True:
        one, made = _one_pass(store, dest, sender, now or model.utcnow(), limit)
        counts.update(one)
        requests += made
        if not one:
            return dict(counts), requests


def _one_pass(store: Store, dest: DestinationConfig, sender: Any, now: datetime,
              limit: int) -> tuple[Counter[str], int]:
    net = network_for(dest)
    with store.transaction() as session:
        rows = list(session.execute(select(model.Outbox.id, model.Outbox.payload, model.Outbox.available_at)
                                    .where(model.Outbox.destination == dest.name, model.Outbox.kind == KIND,
                                           model.Outbox.status == "pending", model.Outbox.available_at <= now)
                                    .order_by(model.Outbox.id).limit(limit)))
        if not rows:
            return Counter(), 0
        attempts: dict[int, int] = {}
        for part in chunks([r.id for r in rows], 5000):
            attempts.update({d.outbox_id: d.attempts for d in session.scalars(select(model.Delivery).where(
                one_of(session, model.Delivery.outbox_id, part), model.Delivery.destination == dest.name))})
        event_ids = sorted({str((r.payload or {}).get("event_id")) for r in rows})
        conversions, owner, contacts, touches = load_facts(session, event_ids)
        originals = _originals(session, dest.name, event_ids)
    results: dict[int, EventResult] = {}
    waiting: dict[datetime, list[int]] = {}
    built: list[BuiltEvent] = []
    by_event: dict[str, int] = {}
    policies: dict[int, str] = {}  # outbox id -> the privacy policy applied (sync.attribution.policy)
    cache = NormalizeCache()
    for row in rows:
        payload = row.payload or {}
        event_id, key = str(payload.get("event_id")), str(payload.get("adjustment"))
        conv, original = conversions.get(event_id), originals.get(event_id)
        skip = _verdict(dest, net, conv, original, event_id in by_event, now)
        if skip == "waiting":  # until its conversion's own delivery is settled, and not again in this run
            until = max(original.available_at, now) + WAIT
            waiting.setdefault(until, []).append(row.id)
            continue
        if skip is not None:
            results[row.id] = skip
            continue
        assert conv is not None and net.adjust is not None
        facts = AdjustmentFacts(key=key, action="retract" if conv.retracted_at else "restate",
                                at=conv.adjusted_at or now, value=conv.value, currency=conv.currency)
        contact = contacts[owner[event_id]]
        decision = decision_for(dest, contact)
        policies[row.id] = decision.policy
        try:
            event = build_under(decision, event_id, contact, lambda c, f=facts, v=conv, cid=owner[event_id]: (
                net.adjust.build(f, v, c, touches.get(cid, []), dest, now=now, cache=cache)))
        except LifesyncError as exc:
            results[row.id] = EventResult(event_id, "failed", str(exc))
            continue
        except Exception as exc:  # a bug must not hold every later adjustment back
            log.exception("building %s adjustment of %s", dest.name, event_id)
            results[row.id] = EventResult(event_id, "failed", f"internal error: {type(exc).__name__}")
            continue
        if isinstance(event, EventResult):  # the privacy policy keeps it from this destination
            results[row.id] = event
            continue
        built.append(event)
        by_event[event_id] = row.id
    if waiting:
        with store.transaction() as session:
            for until, ids in waiting.items():
                defer(session, ids, until)
    counts = (_record(store, dest, rows, results, attempts, conversions, originals, now, policies) if results
              else Counter())
    if waiting:
        counts["waiting"] = sum(len(ids) for ids in waiting.values())
    requests = 0
    if built:
        adjust_sender = net.adjust.sender(dest, None) if net.adjust and net.adjust.sender else sender
        before = adjust_sender.requests
        by_id = {row.id: row for row in rows}
        for part in chunks(built, adjust_sender.max_batch):
            batch = {by_event[result.key]: result for result in adjust_sender.send(part)}
            # committed before the next batch goes out: a crash re-sends at most the batch in flight
            counts.update(_record(store, dest, [by_id[i] for i in batch], batch, attempts, conversions, originals,
                                  now, policies))
        requests = adjust_sender.requests - before
    return counts, requests


def _verdict(dest: DestinationConfig, net: Any, conv: ConversionFacts | None, original: Any,
             told_in_pass: bool, now: datetime) -> EventResult | str | None:
    """Why an adjustment is not sent now (a result, or ``"waiting"``), or None to send it."""
    if conv is None:
        return EventResult("", "failed", "the conversion no longer exists")
    status = original.status if original is not None else "missing"
    if status == "pending":
        return "waiting"
    if status != "sent":
        return EventResult(conv.event_id, "skipped", f"the conversion was not delivered to {dest.name} "
                                                     f"(its delivery is {status}): nothing to adjust there")
    told = (original.response or {}).get("told") or told_state(conv.recorded_value, conv.currency)
    if told == state_of(conv):
        return EventResult(conv.event_id, "skipped", f"{dest.name} already holds this state ({_describe(told)})")
    if net.adjust is None:
        return EventResult(conv.event_id, "unsupported", not_supported(dest))
    if conv.retracted_at is not None and not net.adjust.retracts:
        return EventResult(conv.event_id, "unsupported", net.adjust.unsupported or not_supported(dest))
    limit = net.adjust.max_age_days
    if limit is not None and conv.occurred_at < now - timedelta(days=limit):
        return EventResult(conv.event_id, "expired", f"the conversion occurred {conv.occurred_at:%Y-%m-%d}, more than "
                                                     f"the {limit} days {net.vendor} adjusts")
    if told_in_pass:
        return EventResult(conv.event_id, "skipped", "another adjustment of this pass tells the same state")
    return None


def _describe(state: dict[str, Any]) -> str:
    if state.get("retracted"):
        return "retracted"
    return f"value {state.get('value')} {state.get('currency') or ''}".strip()


def _record(store: Store, dest: DestinationConfig, rows: list[Any], results: dict[int, EventResult],
            attempts: dict[int, int], conversions: dict[str, ConversionFacts], originals: dict[str, Any],
            now: datetime, policies: dict[int, str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    outbox, deliveries, dead, told = [], [], [], []
    for row in rows:
        result = results.get(row.id)
        if result is None:
            continue
        tries = attempts.get(row.id, 0) + 1
        status, available, response = result.status, row.available_at, dict(result.response or {})
        error = redact(result.error) if result.error else None
        event_id = str((row.payload or {}).get("event_id"))
        if status == "sent":
            state = state_of(conversions[event_id])
            response["told"] = state
            original = originals[event_id]
            if original.delivery is not None:
                told.append({"id": original.delivery, "response": {**(original.response or {}), "told": state}})
            outbox_status = "sent"
        elif status == "retry" and tries < MAX_ATTEMPTS:
            outbox_status, status = "pending", "failed"
            available = now + backoff(tries, result.retry_after)
            counts["retrying"] += 1
        elif status in ("unsupported", "skipped", "expired"):
            outbox_status = status
        else:
            if status == "retry":
                error = f"gave up after {tries} attempts: {error}"
            status = outbox_status = "dead"
            dead.append(dead_letter(dest.name, KIND, row.id, error or "refused", now))
        if outbox_status != "pending":
            counts["delivered_before" if result.delivered_before else outbox_status] += 1
        outbox.append({"id": row.id, "status": outbox_status, "available_at": available})
        deliveries.append({"outbox_id": row.id, "destination": dest.name, "status": status, "attempts": tries,
                           "last_error": error and error[:1000], "response": response,
                           "sent_at": now if status == "sent" else None, "updated_at": now,
                           "policy": policies.get(row.id)})
    with store.transaction() as session:
        record_attempts(session, outbox, deliveries, dead)
        update_by_id(session, model.Delivery, told)
    return counts
