"""Contact search: filters over contacts, newest first, one keyset page at a time.

``GET /api/contacts`` (and the console) call :func:`search`. Pages are ordered by contact id,
descending, and continue below the last id of the previous page, so a contact created while
someone pages appears on no later page and no contact is skipped or shown twice.

Free text (``q``) is a **prefix** match against the contact's full name ("first last") and its
last name (case-insensitive), and the value of each of its identities (emails are stored
lowercase; CRM ids match as typed or lowercased; phones are E.164). Prefixes, not substrings:
a prefix is what people type when looking someone up, and on PostgreSQL it is a range of a
b-tree index that holds the contact id too, so a prefix matching thousands reads only the index
(migration 0009). A substring search would need the pg_trgm extension (superuser to install)
and GIN indexes that every ingest write would pay for.

A common prefix matches thousands of contacts ("daniel": 21,150 of a million), and its index
ranges are in name order, not id order: reading them all and sorting by id for one page is
O(matches). So a ``q`` page is found in two steps (:func:`_q_page`): first the newest
:data:`WALK` × ``limit`` contacts below the cursor are walked in id order and tested row by row
(bounded work, and enough whenever the prefix is not rare); only if they hold too few matches
does the index-range plan look for the rest, below that window. Same rows, same order either way.

``brand`` keeps the contacts of one brand (``sync.config.brands``): those with a stage in it
(``contact_stages``), or for the default brand those with a stage in it or in no other brand;
its ``stage``, ``lost_stage`` and ``phase`` filters and the stages shown are then that brand's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select, union
from sqlalchemy.orm import Session

from sync.config.types import DEFAULT_BRAND, PHASES, LifecycleConfig
from sync.errors import Invalid
from sync.reconcile.identity import normalise
from sync.reconcile.patch import IdentityRef
from sync.reports.brand_scope import dealt_with
from sync.store import model

MAX_TEXT = 200
WALK = 100  # a q page first walks the newest WALK × limit contacts below the cursor (see the module doc)


@dataclass(frozen=True)
class ContactFilter:
    """What to look for; every given filter must hold (AND)."""

    q: str | None = None  # prefix of a name or of any identity value
    identity: str | None = None  # kind:value, normalised as identity resolution stores it
    stage: str | None = None
    lost_stage: str | None = None
    phase: str | None = None  # the phase of the contact's active stage
    source: str | None = None  # a system that supplied one of its identities
    updated_since: datetime | None = None
    has_conversions: bool | None = None
    brand: str | None = None  # one brand's contacts, with their stage in it (None: every contact)


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _validated(f: ContactFilter, lifecycle: LifecycleConfig) -> dict[str, str]:
    errors: dict[str, str] = {name: "text without NUL characters" for name in ("q", "identity", "stage", "lost_stage",
                                                                            "phase", "source")
                              if "\x00" in (getattr(f, name) or "")}  # PostgreSQL refuses them in any text
    if f.stage is not None and f.stage not in lifecycle.active_names:
        errors["stage"] = f"one of the configured stages: {', '.join(lifecycle.active_names)}"
    if f.lost_stage is not None and f.lost_stage not in lifecycle.lost_names:
        errors["lost_stage"] = f"one of the configured lost stages: {', '.join(lifecycle.lost_names)}"
    if f.phase is not None and f.phase not in PHASES:
        errors["phase"] = f"one of {', '.join(PHASES)}"
    if f.q is not None and not (0 < len(" ".join(f.q.split())) <= MAX_TEXT):
        errors["q"] = f"1 to {MAX_TEXT} characters besides spaces"
    if f.identity is not None and "identity" not in errors:
        try:
            IdentityRef.parse(f.identity)
        except ValueError:
            errors["identity"] = "KIND:VALUE, e.g. email:ana@example.com or hubspot:123"
    return errors


def _conditions(f: ContactFilter, lifecycle: LifecycleConfig, before_id: int | None,
                dialect: str, floor: int | None = None, first: int | None = None) -> list[ColumnElement[bool]]:
    """The WHERE clause. The page's bound (``id < before_id``) is repeated inside every semi-join:
    PostgreSQL otherwise merge-joins from the top of the other table's index down to the page.
    With a ``floor`` (a window of ids ``floor <= id < before_id``, walked in id order) ``q``'s name
    prefixes are tested on each contact row, and its identity prefixes against the window's
    identities, instead of collecting the ids of every match from the prefixes' index ranges.
    ``first`` keeps only the highest ``first`` of those ids (only right when ``q`` is the only
    filter): the planner cannot estimate a prefix's matches and otherwise may fetch every
    matching contact row to sort them.
    """
    c, ident = model.Contact, model.Identity

    def below(column: Any) -> list[ColumnElement[bool]]:
        return [*([] if before_id is None else [column < before_id]), *([] if floor is None else [column >= floor])]

    out: list[ColumnElement[bool]] = below(c.id)
    staged: list[ColumnElement[bool]] = []  # filters on the stage (in the brand asked for)
    other = f.brand is not None and f.brand != DEFAULT_BRAND
    cs = model.ContactStage
    stage, lost_stage = (cs.stage, cs.lost_stage) if other else (c.stage, c.lost_stage)
    if f.stage is not None:
        staged.append(stage == f.stage)
    if f.lost_stage is not None:
        staged.append(lost_stage == f.lost_stage)
    if f.phase is not None:
        names = [s.name for s in lifecycle.stages if s.phase == f.phase]
        staged.append(stage.in_(names) if names else false())
    if other:
        out.append(exists().where(cs.contact_id == c.id, cs.brand == f.brand, *staged, *below(cs.contact_id)))
    else:
        out += staged
        if f.brand is not None:  # the default brand: staged in it, or in no other brand
            out.append(dealt_with(DEFAULT_BRAND, c, below))
    if f.updated_since is not None:
        out.append(c.updated_at >= f.updated_since)
    if f.has_conversions is not None:
        conv = model.ConversionEvent.contact_id
        has = exists().where(conv == c.id, *below(conv))
        out.append(has if f.has_conversions else ~has)
    if f.source is not None:
        out.append(c.id.in_(select(ident.contact_id).where(ident.source == f.source, *below(ident.contact_id))))
    if f.identity is not None:
        ref = normalise(IdentityRef.parse(f.identity))
        out.append(c.id.in_(select(ident.contact_id).where(ident.kind == ref.kind, ident.value == ref.value)))
    if f.q is not None and floor is not None:
        typed = " ".join(f.q.split())
        out.append(or_(
            _starts_with(c.name_key, typed.lower(), dialect), _starts_with(c.last_name_key, typed.lower(), dialect),
            *(c.id.in_(select(ident.contact_id).where(_starts_with(ident.value, text, dialect),
                                                      *below(ident.contact_id)))
              for text in sorted({typed, typed.lower()}))))  # apart: an OR of ranges reads the table
    elif f.q is not None:
        typed = " ".join(f.q.split())
        lowered = typed.lower()
        named = model.Contact.__table__.alias("named")  # not the outer query's contacts
        matches: Any = union(
            select(named.c.id).where(_starts_with(named.c.name_key, lowered, dialect), *below(named.c.id)),
            select(named.c.id).where(_starts_with(named.c.last_name_key, lowered, dialect), *below(named.c.id)),
            *(select(ident.contact_id).where(_starts_with(ident.value, text, dialect), *below(ident.contact_id))
              for text in sorted({typed, lowered})),  # emails are stored lowercase, CRM ids as given
        )
        if first is not None:
            found = matches.subquery()
            matches = select(found.c[0]).order_by(found.c[0].desc()).limit(first)
        out.append(c.id.in_(matches))
    return out


def _successor(prefix: str) -> str | None:
    """The least string above every string that starts with ``prefix`` (code point order = UTF-8 byte order)."""
    for i in range(len(prefix) - 1, -1, -1):
        point = ord(prefix[i]) + 1
        point = 0xE000 if 0xD800 <= point <= 0xDFFF else point  # surrogates are not characters
        if point <= 0x10FFFF:
            return prefix[:i] + chr(point)
    return None


def _starts_with(column: Any, prefix: str, dialect: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix`` (case as given; the name keys are lowercase).

    On PostgreSQL a byte-wise range (``~>=~``/``~<~``, the operators of the ``text_pattern_ops``
    indexes), which the covering indexes answer alone; elsewhere ``LIKE``, which SQLite compares
    case-insensitively.
    """
    if dialect != "postgresql":
        return column.like(_like_prefix(prefix), escape="\\")
    above = column.op("~>=~", is_comparison=True)(prefix)
    upper = _successor(prefix)
    return above if upper is None else and_(above, column.op("~<~", is_comparison=True)(upper))


