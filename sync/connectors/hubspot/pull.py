"""Pulling one HubSpot object (contacts, deals) as pages with resumable cursors.

A run has up to two passes:

1. **live** — a *full* run (empty cursor, or ``full=True``) lists every record with
   ``GET /crm/objects/2026-09/{type}?limit=100&properties=...&after=...`` (paths per API version:
   ``sync.connectors.hubspot.endpoints``); an *incremental* run
   searches records modified in ``[bookmark - lookback, run start]`` (``sync.connectors.hubspot
   .search``: paged by an id floor, never past the 10,000-result cap). The lookback re-reads
   a margin because HubSpot's search index lags writes; records read twice are harmless
   (survivorship keeps the newest value).
2. **archived** — search never returns archived (deleted) records, so after the live pass
   ``GET ...?archived=true`` lists them and yields those archived or changed since
   ``bookmark - lookback``. They keep ``archived: true`` (the mapping marks them deleted) and
   their ``updatedAt`` becomes the archive time when that is later, so the delete carries
   when it happened. A connection's very first run has no bookmark and skips this pass
   (nothing synced yet can have been deleted).

Records have the shape the bundled mappings read: ``id``, ``properties``, ``createdAt``,
``updatedAt``, ``archived``; deals also ``associations.contacts.results[{id, type}]`` from one
v4 batch read per page. The run start (``now``, default the clock) is the upper bound of the
search and fixes the next bookmark: a list run's bookmark is its start; a search run's is
min(highest modification time seen, run start), never earlier than the previous bookmark,
and the previous bookmark when nothing changed. Never the highest time seen alone: a
record updated during the run carries a later time than the run start and is read by the
next run, not skipped.

Cursor (JSON, version 1)::

    {"v": 1,
     "bookmark": "2026-03-01T10:15:42.120Z" | null,   # where the next run's search starts
     "run": null | {                                    # a run in progress
         "mode": "list" | "search",
         "phase": "live" | "archived",
         "start": "<ISO>",                              # the run's start (upper bound)
         "after": "<HubSpot paging token>" | null,      # list paging within the phase
         "id_floor": <int>,                             # search paging (search mode, live phase)
         "max_seen": "<ISO>" | null}}                   # highest modification time read so far

Every page's cursor resumes right after it: pulling again from it repeats no page already
yielded and skips none (a run in progress is resumed, not restarted, even with
``full=True`` when the interrupted run is itself a full one). The last page of a run
(possibly empty) carries ``run: null`` and the new bookmark. An unreadable cursor is a
``PermanentError``, except under ``full=True``, which starts afresh.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sync.connectors.crm import Page, SyncStats
from sync.connectors.hubspot.associations import read_associations
from sync.connectors.hubspot.client import HubSpotApi
from sync.connectors.hubspot.search import modified_property, search_page
from sync.errors import PermanentError
from sync.mappings.registry import TransformError
from sync.mappings.transforms import parse_instant

log = logging.getLogger(__name__)

CURSOR_VERSION = 1
LIST_LIMIT = 100
ASSOCIATED = {"deals": "contacts"}  # object -> associated object the mapping reads


def iso(when: datetime) -> str:
    """``when`` as ISO 8601 UTC with milliseconds and a ``Z``."""
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def instant(value: Any) -> datetime | None:
    """A HubSpot time (ISO text or epoch milliseconds) as an aware datetime; None when unreadable."""
    if value is None or value == "":
        return None
    try:
        return parse_instant(value)
    except TransformError:
        return None


@dataclass(frozen=True)
class Run:
    """A run in progress: which pass, where in it, and what it has seen."""

    mode: str
    phase: str
    start: str
    after: str | None = None
    id_floor: int = 0
    max_seen: str | None = None


def encode_cursor(bookmark: str | None, run: Run | None) -> dict[str, Any]:
    """The JSON-able cursor for ``bookmark`` and ``run``."""
    return {"v": CURSOR_VERSION, "bookmark": bookmark, "run": dataclasses.asdict(run) if run else None}


def decode_cursor(cursor: dict[str, Any] | None) -> tuple[str | None, Run | None]:
    """(bookmark, run in progress) of a cursor; an empty cursor is (None, None)."""
    if not cursor:
        return None, None
    try:
        if cursor.get("v") != CURSOR_VERSION:
            raise ValueError(f"version {cursor.get('v')!r}")
        bookmark = cursor.get("bookmark")
        if bookmark is not None and instant(bookmark) is None:
            raise ValueError("bookmark")
        raw = cursor.get("run")
        run = Run(**raw) if raw else None
        if run and (run.mode not in ("list", "search") or run.phase not in ("live", "archived")
                    or instant(run.start) is None or type(run.id_floor) is not int
                    or (run.mode == "search" and bookmark is None)):
            raise ValueError("run")
    except (TypeError, ValueError, AttributeError) as exc:
        raise PermanentError(f"unreadable HubSpot cursor ({exc}); reset it with a full sync") from None
    return bookmark, run


def normalise(record: dict[str, Any]) -> dict[str, Any]:
    """A CRM v3 record reduced to what the mappings read; an archived one dated by its archive time."""
    updated = record.get("updatedAt")
    archived = bool(record.get("archived", False))
    if archived:
        times = [t for t in (instant(updated), instant(record.get("archivedAt"))) if t is not None]
        updated = iso(max(times)) if times else updated
    return {"id": str(record["id"]), "properties": dict(record.get("properties") or {}),
            "createdAt": record.get("createdAt"), "updatedAt": updated, "archived": archived}


class ObjectPull:
    """One pull of one object; iterate ``pages()``."""

    def __init__(self, api: HubSpotApi, obj: str, properties: Sequence[str], *, lookback: float,
                 stats: SyncStats):
        self.api, self.obj, self.stats = api, obj, stats
        self.modified = modified_property(obj)
        self.properties = sorted({*properties, self.modified})
        self.lookback = timedelta(seconds=lookback)

    def pages(self, cursor: dict[str, Any] | None, *, full: bool, now: datetime) -> Iterator[Page]:
        """The run's pages; resumes the run in ``cursor`` or starts one at ``now``."""
        try:
            bookmark, run = decode_cursor(cursor)
        except PermanentError:
            if not full:
                raise
            log.warning("HubSpot %s: unreadable cursor replaced by a full sync", self.obj)
            bookmark, run = None, None
        if run is None or (full and run.mode != "list"):
            run = Run(mode="list" if full or bookmark is None else "search", phase="live", start=iso(now))
        state: Run | None = run
        while state is not None:
            step = self._live if state.phase == "live" else self._archived
            records, updated, done = step(state, bookmark)
            following: Run | None = updated
            if done:  # after the live pass comes the archived one, unless this is the first run
                following = (dataclasses.replace(updated, phase="archived", after=None)
                             if state.phase == "live" and bookmark is not None else None)
            cursor_after = encode_cursor(bookmark, following) if following else self._final(updated, bookmark)
            if records and self.obj in ASSOCIATED:
                self._associate(records)
            if records or following is None:
                self.stats.pages += 1
                self.stats.records += len(records)
                self.stats.deleted += sum(1 for r in records if r["archived"])
                yield Page(self.obj, records, cursor_after)
            state = following

    def _final(self, run: Run, bookmark: str | None) -> dict[str, Any]:
        if run.mode == "list":
            return encode_cursor(run.start, None)
        seen, start = instant(run.max_seen), instant(run.start)
        assert start is not None
        if seen is None:
            return encode_cursor(bookmark or run.start, None)
        new = min(seen, start)
        previous = instant(bookmark)
        if previous is not None and previous > new:
            new = previous
        return encode_cursor(iso(new), None)

    def _since(self, bookmark: str | None) -> datetime:
        when = instant(bookmark)
        assert when is not None
        return when - self.lookback

    def _live(self, run: Run, bookmark: str | None) -> tuple[list[dict[str, Any]], Run, bool]:
        if run.mode == "list":
            records, after = self._list_page(run.after, archived=False)
            return records, dataclasses.replace(run, after=after), after is None
        until = instant(run.start)
        assert until is not None
        found, floor = search_page(self.api, self.obj, self.properties, since=self._since(bookmark), until=until,
                                   id_floor=run.id_floor)
        records = [normalise(r) for r in found]
        seen = [t for r in records if (t := instant(r["properties"].get(self.modified) or r["updatedAt"]))]
        previous = instant(run.max_seen)
        if previous is not None:
            seen.append(previous)
        max_seen = iso(max(seen)) if seen else None
        return records, dataclasses.replace(run, id_floor=floor or run.id_floor, max_seen=max_seen), floor is None

    def _archived(self, run: Run, bookmark: str | None) -> tuple[list[dict[str, Any]], Run, bool]:
        records, after = self._list_page(run.after, archived=True)
        since = self._since(bookmark)
        changed = [r for r in records if (t := instant(r["updatedAt"])) is not None and t >= since]
        return changed, dataclasses.replace(run, after=after), after is None

    def _list_page(self, after: str | None, *, archived: bool) -> tuple[list[dict[str, Any]], str | None]:
        params: dict[str, Any] = {"limit": LIST_LIMIT, "properties": ",".join(self.properties)}
        if archived:
            params["archived"] = "true"
        if after:
            params["after"] = after
        answer = self.api.get(self.api.paths.objects(self.obj), params)
        records = [normalise(r) for r in answer.get("results") or [] if isinstance(r, dict) and r.get("id")]
        following = ((answer.get("paging") or {}).get("next") or {}).get("after")
        return records, str(following) if following else None

    def _associate(self, records: list[dict[str, Any]]) -> None:
        target = ASSOCIATED[self.obj]
        found = read_associations(self.api, self.obj, target, [r["id"] for r in records])
        for record in records:
            record["associations"] = {target: {"results": found.get(record["id"], [])}}
