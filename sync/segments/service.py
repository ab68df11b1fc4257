"""Segments as the ops surfaces show them: list, detail, members, sizes over time, and preview before saving.

The one service layer the CLI (``lifesync segments``), the ops API (``/api/segments``) and the
console call (DESIGN §8b). A preview judges a segment's text exactly as saving it would
(``Revisions.trial``: the whole configuration with this file in it) and counts its members with
the evaluation's own query, inside a read-only transaction — never a second implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sync.config.types import DEFAULT_BRAND
from sync.errors import ConfigError, ConfigIssue, Invalid, NotFound
from sync.reports.window import day_of
from sync.segments.compile import members_query
from sync.segments.conditions import Segment
from sync.segments.files import SEGMENTS_DIR
from sync.segments.membership import SM, current_members
from sync.segments.parse import KEY, KEY_HINT
from sync.store import model
from sync.store.engine import Store

if TYPE_CHECKING:
    from sync.access.roles import Principal
    from sync.config.loader import Config
    from sync.config.revisions import Revisions

SAMPLE = 20
PAGE = 100
MAX_PAGE = 1000


class UnknownSegment(NotFound):
    """No segment of that key is configured."""


def document_of(key: str) -> str:
    """The configuration document of segment ``key`` (``segments/<key>.yaml``); Invalid (422) for a bad key."""
    if not isinstance(key, str) or not KEY.match(key):
        raise Invalid(f"{str(key)[:80]!r} cannot name a segment", {"key": f"use {KEY_HINT}"})
    return f"{SEGMENTS_DIR}/{key}.yaml"


def find(config: Config, key: str, named: Sequence[Segment] | None = None) -> Segment:
    """The configured segment ``key``; UnknownSegment naming the configured ones otherwise.

    ``named``: the segments the message may name (a token limited to brands: its brands' only).
    """
    found = config.segment(key)
    if found is None:
        listed = config.segments if named is None else named
        raise UnknownSegment(f"no segment {key!r}; configured segments: "
                             f"{', '.join(s.key for s in listed) or 'none'}")
    return found


def trial_segment(revisions: Revisions, key: str, text: str) -> Segment:
    """The segment ``text`` would be as ``segments/<key>.yaml``, validated like saving it; ConfigError otherwise."""
    config = revisions.trial({document_of(key): text})
    segment = config.segment(key)
    if segment is None:  # cannot happen for a valid document; said plainly rather than a KeyError
        raise ConfigError([ConfigIssue(document_of(key), "", "the text did not load as a segment")])
    return segment


# --- reading members ------------------------------------------------------------------------------

def _name(attributes: dict[str, Any]) -> str:
    parts = [(attributes.get(f) or {}).get("value") for f in ("first_name", "last_name")]
    return " ".join(str(p) for p in parts if p not in (None, ""))


def _people(session: Session, ids: list[int], brand: str) -> list[dict[str, Any]]:
    """id, name and stage (in ``brand``) of these contacts, in the order given."""
    if not ids:
        return []
    c, cs = model.Contact, model.ContactStage
    rows = {r.id: r for r in session.execute(select(c.id, c.attributes, c.stage, c.lost_stage)
                                             .where(c.id.in_(ids)))}
    staged: dict[int, Any] = {}
    if brand != DEFAULT_BRAND:  # the stage in the segment's brand (sync.config.brands)
        staged = {r.contact_id: r for r in session.execute(
            select(cs.contact_id, cs.stage, cs.lost_stage).where(cs.contact_id.in_(ids), cs.brand == brand))}
    out = []
    for cid in ids:
        row = rows.get(cid)
        if row is None:
            continue
        stage_row = staged.get(cid) if brand != DEFAULT_BRAND else row
        stage = (stage_row.lost_stage or stage_row.stage) if stage_row is not None else None
        out.append({"id": cid, "name": _name(row.attributes or {}),
                    "stage": stage})
    return out


@dataclass(frozen=True)
class Preview:
    """How many contacts a segment holds now, and a few of them."""

    key: str
    size: int
    sample: list[dict[str, Any]] = field(default_factory=list)
    time_based: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "size": self.size, "sample": self.sample, "time_based": self.time_based}


def preview(store: Store, segment: Segment, now: datetime | None = None, sample: int = SAMPLE) -> Preview:
    """Size and the first ``sample`` members (by id) of ``segment`` evaluated now, writing nothing."""
    now = now or model.utcnow()
    with store.transaction() as session:
        query = members_query(segment, session.get_bind().dialect.name, now)
        size = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        ids = list(session.scalars(query.order_by(model.Contact.id).limit(max(0, min(sample, 100)))))
        people = _people(session, ids, segment.brand)
    return Preview(segment.key, size, people, segment.time_based)


def members_page(store: Store, segment: Segment, after: int | None = None,
                 limit: int = PAGE) -> tuple[list[dict[str, Any]], int | None]:
    """Current members by contact id after ``after``; (rows with id, name, stage, entered_at; next cursor or None)."""
    limit = max(1, min(int(limit), MAX_PAGE))
    with store.transaction() as session:
        query = (select(SM.contact_id, SM.entered_at).where(SM.segment == segment.key, SM.left_at.is_(None))
                 .order_by(SM.contact_id).limit(limit + 1))
        if after is not None:
            query = query.where(SM.contact_id > after)
        rows = session.execute(query).all()
        more = len(rows) > limit
        rows = rows[:limit]
        entered = {r.contact_id: r.entered_at for r in rows}
        people = _people(session, list(entered), segment.brand)
    for person in people:
        person["entered_at"] = entered[person["id"]]
    return people, (rows[-1].contact_id if more else None)


def member_ids(store: Store, segment_key: str) -> list[int]:
    """Every current member's contact id, ascending (the CSV export)."""
    with store.transaction() as session:
        return list(session.scalars(current_members(session, segment_key).order_by(SM.contact_id)))


# --- list and history -----------------------------------------------------------------------------

def summaries(store: Store, segments: list[Segment] | tuple[Segment, ...]) -> list[dict[str, Any]]:
    """Each segment with its size and last evaluation (None: not evaluated yet)."""
    with store.transaction() as session:
        ev = {r.segment: r for r in session.scalars(select(model.SegmentEvaluation))}
    out = []
    for s in segments:
        e = ev.get(s.key)
        current = e is not None and e.fingerprint == s.fingerprint
        out.append({"key": s.key, "label": s.label, "brand": s.brand, "description": s.description,
                    "time_based": s.time_based, "destinations": [d.name for d in s.destinations],
                    "size": e.size if current else None, "evaluated_at": e.evaluated_at if current else None,
                    "full_at": e.full_at if current else None})
    return out


def sizes_over_time(store: Store, segment_key: str, days: int = 30,
                    now: datetime | None = None) -> list[tuple[str, int]]:
    """The segment's size at the end of each of the last ``days`` UTC days (today included), oldest first.

    size(t) = stays entered by t − stays left by t; four queries on the (segment, entered_at)
    and (segment, left_at) indexes, whatever the number of days.
    """
    now = now or model.utcnow()
    days = max(1, min(int(days), 366))
    today = now.date()
    first = today - timedelta(days=days - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=now.tzinfo)
    with store.transaction() as session:
        def count(column: Any) -> int:
            return session.scalar(select(func.count()).where(SM.segment == segment_key, column < start)) or 0

        def per_day(column: Any) -> dict[str, int]:
            day = day_of(session, column)
            return dict(session.execute(select(day, func.count()).where(SM.segment == segment_key, column >= start,
                                                                        column <= now).group_by(day)).all())

        size = count(SM.entered_at) - count(SM.left_at)
        entered, left = per_day(SM.entered_at), per_day(SM.left_at)
    out = []
    for n in range(days):
        label = (first + timedelta(days=n)).isoformat()
        size += entered.get(label, 0) - left.get(label, 0)
        out.append((label, size))
    return out


def history(store: Store, segment_key: str, contact_id: int) -> list[dict[str, Any]]:
    """One contact's stays in a segment, oldest first."""
    with store.transaction() as session:
        rows = session.execute(select(SM.entered_at, SM.left_at).where(
            SM.segment == segment_key, SM.contact_id == contact_id).order_by(SM.entered_at)).all()
    return [{"entered_at": r.entered_at, "left_at": r.left_at} for r in rows]



def members_csv(store: Store, segment: Segment) -> str:
    """Every current member as CSV (id, name, stage, entered_at), page by page (``sync.reports.csv_export``)."""
    from sync.reports.csv_export import write_csv

    rows: list[list[Any]] = []
    after: int | None = None
    while True:
        page, after = members_page(store, segment, after, MAX_PAGE)
        rows += [[p["id"], p["name"], p["stage"] or "", p["entered_at"]] for p in page]
        if after is None:
            return write_csv(["contact_id", "name", "stage", "entered_at"], rows)


def run_evaluation(store: Store, config: Config, actor: Principal, key: str | None = None,
                   full: bool = False) -> dict[str, Any]:
    """Bring membership up to date now, audited: the queued changes, or (``full``) every contact; ``key``: one.

    An incremental run covers every segment (the queue is shared), so ``key`` needs ``full``
    (Invalid otherwise). A full run of every segment also closes the stays of removed segments.
    """
    from sync.access import audit
    from sync.segments.membership import drain, evaluate

    segments = [find(config, key)] if key else list(config.segments)
    if key and not full:
        raise Invalid("an incremental run evaluates every segment for the changed contacts; evaluate one "
                      "segment in full", {"key": "needs full"})
    if full:
        changes = [{"segment": c.segment, "entered": c.entered, "left": c.left, "size": c.size}
                   for c in evaluate(store, segments, retire=key is None)]
        result: dict[str, Any] = {"changes": changes, "contacts": 0}
    else:
        result = {"changes": [], "contacts": drain(store, segments)["contacts"]}
    with store.transaction() as session:
        audit.record(session, actor, "segments.evaluate", "segment", key or "*",
                     after={"full": full, "contacts": result["contacts"], "changes": len(result["changes"])})
    return result
