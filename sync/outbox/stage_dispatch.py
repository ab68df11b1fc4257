"""Send pending stage write-backs (kind ``stage``) to one destination, a Delivery for each as each completes.

Only a contact's newest stage is sent; an older one is marked ``superseded`` — also when the
newer one is not due yet (deferred by a rate limit) or was already sent, so a deferred older
stage never overwrites a newer one at the destination
(telling respond.io "Hot Lead" and then "Customer" a second later helps nobody). The sender
gets the item's payload plus ``contact``: the contact's current winning field values and its
identities (``{"values": {field: value}, "identities": {kind: [value, ...]}}``), so it sends
what lifesync knows now, not what it knew when the item was queued.

Each item's outcome is committed as soon as it is known, so a run killed half-way (the job
timeout, a deploy) never sends a delivered item again. Failures are classified by the error
type the sender raises:

- ``RateLimited`` → the item counts an attempt and waits (never less than ``Retry-After``),
  and the run **stops**: the items not tried yet stay pending with ``available_at`` (the
  outbox's not-before time, shared by every dispatcher) moved to when the destination said
  to come back (``Retry-After``, else ``DEFAULT_PAUSE``, counted from the refusal, not from
  the start of the run). A ``RateLimited`` whose ``sent`` is False comes from a sender that
  paused before sending (its rate-limit budget was spent): no attempt is counted, the item
  waits with the rest. Senders wait inline only briefly; long waits are this not-before
  time, never a sleep that outlives the job.
- ``TransientError`` → the item counts an attempt and waits with a growing delay;
- either one ``MAX_ATTEMPTS`` times → ``dead`` with a dead letter saying it gave up and why;
- ``AuthError`` and ``PermanentError`` → ``dead`` at once, with a dead letter carrying the reason.

A run also stops starting new sends after ``budget`` seconds, well inside the job's timeout;
what it did not reach stays due for the next run. The sender is injected, so this module
needs no network and no rq.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sync.errors import AuthError, PermanentError, RateLimited, TransientError
from sync.http.redact import redact
from sync.outbox.deliveries import MAX_ATTEMPTS, backoff, dead_letter, defer, record_attempts
from sync.store import model
from sync.store.engine import Store
from sync.store.sql import chunks, one_of, update_by_id

DEFAULT_PAUSE = 60.0  # seconds a rate-limited destination rests when it named no Retry-After
RUN_BUDGET = 240.0  # seconds a run may spend starting sends: well inside the schedule's default 600 s timeout
Sender = Callable[[dict[str, Any]], dict[str, Any]]  # payload (+ "contact") -> response summary


def dispatch(store: Store, destination: str, send: Sender, *, limit: int = 200, now: datetime | None = None,
             budget: float = RUN_BUDGET, clock: Callable[[], float] = time.monotonic) -> dict[str, int]:
    """Send what is due for ``destination``; counts of sent / superseded / retrying / dead / deferred.

    ``deferred``: items this run did not try (a rate limit stopped it, or ``budget`` ran out).
    """
    now = now or model.utcnow()
    counts = {"sent": 0, "superseded": 0, "retrying": 0, "dead": 0, "deferred": 0}
    items, attempts, contacts, latest = _due(store, destination, limit, now)
    newest: dict[Any, int] = dict(latest)  # (contact, kind) -> id of its newest row, due or not
    for item in items:  # ordered by id: the last one per contact is the newest of the run
        newest[(item.contact_id, item.kind)] = max(item.id, newest.get((item.contact_id, item.kind), 0))
    keep = {i.id for i in items if newest[(i.contact_id, i.kind)] == i.id}
    superseded = [{"id": i.id, "status": "superseded", "available_at": i.available_at}
                  for i in items if i.id not in keep]
    if superseded:
        with store.transaction() as session:
            update_by_id(session, model.Outbox, superseded)
        counts["superseded"] = len(superseded)
    queue = [i for i in items if i.id in keep]
    started = clock()
    for index, item in enumerate(queue):
        if clock() - started >= budget:
            counts["deferred"] += len(queue) - index  # still due: the next run goes on from here
            break
        tries = attempts.get(item.id, 0) + 1
        try:
            response = send({**item.payload, "contact": contacts.get(item.contact_id, _NO_FACTS)})
        except RateLimited as exc:
            at = _later(now, clock() - started)  # waits count from the refusal, not from the run's start
            rest = queue[index + 1:]
            if not exc.sent:  # paused before sending: nothing failed, no attempt
                rest = queue[index:]
            else:
                counts[_retry(store, destination, item, tries, exc, at)] += 1
            pause = exc.retry_after if exc.retry_after is not None else DEFAULT_PAUSE
            with store.transaction() as session:
                defer(session, [i.id for i in rest], at + timedelta(seconds=pause))
            counts["deferred"] += len(rest)
            break
        except TransientError as exc:
            counts[_retry(store, destination, item, tries, exc, _later(now, clock() - started))] += 1
        except (AuthError, PermanentError) as exc:
            at, reason = _later(now, clock() - started), redact(str(exc))
            _record(store, item, "dead", item.available_at, _delivery(item, destination, tries, at, "dead", reason),
                    dead_letter(destination, item.kind, item.id, reason, at))
            counts["dead"] += 1
        else:
            at = _later(now, clock() - started)
            delivery = _delivery(item, destination, tries, at, "sent", None)
            delivery.update(sent_at=at, response=response)
            _record(store, item, "sent", item.available_at, delivery)
            counts["sent"] += 1
    return counts


_NO_FACTS: dict[str, Any] = {"values": {}, "identities": {}}


def _later(now: datetime, elapsed: float) -> datetime:
    """The run's ``now`` moved on by the seconds the run has taken so far."""
    return now + timedelta(seconds=max(0.0, elapsed))


