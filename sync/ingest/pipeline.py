"""Records in, canonical state out: map → reconcile → persist, one transaction per batch.

A record that cannot be mapped or reconciled goes to the dead-letter table with its reason;
the rest of its batch still lands. Batches stream: memory stays flat however many records
come in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime
from itertools import islice
from multiprocessing import get_context
from typing import Any

from sqlalchemy import bindparam, select, update

from sync.config import Config
from sync.config.revisions import Revisions
from sync.config.types import DEFAULT_BRAND, LifecycleConfig
from sync.errors import ConfigError, ConfigIssue, MappingError
from sync.ingest.gcpolicy import batch_done, bulk_gc, bulk_process
from sync.ingest.isolation import reconcile_batch
from sync.ingest.readfile import Unreadable
from sync.ingest.storable import fit
from sync.mappings.engine import apply as apply_mapping
from sync.outbox.effects import Effects
from sync.privacy.suppression import suppressed as suppressed_patches
from sync.reconcile.brands import record_namespace, stamped
from sync.reconcile.identity import clean, namespaced, patch_refs
from sync.reconcile.patch import IdentityRef, Patch
from sync.settings import Settings
from sync.store import model
from sync.store.engine import Store, open_store
from sync.store.reason_class import reason_class
from sync.store.sql import chunks, one_of, upsert

log = logging.getLogger(__name__)


@dataclass
class IngestResult:
    """Counts of what one ingest did."""

    records: int = 0
    created: int = 0
    updated: int = 0
    merged: int = 0
    unchanged: int = 0
    conflicts: int = 0
    dead_lettered: int = 0
    suppressed: int = 0  # records of forgotten people (sync.privacy.suppression): dropped, not dead-lettered
    refused_values: int = 0  # values of records that landed which their mapping dropped (sync.quality.issues)

    def add(self, other: IngestResult) -> None:
        """Accumulate another result into this one."""
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        """The counts as a plain dict."""
        return asdict(self)


def _batches(records: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(records)
    while batch := list(islice(it, size)):
        yield batch


def _record_id(record: Any) -> str | None:
    if isinstance(record, dict):
        for key in ("id", "Id", "event_id"):
            if record.get(key) is not None:
                return str(record[key])[:255]
    return None


def _dead(stage: str, source: str, obj: str, record: Any, reason: str, record_id: str | None,
          brand: str | None = None) -> dict[str, Any]:
    return {"stage": stage, "source": source, "object": obj, "record_id": record_id and fit(record_id, 255),
            "reason": reason, "payload": record, "status": "open", "created_at": model.utcnow(),
            "brand": letter_brand(brand)}


def letter_brand(brand: str | None) -> str | None:
    """A dead letter's ``brand`` column for a record of ``brand``: null for the default brand (as old letters)."""
    return None if brand in (None, DEFAULT_BRAND) else brand


def map_records(mapping: Any, records: list[Any], arrived: datetime | Sequence[datetime] | None = None,
                ) -> tuple[list[tuple[Patch, Any]], list[dict[str, Any]]]:
    """Map each record to (patch, record); failures become dead-letter rows (never raise).

    ``arrived``: when the records reached lifesync (one time, or one per record; default now),
    their date when their mapping reads no ``modified_at``.
    """
    patches: list[tuple[Patch, Any]] = []
    dead: list[dict[str, Any]] = []
    if arrived is None or isinstance(arrived, datetime):
        arrivals: Sequence[datetime] = [arrived or model.utcnow()] * len(records)
    else:
        arrivals = arrived
    for record, arrived_at in zip(records, arrivals, strict=True):
        if isinstance(record, Unreadable):  # a part of an input file that is no record (sync.ingest.readfile)
            dead.append(_dead("mapping", mapping.source, mapping.object, record.text, record.message,
                              record.where[:255]))
            continue
        rid = _record_id(record)
        if not isinstance(record, dict):
            dead.append(_dead("mapping", mapping.source, mapping.object, record,
                              f"expected a JSON object, got {type(record).__name__}", rid))
            continue
        try:
            patches.append((apply_mapping(mapping, record, arrived_at), record))
        except MappingError as exc:  # the engine knows the record's id even where _record_id does not
            dead.append(_dead("mapping", mapping.source, mapping.object, record, str(exc),
                              (exc.record_id or rid or None) and str(exc.record_id or rid)[:255]))
        except Exception as exc:  # a bug must not take the batch down with it
            log.exception("unexpected error mapping %s %s record %s", mapping.source, mapping.object, rid)
            dead.append(_dead("mapping", mapping.source, mapping.object, record,
                              f"internal error: {type(exc).__name__}", rid))
    return patches, dead


