"""Dead letters: what could not be processed, why, and replaying it once the cause is fixed.

Two kinds live in the ``dead_letters`` table:

- **records** (stage ``mapping`` or ``reconcile``): the original vendor record as payload.
  Replay maps it with its (source, object) mapping, stamps it with the brand the letter
  records (the record's brand when it arrived; null: the default brand) as the inbox drain and
  a CRM pull do, and reconciles it, all of a page in one
  transaction together with the dead letters' new status: ``replayed`` on success; a record
  that still fails (invalid, unstorable, refused by the database: ``sync.ingest.isolation``)
  stays ``open`` with the new reason, and the rest of the page replays.
- **audience members** (stage ``audience``): a contact an audience destination refused;
  replay puts it back to pending, and the next sync of its audience sends it again.
- **jobs** (stage ``job``): a background job that failed for good (a non-retriable error,
  or retries exhausted); the payload names the function, its arguments and its queue.
  Replay hands the payload to the caller's ``enqueue_job`` (the rq shell) and marks it
  ``replayed``; if the job fails again it is dead-lettered anew.

Reasons never carry personal data: lifesync's own errors are written to be shown; for any
other exception only its type is kept (details are in the worker log).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from sync.access import audit
from sync.access.roles import Principal
from sync.config.types import DEFAULT_BRAND
from sync.errors import LifesyncError
from sync.ingest.isolation import reconcile_batch
from sync.ingest.pipeline import map_records
from sync.outbox.effects import Effects
from sync.privacy.suppression import suppressed as suppressed_patches
from sync.reconcile.brands import record_namespace, stamped
from sync.reconcile.identity import patch_refs
from sync.segments.audiences.bookkeeping import AUDIENCE_STAGE, replay_member
from sync.store import model
from sync.store.engine import Store
from sync.store.reason_class import reason_values
from sync.store.sql import chunks, one_of

if TYPE_CHECKING:
    from sync.config import Config

RECORD_STAGES = ("mapping", "reconcile")
JOB_STAGE = "job"
DISPATCH_STAGE = "dispatch"  # an outbox item a destination refused (sync.outbox.stage_dispatch)
LIST_COLUMNS = ("id", "stage", "source", "object", "record_id", "reason", "created_at")


SUPPRESSED_PAYLOAD: dict[str, Any] = {"redacted": "suppressed"}  # a replayed letter of a forgotten person


def reason_for(exc: BaseException) -> str:
    """A dead letter's reason: lifesync's own message, else only the exception type (no PII)."""
    if isinstance(exc, LifesyncError):
        return f"{type(exc).__name__}: {exc}"[:2000]
    return f"{type(exc).__name__} (details in the worker log)"


def list_open(store: Store, limit: int | None = None) -> list[dict[str, Any]]:
    """Open dead letters, oldest first: id, stage, source, object, record id, reason, created."""
    d = model.DeadLetter
    with store.transaction() as session:
        query = select(*(getattr(d, c) for c in LIST_COLUMNS)).where(d.status == "open").order_by(d.id)
        return [dict(r._mapping) for r in session.execute(query.limit(limit) if limit else query)]


def record_job_failure(store: Store, *, queue: str, func: str, args: Sequence[Any], kwargs: dict[str, Any],
                       job_id: str, reason: str, schedule: str | None = None) -> int:
    """Dead-letter a failed job; a scheduled job keeps one open letter (its reason refreshed)."""
    payload = json.loads(json.dumps({"func": func, "args": list(args), "kwargs": kwargs, "queue": queue,
                                     "job_id": job_id, "schedule": schedule}, default=str))
    record_id = f"schedule:{schedule}" if schedule else job_id
    d = model.DeadLetter
    with store.transaction() as session:
        existing = session.scalar(select(d.id).where(d.status == "open", d.stage == JOB_STAGE,
                                                     d.object == func[:64], d.record_id == record_id))
        if schedule and existing is not None:
            session.execute(update(d).where(d.id == existing).values(**reason_values(reason), payload=payload))
            return existing
        row = d(stage=JOB_STAGE, source=queue[:32], object=func[:64], record_id=record_id[:255], reason=reason,
                payload=payload, status="open", created_at=model.utcnow())
        session.add(row)
        session.flush()
        return row.id


@dataclass
class ReplayResult:
    """What a replay did, per dead letter id."""

    replayed: list[int] = field(default_factory=list)  # no longer open (records stored, jobs enqueued, …)
    failed: dict[int, str] = field(default_factory=dict)  # id → the new reason
    not_open: list[int] = field(default_factory=list)  # unknown ids, or already replayed
    enqueued: list[int] = field(default_factory=list)  # the replayed jobs: handed to their queue again

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready counts and ids."""
        return {"replayed": self.replayed, "failed": {str(k): v for k, v in sorted(self.failed.items())},
                "not_open": self.not_open, "enqueued": self.enqueued}

    def add(self, other: ReplayResult) -> None:
        """Fold in the result of another page of the same replay."""
        self.replayed += other.replayed
        self.failed.update(other.failed)
        self.not_open += other.not_open
        self.enqueued += other.enqueued


