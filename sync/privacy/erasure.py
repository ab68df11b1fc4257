"""Erasure: ``lifesync contacts forget``, ``POST /api/contacts/<id>/forget`` and the console's button.

:func:`forget` deletes in one transaction every personal value lifesync keeps about one person,
found through the same knowledge as an access request (:mod:`sync.privacy.access`: the
contact's records and identity values, the dead letters and inbox events matching them):

* deleted: the contact (attributes, consent), identities, field values, stage signals,
  transitions and per-brand stages, touchpoints, activities, conversation stats, echo records,
  segment stays and the dirty queue entry, quality issues, conflict log and merge log rows (their
  candidates and snapshots hold values), duplicate pairs, outbox items and their deliveries
  (payloads carry hashed or raw user data, write-backs raw values), and the dead letters of the
  person's records or whose payload holds one of their identity values;
* conversions and their adjustments are **deleted** too: a conversion row names the person's
  CRM record and order, so it cannot stay without identifying them. Report totals that counted
  them (delivery counts, kept by triggers) decrease accordingly; aggregated funnel counts
  (``funnel_counts``), which hold no person, are kept;
* redacted: inbox events (raw webhook bodies) holding one of the person's identity values lose
  their body; the row stays, so a re-sent webhook is still recognised as a duplicate (as the
  retention purge does). An event not yet processed is marked processed;
* kept, to remove the person from audiences: ``audience_members`` rows that hold keys. Right
  after the transaction, the audience sync (:func:`sync.segments.audiences.run.sync_segments`,
  what the ``sync_audiences`` job runs) runs for each (segment, destination) holding the
  person, and a removal done drops the row (a destination keeping its own history of what it
  was sent — ``csv`` — then forgets the person's lines: ``forget(remote_id, contact_ids)``); a row
  still held afterwards (the destination
  failed) is reported in ``counts["audiences"]`` and retried by the next scheduled sync. Rows
  without keys (skipped members), and rows of a segment or destination no longer configured (no
  sync will ever read them), are deleted at once.

The dead letters and inbox events are found by reading every letter's payload and every
non-empty raw body (1,000 rows at a time) for the person's identity values: complete rather than
fast, so an erasure on a large inbox takes a while (the retention purge keeps it small).

A suppressed identifier stays suppressed: the same e-mail arriving later as a new person is
dropped too (as HubSpot blocklists a GDPR-deleted e-mail).

Before deleting, a salted suppression digest per identity is recorded
(:mod:`sync.privacy.suppression`), so a source re-sending the person recreates no one, and an
``erasures`` row (contact id, actor, counts per table, upstream results) — never a personal
value. One audit entry (``contact.forget``) records the actor, the contact id and the counts.

With ``upstream``, the person is then deleted in the CRMs too (:mod:`sync.privacy.upstream`):
a failure there does not undo the local erasure; it is recorded in ``erasures.upstream``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, or_, select, tuple_, update
from sqlalchemy.orm import Session

from sync.access import audit
from sync.access.roles import Principal
from sync.errors import NotFound
from sync.privacy import access, suppression
from sync.store import model
from sync.store.engine import Store
from sync.store.sql import chunks, one_of

log = logging.getLogger(__name__)
SCAN = 1000  # rows of dead letters / inbox events read at a time when looking for the person's values


@dataclass
class Person:
    """What the erasure needs to know of the person, read before anything is deleted (kept in memory only)."""

    contact_id: int
    identities: list[tuple[str, str, str]]  # (kind, value, source)
    records: list[tuple[str, str]]  # (source, record id)
    audiences: list[tuple[str, str]] = field(default_factory=list)  # (destination, segment) holding keys

    @property
    def values(self) -> list[str]:
        """Identity values long enough to say a text is about the person (lowercased)."""
        return sorted({v.lower() for _, v, _ in self.identities if len(v) >= access.MIN_MATCH})


def person(session: Session, contact_id: int) -> Person:
    """The person of ``contact_id``; NotFound when no contact has the id."""
    if session.get(model.Contact, contact_id) is None:
        raise NotFound(f"no contact {contact_id}")
    i = model.Identity
    identities = [(r.kind, r.value, r.source) for r in session.execute(
        select(i.kind, i.value, i.source).where(i.contact_id == contact_id).order_by(i.kind, i.value))]
    m = model.AudienceMemberState
    held = [(r.destination, r.segment) for r in session.execute(
        select(m.destination, m.segment).where(m.contact_id == contact_id, m.keys.is_not(None))
        .order_by(m.destination, m.segment))]
    return Person(contact_id, identities, access.person_records(session, contact_id), held)


def _scan(session: Session, query: Any, text_of: Callable[[Any], bytes], values: list[str]) -> Iterator[int]:
    """Ids of the rows of ``query`` (id first, keyset pages) whose text holds one of ``values``."""
    if not values:
        return
    wanted = [v.encode() for v in values]
    after = 0
    while True:
        rows = list(session.execute(query.where(query.selected_columns[0] > after)
                                    .order_by(query.selected_columns[0]).limit(SCAN)))
        if not rows:
            return
        after = rows[-1][0]
        for row in rows:
            text = text_of(row).lower()
            if any(v in text for v in wanted):
                yield row[0]


def _letters(session: Session, p: Person) -> list[int]:
    d = model.DeadLetter
    found: set[int] = set()
    for part in chunks(p.records, 500):
        found.update(session.scalars(select(d.id).where(tuple_(d.source, d.record_id).in_(list(part)))))
    found.update(_scan(session, select(d.id, d.payload),
                       lambda r: json.dumps(r.payload, ensure_ascii=False).encode(), p.values))
    return sorted(found)


def _events(session: Session, p: Person) -> list[int]:
    e = model.RawEvent
    return list(_scan(session, select(e.id, e.body).where(func.length(e.body) > 0), lambda r: bytes(r.body or b""),
                      p.values))


def _delete(session: Session, statement: Any) -> int:
    return session.execute(statement).rowcount or 0


def erase(session: Session, p: Person) -> dict[str, int]:
    """Delete or redact everything held about ``p`` in ``session``'s transaction; rows per table."""
    cid = p.contact_id
    counts: dict[str, int] = {}

    def by_contact(table: Any, column: Any = None) -> None:
        counts[table.__tablename__] = _delete(session, delete(table).where((column or table.contact_id) == cid))

    letters, events = _letters(session, p), _events(session, p)
    counts["dead_letters"] = sum(_delete(session, delete(model.DeadLetter).where(
        one_of(session, model.DeadLetter.id, part))) for part in chunks(letters, 500))
    e = model.RawEvent
    for part in chunks(events, 500):
        session.execute(update(e).where(one_of(session, e.id, part)).values(body=b"", headers={}))
        session.execute(update(e).where(one_of(session, e.id, part), e.status == "received")
                        .values(status="processed", processed_at=model.utcnow(), error="erased"))
    counts["raw_events"] = len(events)
    q = model.QualityIssue
    # by record in chunks, as the letters: one OR per record would pass SQLite's expression depth for a person
    # with a thousand messages
    counts["quality_issues"] = _delete(session, delete(q).where(q.contact_id == cid)) + sum(
        _delete(session, delete(q).where(tuple_(q.source, q.record_id).in_(list(part))))
        for part in chunks(p.records, 500))
    o = model.Outbox
    boxes = list(session.scalars(select(o.id).where(or_(o.contact_id == cid, o.conversion_id.in_(
        select(model.ConversionEvent.id).where(model.ConversionEvent.contact_id == cid))))))
    counts["deliveries"] = sum(_delete(session, delete(model.Delivery).where(
        one_of(session, model.Delivery.outbox_id, part))) for part in chunks(boxes, 500))
    counts["outbox"] = sum(_delete(session, delete(o).where(one_of(session, o.id, part)))
                           for part in chunks(boxes, 500))
    for table in (model.ConversionAdjustment, model.ConversionEvent, model.Touchpoint, model.Activity,
                  model.ConversationStat, model.EchoRecord, model.FieldValue, model.StageSignal,
                  model.StageTransition, model.ContactStage, model.SegmentMember, model.SegmentDirty,
                  model.ConflictLog):
        by_contact(table)
    ml = model.MergeLog
    merged = sorted(access.merged_into(session, cid))
    counts["merge_log"] = _delete(session, delete(ml).where(or_(ml.kept_contact_id.in_(merged),
                                                                ml.merged_contact_id == cid)))
    dp = model.DuplicatePair
    counts["duplicate_pairs"] = _delete(session, delete(dp).where(or_(dp.contact_a == cid, dp.contact_b == cid)))
    m = model.AudienceMemberState
    counts["audience_members"] = _delete(session, delete(m).where(m.contact_id == cid, m.keys.is_(None)))
    by_contact(model.Identity)
    by_contact(model.Contact, model.Contact.id)
    return {k: v for k, v in sorted(counts.items())}