def search(session: Session, lifecycle: LifecycleConfig, f: ContactFilter, limit: int,
           before_id: int | None = None) -> list[dict[str, Any]]:
    """Up to ``limit`` contacts matching ``f`` with ids below ``before_id``, newest (highest id) first.

    A filter naming a stage, lost stage or phase the configuration does not have, or an
    identity that is not ``kind:value``, is :class:`Invalid` (422) rather than an empty page.
    """
    errors = _validated(f, lifecycle)
    if before_id is not None and not (isinstance(before_id, int) and not isinstance(before_id, bool)
                                      and 0 < before_id <= model.MAX_ID):
        errors["cursor"] = "the `next` of a previous page"
    if errors:
        raise Invalid("the contact filters are not valid", errors)
    c = model.Contact
    dialect = session.get_bind().dialect.name
    columns = select(c.id, c.stage, c.lost_stage, c.attributes, c.created_at, c.updated_at).order_by(c.id.desc())
    if f.q is None:
        rows = list(session.execute(columns.where(*_conditions(f, lifecycle, before_id, dialect)).limit(limit)))
    else:
        rows = _q_page(session, columns, lifecycle, f, limit, before_id, dialect)
    identities: dict[int, list[str]] = defaultdict(list)
    if rows:
        ids = [r.id for r in rows]
        for cid, kind, value in session.execute(
                select(model.Identity.contact_id, model.Identity.kind, model.Identity.value)
                .where(model.Identity.contact_id.in_(ids)).order_by(model.Identity.kind, model.Identity.value)):
            identities[cid].append(f"{kind}:{value}")
    stages = {r.id: (r.stage, r.lost_stage) for r in rows}
    if rows and f.brand is not None and f.brand != DEFAULT_BRAND:  # the stage shown is the brand's
        cs = model.ContactStage
        stages = {cid: (stage, lost) for cid, stage, lost in session.execute(
            select(cs.contact_id, cs.stage, cs.lost_stage).where(cs.brand == f.brand, cs.contact_id.in_(ids)))}
    phases = {s.name: s.phase for s in lifecycle.stages}
    return [{
        "id": r.id, "name": display_name(r.attributes), "stage": stages.get(r.id, (None, None))[0],
        "phase": phases.get(stages.get(r.id, (None, None))[0] or ""), "lost_stage": stages.get(r.id, (None, None))[1],
        "identities": identities[r.id], "created_at": r.created_at, "updated_at": r.updated_at,
    } for r in rows]


