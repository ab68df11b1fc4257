"""In-memory records of the HubSpot sandbox: id-ordered tables, sorted views, associations, rendering.

A ``Table`` keeps its live and archived ids in sorted lists, so a page of a list call is a
bisect plus a slice (no scan over every record), and keeps sorted views for search cached
until the next write (``version`` counts writes). Timestamps are epoch milliseconds inside
and ISO-8601 UTC with milliseconds on the wire (``2026-11-27T10:00:00.000Z``).
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sync.sandbox.hubspot.schema import (
    ALWAYS,
    DEFAULT_PROPERTIES,
    MODIFIED_PROPERTY,
    PropertyDef,
    parse_instant,
    parse_number,
)

# (from type, to type) -> (HubSpot-defined association type id, v3 label)
ASSOCIATION_TYPES = {
    ("deals", "contacts"): (3, "deal_to_contact"), ("contacts", "deals"): (4, "contact_to_deal"),
    ("contacts", "companies"): (279, "contact_to_company_unlabeled"),
    ("companies", "contacts"): (280, "company_to_contact_unlabeled"),
    ("deals", "companies"): (341, "deal_to_company_unlabeled"),
    ("companies", "deals"): (342, "company_to_deal_unlabeled"),
}


def iso(ms: int) -> str:
    """ISO-8601 UTC with milliseconds, as HubSpot writes timestamps."""
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


@dataclass(slots=True)
class Record:
    """One stored object: its own properties plus the timestamps HubSpot computes."""

    id: int
    props: dict[str, str]
    created_ms: int
    updated_ms: int
    archived_ms: int | None = None


class Table:
    """The records of one object type, ordered by id."""

    def __init__(self, object_type: str, schema: dict[str, PropertyDef]):
        self.object_type, self.schema = object_type, schema
        self.rows: dict[int, Record] = {}
        self.live: list[int] = []
        self.archived: list[int] = []
        self.emails: dict[str, int] = {}  # lower-cased e-mail -> live contact id (e-mail is unique)
        self.version = 0
        self._views: dict[tuple[str, bool], tuple[int, list[Record]]] = {}
        self.search_cache: dict[Any, tuple[int, int, list[Record]]] = {}

    def insert(self, record: Record) -> None:
        """Add a new live record."""
        self.rows[record.id] = record
        if not self.live or record.id > self.live[-1]:
            self.live.append(record.id)  # the common case: ids grow
        else:
            bisect.insort(self.live, record.id)
        self._index(record, None)
        self.version += 1

    def changed(self, record: Record, old_email: str | None) -> None:
        """Note that ``record`` was modified (re-index its e-mail, drop cached views)."""
        self._index(record, old_email)
        self.version += 1

    def archive(self, record: Record, at_ms: int) -> None:
        """Move a live record to the archive (it keeps its properties)."""
        del self.live[bisect.bisect_left(self.live, record.id)]
        bisect.insort(self.archived, record.id)
        record.archived_ms = at_ms
        email = (record.props.get("email") or "").lower()
        if self.emails.get(email) == record.id:
            del self.emails[email]
        self.version += 1

    def purge(self, record: Record) -> None:
        """Remove a record for good, live or archived (a GDPR delete: nothing is left to restore)."""
        for ids in (self.live, self.archived):
            at = bisect.bisect_left(ids, record.id)
            if at < len(ids) and ids[at] == record.id:
                del ids[at]
        email = (record.props.get("email") or "").lower()
        if self.emails.get(email) == record.id:
            del self.emails[email]
        del self.rows[record.id]
        self.version += 1

    def _index(self, record: Record, old_email: str | None) -> None:
        if self.object_type != "contacts":
            return
        if old_email and self.emails.get(old_email.lower()) == record.id:
            del self.emails[old_email.lower()]
        email = record.props.get("email")
        if email:
            self.emails[email.lower()] = record.id

    def get(self, record_id: int, *, archived: bool = False) -> Record | None:
        """The record with this id, if it is live (or archived, when asked for)."""
        record = self.rows.get(record_id)
        if record is None or (record.archived_ms is not None) != archived:
            return None
        return record

    def by_email(self, email: str) -> Record | None:
        """The live contact with this e-mail (case-insensitive)."""
        record_id = self.emails.get(email.lower())
        return self.rows[record_id] if record_id is not None else None

    def page(self, after: int, limit: int, *, archived: bool = False) -> tuple[list[Record], int | None]:
        """Up to ``limit`` records with id ≥ ``after`` in id order, and the id that starts the next page."""
        ids = self.archived if archived else self.live
        start = bisect.bisect_left(ids, after)
        chunk = ids[start:start + limit + 1]
        following = chunk[limit] if len(chunk) > limit else None
        return [self.rows[i] for i in chunk[:limit]], following

    def sorted_view(self, prop: str, descending: bool) -> list[Record]:
        """Live records sorted by ``prop`` (ties by id; records without a value last), cached until a write."""
        cached = self._views.get((prop, descending))
        if cached is not None and cached[0] == self.version:
            return cached[1]
        records = [self.rows[i] for i in self.live]
        if prop != "hs_object_id":
            key = self.sort_key(prop)
            present = [(key(r), r) for r in records]
            missing = [r for k, r in present if k is None]
            present = [(k, r) for k, r in present if k is not None]
            present.sort(key=lambda pair: pair[0], reverse=descending)  # stable: ties keep id order
            records = [r for _, r in present] + missing
        elif descending:
            records.reverse()
        self._views[(prop, descending)] = (self.version, records)
        return records

    def sort_key(self, prop: str) -> Callable[[Record], Any]:
        """A function giving a record's comparable value of ``prop`` (None when it has none)."""
        if prop == "hs_object_id":
            return lambda r: r.id
        if prop == "createdate":
            return lambda r: r.created_ms
        if prop == MODIFIED_PROPERTY[self.object_type]:
            return lambda r: r.updated_ms
        defn = self.schema.get(prop)
        kind = defn.type if defn else "string"
        if kind == "number":
            return lambda r: parse_number(r.props[prop]) if r.props.get(prop) else None
        if kind == "datetime":
            return lambda r: parse_instant(r.props[prop]) if r.props.get(prop) else None
        return lambda r: r.props[prop].lower() if r.props.get(prop) else None