def _due(store: Store, destination: str, limit: int, now: datetime) -> tuple[
        list[model.Outbox], dict[int, int], dict[int, dict[str, Any]], dict[tuple[int, str], int]]:
    """Due items (oldest first), their attempts so far, their contacts' current facts by contact id, and
    the id of the newest row of each (contact, kind) among them, whatever its status or due time.
    """
    with store.transaction() as session:
        items = list(session.scalars(select(model.Outbox).where(
            model.Outbox.destination == destination, model.Outbox.status == "pending",
            model.Outbox.available_at <= now).order_by(model.Outbox.id).limit(limit)))
        attempts: dict[int, int] = {}
        for part in chunks([i.id for i in items], 5000):
            attempts.update({d.outbox_id: d.attempts for d in session.scalars(select(model.Delivery).where(
                one_of(session, model.Delivery.outbox_id, part), model.Delivery.destination == destination))})
        contact_ids = sorted({i.contact_id for i in items if i.contact_id is not None})
        contacts = _facts(session, contact_ids)
        latest: dict[tuple[int, str], int] = {}
        for part in chunks(contact_ids, 5000):
            latest.update({(r.contact_id, r.kind): r.newest for r in session.execute(
                select(model.Outbox.contact_id, model.Outbox.kind, func.max(model.Outbox.id).label("newest"))
                .where(model.Outbox.destination == destination, one_of(session, model.Outbox.contact_id, part))
                .group_by(model.Outbox.contact_id, model.Outbox.kind))})
        session.expunge_all()
    return items, attempts, contacts, latest


def _facts(session: Session, contact_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Winning field values and identities (values sorted, per kind) of each contact."""
    values: dict[int, dict[str, Any]] = {}
    identities: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for part in chunks(contact_ids, 5000):
        for c in session.execute(select(model.Contact.id, model.Contact.attributes)
                                 .where(one_of(session, model.Contact.id, part))):
            values[c.id] = {k: v.get("value") for k, v in (c.attributes or {}).items() if isinstance(v, dict)}
        for i in session.execute(select(model.Identity.contact_id, model.Identity.kind, model.Identity.value)
                                 .where(one_of(session, model.Identity.contact_id, part))
                                 .order_by(model.Identity.kind, model.Identity.value)):
            identities[i.contact_id][i.kind].append(i.value)
    return {cid: {"values": values.get(cid, {}), "identities": {k: list(v) for k, v in identities[cid].items()}}
            for cid in contact_ids}


def _delivery(item: model.Outbox, destination: str, tries: int, now: datetime, status: str,
              error: str | None) -> dict[str, Any]:
    return {"outbox_id": item.id, "destination": destination, "status": status, "attempts": tries,
            "updated_at": now, "sent_at": None, "last_error": error and error[:1000], "response": {}}


def _retry(store: Store, destination: str, item: model.Outbox, tries: int, exc: RateLimited | TransientError,
           now: datetime) -> str:
    """Record a failed attempt that may succeed later: pending with a delay, or dead once attempts run out."""
    reason = redact(str(exc))
    if tries >= MAX_ATTEMPTS:
        _record(store, item, "dead", item.available_at, _delivery(item, destination, tries, now, "dead", reason),
                dead_letter(destination, item.kind, item.id, f"gave up after {tries} attempts: {reason}", now))
        return "dead"
    retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
    _record(store, item, "pending", now + backoff(tries, retry_after),
            _delivery(item, destination, tries, now, "failed", reason))
    return "retrying"


def _record(store: Store, item: model.Outbox, status: str, available_at: datetime, delivery: dict[str, Any],
            letter: dict[str, Any] | None = None) -> None:
    """One item's outcome, committed at once (a run killed later does not send it again)."""
    with store.transaction() as session:
        record_attempts(session, [{"id": item.id, "status": status, "available_at": available_at}], [delivery],
                        [letter] if letter else [])
