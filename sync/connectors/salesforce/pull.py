"""Pull Salesforce changes page by page, with a cursor that resumes exactly after each page.

**Cursor** (JSON; stored by the runner with each page)::

    {"bookmark": "2026-11-27T09:58:00Z",   # every row with SystemModstamp <= bookmark was read
     "run": {                             # only while a run is unfinished
        "mode": "rest" | "bulk", "full": false,
        "since": "2026-11-27T09:53:00Z",  # the window's lower bound: bookmark - overlap (None: full sync)
        "until": "2026-11-27T10:00:00Z",  # the run's start: rows changed later wait for the next run
        "max_seen": "...Z",               # newest SystemModstamp read by the run so far
        "after": ["...Z", "00Q..."],      # rest: (SystemModstamp, Id) of the last committed row
        "job": "750...", "locator": "..."}}   # bulk: the query job and its next results page

**Incremental** runs read ``queryAll`` (deleted rows too, with ``IsDeleted = true``) for
``bookmark - overlap <= SystemModstamp <= run start``, ordered by ``SystemModstamp, Id``,
following ``nextRecordsUrl`` until ``done``. ``>=`` keeps rows sharing the bookmark's
timestamp; the overlap (``LIFESYNC_SALESFORCE_OVERLAP_SECONDS``) re-reads rows committed late
with an older SystemModstamp (re-reads are harmless: ingest is idempotent). A run that
stopped mid-way (crash, quota) resumes with the same window, strictly after the last
committed row: ``SystemModstamp > m OR (SystemModstamp = m AND Id > id)``, so thousands of
rows sharing one timestamp are neither looped over nor skipped. When the run completes the
bookmark becomes ``min(max seen, run start)`` (never moving backwards): a row changed while
the run was reading is read again next time rather than lost.

**Full** runs (empty cursor or ``full=True``) count the object first; above
``LIFESYNC_SALESFORCE_BULK_THRESHOLD`` they read one Bulk API 2.0 ``queryAll`` job (``bulk``),
else the same REST pages without a lower bound. A completed full run of an empty object
sets the bookmark to the run start.

**Converted leads**: after a Lead page, the contacts its converted leads became
(``ConvertedContactId``) are fetched (``WHERE Id IN (...)``, 200 ids a query) and yielded as a
``Contact`` page with the same cursor, so the lead is followed to its contact.

**Quota**: between pages the run checks its share of the org's daily limit and raises
``QuotaReached``; the runner has committed the previous page's cursor, so the next run goes
on from there. A 403 ``REQUEST_LIMIT_EXCEEDED`` stops the run the same way.

(``/sobjects/{Obj}/deleted/?start&end`` is not needed: ``queryAll`` returns deleted rows
while they are in the recycle bin, ~15 days; a bookmark older than that needs a full sync.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sync.connectors.crm import Page, QuotaReached, SyncStats
from sync.connectors.salesforce.bulk import BulkQuery
from sync.connectors.salesforce.client import ApiLimitExceeded, QueryLocatorExpired, Quota, SalesforceClient
from sync.connectors.salesforce.soql import (
    Window,
    changes_query,
    count_query,
    ids_query,
    parse_datetime,
    soql_datetime,
)
from sync.errors import PermanentError

log = logging.getLogger(__name__)

IDS_PER_QUERY = 200  # ~4 kB of ids: well inside the URL and SOQL length limits
MAX_REQUERIES = 3  # expired query locators in a row before giving up


def clean(record: dict[str, Any]) -> dict[str, Any]:
    """A REST record without ``attributes`` (nested relationship records included)."""
    return {k: clean(v) if isinstance(v, dict) else v for k, v in record.items() if k != "attributes"}


def _stamp(text: str) -> str:
    return soql_datetime(parse_datetime(text))


def quota_spent(quota: Quota, then: str) -> str | None:
    """Why the run must make no more calls (saying what happens ``then``), or None while it may."""
    if not quota.reached:
        return None
    return (f"Salesforce connection: this run used {quota.spent} API calls, its share "
            f"({quota.share:.0%} of the org's daily {quota.limit}, LIFESYNC_SALESFORCE_QUOTA_SHARE); {then}")


def check_quota(quota: Quota, then: str) -> None:
    """Raise QuotaReached when the run used its share of the daily limit (see ``quota_spent``)."""
    if (reason := quota_spent(quota, then)) is not None:
        raise QuotaReached(reason)


class ChangePuller:
    """Yields the pages of one object's changes (see the module docstring)."""

    def __init__(self, client: SalesforceClient, bulk: BulkQuery, fields: Callable[[str], Sequence[str]], *,
                 stats: SyncStats, overlap: float = 300.0, bulk_threshold: int = 50_000):
        self.client, self.bulk, self.fields, self.stats = client, bulk, fields, stats
        self.overlap, self.bulk_threshold = timedelta(seconds=overlap), bulk_threshold
        self._followed: set[str] = set()
        self._selected: dict[str, list[str]] = {}

    def select(self, obj: str) -> list[str]:
        """The mapping's fields of ``obj`` that the org has (others are left out, once, with a warning).

        A bundled mapping may read optional fields (``CurrencyIsoCode`` exists only in
        multi-currency orgs); selecting one the org lacks would fail the whole query.
        """
        if obj not in self._selected:
            wanted = list(self.fields(obj))
            kept = [f for f in wanted if self.client.field_type(obj, f) is not None]
            if missing := [f for f in wanted if f not in kept]:
                log.warning("Salesforce %s: the org has no field %s (or the integration user cannot see it); "
                            "left out of the query", obj, ", ".join(missing))
            self._selected[obj] = kept
        return self._selected[obj]

    def pull(self, obj: str, cursor: dict[str, Any], *, full: bool = False,
             now: datetime | None = None) -> Iterator[Page]:
        """Pages of ``obj`` changed since ``cursor``; raises QuotaReached between pages."""
        now = now or datetime.now(UTC)
        bookmark = cursor.get("bookmark")
        run = cursor.get("run")
        self._followed = set()
        try:
            self.check_quota(obj)  # an earlier object may have spent the run's share
            if run and (run.get("full") or not full):
                state = dict(run)
            else:
                state = self._new_run(obj, bookmark, full or not bookmark, now)
            pages = self._bulk(obj, bookmark, state) if state["mode"] == "bulk" else self._rest(obj, bookmark, state)
            yield from pages
        except ApiLimitExceeded as err:
            raise QuotaReached(f"Salesforce connection: the org's daily API limit is used up while reading {obj}; "
                               "the next run resumes after the last page") from err

    def _new_run(self, obj: str, bookmark: str | None, full: bool, now: datetime) -> dict[str, Any]:
        state: dict[str, Any] = {"mode": "rest", "full": full, "since": None, "until": soql_datetime(now),
                                 "max_seen": None, "after": None}
        if not full and bookmark:
            state["since"] = soql_datetime(parse_datetime(bookmark) - self.overlap)
            return state
        total = self.client.count(count_query(obj))
        if total > self.bulk_threshold:
            state.update(mode="bulk", job=None, locator=None)
        log.info("Salesforce %s: full sync of %d records via %s", obj, total, state["mode"])
        return state

    def check_quota(self, obj: str) -> None:
        """Raise QuotaReached when the run used its share of the org's daily API limit."""
        check_quota(self.client.quota, f"{obj} resumes from the last page on the next run")

    def _rest(self, obj: str, bookmark: str | None, state: dict[str, Any]) -> Iterator[Page]:
        pages, requeries = self._query(obj, state), 0
        while True:
            self.check_quota(obj)
            try:
                batch, done = next(pages)
            except QueryLocatorExpired:
                requeries += 1
                if requeries > MAX_REQUERIES:
                    raise
                log.warning("Salesforce %s: query cursor expired; querying again after the last page", obj)
                pages = self._query(obj, state)
                continue
            requeries = 0
            records = [clean(r) for r in batch]
            if records:
                last = records[-1]
                state["after"] = [_stamp(last["SystemModstamp"]), last["Id"]]
                self._saw(state, records)
            yield from self._emit(obj, records, self._final(bookmark, state) if done else self._open(bookmark, state))
            if done:
                return

    def _query(self, obj: str, state: dict[str, Any]) -> Iterator[tuple[list[dict[str, Any]], bool]]:
        after = state.get("after")
        window = Window(until=parse_datetime(state["until"]),
                        since=parse_datetime(state["since"]) if state.get("since") else None,
                        after=(parse_datetime(after[0]), after[1]) if after else None)
        return self.client.query_pages(changes_query(obj, self.select(obj), window))

    def _bulk(self, obj: str, bookmark: str | None, state: dict[str, Any]) -> Iterator[Page]:
        restarted = False
        while True:
            if not state.get("job"):
                self.check_quota(obj)
                window = Window(until=parse_datetime(state["until"]))
                state.update(job=self.bulk.create(changes_query(obj, self.select(obj), window, ordered=False)),
                             locator=None, max_seen=None)
                yield Page(obj, [], self._open(bookmark, state))  # a crash while the job runs resumes the job
            locator = state.get("locator")
            try:
                if not locator:
                    self.bulk.wait(state["job"])
                self.check_quota(obj)
                page = self.bulk.results(obj, state["job"], locator)
            except PermanentError as err:
                if getattr(err, "status", None) != 404 or restarted:
                    raise
                # results are kept for days, not forever: run the job again rather than fail on every run
                log.warning("Salesforce %s: bulk query job %s is gone; starting a new one", obj, state["job"])
                state.update(job=None, locator=None, max_seen=None)
                restarted = True
                continue
            self._saw(state, page.records)
            state["locator"] = page.next_locator
            done = page.next_locator is None
            cursor = self._final(bookmark, state) if done else self._open(bookmark, state)
            yield from self._emit(obj, page.records, cursor)
            if done:
                return

    def _emit(self, obj: str, records: list[dict[str, Any]], cursor: dict[str, Any]) -> Iterator[Page]:
        self._count(records)
        yield Page(obj, records, cursor)
        if obj == "Lead":
            yield from self._follow_converted(records, cursor)

    def _follow_converted(self, leads: list[dict[str, Any]], cursor: dict[str, Any]) -> Iterator[Page]:
        """The contacts this page's converted leads became, as one Contact page with the same cursor."""
        ids = [r["ConvertedContactId"] for r in leads if r.get("IsConverted") and r.get("ConvertedContactId")]
        wanted = [i for i in dict.fromkeys(ids) if i not in self._followed]
        if not wanted:
            return
        contacts: list[dict[str, Any]] = []
        for start in range(0, len(wanted), IDS_PER_QUERY):
            soql = ids_query("Contact", self.select("Contact"), wanted[start:start + IDS_PER_QUERY])
            for batch, _ in self.client.query_pages(soql):
                contacts.extend(clean(r) for r in batch)
        self._followed.update(wanted)
        self._count(contacts)
        yield Page("Contact", contacts, cursor)

    def _count(self, records: list[dict[str, Any]]) -> None:
        self.stats.pages += 1
        self.stats.records += len(records)
        self.stats.deleted += sum(1 for r in records if r.get("IsDeleted") is True)

    @staticmethod
    def _saw(state: dict[str, Any], records: list[dict[str, Any]]) -> None:
        stamps = [parse_datetime(r["SystemModstamp"]) for r in records if r.get("SystemModstamp")]
        if state.get("max_seen"):
            stamps.append(parse_datetime(state["max_seen"]))
        if stamps:
            state["max_seen"] = soql_datetime(max(stamps))

    @staticmethod
    def _open(bookmark: str | None, state: dict[str, Any]) -> dict[str, Any]:
        cursor: dict[str, Any] = {"run": dict(state)}
        if bookmark:
            cursor["bookmark"] = bookmark
        return cursor

    @staticmethod
    def _final(bookmark: str | None, state: dict[str, Any]) -> dict[str, Any]:
        """The cursor after a completed run: bookmark = min(max seen, run start), never backwards."""
        until = parse_datetime(state["until"])
        if state.get("max_seen"):
            new: datetime | None = min(parse_datetime(state["max_seen"]), until)
        else:
            new = until if state.get("full") else None
        if bookmark:
            new = max(new, parse_datetime(bookmark)) if new else parse_datetime(bookmark)
        return {"bookmark": soql_datetime(new)} if new else {}
