"""SOQL over the sandbox's records: snapshots, pages with ``nextRecordsUrl``, JSON projection.

A query filters and sorts once, when it runs, and keeps the matching rows as its snapshot (rows
are immutable dicts, so the snapshot costs one reference per row). Later pages slice that list:
a record changed or added after the query started neither shifts nor joins its pages, as with
Salesforce's query locators. Cursors idle for 15 minutes expire, and only the most recent
``MAX_CURSORS`` are kept (Salesforce also caps open cursors per user).
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sync.sandbox.salesforce.records import ApiError, RecordStore
from sync.sandbox.salesforce.schema import catalog, format_value
from sync.sandbox.salesforce.soql import FieldRef, Query, SoqlError, parse
from sync.sandbox.salesforce.soql_eval import Row, predicate, sort_rows

MAX_CURSORS = 50
CURSOR_IDLE_SECONDS = 15 * 60
MIN_BATCH, MAX_BATCH = 200, 2000
_CATALOG = catalog()


@dataclass
class Cursor:
    """One query's snapshot and where its pages come from."""

    query: Query
    rows: list[Row]
    version: str
    batch: int
    touched: float


def record_url(version: str, sobject: str, record_id: str) -> str:
    """The ``attributes.url`` of a record."""
    return f"/services/data/{version}/sobjects/{sobject}/{record_id}"


class QueryEngine:
    """Runs queries against a ``RecordStore`` and serves their pages; the caller holds the lock."""

    def __init__(self, store: RecordStore, clock: Callable[[], float], rng: random.Random) -> None:
        self.store, self.clock, self.rng = store, clock, rng
        self.cursors: OrderedDict[str, Cursor] = OrderedDict()
        self.sorts = 0  # snapshots sorted (tests check that paging does not re-sort)

    def get(self, row: Row, ref: FieldRef) -> Any:
        """A row's value for a (possibly related) field."""
        if ref.relationship is None:
            return row.get(ref.field)
        parent = self.parent(row, ref)
        return None if parent is None else parent.get(ref.field)

    def parent(self, row: Row, ref: FieldRef) -> Row | None:
        """The live record a relationship field points at, if any."""
        related = row.get(ref.reference or "")
        if not related:
            return None
        parent = self.store.rows[ref.target or ""].get(related)
        return None if parent is None or parent["IsDeleted"] else parent

    def compile(self, text: str) -> Query:
        """Parse and bind SOQL, answering Salesforce's 400 for a bad query."""
        if not text.strip():
            raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        try:
            return parse(text, _CATALOG)
        except SoqlError as exc:
            raise ApiError(400, exc.code, str(exc)) from None

    def snapshot(self, query: Query, *, include_deleted: bool) -> list[Row]:
        """The rows the query matches, ordered, limited: computed once per query."""
        test = predicate(query.where, self.get)
        rows = [r for r in self.store.rows[query.sobject].values()
                if (include_deleted or not r["IsDeleted"]) and test(r)]
        if query.order:
            rows = sort_rows(rows, query.order, self.get)
            self.sorts += 1
        return rows[:query.limit] if query.limit is not None else rows

    def run(self, text: str, *, include_deleted: bool, version: str, batch: int) -> dict[str, Any]:
        """The first page of a query (``/query`` or ``/queryAll``)."""
        query = self.compile(text)
        rows = self.snapshot(query, include_deleted=include_deleted)
        if query.count:
            return {"totalSize": len(rows), "done": True, "records": []}
        cursor = Cursor(query, rows, version, batch, self.clock())
        locator = f"01g5g0000{''.join(self.rng.choice('ABCDEFGHJKLMNPQRSTUVWXYZ23456789') for _ in range(9))}"
        self.cursors[locator] = cursor
        while len(self.cursors) > MAX_CURSORS:
            self.cursors.popitem(last=False)
        return self.page(locator, cursor, 0)

    def more(self, token: str, version: str) -> dict[str, Any]:
        """A later page, from the ``<locator>-<offset>`` tail of a ``nextRecordsUrl``."""
        locator, _, offset_text = token.rpartition("-")
        cursor = self.cursors.get(locator)
        if cursor is not None and self.clock() - cursor.touched > CURSOR_IDLE_SECONDS:
            del self.cursors[locator]
            cursor = None
        if cursor is None or not offset_text.isdigit() or int(offset_text) > len(cursor.rows):
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        self.cursors.move_to_end(locator)
        cursor.touched = self.clock()
        return self.page(locator, cursor, int(offset_text), version)

    def page(self, locator: str, cursor: Cursor, offset: int, version: str | None = None) -> dict[str, Any]:
        """Records ``offset`` … ``offset + batch`` of a cursor, with the link to the next page."""
        version = version or cursor.version
        end = offset + cursor.batch
        records = [self.project(cursor.query, row, version) for row in cursor.rows[offset:end]]
        body: dict[str, Any] = {"totalSize": len(cursor.rows), "done": end >= len(cursor.rows)}
        if not body["done"]:
            body["nextRecordsUrl"] = f"/services/data/{version}/query/{locator}-{end}"
        body["records"] = records
        return body

    def project(self, query: Query, row: Row, version: str) -> dict[str, Any]:
        """A row as the REST API returns it: attributes, selected fields, nested relationship objects."""
        sobject = query.sobject
        out: dict[str, Any] = {"attributes": {"type": sobject, "url": record_url(version, sobject, row["Id"])}}
        for ref in query.fields:
            if ref.relationship is None:
                out[ref.field] = format_value(row.get(ref.field))
                continue
            if ref.relationship not in out:
                parent = self.parent(row, ref)
                out[ref.relationship] = None if parent is None else {
                    "attributes": {"type": ref.target, "url": record_url(version, ref.target or "", parent["Id"])}}
            nested = out[ref.relationship]
            if nested is not None:
                nested[ref.field] = format_value(self.get(row, ref))
        return out


def batch_size(header: str | None, default: int) -> int:
    """The page size from ``Sforce-Query-Options: batchSize=N`` (clamped to 200…2000), else ``default``."""
    for part in (header or "").split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "batchsize" and value.strip().isdigit():
            return max(MIN_BATCH, min(MAX_BATCH, int(value)))
    return default