def ingest_patches(
    store: Store, config: LifecycleConfig, items: list[tuple[Patch, Any]], dead: list[dict[str, Any]] | None = None,
    effects: Effects | None = None, cursor: tuple[str, str, dict[str, Any]] | None = None,
    cleaned: list[list[IdentityRef]] | None = None, brand: str = DEFAULT_BRAND, namespace: str | None = None,
    suppressed: list[Any] | None = None,
) -> IngestResult:
    """Reconcile and persist (patch, original record) pairs as one transaction.

    ``brand``: whose records these are (the brand owning the connection they came through,
    ``sync.config.brands``): every patch is stamped with it (with the default brand, patches keep
    the brand they carry), and every dead letter of the batch records it, for a replay to land the
    record in the same brand's funnel (``sync.ingest.deadletter``). ``namespace``: the connection
    their record ids belong to (``Brands.namespace``: None for the default brand's connections).

    Each record is isolated (``sync.ingest.isolation``): one that is invalid, cannot be stored,
    or is refused by the database becomes a dead letter with its reason, and the rest commit.

    What the changes must tell other systems — ``effects``: stage and CRM write-backs,
    conversions for the enabled destinations — enters the outbox in that same transaction.
    ``cursor`` — (connection, object, state) — is the sync cursor covering these records,
    stored in the same transaction too, so a crash either keeps both or neither.
    ``cleaned``: each patch's identities already through ``identity.clean`` with this
    ``config`` (a mapping worker does it on the other core); computed here when None.

    A patch holding an identity of a forgotten person (``sync.privacy.suppression``) is dropped
    here, before reconciliation: it creates and updates no contact and queues nothing. It is
    counted as ``suppressed``, not dead-lettered (a letter would keep the person's data again);
    its original record is appended to ``suppressed`` for the caller to redact where it came from.
    """
    result = IngestResult(records=len(items) + len(dead or []))
    items = stamped(items, brand, namespace)
    dead = [{**row, "brand": row.get("brand") or letter_brand(brand)} for row in dead or []]
    if cleaned is None:
        cleaned = [patch_refs(p, config) for p, _ in items]
    elif namespace:
        cleaned = [namespaced(refs, namespace, config) for refs in cleaned]
    with store.transaction() as session:
        hit = suppressed_patches(session, cleaned)
        if hit:
            if suppressed is not None:
                suppressed.extend(record for i, (_, record) in enumerate(items) if i in hit)
            items = [item for i, item in enumerate(items) if i not in hit]
            cleaned = [refs for i, refs in enumerate(cleaned) if i not in hit]
            result.suppressed = len(hit)
        outcomes = reconcile_batch(session, config, [p for p, _ in items], cleaned, effects)
        for (patch, record), out in zip(items, outcomes, strict=True):
            if isinstance(out, str):  # invalid, unstorable, or refused by the database: the rest goes on
                payload = record if record is not None else patch.to_json()
                dead.append(_dead("reconcile", patch.source, patch.object, payload, out, patch.record_id,
                                  patch.brand))
                continue
            result.merged += out.merges
            result.conflicts += out.conflicts
            result.refused_values += out.refused
            if out.created:
                result.created += 1
            elif out.changed:
                result.updated += 1
            else:
                result.unchanged += 1
        store_dead(session, dead)
        if cursor is not None:
            save_cursor(session, *cursor)
    result.dead_lettered = len(dead)
    return result


