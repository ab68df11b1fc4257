"""Access requests: everything lifesync holds about one person, as one JSON document with sources and times.

``lifesync contacts export --identity KIND:VALUE`` and ``GET /api/contacts/<id>/access-request``
both print :func:`subject_access`. It starts from the contact's full document
(:func:`sync.reports.contact_detail.contact_detail`: identities with source and first sighting,
every field's and consent purpose's candidates with value, source, record, times and which one
wins, stages per brand
and their history, touchpoints, conversions with their deliveries, merges, conflicts) and adds
what that document leaves out: every activity (not only the recent ones), quality issues,
segment stays, the audience destinations holding the contact, dead letters and inbox events.

Dead letters and inbox events carry no contact id, so they are matched, best effort:

* a dead letter when its (source, record id) is one of the contact's records — those its field
  values, quality issues, merges and conflicts name, and the ids its source-named identities
  hold (``hubspot:51`` is hubspot's record ``51``);
* an inbox event (raw webhook body) when its body contains one of the contact's identity values
  (at least :data:`MIN_MATCH` characters), among the newest :data:`RAW_SCAN` events of the
  sources that supplied the contact's identities. Only the event's metadata is listed, not its
  body: one webhook can carry other people's data.

Deliveries are listed without the destination's answer or the payload (no tokens or keys).
Every list is sorted, so the same data gives the same document.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, tuple_
from sqlalchemy.orm import Session

from sync.config import Config
from sync.errors import NotFound
from sync.reconcile.patch import IdentityRef
from sync.reports.contact_detail import contact_detail
from sync.reports.export import find_contact
from sync.store import model

RAW_SCAN = 5000  # inbox events looked through per access request (newest first)
MIN_MATCH = 4  # an identity value shorter than this matches too much to say an event is about the person
MAX_LETTERS = 1000  # dead letters listed at most


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def contact_of(session: Session, identity: str) -> int:
    """The id of the contact holding ``identity`` (``kind:value``); ValueError when malformed, NotFound when none."""
    ref = IdentityRef.parse(identity)
    cid = find_contact(session, ref)
    if cid is None:
        raise NotFound(f"no contact holds the identity {ref.kind}:<value given>")
    return cid


def subject_access(session: Session, config: Config, contact_id: int) -> dict[str, Any]:
    """Everything held about the contact ``contact_id``; :class:`NotFound` when no contact has the id."""
    doc = contact_detail(session, config.lifecycle, contact_id, config.brands)
    for conv in doc["conversions"]:
        for send in conv["deliveries"]:
            if send["delivery"] is not None:
                send["delivery"].pop("response", None)
    issues = _quality_issues(session, contact_id)
    records = person_records(session, contact_id)
    doc.update({
        "activities": _activities(session, contact_id),
        "quality_issues": issues,
        "segments": _segments(session, contact_id),
        "audiences": _audiences(session, contact_id),
        "dead_letters": _dead_letters(session, records),
        "inbox_events": _inbox_events(session, doc["identity_details"]),
    })
    return doc


def _activities(session: Session, contact_id: int) -> list[dict[str, Any]]:
    a = model.Activity
    return [{"channel": r.channel, "direction": r.direction, "occurred_at": iso(r.occurred_at),
             "external_id": r.external_id, "conversation_id": r.conversation_id, "source": r.source,
             "brand": r.brand}
            for r in session.scalars(select(a).where(a.contact_id == contact_id).order_by(a.occurred_at, a.id))]


def _quality_issues(session: Session, contact_id: int) -> list[dict[str, Any]]:
    q = model.QualityIssue
    return [{"source": r.source, "object": r.object, "record_id": r.record_id, "field": r.field, "kind": r.kind,
             "reason": r.reason, "value": r.value, "created_at": iso(r.created_at),
             "last_seen_at": iso(r.last_seen_at), "resolved_at": iso(r.resolved_at)}
            for r in session.scalars(select(q).where(q.contact_id == contact_id).order_by(q.created_at, q.id))]


def _segments(session: Session, contact_id: int) -> list[dict[str, Any]]:
    s = model.SegmentMember
    return [{"segment": r.segment, "entered_at": iso(r.entered_at), "left_at": iso(r.left_at)}
            for r in session.scalars(select(s).where(s.contact_id == contact_id)
                                     .order_by(s.segment, s.entered_at, s.id))]


def _audiences(session: Session, contact_id: int) -> list[dict[str, Any]]:
    m = model.AudienceMemberState
    return [{"destination": r.destination, "segment": r.segment, "state": r.state, "keys": r.keys,
             "reason": r.reason, "synced_at": iso(r.synced_at)}
            for r in session.scalars(select(m).where(m.contact_id == contact_id).order_by(m.destination, m.segment))]


def merged_into(session: Session, contact_id: int) -> set[int]:
    """``contact_id`` and every contact merged into it, transitively (the merge log's kept → merged)."""
    m = model.MergeLog
    found, todo = {contact_id}, [contact_id]
    while todo:
        fresh = set(session.scalars(select(m.merged_contact_id).where(m.kept_contact_id.in_(todo)))) - found
        found |= fresh
        todo = sorted(fresh)
    return found


def person_records(session: Session, contact_id: int) -> list[tuple[str, str]]:
    """The (source, record id) pairs known to be the contact's: those its field values, quality issues,
    merges and conflicts name, and the ids its source-named identities hold (``hubspot:51``).

    What an access request lists dead letters by, and what an erasure deletes them by (``sync.privacy.erasure``).
    """
    f, q, m, c, i = model.FieldValue, model.QualityIssue, model.MergeLog, model.ConflictLog, model.Identity
    found: set[tuple[str, str]] = set()
    for query in (select(f.source, f.record_id).where(f.contact_id == contact_id),
                  select(q.source, q.record_id).where(q.contact_id == contact_id),
                  select(m.source, m.record_id).where(m.kept_contact_id.in_(merged_into(session, contact_id))),
                  select(c.source, c.record_id).where(c.contact_id == contact_id),
                  select(i.kind, i.value).where(i.contact_id == contact_id, i.kind == i.source)):
        found.update((s, r) for s, r in session.execute(query.distinct()))
    return sorted((s, r) for s, r in found if s and r)


def _dead_letters(session: Session, records: list[tuple[str, str]]) -> list[dict[str, Any]]:
    if not records:
        return []
    d = model.DeadLetter
    rows = session.scalars(select(d).where(tuple_(d.source, d.record_id).in_(records))
                           .order_by(d.created_at, d.id).limit(MAX_LETTERS))
    return [{"id": r.id, "source": r.source, "object": r.object, "record_id": r.record_id, "stage": r.stage,
             "reason": r.reason, "payload": r.payload, "status": r.status, "created_at": iso(r.created_at)}
            for r in rows]


def _inbox_events(session: Session, identities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    values = sorted({i["value"].encode() for i in identities if len(i["value"]) >= MIN_MATCH})
    sources = sorted({i["source"] for i in identities})
    if not values or not sources:
        return []
    e = model.RawEvent
    out = []
    for r in session.execute(select(e.id, e.source, e.object, e.connection, e.event_key, e.received_at, e.status,
                                    e.body).where(or_(*(e.source == s for s in sources)))
                             .order_by(e.id.desc()).limit(RAW_SCAN)):
        body = bytes(r.body or b"").lower()
        matched = sorted(v.decode() for v in values if v.lower() in body)
        if matched:
            out.append({"id": r.id, "source": r.source, "object": r.object, "connection": r.connection,
                        "event_key": r.event_key, "received_at": iso(r.received_at), "status": r.status,
                        "matched": len(matched)})
    return sorted(out, key=lambda x: (x["received_at"] or "", x["id"]))