def replay(store: Store, config: Config, ids: Sequence[int] | None = None,
           enqueue_job: Callable[[dict[str, Any]], None] | None = None, page: int = 500,
           effects: Effects | None = None, actor: Principal | None = None) -> ReplayResult:
    """Replay the open dead letters ``ids`` (None: every open one); see the module docstring.

    Replayed records queue their ``effects`` (write-backs, conversions) like any other batch.
    With an ``actor`` (an ops request) each page is audit-logged in the transaction that sets
    its letters' status: which went from open to replayed, which stay open.
    """
    effects = effects or Effects.rules_only(config)
    result = ReplayResult()
    d = model.DeadLetter
    with store.transaction() as session:
        query = select(d.id).where(d.status == "open").order_by(d.id)
        open_ids = list(session.scalars(query if ids is None else query.where(one_of(session, d.id, list(ids)))))
    if ids is not None:
        result.not_open = sorted(set(ids) - set(open_ids))
    for part in chunks(open_ids, page):
        with store.transaction() as session:  # expire_on_commit is off: the rows stay readable
            letters = list(session.scalars(select(d).where(one_of(session, d.id, list(part))).order_by(d.id)))
        outcome: dict[int, str | None] = {}  # id → None (replayed) or the reason it still fails
        for letter in letters:  # outside any transaction: a job run in-process opens its own
            if letter.stage == JOB_STAGE:
                outcome[letter.id] = _replay_job(letter, enqueue_job)
            elif letter.stage == DISPATCH_STAGE:
                outcome[letter.id] = _replay_dispatch(store, letter)
            elif letter.stage == AUDIENCE_STAGE:
                outcome[letter.id] = replay_member(store, letter)
            elif letter.stage not in RECORD_STAGES:
                outcome[letter.id] = f"dead letters of stage {letter.stage!r} cannot be replayed yet"
        with store.transaction() as session:
            outcome.update(_replay_records(session, config, [x for x in letters if x.stage in RECORD_STAGES],
                                           effects))
            now = model.utcnow()
            done = ReplayResult()
            for letter_id, reason in sorted(outcome.items()):
                if reason is None:
                    session.execute(update(d).where(d.id == letter_id, d.status == "open")
                                    .values(status="replayed", replayed_at=now))
                    done.replayed.append(letter_id)
                else:
                    session.execute(update(d).where(d.id == letter_id).values(**reason_values(reason)))
                    done.failed[letter_id] = reason
            done.enqueued = [x.id for x in letters if x.stage == JOB_STAGE and outcome.get(x.id, "") is None]
            if actor is not None and outcome:
                audit.record(session, actor, "dead_letter.replay", "dead_letters", id_span(sorted(outcome)),
                             before={"open": sorted(outcome)},
                             after={"replayed": done.replayed, "open": sorted(done.failed)},
                             summary=f"dead_letter.replay of {len(outcome)} letter(s) {id_span(sorted(outcome))}: "
                                     f"{len(done.replayed)} open → replayed, {len(done.failed)} still open")
        result.add(done)
    return result


def id_span(ids: Sequence[int]) -> str:
    """Ids as an audit target: ``7``, or ``3-90 (12)`` (lowest, highest, how many)."""
    return str(ids[0]) if len(ids) == 1 else f"{min(ids)}-{max(ids)} ({len(ids)})"


