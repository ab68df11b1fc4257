"""The CRM search endpoint's rules: request validation, filters, sorting, paging and the 10,000 cap.

Limits enforced (HubSpot's, since August 2024): at most 5 filter groups, 10 filters per
group and 25 in all; ``limit`` ≤ 200; one sort. Groups are ORed, filters in a group ANDed.
Dates compare as instants whatever the value's form (epoch ms or ISO-8601). A query's
results are capped at 10,000: ``paging.next.after`` still points past the cap (as HubSpot's
does) and a request with ``after`` ≥ 10,000 is refused with a 400. Archived records never
match, and records written less than ``index_lag`` ago are not in the index yet.

A query's matches are cached per table version, so paging through one query filters once.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sync.sandbox.hubspot.errors import validation_error
from sync.sandbox.hubspot.records import Record, Table
from sync.sandbox.hubspot.schema import MODIFIED_PROPERTY, parse_instant, parse_number

MAX_GROUPS, MAX_FILTERS_PER_GROUP, MAX_FILTERS = 5, 10, 25
MAX_LIMIT, DEFAULT_LIMIT, RESULT_CAP = 200, 10, 10_000
OPERATORS = ("EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY",
             "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN")
_QUERY_PROPERTIES = {"contacts": ("firstname", "lastname", "email", "phone", "company"),
                     "deals": ("dealname",), "companies": ("name", "domain")}
_CACHE_SIZE = 32
Predicate = Callable[[Record], bool]


@dataclass(frozen=True)
class SearchRequest:
    """A validated search body."""

    groups: tuple[tuple[Predicate, ...], ...]
    sort_property: str
    descending: bool
    properties: tuple[str, ...] | None
    limit: int
    after: int
    cache_key: str


def _value_getter(table: Table, prop: str) -> tuple[str, Callable[[Record], Any]]:
    """(kind, getter) for a property: kind is number, datetime or string; getters give None when unset."""
    if prop == "hs_object_id":
        return "number", lambda r: r.id
    if prop == "createdate":
        return "datetime", lambda r: r.created_ms
    if prop == MODIFIED_PROPERTY[table.object_type]:
        return "datetime", lambda r: r.updated_ms
    defn = table.schema.get(prop)
    kind = defn.type if defn and defn.type in ("number", "datetime") else "string"
    return kind, table.sort_key(prop)


def _coerce(kind: str, prop: str, value: Any) -> Any:
    """A filter value in the property's domain (instants for dates), or a 400 saying what is wrong."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise validation_error(f"Filter value for {prop} must be a string, got {json.dumps(value)}.")
    text = str(value)
    if kind == "number":
        number = parse_number(text)
        if number is None:
            raise validation_error(f"{text} is not a valid number for property {prop}.")
        return number
    if kind == "datetime":
        instant = parse_instant(text)
        if instant is None:
            raise validation_error(f"{text} is not a valid date for {prop}: use epoch milliseconds or ISO-8601.")
        return instant
    return text.lower()


def _tokens(pattern: str) -> Predicate:
    return lambda text: fnmatch.fnmatchcase(text, pattern) or any(
        fnmatch.fnmatchcase(word, pattern) for word in text.replace("@", " ").replace(".", " ").split())


def _compile_filter(table: Table, spec: Any) -> Predicate:
    if not isinstance(spec, dict) or not isinstance(spec.get("propertyName"), str):
        raise validation_error("Every filter needs a propertyName.")
    prop, op = spec["propertyName"], spec.get("operator")
    if op not in OPERATORS:
        raise validation_error(f"Invalid operator {op!r} for property {prop}; expected one of {', '.join(OPERATORS)}.")
    kind, get = _value_getter(table, prop)
    if op == "HAS_PROPERTY":
        return lambda r: get(r) is not None
    if op == "NOT_HAS_PROPERTY":
        return lambda r: get(r) is None
    if op in ("IN", "NOT_IN"):
        values = spec.get("values")
        if not isinstance(values, list) or not values:
            raise validation_error(f"Operator {op} on {prop} needs a non-empty 'values' list.")
        members = {_coerce(kind, prop, v) for v in values}
        if op == "IN":
            return lambda r: get(r) in members
        return lambda r: get(r) not in members
    if "value" not in spec:
        raise validation_error(f"Operator {op} on {prop} needs a 'value'.")
    x = _coerce(kind, prop, spec["value"])
    if op == "BETWEEN":
        if "highValue" not in spec:
            raise validation_error(f"Operator BETWEEN on {prop} needs a 'highValue'.")
        high = _coerce(kind, prop, spec["highValue"])
        return lambda r: (v := get(r)) is not None and x <= v <= high
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        match = _tokens(str(x))
        if op == "CONTAINS_TOKEN":
            return lambda r: (v := get(r)) is not None and match(str(v))
        return lambda r: (v := get(r)) is None or not match(str(v))
    compare: dict[str, Predicate] = {
        "EQ": lambda r: get(r) == x,
        "NEQ": lambda r: get(r) != x,
        "LT": lambda r: (v := get(r)) is not None and v < x,
        "LTE": lambda r: (v := get(r)) is not None and v <= x,
        "GT": lambda r: (v := get(r)) is not None and v > x,
        "GTE": lambda r: (v := get(r)) is not None and v >= x,
    }
    return compare[op]


