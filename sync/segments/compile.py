"""The one compiler of segment conditions: a ``Condition`` tree → a SQLAlchemy WHERE over ``contacts``.

Full evaluation runs ``members_query`` over every contact; incremental evaluation runs the very
same query restricted to the contacts that changed (``members_query(..., ids=...)``), so the two
agree by construction. The clock is a parameter (``Scope.now``), never read here.

Every leaf may be NULL in SQL (a contact without a stage, a field it does not have); a
negation is ``IS NOT TRUE`` rather than ``NOT``, so NULL counts as false everywhere and
``not: {stage: Customer}`` includes contacts with no stage at all. Works on SQLite and
PostgreSQL: the few JSON reads differ per database (``_json``).

The segment's brand decides where its stages are (``contacts`` for the default brand,
``contact_stages`` for another, as ``sync.reports.brand_scope`` reads them), which purchases and
touches count (their ``brand``), and, for a brand other than the default one, that only
contacts who dealt with it (a ``contact_stages`` row) can be members.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.orm import aliased

from sync.config.types import DEFAULT_BRAND
from sync.segments.conditions import (
    AllOf,
    AnyOf,
    Compare,
    Condition,
    ConsentIs,
    FieldTest,
    HasIdentity,
    InStageFor,
    LostStageIs,
    MessageRecency,
    NotOf,
    PhaseIs,
    Purchases,
    Segment,
    StageIs,
    Touch,
    Window,
)
from sync.store import model

C = model.Contact
PURCHASE = "purchase"


@dataclass(frozen=True)
class Scope:
    """What a segment's conditions are judged against: its brand, the database's dialect and now."""

    brand: str
    dialect: str  # sqlite | postgresql
    now: datetime

    @property
    def default(self) -> bool:
        return self.brand == DEFAULT_BRAND


def members_query(segment: Segment, dialect: str, now: datetime, ids: Any = None) -> Select[Any]:
    """``SELECT contacts.id`` of the segment's members; ``ids`` (a column filter or ids) restricts it."""
    scope = Scope(segment.brand, dialect, now)
    query = select(C.id).where(where(segment.condition, scope))
    if not scope.default:
        cs = model.ContactStage
        query = query.where(exists().where(cs.contact_id == C.id, cs.brand == scope.brand))
    if ids is not None:
        query = query.where(ids if isinstance(ids, ColumnElement) else C.id.in_(list(ids)))
    return query


def where(condition: Condition, scope: Scope) -> ColumnElement[bool]:
    """The filter over ``contacts`` that holds exactly for the contacts meeting ``condition``."""
    if isinstance(condition, AllOf):
        return _joined(and_, true(), [where(c, scope) for c in condition.items])
    if isinstance(condition, AnyOf):
        return _joined(or_, false(), [where(c, scope) for c in condition.items])
    if isinstance(condition, NotOf):
        return where(condition.item, scope).self_group().is_not(true())
    handler = _LEAVES.get(type(condition))
    if handler is None:  # a new condition type without a compiler: refuse loudly, never match silently
        raise TypeError(f"no SQL for segment condition {type(condition).__name__}")
    return handler(condition, scope)