def store_dead(session: Any, rows: list[dict[str, Any]]) -> None:
    """Insert dead-letter rows; a record that already has an open ``reconcile`` letter gets it refreshed instead.

    A record the database keeps refusing comes back on every re-read (an incremental sync reads
    again the minutes before its bookmark; a replay finds it still bad): it keeps one open
    letter, holding its newest payload and reason, rather than one more a run. A record is
    (source, object, record id, brand): another brand's record of the same id has its own letter.
    """
    if not rows:
        return
    d = model.DeadLetter
    rows = [{"brand": None, **r} for r in rows]  # letters of no record (outbox items) have no brand
    # a brand's connection may reuse another's record ids (two CRM portals): one letter per brand
    keyed = {(r["source"], r["object"], r["record_id"], r["brand"]): r for r in rows
             if r["stage"] == "reconcile" and r["record_id"] is not None}
    found: dict[tuple[str, str, str, str | None], int] = {}
    for part in chunks(sorted({k[2] for k in keyed}), 5000):
        for letter_id, source, obj, record_id, brand in session.execute(
                select(d.id, d.source, d.object, d.record_id, d.brand).where(
                    d.status == "open", d.stage == "reconcile", one_of(session, d.record_id, part))):
            if (source, obj, record_id, brand) in keyed:
                found[(source, obj, record_id, brand)] = letter_id
    if found:
        session.execute(update(d.__table__).where(d.__table__.c.id == bindparam("b_id"))
                        .values(reason=bindparam("b_reason"), reason_class=bindparam("b_class"),
                                payload=bindparam("b_payload")),
                        [{"b_id": i, "b_reason": keyed[k]["reason"], "b_class": reason_class(keyed[k]["reason"]),
                          "b_payload": keyed[k]["payload"]} for k, i in found.items()])
    fresh = [r for r in rows
             if r["stage"] != "reconcile" or (r["source"], r["object"], r["record_id"], r["brand"]) not in found]
    if fresh:
        session.execute(d.__table__.insert(), fresh)


def save_cursor(session: Any, connection: str, obj: str, state: dict[str, Any]) -> None:
    """Store the sync cursor of (connection, object) in the caller's transaction."""
    upsert(session, model.SyncCursor, [{"connection": connection, "object": obj, "cursor": state,
                                        "updated_at": model.utcnow()}], ["connection", "object"],
           ["cursor", "updated_at"])


# A long ingest may map on a second process, so mapping (pure Python, ~60 µs a record) runs on
# the other core while this process reconciles and writes. Short ones never pay its start-up.
PROCESS_AFTER_BATCHES = 4
_worker_mapping: Any = None
_worker_lifecycle: LifecycleConfig | None = None

Mapped = tuple[list[tuple[Patch, Any]], list[dict[str, Any]], list[list[IdentityRef]] | None]


def _init_worker(mapping_file: str, lifecycle: LifecycleConfig) -> None:
    global _worker_mapping, _worker_lifecycle
    from sync.mappings import load_mapping

    _worker_mapping, _worker_lifecycle = load_mapping(mapping_file), lifecycle
    bulk_process()  # it maps batch after batch: a quarter less CPU a record


def _map_in_worker(records: list[Any]) -> tuple[list[tuple[int, Patch, list[IdentityRef]]], list[dict[str, Any]]]:
    """Map a batch in the worker, cleaning identities too; patches come back with their record's position."""
    assert _worker_lifecycle is not None
    items, dead = map_records(_worker_mapping, records)
    position = {id(record): n for n, record in enumerate(records)}
    return [(position[id(record)], patch, clean(patch.identities, _worker_lifecycle))
            for patch, record in items], dead


class _Done:
    """A finished 'future' for batches mapped in this process (identities are cleaned at ingest)."""

    def __init__(self, value: tuple[list[tuple[Patch, Any]], list[dict[str, Any]]]):
        self.value = value

    def result(self) -> Mapped:
        return (*self.value, None)