def _replay_dispatch(store: Store, letter: model.DeadLetter) -> str | None:
    """A dead outbox item goes back to ``pending``: the next dispatch sends it again."""
    outbox_id = (letter.payload or {}).get("outbox_id")
    with store.transaction() as session:
        done = session.execute(update(model.Outbox).where(model.Outbox.id == outbox_id, model.Outbox.status == "dead")
                               .values(status="pending", available_at=model.utcnow())).rowcount
    return None if done else f"outbox item {outbox_id} is not dead any more (or is gone)"


def _replay_job(letter: model.DeadLetter, enqueue_job: Callable[[dict[str, Any]], None] | None) -> str | None:
    if enqueue_job is None:
        return letter.reason
    try:
        enqueue_job({**letter.payload, "dead_letter": letter.id})  # the replay's job id derives from it
    except Exception as exc:  # the queue is unreachable: the letter stays open
        return f"could not re-enqueue: {reason_for(exc)}"
    return None


def _replay_records(session: Any, config: Config, letters: list[model.DeadLetter],
                    effects: Effects) -> dict[int, str | None]:
    """Map and reconcile the letters' payloads in this transaction; id → None or the new reason."""
    outcome: dict[int, str | None] = {}
    items: list[tuple[int, Any]] = []  # (letter id, patch)
    groups: dict[tuple[str, str], list[model.DeadLetter]] = defaultdict(list)
    for letter in letters:
        groups[(letter.source, letter.object)].append(letter)
    for (source, obj), group in groups.items():
        mapping = config.mappings.get((source, obj))
        if mapping is None:
            outcome.update({x.id: f"no mapping for source {source!r} object {obj!r}" for x in group})
            continue
        for letter in group:
            brand = letter.brand or DEFAULT_BRAND
            if config.brands.get(brand) is None:  # brands.yaml dropped it: not silently the default's record
                outcome[letter.id] = (f"brand {brand!r} of this record is not configured any more; configured "
                                      f"brands: {', '.join(config.brands.keys)} (brands.yaml)")
                continue
            patches, dead = map_records(mapping, [letter.payload], letter.created_at)  # when it first came
            if dead:
                outcome[letter.id] = dead[0]["reason"]
                continue
            try:  # its record ids' namespace: the brand's connection of the source (identity.namespaced)
                namespace = record_namespace(config.brands, config.lifecycle, source, brand,
                                             (ref.kind for ref in patches[0][0].identities))
            except ValueError as exc:
                outcome[letter.id] = str(exc)
                continue
            items.append((letter.id, stamped(patches, brand, namespace)[0][0]))
    if not items:
        return outcome
    lifecycle = config.lifecycle
    cleaned = [patch_refs(patch, lifecycle) for _, patch in items]
    hit = suppressed_patches(session, cleaned)
    if hit:  # a forgotten person's record (sync.privacy.suppression): closed, its payload gone, nothing recreated
        gone = [items[i][0] for i in sorted(hit)]
        session.execute(update(model.DeadLetter).where(one_of(session, model.DeadLetter.id, gone))
                        .values(payload=SUPPRESSED_PAYLOAD))
        outcome.update(dict.fromkeys(gone))
        items = [item for i, item in enumerate(items) if i not in hit]
        cleaned = [refs for i, refs in enumerate(cleaned) if i not in hit]
        if not items:
            return outcome
    results = reconcile_batch(session, lifecycle, [patch for _, patch in items], cleaned, effects)
    for (letter_id, _), out in zip(items, results, strict=True):  # a record still refused keeps its letter open
        outcome[letter_id] = out if isinstance(out, str) else None
    return outcome


def format_table(rows: Sequence[dict[str, Any]], reason_width: int = 80) -> str:
    """Open dead letters as a plain-text table (reasons cut to ``reason_width``)."""
    if not rows:
        return "no open dead letters"

    def cell(row: dict[str, Any], column: str) -> str:
        value = row.get(column)
        if column == "created_at" and value is not None:
            return value.strftime("%Y-%m-%d %H:%M:%S")
        if column == "source":
            return f"{row['source']}/{row['object']}"
        text = "" if value is None else str(value).replace("\n", " ")
        return text if len(text) <= reason_width else text[:reason_width - 1] + "…"

    columns = [c for c in LIST_COLUMNS if c != "object"]
    headers = {c: "source/object" if c == "source" else c.replace("_", " ") for c in columns}
    cells = [[cell(r, c) for c in columns] for r in rows]
    widths = [max(len(headers[c]), *(len(line[i]) for line in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(headers[c].ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in cells]
    return "\n".join(lines)
