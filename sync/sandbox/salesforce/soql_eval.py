"""SOQL semantics over rows: the filter and the ORDER BY of a bound ``sync.sandbox.salesforce.soql`` query.

Salesforce's rules kept here: text comparisons and ``LIKE`` ignore case, ids compare on their
first 15 characters, ``!=`` and ``NOT IN`` match nulls while other comparisons never do, and
nulls sort first unless ``NULLS LAST`` (whatever the direction).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sync.sandbox.salesforce.soql import BoolOp, Cond, FieldRef, InList, Like, Not, Order

Row = Mapping[str, Any]
Getter = Callable[[Row, FieldRef], Any]


def _normalizer(kind: str) -> Callable[[Any], Any]:
    if kind == "string":
        return lambda v: v.casefold() if isinstance(v, str) else v
    if kind == "id":
        return lambda v: v[:15] if isinstance(v, str) else v
    return lambda v: v


_ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def like_regex(pattern: str) -> re.Pattern[str]:
    """A SOQL LIKE pattern (``%`` any run, ``_`` one character, backslash escapes) as a regex."""
    out, chars = [], iter(pattern)
    for ch in chars:
        if ch == "\\":
            out.append(re.escape(next(chars, "\\")))
        elif ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def predicate(cond: Cond | None, get: Getter) -> Callable[[Row], bool]:
    """Compile a bound condition into a test on rows; ``get(row, ref)`` reads a (related) value."""
    if cond is None:
        return lambda row: True
    if isinstance(cond, BoolOp):
        parts = [predicate(c, get) for c in cond.items]
        if cond.op == "AND":
            return lambda row: all(p(row) for p in parts)
        return lambda row: any(p(row) for p in parts)
    if isinstance(cond, Not):
        inner = predicate(cond.item, get)
        return lambda row: not inner(row)
    ref, norm = cond.field, _normalizer(cond.field.kind)
    if isinstance(cond, Like):
        regex = like_regex(cond.pattern)
        return lambda row: (v := get(row, ref)) is not None and regex.fullmatch(str(v)) is not None
    if isinstance(cond, InList):
        wanted = {norm(v) for v in cond.values if v is not None}
        with_null = any(v is None for v in cond.values)

        def member(row: Row) -> bool:
            value = get(row, ref)
            return with_null if value is None else norm(value) in wanted

        return (lambda row: not member(row)) if cond.negate else member
    target = norm(cond.value)
    if cond.op in ("=", "!="):
        equal = (lambda row: (v := get(row, ref)) is not None and norm(v) == target) if target is not None \
            else (lambda row: get(row, ref) is None)
        return equal if cond.op == "=" else (lambda row: not equal(row))
    compare = _ORDERING[cond.op]
    if target is None:
        return lambda row: False
    return lambda row: (v := get(row, ref)) is not None and compare(norm(v), target)


def sort_rows(rows: Sequence[Row], order: Sequence[Order], get: Getter) -> list[Row]:
    """Rows ordered by the keys (one stable pass per key, last key first; nulls placed per key)."""
    result = list(rows)
    for key in reversed(order):
        norm = _normalizer(key.field.kind)
        pairs = [(get(row, key.field), row) for row in result]
        nulls = [row for value, row in pairs if value is None]
        present = [(norm(value), row) for value, row in pairs if value is not None]
        present.sort(key=lambda pair: pair[0], reverse=key.descending)
        ordered = [row for _, row in present]
        result = nulls + ordered if key.nulls_first else ordered + nulls
    return result