class Associations:
    """Links between records, kept in both directions."""

    def __init__(self) -> None:
        self._links: dict[tuple[str, str], dict[int, list[int]]] = {}

    def add(self, from_type: str, from_id: int, to_type: str, to_id: int) -> None:
        """Associate two records (idempotent)."""
        for (a, a_id, b, b_id) in ((from_type, from_id, to_type, to_id), (to_type, to_id, from_type, from_id)):
            targets = self._links.setdefault((a, b), {}).setdefault(a_id, [])
            if b_id not in targets:
                targets.append(b_id)

    def of(self, from_type: str, from_id: int, to_type: str) -> list[int]:
        """Ids of ``to_type`` records associated with one record."""
        return list(self._links.get((from_type, to_type), {}).get(from_id, ()))


def wanted_properties(object_type: str, requested: Iterable[str] | None) -> tuple[str, ...]:
    """Properties to return: the requested ones (or the defaults) plus those HubSpot always returns."""
    names = list(DEFAULT_PROPERTIES[object_type] if requested is None else requested)
    names.extend(name for name in ALWAYS[object_type] if name not in names)
    return tuple(dict.fromkeys(name for name in names if name))


def render(record: Record, object_type: str, wanted: Collection[str] | None, known: Collection[str]) -> dict[str, Any]:
    """The record as HubSpot returns it; known properties without a value come back as null.

    ``wanted`` None means every property the record has (the test hooks' view of the store).
    """
    computed = {"hs_object_id": str(record.id), "createdate": iso(record.created_ms),
                MODIFIED_PROPERTY[object_type]: iso(record.updated_ms)}
    if wanted is None:
        props: dict[str, Any] = {**record.props, **computed}
    else:
        props = {}
        for name in wanted:
            if name in computed:
                props[name] = computed[name]
            elif name in record.props:
                props[name] = record.props[name]
            elif name in known:
                props[name] = None
    out: dict[str, Any] = {"id": str(record.id), "properties": props, "createdAt": computed["createdate"],
                           "updatedAt": computed[MODIFIED_PROPERTY[object_type]],
                           "archived": record.archived_ms is not None}
    if record.archived_ms is not None:
        out["archivedAt"] = iso(record.archived_ms)
    return out
