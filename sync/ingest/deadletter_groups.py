"""Dead letters triaged: grouped by cause, listed, replayed or dismissed by the group or by id.

A **group** is the letters of one (stage, source or destination, reason class) — the class is
the reason with ids and values taken out (``sync.store.reason_class``), stored with each letter,
so a thousand records refused for one cause are one line with a count, first and last seen, and
a sample. Its id (:meth:`GroupKey.encode`) is an opaque text the API, console and CLI pass back.

Reading is for any role; replaying and dismissing are an operator's and audit-logged with the
actor. Replay reuses :func:`sync.ingest.deadletter.replay` a bounded page of ids at a time, so
a group of a hundred thousand letters never loads at once. A dismissed letter (with a note, who
and when) is no longer open: it stops counting anywhere open letters are counted.

**Brands.** ``brands`` (on a ``LetterFilter`` or ``Selection``; None: every brand) keeps a reader
limited to brands (``sync.access.brands.visible``) to the letters of those brands
(``dead_letters.brand``; null is the default brand): lists, groups and counts hold only those
(counted from the letters, not the installation-wide counts), a letter of another brand is
"not found" (its existence does not leak), and a replay or dismissal by ids or group touches
only those.

Payloads may hold personal data: they are returned to the caller (who may read contacts anyway),
never logged, and never put in the audit log.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, false, func, or_, select, true, tuple_, update

from sync.access import audit
from sync.access.roles import Principal
from sync.config.brands import DEFAULT_BRAND
from sync.errors import Invalid, NotFound
from sync.ingest import deadletter_counts as counts
from sync.ingest.deadletter import ReplayResult, id_span, replay
from sync.outbox.effects import Effects
from sync.store import model
from sync.store.engine import Store
from sync.store.sql import chunks, one_of

if TYPE_CHECKING:
    from sync.config import Config

STATUSES = ("open", "replayed", "dismissed")
MAX_IDS = 1000  # ids one request may name
PAGE = 500  # letters replayed or dismissed a transaction at a time
NOTE_CHARS = 2000
AUDITED_IDS = 200  # an audit entry lists the ids it changed up to this many (else their count and span)
LETTER_COLUMNS = ("id", "stage", "source", "object", "record_id", "reason", "reason_class", "status",
                  "created_at", "replayed_at", "dismissed_at", "dismissed_by", "note", "brand")


Brands = tuple[str, ...] | None  # the brands a reader is limited to (None: every brand)


def of_brands(brands: Brands) -> Any:
    """The filter of the letters of ``brands`` (a null brand is the default brand's; None: every letter)."""
    if brands is None:
        return true()
    column = model.DeadLetter.brand
    named = [b for b in brands if b != DEFAULT_BRAND]
    found = [column.is_(None), column == DEFAULT_BRAND] if DEFAULT_BRAND in brands else []
    found += [column.in_(named)] if named else []
    return or_(*found) if found else false()


@dataclass(frozen=True)
class GroupKey:
    """What a group's letters share."""

    stage: str
    source: str
    reason_class: str

    def encode(self) -> str:
        """The group's id: opaque, URL-safe, and the same for the same key."""
        text = json.dumps([self.stage, self.source, self.reason_class], separators=(",", ":"), ensure_ascii=False)
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def parse(cls, group: str) -> GroupKey:
        """The key of a group id from :meth:`encode`; anything else is a 422."""
        try:
            found = json.loads(base64.urlsafe_b64decode(group + "=" * (-len(group) % 4)))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            found = None
        if not (isinstance(found, list) and len(found) == 3 and all(isinstance(x, str) for x in found)):
            raise Invalid("the group is not one this API gave", {"group": "the `group` of a listed group"})
        return cls(*found)

    def condition(self) -> Any:
        d = model.DeadLetter
        return and_(d.stage == self.stage, d.source == self.source, d.reason_class == self.reason_class)


@dataclass(frozen=True)
class LetterFilter:
    """Which letters: each field set narrows them; ``status`` None is any status."""

    status: str | None = "open"
    stage: str | None = None
    source: str | None = None
    since: datetime | None = None
    group: GroupKey | None = None
    ids: Sequence[int] | None = None
    brands: Brands = None

    def conditions(self, session: Any) -> list[Any]:
        d = model.DeadLetter
        if self.status is not None and self.status not in STATUSES:
            raise Invalid(f"unknown status {self.status!r}", {"status": f"one of {', '.join(STATUSES)}"})
        found = [column == value for column, value in ((d.status, self.status), (d.stage, self.stage),
                                                       (d.source, self.source)) if value is not None]
        if self.since is not None:
            found.append(d.created_at >= self.since)
        if self.group is not None:
            found.append(self.group.condition())
        if self.ids is not None:
            found.append(one_of(session, d.id, _checked_ids(self.ids)))
        if self.brands is not None:
            found.append(of_brands(self.brands))
        return found


def _checked_ids(ids: Sequence[int]) -> list[int]:
    if not ids or len(ids) > MAX_IDS:
        raise Invalid(f"name 1 to {MAX_IDS} dead letter ids", {"ids": f"1 to {MAX_IDS} ids"})
    return sorted(set(ids))


def groups(store: Store, where: LetterFilter, limit: int = 50, after: Sequence[Any] | None = None) -> list[dict]:
    """The groups of the letters ``where`` selects, largest first (then by key), at most ``limit``.

    Each: ``group`` (its id), stage, source, reason_class, count, first_seen, last_seen, and a
    ``sample`` (the newest letter, without its payload). ``after`` is the last group's ``position``
    (keyset: count, stage, source, reason class). Counts come from the trigger-kept counts
    (``sync.ingest.deadletter_counts``): per group, or per group and day for ``since``; for a
    reader limited to brands, from its brands' letters.
    """
    d = model.DeadLetter
    if where.group is not None or where.ids is not None:
        raise Invalid("groups are filtered by status, stage, source and time only", {"group": "not here"})
    conditions = where.conditions(None)  # validates the status
    counts.compact(store)
    with store.sessions() as session:
        if where.brands is not None:
            grouped = (select(d.stage, d.source, d.reason_class, func.count().label("n")).where(*conditions)
                       .group_by(d.stage, d.source, d.reason_class).subquery())
        else:
            grouped = (counts.counted(where.status, where.stage, where.source) if where.since is None
                       else counts.counted_since(where.status, where.stage, where.source, where.since))
        query = select(grouped).order_by(grouped.c.n.desc(), grouped.c.stage, grouped.c.source,
                                         grouped.c.reason_class).limit(limit)
        if after is not None:
            n, key = _position(after)
            query = query.where(or_(grouped.c.n < n, and_(grouped.c.n == n, tuple_(
                grouped.c.stage, grouped.c.source, grouped.c.reason_class) > tuple_(*key))))
        page = query.subquery()
        probes, seen = counts.seen(page, [where.status] if where.status else STATUSES, where.since,
                                   of_brands(where.brands))
        rows = session.execute(select(page, *probes).order_by(page.c.n.desc(), page.c.stage, page.c.source,
                                                              page.c.reason_class)).all()
        when = {(r.stage, r.source, r.reason_class): seen(r) for r in rows}
        samples = {r.id: _described(r) for r in session.execute(
            select(*_columns()).where(d.id.in_([w[2] for w in when.values() if w])))} if any(when.values()) else {}
    found = []
    for row in rows:
        key = (row.stage, row.source, row.reason_class)
        if when[key] is None:  # its letters left between the count and this read
            continue
        first, last, sample = when[key]
        found.append({"group": GroupKey(*key).encode(), "stage": row.stage, "source": row.source,
                      "reason_class": row.reason_class, "count": int(row.n), "first_seen": first,
                      "last_seen": last, "sample": samples[sample], "position": [int(row.n), *key]})
    return found


def _position(after: Sequence[Any]) -> tuple[int, tuple[str, str, str]]:
    if (isinstance(after, list | tuple) and len(after) == 4 and isinstance(after[0], int)
            and all(isinstance(x, str) for x in after[1:])):
        return after[0], (after[1], after[2], after[3])
    raise Invalid("the cursor is not one this list gave", {"cursor": "the `next` of a previous page"})


def _columns() -> list[Any]:
    return [getattr(model.DeadLetter, c) for c in LETTER_COLUMNS]


def letters(store: Store, where: LetterFilter, limit: int = 50, before_id: int | None = None) -> list[dict]:
    """The letters ``where`` selects, newest first, without payloads; ``before_id`` pages on (keyset)."""
    d = model.DeadLetter
    with store.sessions() as session:
        query = select(*_columns()).where(*where.conditions(session)).order_by(d.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(d.id < before_id)
        return [_described(r) for r in session.execute(query)]


def letter(store: Store, letter_id: int, brands: Brands = None) -> dict:
    """One letter (of ``brands``) with its payload (which may hold personal data: show it, never log it)."""
    d = model.DeadLetter
    with store.sessions() as session:
        row = session.execute(select(*_columns(), d.payload).where(d.id == letter_id, of_brands(brands))
                              ).one_or_none()
    if row is None:
        raise NotFound(f"no dead letter with id {letter_id}")
    return _described(row)


def _described(row: Any) -> dict:
    """A letter's columns, and the id of its group."""
    return {**dict(row._mapping), "group": GroupKey(row.stage, row.source, row.reason_class).encode()}


@dataclass
class Selection:
    """The letters an operator acts on: some ids, or (the open letters of) a group, at most ``limit`` of them."""

    ids: Sequence[int] | None = None
    group: GroupKey | None = None
    limit: int | None = None  # of a group's letters per call (None: all)
    brands: Brands = None  # only letters of these brands (None: every brand)

    def __post_init__(self) -> None:
        if (self.ids is None) == (self.group is None):
            raise Invalid("name the dead letters by `ids` or by `group`, not both",
                          {"ids": "1 to 1000 ids", "group": "a group's id"})
        if self.ids is not None:
            self.ids = _checked_ids(self.ids)

    def pages(self, store: Store) -> Any:
        """The open letters' ids, a bounded page at a time (the group read anew each page, by id)."""
        if self.ids is not None:
            for part in chunks(self.ids, PAGE):
                if self.brands is not None:  # another brand's letters are left alone (reported as not open)
                    with store.sessions() as session:
                        part = list(session.scalars(select(model.DeadLetter.id).where(
                            one_of(session, model.DeadLetter.id, list(part)), of_brands(self.brands))
                            .order_by(model.DeadLetter.id)))
                if part:
                    yield part
            return
        d, last, left = model.DeadLetter, 0, self.limit
        while left is None or left > 0:
            size = PAGE if left is None else min(PAGE, left)
            with store.sessions() as session:
                page = list(session.scalars(select(d.id).where(d.status == "open", self.group.condition(),
                                                               of_brands(self.brands), d.id > last)
                                            .order_by(d.id).limit(size)))
            if not page:
                return
            yield page
            last, left = page[-1], None if left is None else left - len(page)

    def remaining(self, store: Store) -> int:
        """Open letters of the group left (0 for a selection of ids)."""
        if self.group is None:
            return 0
        with store.sessions() as session:
            if self.brands is not None:
                d = model.DeadLetter
                return int(session.scalar(select(func.count()).where(
                    d.status == "open", self.group.condition(), of_brands(self.brands))) or 0)
            return counts.count(session, "open", self.group.stage, self.group.source, self.group.reason_class)

    def target(self, ids: Sequence[int]) -> str:
        return f"group {self.group.encode()}" if self.group is not None else id_span(ids)


def _known(store: Store, ids: Sequence[int], brands: Brands = None) -> None:
    """A selection none of whose ids exists (in ``brands``) is a 404 (some unknown ones are reported as not open)."""
    with store.sessions() as session:
        if session.scalar(select(func.count()).where(one_of(session, model.DeadLetter.id, list(ids)),
                                                     of_brands(brands))) == 0:
            raise NotFound(f"no dead letter with id {id_span(list(ids))}")


def replay_selection(store: Store, config: Config, actor: Principal, selection: Selection, *,
                     enqueue_job: Callable[[dict[str, Any]], None] | None = None,
                     effects: Effects | None = None) -> dict[str, Any]:
    """Replay the selected open letters (``deadletter.replay``, a page at a time, audited per page).

    Answers what happened: ``replayed`` ids, ``failed`` {id: the new reason}, ``not_open`` ids,
    ``enqueued`` (the job letters handed to their queue again), and the group's ``remaining`` open letters.
    """
    if selection.ids is not None:
        _known(store, selection.ids, selection.brands)
    result, seen = ReplayResult(), False
    for page in selection.pages(store):
        seen = True
        result.add(replay(store, config, list(page), enqueue_job, page=PAGE, effects=effects, actor=actor))
    if not seen:
        raise NotFound("the group has no open dead letters")
    acted = {*result.replayed, *result.failed, *result.not_open}
    result.not_open = sorted({*result.not_open, *(i for i in selection.ids or () if i not in acted)})
    return {**result.as_dict(), "remaining": selection.remaining(store)}


def dismiss(store: Store, actor: Principal, selection: Selection, note: str) -> dict[str, Any]:
    """Dismiss the selected open letters with ``note`` (who and when recorded); audited per page.

    Answers ``dismissed`` and ``not_open`` ids, and the group's ``remaining`` open letters.
    """
    note = (note or "").strip()
    if not note or len(note) > NOTE_CHARS:
        raise Invalid("a dismissal needs a note saying why", {"note": f"1 to {NOTE_CHARS} characters"})
    if selection.ids is not None:
        _known(store, selection.ids, selection.brands)
    d = model.DeadLetter
    dismissed: list[int] = []
    for page in selection.pages(store):
        now = model.utcnow()
        with store.transaction() as session:
            ids = list(session.scalars(select(d.id).where(one_of(session, d.id, list(page)), d.status == "open")
                                       .order_by(d.id).with_for_update()))
            if not ids:
                continue
            session.execute(update(d).where(one_of(session, d.id, ids), d.status == "open")
                            .values(status="dismissed", dismissed_at=now, dismissed_by=actor.name[:120], note=note))
            listed = {"ids": ids} if len(ids) <= AUDITED_IDS else {"count": len(ids)}
            audit.record(session, actor, "dead_letter.dismiss", "dead_letters", selection.target(ids),
                         before={"status": "open", **listed}, after={"status": "dismissed", **listed, "note": note})
        dismissed += ids
    if selection.group is not None and not dismissed:
        raise NotFound("the group has no open dead letters")
    not_open = sorted(set(selection.ids or ()) - set(dismissed))
    return {"dismissed": dismissed, "not_open": not_open, "remaining": selection.remaining(store)}