def _int_field(body: dict[str, Any], name: str, default: int) -> int:
    raw = body.get(name, default)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise validation_error(f"'{name}' must be an integer, got {json.dumps(raw)}.") from None


def _sort(body: dict[str, Any]) -> tuple[str, bool]:
    sorts = body.get("sorts") or []
    if not isinstance(sorts, list):
        raise validation_error("'sorts' must be a list.")
    if len(sorts) > 1:
        raise validation_error("Only one sort is supported per search request.")
    if not sorts:
        return "hs_object_id", False  # no sort asked: id order
    spec = sorts[0]
    if isinstance(spec, str):  # short form: "createdate" or "-createdate"
        return spec.lstrip("-"), spec.startswith("-")
    direction = spec.get("direction", "ASCENDING") if isinstance(spec, dict) else None
    if not isinstance(spec, dict) or not spec.get("propertyName") or direction not in ("ASCENDING", "DESCENDING"):
        raise validation_error("A sort needs a propertyName and a direction of ASCENDING or DESCENDING.")
    return spec["propertyName"], direction == "DESCENDING"


def parse_search(table: Table, body: Any) -> SearchRequest:
    """Validate a search body against HubSpot's limits and compile its filters (400 on anything invalid)."""
    if not isinstance(body, dict):
        raise validation_error("The search body must be a JSON object.")
    groups = body.get("filterGroups") or []
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise validation_error("'filterGroups' must be a list of objects with 'filters'.")
    if len(groups) > MAX_GROUPS:
        raise validation_error(f"Too many filter groups: {len(groups)}. A search allows at most {MAX_GROUPS}.")
    total = 0
    for group in groups:
        count = len(group.get("filters") or [])
        if count > MAX_FILTERS_PER_GROUP:
            raise validation_error(f"Too many filters in a filter group: {count}. "
                                   f"A filter group allows at most {MAX_FILTERS_PER_GROUP}.")
        total += count
    if total > MAX_FILTERS:
        raise validation_error(f"Too many filters: {total}. A search allows at most {MAX_FILTERS} in all groups.")
    compiled = [tuple(_compile_filter(table, f) for f in group.get("filters") or []) for group in groups]
    query = body.get("query")
    if isinstance(query, str) and query.strip():
        needle = query.strip().lower()
        fields = _QUERY_PROPERTIES.get(table.object_type, ())
        matches: Predicate = lambda r: any(needle in (r.props.get(p) or "").lower() for p in fields)  # noqa: E731
        compiled = [(*group, matches) for group in compiled] or [(matches,)]
    limit, after = _int_field(body, "limit", DEFAULT_LIMIT), _int_field(body, "after", 0)
    if limit > MAX_LIMIT or limit < 0:
        raise validation_error(f"limit must be between 0 and {MAX_LIMIT}, got {limit}.")
    if after < 0:
        raise validation_error(f"after must not be negative, got {after}.")
    if after >= RESULT_CAP:
        raise validation_error(
            f"The search endpoints return at most {RESULT_CAP} results for a query; after={after} pages past them. "
            "Narrow the query (for example hs_object_id GT the last id read) and page again from the start.")
    sort_property, descending = _sort(body)
    properties = body.get("properties")
    if properties is not None and not (isinstance(properties, list) and all(isinstance(p, str) for p in properties)):
        raise validation_error("'properties' must be a list of property names.")
    key = json.dumps([groups, sort_property, descending, query], sort_keys=True, default=str)
    return SearchRequest(tuple(compiled), sort_property, descending, tuple(properties) if properties else None,
                         limit, after, key)


def _matches(table: Table, request: SearchRequest, now_ms: int, lag_ms: int) -> list[Record]:
    cached = table.search_cache.get(request.cache_key)
    if cached is not None and cached[0] == table.version and now_ms < cached[1]:
        return cached[2]
    groups = request.groups
    cutoff, pending = now_ms - lag_ms, 2**63  # pending: when the first lagging match enters the index
    found: list[Record] = []
    for record in table.sorted_view(request.sort_property, request.descending):
        if groups and not any(all(test(record) for test in group) for group in groups):
            continue
        if lag_ms and record.updated_ms > cutoff:
            pending = min(pending, record.updated_ms + lag_ms)
            continue
        found.append(record)
    if len(table.search_cache) >= _CACHE_SIZE:
        table.search_cache.clear()
    table.search_cache[request.cache_key] = (table.version, pending, found)
    return found


def run_search(table: Table, request: SearchRequest, now_ms: int, lag_ms: int) -> tuple[int, list[Record], int | None]:
    """(total matches, this page's records, the next ``after`` or None)."""
    found = _matches(table, request, now_ms, lag_ms)
    end = min(request.after + request.limit, RESULT_CAP)
    page = found[request.after:end]
    following = end if end < len(found) and request.limit else None
    return len(found), page, following