class _Remote:
    """A batch mapped by the worker process; its patches rejoin their records on ``result``."""

    def __init__(self, future: Any, batch: list[Any]):
        self.future, self.batch = future, batch

    def result(self) -> Mapped:
        placed, dead = self.future.result()
        return [(patch, self.batch[n]) for n, patch, _ in placed], dead, [refs for _, _, refs in placed]


class _Mapper:
    """Maps batches in this process, then — past ``PROCESS_AFTER_BATCHES`` — on a worker process."""

    def __init__(self, mapping: Any, lifecycle: LifecycleConfig, spawn: bool):
        self.mapping, self.lifecycle, self.spawn, self.seen, self.pool = mapping, lifecycle, spawn, 0, None

    def __enter__(self) -> _Mapper:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def submit(self, batch: list[Any] | None) -> _Done | _Remote | None:
        """Start mapping ``batch`` (None when the records are exhausted)."""
        if batch is None:
            return None
        self.seen += 1
        if not self.spawn or self.seen <= PROCESS_AFTER_BATCHES or getattr(self.mapping, "file", None) is None:
            return _Done(map_records(self.mapping, batch))
        if self.pool is None:
            self.pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"),
                                            initializer=_init_worker,
                                            initargs=(str(self.mapping.file), self.lifecycle))
        return _Remote(self.pool.submit(_map_in_worker, batch), batch)


def mapping_for(config: Config, source: str, obj: str) -> Any:
    """The mapping of (source, object), or an error naming the ones that exist."""
    try:
        return config.mappings[(source, obj)]
    except KeyError:
        known = ", ".join(f"{s} {o}" for s, o in sorted(config.mappings)) or "none"
        raise ConfigError([ConfigIssue("mappings", "", f"no mapping for source {source!r} object {obj!r}; "
                                       f"mappings exist for: {known}")]) from None


def ingest(
    source: str, obj: str, records: Iterable[Any], *, store: Store | None = None, config: Config | None = None,
    batch_size: int | None = None, effects: Effects | None = None, map_in_process: bool = True,
    brand: str = DEFAULT_BRAND,
) -> IngestResult:
    """Ingest vendor records of one (source, object) through its mapping; returns the counts.

    ``store`` and ``config`` default to those the environment's Settings name (the active configuration); ``records``
    may be any iterable: it is consumed in batches, each its own transaction. ``effects``
    (default: the config's conversion rules, nothing queued) say what enters the outbox.
    ``map_in_process=False`` lets a long ingest map on a spawned worker process (the other
    core); like any spawning code, the calling script then needs an
    ``if __name__ == "__main__":`` guard, which is why it is opt-in. ``brand``: whose records
    these are (``sync.config.brands``; a brand brands.yaml does not configure is a ConfigError); their
    record ids are the brand's connection's of ``source`` (``Brands.namespace``).
    """
    settings = Settings.from_env()
    own_store = store is None
    store = store or open_store(settings.database_url)
    try:
        config = config or Revisions(store, settings.config_dir).active_config()
        mapping = mapping_for(config, source, obj)
        if config.brands.get(brand) is None:
            raise ConfigError([ConfigIssue("brands.yaml", "brands", f"unknown brand {brand!r}; configured brands: "
                                           f"{', '.join(config.brands.keys)}")])
        try:
            namespace = record_namespace(config.brands, config.lifecycle, source, brand,
                                         (spec.kind for spec in mapping.identities))
        except ValueError as exc:
            raise ConfigError([ConfigIssue("brands.yaml", f"brands.{brand}.connections", str(exc))]) from None
        total = IngestResult()
        effects = effects or Effects.rules_only(config)
        batches = _batches(records, batch_size or settings.batch_size)
        with bulk_gc(), _Mapper(mapping, config.lifecycle, spawn=not map_in_process) as mapper:
            pending = mapper.submit(next(batches, None))
            while pending is not None:
                items, dead, cleaned = pending.result()
                pending = mapper.submit(next(batches, None))  # mapped while this batch is written
                total.add(ingest_patches(store, config.lifecycle, items, dead, effects, cleaned=cleaned,
                                         brand=brand, namespace=namespace))
                batch_done()
        return total
    finally:
        if own_store:
            store.dispose()
