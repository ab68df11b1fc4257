"""SOQL text for the Salesforce puller: field lists from mappings, time windows, literals.

Queries read ``SystemModstamp`` (changes by users *and* by the system, unlike
``LastModifiedDate``) with ``>=`` bounds and order by ``SystemModstamp, Id`` so a resumed run
can restart strictly after the last row it committed::

    SELECT Id, SystemModstamp, IsDeleted, ... FROM Lead
    WHERE SystemModstamp >= 2026-11-27T09:55:00Z AND SystemModstamp <= 2026-11-27T10:00:00Z
      AND (SystemModstamp > 2026-11-27T09:58:00Z OR (SystemModstamp = 2026-11-27T09:58:00Z AND Id > '00Q...'))
    ORDER BY SystemModstamp, Id

Datetime literals are written without quotes in UTC, to the second (Salesforce stores
datetimes to the second; rounding a bound *down* can only re-read rows, never skip them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sync.mappings.paths import Key
from sync.mappings.specs import FieldSpec, Mapping

# Always selected: the mapping's record id, its modified_at and deleted flag read these.
BASE_FIELDS: tuple[str, ...] = ("Id", "SystemModstamp", "IsDeleted")
# Per object: what the puller itself needs (a converted lead names the contact it became).
OBJECT_FIELDS: dict[str, tuple[str, ...]] = {"Lead": ("IsConverted", "ConvertedContactId")}

_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*")
_OBJECT = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")


def _spec_paths(spec: FieldSpec | None) -> Iterable[Any]:
    """Every path a field spec reads: its sources, its ``when`` and its transforms' path arguments."""
    if spec is None:
        return
    yield from spec.paths
    if spec.when is not None:
        yield spec.when.path
    for bound in spec.transforms:
        yield from (path for _, path in bound.paths)


def _mapping_specs(mapping: Mapping) -> Iterable[FieldSpec | None]:
    """Every field spec of a mapping, in file order."""
    yield from (mapping.record_id, mapping.modified_at, mapping.deleted)
    yield from (identity.value for identity in mapping.identities)
    yield from (spec for _, spec in (*mapping.fields, *mapping.consent))
    yield mapping.stage
    for part in (*mapping.touchpoints, *mapping.activities, *mapping.conversions):
        for value in vars(part).values():
            if isinstance(value, FieldSpec):
                yield value
            elif isinstance(value, tuple):
                yield from (v for _, v in value if isinstance(v, FieldSpec))


def mapping_fields(mapping: Mapping) -> list[str]:
    """The SOQL field names a mapping reads, in file order, relationship paths included (``Account.Name``).

    Conditions (``when: {path: IsWon}``) and transform path arguments count as reads too.
    Paths with list steps (``a[0]``) have no SOQL spelling and are left out; duplicates are
    dropped case-insensitively, as SOQL field names are.
    """
    seen: dict[str, str] = {}
    conditions = [c for part in (*mapping.touchpoints, *mapping.activities, *mapping.conversions)
                  if (c := getattr(part, "when", None)) is not None]
    paths = [p for spec in _mapping_specs(mapping) for p in _spec_paths(spec)] + [c.path for c in conditions]
    for path in paths:
        if not path.is_plain:
            continue
        name = ".".join(step.name for step in path.steps if isinstance(step, Key))
        if _FIELD.fullmatch(name):
            seen.setdefault(name.lower(), name)
    return list(seen.values())


def select_fields(obj: str, fields: Sequence[str]) -> list[str]:
    """``Id, SystemModstamp, IsDeleted`` (+ the object's own), then ``fields``, without duplicates.

    Raises ValueError naming a field that is not a SOQL field name (``Name``, ``Account.Name``).
    """
    out: dict[str, str] = {}
    for name in (*BASE_FIELDS, *OBJECT_FIELDS.get(obj, ()), *fields):
        if not _FIELD.fullmatch(name):
            raise ValueError(f"{name!r} is not a Salesforce field name (letters, digits, _ and dots)")
        out.setdefault(name.lower(), name)
    return list(out.values())


def soql_datetime(value: datetime) -> str:
    """A SOQL datetime literal in UTC, to the second: ``2026-11-27T10:00:00Z`` (no quotes)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(text: str) -> datetime:
    """A Salesforce datetime (``2026-03-01T10:15:02.000+0000`` or ``...Z``) as an aware UTC datetime."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def quote(value: str) -> str:
    """A SOQL string literal: single quotes, with backslashes and quotes escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class Window:
    """Which rows a run reads: ``since <= SystemModstamp <= until``, strictly after ``after``."""

    until: datetime
    since: datetime | None = None  # None: from the beginning (a full sync)
    after: tuple[datetime, str] | None = None  # (SystemModstamp, Id) of the last committed row

    def where(self) -> str:
        """The WHERE clause (without the keyword)."""
        parts = []
        if self.since is not None:
            parts.append(f"SystemModstamp >= {soql_datetime(self.since)}")
        parts.append(f"SystemModstamp <= {soql_datetime(self.until)}")
        if self.after is not None:
            stamp, last_id = soql_datetime(self.after[0]), quote(self.after[1])
            parts.append(f"(SystemModstamp > {stamp} OR (SystemModstamp = {stamp} AND Id > {last_id}))")
        return " AND ".join(parts)


def _object(obj: str) -> str:
    """``obj`` when it is an sObject name; ValueError otherwise (names are spliced into SOQL)."""
    if not _OBJECT.fullmatch(obj):
        raise ValueError(f"{obj!r} is not a Salesforce object name")
    return obj


# Every value spliced into SOQL below is a checked field/object name, a formatted datetime or quote()d.
def changes_query(obj: str, fields: Sequence[str], window: Window, *, ordered: bool = True) -> str:
    """The query reading ``window`` of ``obj`` (``ordered=False`` for Bulk API 2.0, which refuses ORDER BY)."""
    columns = ", ".join(select_fields(obj, fields))
    soql = f"SELECT {columns} FROM {_object(obj)} WHERE {window.where()}"  # noqa: S608
    return soql + " ORDER BY SystemModstamp, Id" if ordered else soql


def count_query(obj: str) -> str:
    """``SELECT COUNT() FROM obj``: how big a full sync would be."""
    return f"SELECT COUNT() FROM {_object(obj)}"  # noqa: S608


def ids_query(obj: str, fields: Sequence[str], ids: Sequence[str]) -> str:
    """The rows of ``obj`` with the given record ids (ids that are not Salesforce ids raise ValueError)."""
    bad = [i for i in ids if not _ID.fullmatch(i)]
    if bad or not ids:
        raise ValueError(f"expected 15 or 18 character Salesforce ids, got {len(bad) or 'no'} other values")
    columns, literals = ", ".join(select_fields(obj, fields)), ", ".join(quote(i) for i in ids)
    return f"SELECT {columns} FROM {_object(obj)} WHERE Id IN ({literals}) ORDER BY Id"  # noqa: S608