def forget(store: Store, config: Any, settings: Any, contact_id: int, actor: Principal, *, upstream: bool = False,
           destinations: Mapping[str, Any] | None = None, http: Any = None,
           upstream_systems: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Erase contact ``contact_id`` (see the module docstring); the ``erasures`` row as a dict.

    ``destinations`` / ``http``: audience destinations by name and the HTTP session to use
    (tests, sandboxes; as :func:`~sync.segments.audiences.run.sync_segments` takes them);
    ``upstream_systems``: the CRM deleters to use (default: built from the settings,
    :func:`sync.privacy.upstream.deleters`). NotFound for an unknown contact.
    """
    with store.transaction() as session:
        p = person(session, contact_id)
        row = model.Erasure(contact_id=contact_id, actor=actor.name[:255], counts={}, upstream={})
        session.add(row)
        session.flush()
        suppressed = suppression.suppress(session, [(k, v) for k, v, _ in p.identities], row.id)
        counts = {**erase(session, p), "suppressions": suppressed}
        row.counts = counts
        erasure_id = row.id
        audit.record(session, actor, "contact.forget", "contact", contact_id,
                     after={"erasure": erasure_id, "counts": counts, "upstream": upstream},
                     summary=f"forget: contact {contact_id} (erasure {erasure_id})")
    audiences = _leave_audiences(store, config, settings, p, destinations, http)
    results: dict[str, Any] = {}
    if upstream:
        from sync.privacy.upstream import delete_upstream

        results = delete_upstream(settings, p, upstream_systems)
    with store.transaction() as session:
        row = session.get(model.Erasure, erasure_id)
        row.counts = {**row.counts, "audiences": audiences}
        row.upstream = results
        return as_dict(row)


def _leave_audiences(store: Store, config: Any, settings: Any, p: Person, destinations: Mapping[str, Any] | None,
                     http: Any) -> dict[str, str]:
    """Run the audience sync of each (segment, destination) holding the person; what became of each."""
    from sync.segments.audiences.run import configured_segments, sync_segments

    if not p.audiences:
        return {}
    segments = {s.key: s for s in configured_segments(config)}
    out: dict[str, str] = {}
    for dest, key in p.audiences:
        name = f"{key}/{dest}"
        segment = segments.get(key)
        if segment is None or not any(d.name == dest for d in segment.destinations):
            with store.transaction() as session:  # no sync will ever read the row: its keys go now
                m = model.AudienceMemberState
                session.execute(delete(m).where(m.destination == dest, m.segment == key, m.contact_id == p.contact_id))
            out[name] = "not configured any more: row deleted, the destination may still hold them"
            continue
        try:
            [counts] = sync_segments(store, settings, [segment], key=key, destination=dest,
                                     destinations=destinations, http=http)
            error = counts.error
        except Exception as exc:  # a destination failing must not undo the erasure
            log.error("forget: audience %s of segment %s failed: %s", dest, key, type(exc).__name__)
            error = type(exc).__name__
        with store.transaction() as session:
            m = model.AudienceMemberState
            left = session.scalar(select(m.state).where(m.destination == dest, m.segment == key,
                                                        m.contact_id == p.contact_id))
            remote = session.get(model.Audience, (dest, key))
        if left is None and remote is not None and remote.remote_id:
            _forget_copy(segment, dest, remote.remote_id, p.contact_id, settings, destinations, http)
        out[name] = "removed" if left is None else f"{left}: {error or 'the next sync retries'}"
    return out


def _forget_copy(segment: Any, dest: str, remote_id: str, contact_id: int, settings: Any,
                 destinations: Mapping[str, Any] | None, http: Any) -> None:
    """A destination keeping its own record of what it was sent (``csv``: the file's history) forgets the person."""
    from sync.segments.audiences.engine import open_destination

    entry = next(d for d in segment.destinations if d.name == dest)
    destination = (destinations or {}).get(dest) or open_destination(entry, settings, http)
    if hasattr(destination, "forget"):
        destination.forget(remote_id, [contact_id])


def as_dict(row: model.Erasure) -> dict[str, Any]:
    """An erasure as the API and the CLI print it."""
    return {"id": row.id, "contact_id": row.contact_id, "actor": row.actor,
            "created_at": row.created_at.isoformat() if row.created_at else None,
            "counts": row.counts, "upstream": row.upstream}


def erasures(store: Store, limit: int = 100, before_id: int | None = None) -> list[dict[str, Any]]:
    """The erasures, newest first."""
    e = model.Erasure
    query = select(e).order_by(e.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(e.id < before_id)
    with store.transaction() as session:
        return [as_dict(r) for r in session.scalars(query)]
