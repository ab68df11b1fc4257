"""Every destination of every segment synced: what the ``sync_audiences`` job, ``lifesync segments sync``
and ``POST /api/segments/<key>/sync`` run.

Segments come from the active configuration (``config.segments``: key → ``Segment`` with
``key``, ``label``, ``brand`` and ``destinations``, a tuple of ``DestinationEntry``) and their
current members from ``sync.segments.membership.current_members`` — the two seams to the
segment definitions, both passed in as arguments so this module depends on neither.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import requests
from sqlalchemy import Select

from sync.access.audit import record
from sync.config.privacy import PrivacyConfig
from sync.errors import NotFound
from sync.ingest.deadletter import reason_for
from sync.segments.audiences.engine import AudienceCounts, open_destination, sync_destinations
from sync.segments.destinations.base import Audience
from sync.settings import Settings
from sync.store.engine import Store

MembersOf = Callable[[Any, str], Any]  # (session, segment key) -> member ids, or a SELECT of them


def configured_segments(config: Any) -> list[Any]:
    """The segments of the active configuration, sorted by key (``Config.segments`` already is)."""
    return list(config.segments)


def current_members(session: Any, key: str) -> Sequence[int]:
    """The segment's current member contact ids (``sync.segments.membership``, which gives them as a query)."""
    from sync.segments.membership import current_members as members

    return member_ids(session, members(session, key))


def member_ids(session: Any, found: Any) -> list[int]:
    """Contact ids from what a membership function gives: a ``SELECT contact_id`` (run here) or the ids."""
    return list(session.scalars(found)) if isinstance(found, Select) else list(found)


def lock_name(key: str) -> str:
    """The lock one sync of segment ``key``'s audiences holds (the job's and the CLI's: never two at once)."""
    return f"sync_audiences_{key}"


def select_segments(segments: Sequence[Any], key: str | None, destination: str | None) -> list[Any]:
    """The segments to sync: all, or ``key``; NotFound naming what exists when ``key`` / ``destination`` is unknown."""
    chosen = [s for s in segments if key is None or s.key == key]
    if key is not None and not chosen:
        raise NotFound(f"no segment {key!r}; configured: {', '.join(s.key for s in segments) or 'none'}")
    if destination is not None and not any(d.name == destination for s in chosen for d in s.destinations):
        names = sorted({d.name for s in chosen for d in s.destinations})
        raise NotFound(f"no destination {destination!r} for {'segment ' + repr(key) if key else 'any segment'}; "
                       f"destinations: {', '.join(names) or 'none'}")
    return chosen


def sync_segments(store: Store, settings: Settings, segments: Sequence[Any], *, key: str | None = None,
                  destination: str | None = None, dry_run: bool = False, members_of: MembersOf | None = None,
                  http: requests.Session | None = None, destinations: Mapping[str, Any] | None = None,
                  privacy: PrivacyConfig | None = None) -> list[AudienceCounts]:
    """Sync each chosen segment's destinations (one's failure does not stop the others); counts per destination.

    ``members_of``: the current members of a segment (default ``current_members``);
    ``destinations``: destination objects by name to use instead of building them from the
    settings (tests, the demo's sandboxes); ``privacy``: the configuration's privacy.yaml (None: the bundled one).
    """
    members_of = members_of or current_members
    out: list[AudienceCounts] = []
    for segment in select_segments(segments, key, destination):
        with store.transaction() as session:
            members = member_ids(session, members_of(session, segment.key))
        audience = Audience(segment.key, getattr(segment, "label", segment.key),
                            getattr(segment, "brand", "default") or "default")
        pairs, broken = [], {}
        for entry in segment.destinations:
            if destination is not None and entry.name != destination:
                continue
            try:
                pairs.append((entry, (destinations or {}).get(entry.name) or open_destination(entry, settings, http)))
            except Exception as exc:  # its settings: reported for this destination, the others go on
                broken[entry.name] = AudienceCounts(entry.name, segment.key, dry_run=dry_run, error=reason_for(exc))
        done = {c.destination: c for c in sync_destinations(store, audience, pairs, members, dry_run=dry_run,
                                                                         privacy=privacy)}
        out += [broken.get(e.name) or done[e.name] for e in segment.destinations
                if destination is None or e.name == destination]
    return out


def find_segment(segments: Sequence[Any], key: str) -> Any:
    """The segment ``key``; NotFound naming the configured ones."""
    return select_segments(segments, key, None)[0]


def request_sync(store: Store, segments: Sequence[Any], actor: Any, key: str, destination: str | None,
                 enqueue: Callable[[str, dict[str, Any], str], tuple[str, bool]]) -> dict[str, Any]:
    """Queue the ``sync_audiences`` job for segment ``key`` (one destination, or all), audit-logged.

    Queued once under ``lifesync-audiences-<key>[-<destination>]``: asking again while it waits
    queues nothing more. NotFound for an unknown segment or destination.
    """
    select_segments(segments, key, destination)
    job = f"lifesync-audiences-{key}" + (f"-{destination}" if destination else "")
    kwargs = {"segment": key, "destination": destination}
    with store.transaction() as session:
        job_id, queued = enqueue("sync_audiences", kwargs, job)
        record(session, actor, "segment.sync", "segment", key,
               after={"destination": destination, "job_id": job_id, "queued": queued})
    return {"job_id": job_id, "queued": queued, "task": "sync_audiences"}


def record_sync(store: Store, actor: Any, key: str, destination: str | None,
                results: Sequence[AudienceCounts]) -> None:
    """Audit-log a sync run now (the CLI's): what ``request_sync`` records when it queues one, with the counts."""
    counts = {r.destination: {"added": r.added, "removed": r.removed, "failed": r.failed, "error": r.error}
              for r in results if r.segment == key}
    with store.transaction() as session:
        record(session, actor, "segment.sync", "segment", key, after={"destination": destination, "results": counts})


def format_counts(results: Sequence[AudienceCounts]) -> str:
    """One line per (segment, destination): added / removed / unchanged / skipped / failed (and what waits)."""
    if not results:
        return "no audience destinations to sync"
    lines = []
    for r in results:
        line = (f"{r.segment} → {r.destination}: added {r.added}, removed {r.removed}, unchanged {r.unchanged}, "
                f"skipped {r.skipped}, failed {r.failed}")
        if r.retrying or r.deferred:
            line += f", retrying {r.retrying}, waiting {r.deferred}"
        if r.dry_run:
            line += " (dry run: nothing sent)"
        if r.error:
            line += f" — stopped: {r.error}"
        lines.append(line)
    return "\n".join(lines)