def _joined(join: Any, empty: Any, items: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    """``items`` joined by ``and_`` / ``or_`` as a balanced tree of halves.

    A flat chain of n terms parses in SQLite as a tree n deep, and SQLite refuses one past 1,000
    (a list of a thousand conditions); halves keep the depth at log2(n). Each half is ``(…) IS
    TRUE`` — SQLAlchemy flattens a plain nested AND / OR back into one chain — which reads NULL
    as false, as everything here does (see ``NotOf``).
    """
    if len(items) <= _FLAT:
        return join(empty, *items)
    half = len(items) // 2
    return join(*(_joined(join, empty, part).self_group().is_(true()) for part in (items[:half], items[half:])))


_FLAT = 16


# --- stages ----------------------------------------------------------------------------------

def _stage_columns(scope: Scope) -> tuple[Any, Any, Any]:
    """(stage, lost stage, stage changed at) of the contact in the segment's brand."""
    if scope.default:
        return C.stage, C.lost_stage, C.stage_changed_at
    cs = model.ContactStage

    def of(column: Any) -> Any:
        return select(column).where(cs.contact_id == C.id, cs.brand == scope.brand).scalar_subquery()

    return of(cs.stage), of(cs.lost_stage), of(cs.stage_changed_at)


def _stage(c: StageIs | PhaseIs, scope: Scope) -> ColumnElement[bool]:
    if not c.stages:
        return false()
    stage, lost, _ = _stage_columns(scope)
    return and_(stage.in_(c.stages), lost.is_(None))


def _lost(c: LostStageIs, scope: Scope) -> ColumnElement[bool]:
    _, lost, _ = _stage_columns(scope)
    return lost.in_(c.stages) if c.stages else lost.is_not(None)


def _in_stage_for(c: InStageFor, scope: Scope) -> ColumnElement[bool]:
    _, _, changed = _stage_columns(scope)
    tests = [changed.is_not(None)]
    if c.more_than is not None:
        tests.append(changed <= scope.now - c.more_than)
    if c.less_than is not None:
        tests.append(changed > scope.now - c.less_than)
    return and_(*tests)


# --- JSON values: canonical fields (contacts.attributes) and consent (contacts.consent) ---------

_SQLITE_TYPES = {"text": "string", "integer": "number", "real": "number", "true": "boolean",
                 "false": "boolean", "null": "null"}


def _json(column: Any, path: tuple[str, ...], scope: Scope) -> tuple[Any, Any]:
    """(type, text) of the JSON value at ``path``: type string/number/boolean/null (NULL: absent)."""
    if scope.dialect == "postgresql":
        node = column[path]
        return func.json_typeof(node), column[path].as_string()
    where_ = "$" + "".join(f'."{p}"' for p in path)  # names are validated: letters, digits, _
    kind = func.json_type(column, where_)
    normal = case(*((kind == raw, literal(name)) for raw, name in _SQLITE_TYPES.items()), else_=None)
    text = case((kind == "true", literal("true")), (kind == "false", literal("false")),
                else_=cast(func.json_extract(column, where_), String))
    return normal, text


def _equals(kind: Any, text: Any, value: Any) -> ColumnElement[bool]:
    if isinstance(value, bool):
        return and_(kind == "boolean", text == ("true" if value else "false"))
    if isinstance(value, int | float):
        return and_(kind == "number", cast(text, Float) == float(value))
    return and_(kind.in_(("string", "number")), text == value)


def _field(c: FieldTest, scope: Scope) -> ColumnElement[bool]:
    kind, text = _json(C.attributes, (c.name, "value"), scope)
    if c.op == "exists":
        present = and_(kind.is_not(None), kind != "null")
        return present if c.value else present.self_group().is_not(true())
    if c.op == "equals":
        return _equals(kind, text, c.value)
    if c.op == "in":  # one IN per type, never an OR per value (SQLite refuses expression trees past 1,000 deep)
        bools = sorted({"true" if v else "false" for v in c.value if isinstance(v, bool)})
        numbers = sorted({float(v) for v in c.value if isinstance(v, int | float) and not isinstance(v, bool)})
        texts = sorted({v for v in c.value if isinstance(v, str)})
        number = case((kind == "number", cast(text, Float)), else_=None)
        return or_(false(), *(test for values, test in (
            (bools, and_(kind == "boolean", text.in_(bools))), (numbers, number.in_(numbers)),
            (texts, and_(kind.in_(("string", "number")), text.in_(texts)))) if values))
    if c.op in ("contains", "prefix"):
        low = func.lower(text)
        match = (low.contains(c.value.lower(), autoescape=True) if c.op == "contains"
                 else low.startswith(c.value.lower(), autoescape=True))
        return and_(kind == "string", match)
    number = case((kind == "number", cast(text, Float)), else_=None)
    return {"gt": number > c.value, "gte": number >= c.value, "lt": number < c.value,
            "lte": number <= c.value}[c.op]


def _consent(c: ConsentIs, scope: Scope) -> ColumnElement[bool]:
    kind, text = _json(C.consent, (c.purpose,), scope)
    if c.state == "unknown":
        return or_(kind.is_(None), kind == "null")
    return and_(kind == "boolean", text == ("true" if c.state == "granted" else "false"))


# --- rows of other tables -----------------------------------------------------------------------

def _identity(c: HasIdentity, scope: Scope) -> ColumnElement[bool]:
    i = model.Identity
    return exists().where(i.contact_id == C.id, i.kind.in_(c.kinds))


def _window(last: Any, window: Window, scope: Scope) -> ColumnElement[bool]:
    """``last`` (a time, NULL: never) within / older than the window; ``older_than`` includes never."""
    tests = []
    if window.within is not None:
        tests.append(last >= scope.now - window.within)
    if window.older_than is not None:
        tests.append(or_(last.is_(None), last < scope.now - window.older_than))
    return and_(*tests)


def _recency(c: MessageRecency, scope: Scope) -> ColumnElement[bool]:
    a = model.Activity
    last = select(func.max(a.occurred_at)).where(a.contact_id == C.id, a.direction == c.direction)
    return _window(last.scalar_subquery(), c.window, scope)


def _compare(value: Any, c: Compare) -> list[ColumnElement[bool]]:
    tests = []
    for op, bound in (("gt", c.gt), ("gte", c.gte), ("lt", c.lt), ("lte", c.lte), ("equals", c.equals)):
        if bound is not None:
            tests.append({"gt": value > bound, "gte": value >= bound, "lt": value < bound,
                          "lte": value <= bound, "equals": value == bound}[op])
    return tests


def _purchases(c: Purchases, scope: Scope) -> ColumnElement[bool]:
    cv = model.ConversionEvent
    counted = (cv.contact_id == C.id, cv.kind == PURCHASE, cv.retracted_at.is_(None), cv.brand == scope.brand)
    tests: list[ColumnElement[bool]] = []
    if c.count is not None:
        tests += _compare(select(func.count()).where(*counted).scalar_subquery(), c.count)
    if c.total is not None:
        value = func.coalesce(cv.adjusted_value, cv.value, 0.0)
        tests += _compare(select(func.coalesce(func.sum(value), 0.0)).where(*counted).scalar_subquery(), c.total)
    if c.last is not None:
        tests.append(_window(select(func.max(cv.occurred_at)).where(*counted).scalar_subquery(), c.last, scope))
    return and_(true(), *tests)


def _touch(c: Touch, scope: Scope) -> ColumnElement[bool]:
    """The contact's first (or last) touch in the brand, ordered as ``sync.attribution.touch`` orders them."""
    t, r = model.Touchpoint, aliased(model.Touchpoint)  # r: the ranked touches, apart from t, the chosen one
    undated = case((r.occurred_at.is_(None), 0), else_=1)
    order = (undated, r.occurred_at, r.id) if c.which == "first" else (undated.desc(), r.occurred_at.desc(),
                                                                       r.id.desc())
    chosen = (select(r.id).where(r.contact_id == C.id, r.brand == scope.brand).order_by(*order).limit(1)
              .correlate(C).scalar_subquery())  # two levels down: named, or it would select from contacts anew
    tests = [t.contact_id == C.id, t.id == chosen]
    for values, column in ((c.network, t.network), (c.channel, t.channel), (c.campaign, t.campaign_id),
                           (c.ad, t.ad_id)):
        if values:
            tests.append(column.in_(values))
    return exists().where(*tests)


_LEAVES: dict[type, Any] = {
    StageIs: _stage, PhaseIs: _stage, LostStageIs: _lost, InStageFor: _in_stage_for, FieldTest: _field,
    ConsentIs: _consent, HasIdentity: _identity, MessageRecency: _recency, Purchases: _purchases, Touch: _touch,
}
