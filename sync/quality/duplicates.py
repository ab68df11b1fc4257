"""Suspected duplicates: contacts that look like one person, found by SQL grouping, reviewed in a queue.

Two separate contacts are suspects when they share a normalised e-mail or phone (an identity
of one, or the winning value of either: a contact whose record was refused a merge keeps the
address as a field, since identities are unique), or a normalised full name in the same city;
and when identity resolution refused to merge them (``conflict_log`` rows of rule
``merge_blocked``, e.g. two HubSpot contacts with one e-mail). The database groups the keys
(one statement, only duplicate members come back); a group larger than :data:`MAX_GROUP` is a
shared address or a common name, not a duplicate, and is skipped.

:func:`scan` stores the pairs in ``duplicate_pairs``, the review queue: a pair found again keeps
its row, one no longer found leaves the queue, and one dismissed as "not the same person"
stays dismissed — a later scan never reopens it (:func:`restore` does, on purpose). Evidence
names what matched (kinds, the refusal's reason), never the values; nothing here logs a value.

``brands`` (a tuple of brand keys; None: every brand) narrows the queue to the pairs whose two
contacts both dealt with one of those brands (``sync.reports.brand_scope.dealt_with``): a token
limited to brands sees, merges and dismisses only those; any other pair is "not found", so its
existence does not leak.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from itertools import combinations
from typing import Any

from sqlalchemy import String, and_, delete, func, literal_column, or_, select, text, union_all
from sqlalchemy.orm import Session, aliased

from sync.access import audit
from sync.access.roles import Principal
from sync.errors import Conflict, NotFound
from sync.reports.brand_scope import dealt_with_any
from sync.reports.window import within
from sync.store import model
from sync.store.engine import Store
from sync.store.sql import chunks, one_of, upsert

MAX_GROUP = 10  # more contacts sharing one key: a shared inbox / office phone / common name, not a duplicate
KINDS = ("email", "phone", "name_city", "blocked")
STATUSES = ("open", "dismissed")
SCAN_CURSOR = ("duplicate-review", "scan")  # sync_cursors row: when the queue was last scanned
_PHONE_NOISE = (" ", "-", "(", ")", ".", "+")
Brands = tuple[str, ...] | None  # the brands a reader is limited to (None: every brand)


def _digits(expr: Any) -> Any:
    for ch in _PHONE_NOISE:
        expr = func.replace(expr, ch, "", type_=String)
    return expr


def _kind(name: str) -> Any:
    return literal_column(f"'{name}'", String)


def _attr(name: str) -> Any:
    return model.Contact.attributes[(name, "value")].as_string()


def _keys() -> Any:
    """(contact id, kind, normalised key) of every contact: identities and winning values."""
    i, c = model.Identity, model.Contact
    city = _attr("city")
    # one pass over contacts (the widest table) for its three keys
    own = select(c.id, func.lower(func.trim(_attr("email")), type_=String).label("email"),
                 _digits(_attr("phone")).label("phone"),
                 (func.nullif(func.trim(c.name_key, type_=String), "", type_=String) + "|"
                  + func.lower(func.trim(city), type_=String)).label("name_city")).cte("dup_contact_keys")
    return union_all(
        select(i.contact_id.label("cid"), _kind("email").label("kind"), i.value.label("key")).where(i.kind == "email"),
        select(i.contact_id, _kind("phone"), _digits(i.value)).where(i.kind == "phone"),
        *(select(own.c.id, _kind(name), own.c[name]).where(own.c[name].is_not(None))
          for name in ("email", "phone", "name_city")),
    ).cte("dup_keys")


def _shared(session: Session) -> dict[tuple[int, int], set[str]]:
    """Pairs of contacts sharing a key, with the kinds they share (the grouping runs in the database)."""
    if session.get_bind().dialect.name == "postgresql":  # hash aggregates in memory; JIT costs more than it saves
        session.execute(text("SELECT set_config('work_mem', '256MB', true), set_config('jit', 'off', true)"))
    union = _keys()
    keys = select(union.c.cid, union.c.kind, union.c.key).where(union.c.key != "").distinct().cte("dup_distinct")
    # count(*) of distinct rows, not count(DISTINCT ...): PostgreSQL hashes the former, sorts for the latter
    groups = (select(keys.c.kind, keys.c.key).group_by(keys.c.kind, keys.c.key)
              .having(func.count().between(2, MAX_GROUP)).cte("dup_groups"))
    members = (select(keys.c.kind, keys.c.key, keys.c.cid)
               .join(groups, and_(groups.c.kind == keys.c.kind, groups.c.key == keys.c.key)))
    by_group: dict[tuple[str, str], list[int]] = defaultdict(list)
    for kind, key, cid in session.execute(members):
        by_group[(kind, key)].append(cid)
    out: dict[tuple[int, int], set[str]] = defaultdict(set)
    for (kind, _), ids in by_group.items():
        for a, b in combinations(sorted(set(ids)), 2):
            out[(a, b)].add(kind)
    return out


def _blocked(session: Session) -> list[tuple[int, int | None, str, str]]:
    """Merges identity resolution refused: (contact, the other contact if recorded, kind, reason)."""
    cl = model.ConflictLog
    other = cl.candidates[(0, "other")].as_integer()
    reason = cl.candidates[(0, "reason")].as_string()
    rows = session.execute(select(cl.contact_id, other, cl.field, reason).distinct()
                           .where(cl.rule == "merge_blocked"))
    return [(cid, oth, field.removeprefix("identity:"), why or "") for cid, oth, field, why in rows]


def detect(session: Session) -> dict[tuple[int, int], list[dict[str, str]]]:
    """Every suspected pair ``(a, b)``, a < b, both existing, with its evidence (sorted, no values)."""
    shared = _shared(session)
    evidence: dict[tuple[int, int], list[dict[str, str]]] = defaultdict(list)
    for pair, kinds in shared.items():
        evidence[pair] += [{"kind": k} for k in sorted(kinds)]
    by_contact: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for pair in shared:
        by_contact[pair[0]].append(pair)
        by_contact[pair[1]].append(pair)
    for cid, other, via, reason in _blocked(session):
        note = {"kind": "blocked", "via": via, "reason": reason}
        if other is not None and other != cid:
            pairs = [(min(cid, other), max(cid, other))]
        else:  # recorded before the other contact was: it is the one sharing that kind of key
            pairs = [p for p in by_contact.get(cid, ()) if via in shared[p]]
        for pair in pairs:
            if note not in evidence[pair]:
                evidence[pair].append(note)
    ids = sorted({cid for pair in evidence for cid in pair})
    alive = {cid for part in chunks(ids, 5000)
             for cid in session.scalars(select(model.Contact.id).where(one_of(session, model.Contact.id, part)))}
    return {pair: sorted(ev, key=lambda e: (e["kind"], e.get("via", ""), e.get("reason", "")))
            for pair, ev in sorted(evidence.items()) if pair[0] in alive and pair[1] in alive}


def scan(store: Store, actor: Principal | None = None) -> dict[str, int]:
    """Bring the queue up to date with :func:`detect`; counts of ``found``, ``opened``, ``closed`` pairs.

    ``actor``: who asked (audited); None for a scheduled or internal scan.
    """
    p = model.DuplicatePair
    with store.transaction() as session:
        found = detect(session)
        stored = {(r.contact_a, r.contact_b): r for r in session.scalars(select(p))}
        now = model.utcnow()
        fresh = [{"contact_a": a, "contact_b": b, "evidence": ev, "status": "open", "found_at": now}
                 for (a, b), ev in found.items() if (a, b) not in stored]
        upsert(session, p, fresh, ["contact_a", "contact_b"], ["evidence"])
        closed = [r.id for pair, r in stored.items() if r.status == "open" and pair not in found]
        for part in chunks(closed, 5000):
            session.execute(delete(p).where(p.id.in_(part)))
        for pair, r in stored.items():
            if pair in found and r.evidence != found[pair]:
                r.evidence = found[pair]
        upsert(session, model.SyncCursor, [{"connection": SCAN_CURSOR[0], "object": SCAN_CURSOR[1],
                                            "cursor": {"pairs": len(found)}, "updated_at": now}],
               ["connection", "object"], ["cursor", "updated_at"])
        counts = {"found": len(found), "opened": len(fresh), "closed": len(closed)}
        if actor is not None:
            audit.record(session, actor, "duplicates.scan", "duplicate_pairs", after=counts)
    return counts


def last_scan(store: Store) -> Any:
    """When the queue was last scanned (None: never)."""
    with store.transaction() as session:
        row = session.get(model.SyncCursor, SCAN_CURSOR)
        return row.updated_at if row else None


def _item(row: model.DuplicatePair) -> dict[str, Any]:
    return {"id": row.id, "contact_a": row.contact_a, "contact_b": row.contact_b, "evidence": list(row.evidence or []),
            "status": row.status, "found_at": row.found_at, "dismissed_at": row.dismissed_at,
            "dismissed_by": row.dismissed_by}


def _of_brands(query: Any, brands: Brands) -> Any:
    """``query`` (of ``duplicate_pairs``) kept to pairs whose two contacts exist and dealt with one of ``brands``."""
    p, a, b = model.DuplicatePair, aliased(model.Contact), aliased(model.Contact)
    return (query.join(a, a.id == p.contact_a).join(b, b.id == p.contact_b)
            .where(dealt_with_any(brands, a), dealt_with_any(brands, b)))


def pairs(store: Store, status: str = "open", limit: int = 50, after: int | None = None,
          brands: Brands = None) -> list[dict[str, Any]]:
    """A keyset page of the queue (by id) of pairs whose two contacts both still exist (and dealt with ``brands``)."""
    p = model.DuplicatePair
    query = _of_brands(select(p), brands).where(p.status == status).order_by(p.id).limit(limit)
    if after is not None:
        query = query.where(p.id > after)
    with store.transaction() as session:
        return [_item(r) for r in session.scalars(query)]


def summary(session: Session, start: datetime | None = None, end: datetime | None = None,
            brands: Brands = None) -> dict[str, Any]:
    """The queue in numbers, for the data-quality report's "suspected duplicates" section.

    ``open`` / ``dismissed`` pairs (found in [start, end) when given), open pairs by kind of
    evidence (``blocked``: merges the identity rules refused), and when the queue was last scanned.
    With ``brands``, only the pairs whose two contacts dealt with one of them.
    """
    p = model.DuplicatePair
    found = within(p.found_at, start, end)

    def scoped(query: Any) -> Any:
        return query if brands is None else _of_brands(query, brands)

    counts = dict(session.execute(scoped(select(p.status, func.count())).where(found).group_by(p.status)).all())
    by_kind: dict[str, int] = defaultdict(int)
    for evidence in session.scalars(scoped(select(p.evidence)).where(p.status == "open", found)):
        for kind in {e.get("kind") for e in evidence or ()}:
            by_kind[kind] += 1
    scanned = session.get(model.SyncCursor, SCAN_CURSOR)
    return {"open": counts.get("open", 0), "dismissed": counts.get("dismissed", 0),
            "by_kind": dict(sorted(by_kind.items())), "scanned_at": scanned.updated_at if scanned else None}


def get_pair(session: Session, pair_id: int, brands: Brands = None) -> model.DuplicatePair:
    """The queue row ``pair_id`` (NotFound when there is none, or when it is not a pair of ``brands``)."""
    row = session.get(model.DuplicatePair, pair_id)
    if row is not None and brands is not None and session.scalar(
            _of_brands(select(model.DuplicatePair.id), brands).where(model.DuplicatePair.id == pair_id)) is None:
        row = None  # another brand's pair: not found, as if it did not exist
    if row is None:
        raise NotFound(f"no suspected duplicate pair {pair_id}", {"id": "the id of a pair in the queue"})
    return row


def pair_detail(store: Store, pair_id: int, brands: Brands = None) -> dict[str, Any]:
    """A pair with both contacts side by side: identities, winning values (with source), stage."""
    from sync.reports.export import contacts_json

    with store.transaction() as session:
        row = get_pair(session, pair_id, brands)
        docs = {d["id"]: d for d in contacts_json(session, [row.contact_a, row.contact_b])}
        item = _item(row)
    missing = [cid for cid in (item["contact_a"], item["contact_b"]) if cid not in docs]
    if missing:
        raise NotFound(f"contact {missing[0]} of pair {pair_id} no longer exists (merged or erased)",
                       {"id": "scan the queue again"})
    sides = [docs[item["contact_a"]], docs[item["contact_b"]]]
    names = sorted({f for d in sides for f in d["fields"]})
    item["contacts"] = [{"id": d["id"], "stage": d["stage"], "lost_stage": d["lost_stage"],
                         "identities": d["identities"], "fields": d["fields"]} for d in sides]
    item["fields"] = [{"field": f, "a": sides[0]["fields"].get(f), "b": sides[1]["fields"].get(f),
                       "same": sides[0]["fields"].get(f, {}).get("value") == sides[1]["fields"].get(f, {}).get("value")}
                      for f in names]
    return item


def _set_status(store: Store, actor: Principal, pair_id: int, status: str, action: str,
                brands: Brands) -> dict[str, Any]:
    with store.transaction() as session:
        row = get_pair(session, pair_id, brands)
        if row.status == status:
            raise Conflict(f"pair {pair_id} is already {status}", {"id": "a pair that is not " + status})
        before = {"status": row.status}
        row.status = status
        dismissed = status == "dismissed"
        row.dismissed_at, row.dismissed_by = (model.utcnow(), actor.name[:120]) if dismissed else (None, None)
        audit.record(session, actor, action, "duplicate_pair", pair_id, before=before,
                     after={"status": status, "contacts": [row.contact_a, row.contact_b]})
        session.flush()
        return _item(row)


def dismiss(store: Store, actor: Principal, pair_id: int, brands: Brands = None) -> dict[str, Any]:
    """Dismiss a pair as "not the same person": it leaves the queue and no scan brings it back."""
    return _set_status(store, actor, pair_id, "dismissed", "duplicates.dismiss", brands)


def restore(store: Store, actor: Principal, pair_id: int, brands: Brands = None) -> dict[str, Any]:
    """Undo a dismissal: the pair is back in the queue (until a scan no longer finds it)."""
    return _set_status(store, actor, pair_id, "open", "duplicates.restore", brands)


def forget_contacts(session: Session, contact_ids: list[int]) -> None:
    """Drop the queue rows naming contacts that no longer exist (merged away), dismissed ones too."""
    p = model.DuplicatePair
    session.execute(delete(p).where(or_(p.contact_a.in_(contact_ids), p.contact_b.in_(contact_ids))))