def _q_page(session: Session, columns: Select[Any], lifecycle: LifecycleConfig, f: ContactFilter, limit: int,
            before_id: int | None, dialect: str) -> list[Any]:
    """A page of a ``q`` search in two steps that together give exactly the one-query page.

    1. The newest ``WALK * limit`` contacts below ``before_id`` (their lowest id is ``floor``),
       walked down the primary key and tested row by row: ``limit`` matches there are the page.
    2. Otherwise the rest comes from below ``floor`` through the prefixes' index ranges.
    """
    c = model.Contact
    below = [] if before_id is None else [c.id < before_id]
    floor = session.scalar(select(c.id).where(*below).order_by(c.id.desc()).offset(WALK * limit - 1).limit(1))
    if floor is not None:
        rows = list(session.execute(columns.where(*_conditions(f, lifecycle, before_id, dialect, floor)).limit(limit)))
        if len(rows) == limit:
            return rows
    else:  # the window reaches the first contact
        rows, floor = [], before_id
    rest = limit - len(rows)
    only_q = f == ContactFilter(q=f.q)
    return rows + list(session.execute(columns.where(
        *_conditions(f, lifecycle, floor, dialect, first=rest if only_q else None)).limit(rest)))


def display_name(attributes: dict[str, Any] | None) -> str | None:
    """"First Last" from the winning name fields, or None when the contact has neither."""
    parts = [((attributes or {}).get(f) or {}).get("value") for f in ("first_name", "last_name")]
    shown = " ".join(str(p).strip() for p in parts if p not in (None, ""))
    return shown or None


def stage_phase(lifecycle: LifecycleConfig, stage: str | None) -> str | None:
    """The phase of an active stage (None for none or an unknown one)."""
    return next((s.phase for s in lifecycle.stages if s.name == stage), None)

