"""Segment files, ``segments/<key>.yaml``: their syntax, validated into ``Segment`` with every issue's line.

::

    label: Lapsed customers                 # shown to people
    brand: default                          # optional (brands.yaml's key); default: the default brand
    description: bought before, not in 60 days
    match: all                              # all (default) or any of the conditions
    conditions:
      - stage: Customer                     # or a list: [Payment, Customer]
      - purchases: {count: {gte: 1}, last: {older_than: 60d}}
      - any:                                # all: / any: / not: nest
          - has_identity: whatsapp
          - field: {name: country, in: [SA, AE]}
      - not: {consent: {marketing_messages: denied}}
    destinations:                           # where the members go (sync.segments.destinations)
      - name: meta-lapsed                   # unique in the installation
        kind: meta_audience                 # a registered kind, or csv
        connection: default                 # any other key: an option of the destination

Conditions (one key each): ``stage``, ``lost_stage`` (names, or ``any``), ``phase``,
``in_stage_for: {more_than: 14d, less_than: 60d}``, ``field: {name: city, equals|in|exists|
contains|prefix|gt|gte|lt|lte: ...}``, ``has_identity``, ``last_inbound`` / ``last_outbound:
{within: 7d, older_than: 30d}``, ``purchases: {count: {...}, total: {...}, last: {...}}``,
``first_touch`` / ``last_touch: {network, channel, campaign, ad}``, ``consent: {purpose:
granted|denied|unknown}``. Every issue in one run, each with its key path and line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from sync.config.brands import Brands
from sync.config.types import DEFAULT_BRAND, PHASES, LifecycleConfig
from sync.config.yamlload import join_path, line_for
from sync.errors import ConfigIssue
from sync.segments.conditions import (
    DURATION_HINT,
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
    parse_duration,
)
from sync.segments.destinations.base import DestinationEntry

KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
KEY_HINT = "lowercase letters, digits, _ and - (at most 64), e.g. lapsed-customers"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_WORD = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
TOP_KEYS = ("label", "brand", "description", "match", "conditions", "destinations")
FIELD_OPS = ("equals", "in", "exists", "contains", "prefix", "gt", "gte", "lt", "lte")
COMPARE_KEYS = ("gt", "gte", "lt", "lte", "equals")
TOUCH_KEYS = ("network", "channel", "campaign", "ad")
CONSENT_STATES = ("granted", "denied", "unknown")
CONDITIONS = ("all", "any", "not", "stage", "lost_stage", "phase", "in_stage_for", "field", "has_identity",
              "last_inbound", "last_outbound", "purchases", "first_touch", "last_touch", "consent")
CSV_KIND = "csv"  # written by the audience engine itself: no vendor module


def _finite(value: Any) -> float | None:
    """``value`` as a float when it is a finite number SQL can bind (not .nan, .inf or an int past 1e308)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


class _Reader:
    """Reads one file's conditions, collecting issues (never stopping at the first)."""

    def __init__(self, file: str, lines: Mapping[str, int], lifecycle: LifecycleConfig | None):
        self.file, self.lines, self.lifecycle = file, lines, lifecycle
        self.issues: list[ConfigIssue] = []

    def issue(self, path: str, message: str) -> None:
        self.issues.append(ConfigIssue(self.file, path, message, line_for(self.lines, path)))

    # --- shapes ----------------------------------------------------------------------------

    def names(self, value: Any, path: str, what: str) -> tuple[str, ...] | None:
        """A name or a non-empty list of names (numbers read as text: campaign ids are often unquoted)."""
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(v, str | int) and not isinstance(v, bool) and str(v).strip()
                                for v in items):
            self.issue(path, f"expected {what} or a list of them, e.g. [a, b]")
            return None
        return tuple(str(v).strip() for v in items)

    def mapping(self, value: Any, path: str, allowed: tuple[str, ...], example: str) -> dict[str, Any] | None:
        if not isinstance(value, dict) or not value:
            self.issue(path, f"expected a mapping, e.g. {example}")
            return None
        for key in value:
            if key not in allowed:
                self.issue(join_path(path, str(key)), f"unknown key '{key}'; expected one of: {', '.join(allowed)}")
        return value

    def window(self, value: Any, path: str) -> Window | None:
        body = self.mapping(value, path, ("within", "older_than"), "{within: 7d} or {older_than: 30d}")
        if body is None:
            return None
        spans = {}
        for key in ("within", "older_than"):
            if key in body:
                spans[key] = parse_duration(body[key])
                if spans[key] is None:
                    self.issue(join_path(path, key), f"expected {DURATION_HINT}")
        if any(v is None for v in spans.values()) or not spans:
            return None
        return Window(spans.get("within"), spans.get("older_than"))

    def compare(self, value: Any, path: str) -> Compare | None:
        body = self.mapping(value, path, COMPARE_KEYS, "{gte: 2} or {gt: 100, lte: 500}")
        if body is None:
            return None
        found = {}
        for key in COMPARE_KEYS:
            if key in body:
                number = _finite(body[key])
                if number is None:
                    self.issue(join_path(path, key), "expected a number")
                    return None
                found[key] = number
        return Compare(**found) if found else None

    # --- conditions ------------------------------------------------------------------------

    def conditions(self, value: Any, path: str) -> tuple[Condition, ...] | None:
        if not isinstance(value, list) or not value:
            self.issue(path, "expected a list of conditions, e.g. [{stage: Customer}, {has_identity: whatsapp}]")
            return None
        read = [self.condition(item, join_path(path, n)) for n, item in enumerate(value)]
        return None if any(c is None for c in read) else tuple(read)  # type: ignore[misc]

    def condition(self, item: Any, path: str) -> Condition | None:
        if not isinstance(item, dict) or len(item) != 1:
            self.issue(path, f"expected one condition (a mapping with one key), e.g. stage: Customer; "
                             f"conditions: {', '.join(CONDITIONS)}")
            return None
        (kind, value), = item.items()
        at = join_path(path, str(kind))
        reader = self._readers().get(str(kind))
        if reader is None:
            self.issue(at, f"unknown condition '{kind}'; expected one of: {', '.join(CONDITIONS)}")
            return None
        return reader(value, at)

    def _readers(self) -> dict[str, Callable[[Any, str], Condition | None]]:
        return {"all": self._all, "any": self._any, "not": self._not, "stage": self._stage,
                "lost_stage": self._lost_stage, "phase": self._phase, "in_stage_for": self._in_stage_for,
                "field": self._field, "has_identity": self._has_identity,
                "last_inbound": lambda v, p: self._recency("inbound", v, p),
                "last_outbound": lambda v, p: self._recency("outbound", v, p),
                "purchases": self._purchases, "first_touch": lambda v, p: self._touch("first", v, p),
                "last_touch": lambda v, p: self._touch("last", v, p), "consent": self._consent}

    def _all(self, value: Any, path: str) -> Condition | None:
        items = self.conditions(value, path)
        return AllOf(items) if items is not None else None

    def _any(self, value: Any, path: str) -> Condition | None:
        items = self.conditions(value, path)
        return AnyOf(items) if items is not None else None

    def _not(self, value: Any, path: str) -> Condition | None:
        if isinstance(value, list):  # not: [a, b] — none of... reads as not (a and b)
            items = self.conditions(value, path)
            return NotOf(AllOf(items)) if items is not None else None
        inner = self.condition(value, path)
        return NotOf(inner) if inner is not None else None

    def _known(self, names: tuple[str, ...] | None, path: str, known: tuple[str, ...], what: str) -> bool:
        if names is None:
            return False
        bad = [n for n in names if n not in known]
        for name in bad:
            self.issue(path, f"unknown {what} '{name}'; the segment's lifecycle has: {', '.join(known) or 'none'}")
        return not bad

    def _stage(self, value: Any, path: str) -> Condition | None:
        names = self.names(value, path, "a stage name")
        if self.lifecycle is not None and not self._known(names, path, self.lifecycle.active_names, "active stage"):
            return None
        return StageIs(names) if names is not None else None

    def _lost_stage(self, value: Any, path: str) -> Condition | None:
        if value == "any":
            return LostStageIs(())
        names = self.names(value, path, "a lost stage name (or any)")
        if self.lifecycle is not None and not self._known(names, path, self.lifecycle.lost_names, "lost stage"):
            return None
        return LostStageIs(names) if names is not None else None

    def _phase(self, value: Any, path: str) -> Condition | None:
        names = self.names(value, path, "a phase")
        if names is None:
            return None
        bad = [n for n in names if n not in PHASES]
        for name in bad:
            self.issue(path, f"unknown phase '{name}'; expected one of: {', '.join(PHASES)}")
        if bad:
            return None
        stages = tuple(s.name for s in self.lifecycle.stages if s.phase in names) if self.lifecycle else ()
        return PhaseIs(names, stages)

    def _in_stage_for(self, value: Any, path: str) -> Condition | None:
        body = self.mapping(value, path, ("more_than", "less_than"), "{more_than: 14d}")
        if body is None:
            return None
        spans = {k: parse_duration(body[k]) for k in ("more_than", "less_than") if k in body}
        for key, span in spans.items():
            if span is None:
                self.issue(join_path(path, key), f"expected {DURATION_HINT}")
        if not spans or any(v is None for v in spans.values()):
            return None
        return InStageFor(spans.get("more_than"), spans.get("less_than"))

    def _field(self, value: Any, path: str) -> Condition | None:
        body = self.mapping(value, path, ("name", *FIELD_OPS), "{name: country, in: [SA, AE]}")
        if body is None:
            return None
        name = body.get("name")
        if not isinstance(name, str) or not _FIELD.match(name):
            self.issue(join_path(path, "name"), "expected the canonical field's name, e.g. country")
            return None
        tests: list[Condition] = []
        for op in FIELD_OPS:
            if op in body:
                test = self._field_test(name, op, body[op], join_path(path, op))
                if test is None:
                    return None
                tests.append(test)
        if not tests:
            self.issue(path, f"expected a test of field {name}: one of {', '.join(FIELD_OPS)}")
            return None
        return tests[0] if len(tests) == 1 else AllOf(tuple(tests))

    def _field_test(self, name: str, op: str, value: Any, path: str) -> Condition | None:
        def scalar(v: Any) -> bool:  # numbers finite: SQL compares them as floats on either database
            return isinstance(v, str | bool) or _finite(v) is not None

        if op == "exists":
            ok = isinstance(value, bool)
            expected = "true or false"
        elif op == "in":
            ok = isinstance(value, list) and bool(value) and all(scalar(v) for v in value)
            expected = "a list of values, e.g. [SA, AE]"
        elif op in ("contains", "prefix"):
            ok = isinstance(value, str) and bool(value)
            expected = "text"
        elif op == "equals":
            ok = scalar(value)
            expected = "a value (text, number, true or false)"
        else:
            ok = _finite(value) is not None
            expected = "a number"
            value = _finite(value)
        if not ok:
            self.issue(path, f"expected {expected}")
            return None
        return FieldTest(name, op, tuple(value) if op == "in" else value)

    def _has_identity(self, value: Any, path: str) -> Condition | None:
        kinds = self.names(value, path, "an identity kind (email, phone, whatsapp, ...)")
        if kinds is None:
            return None
        bad = [k for k in kinds if not _WORD.match(k)]
        for kind in bad:
            self.issue(path, f"'{kind}' is no identity kind; expected e.g. email, phone, whatsapp, hubspot")
        return None if bad else HasIdentity(kinds)

    def _recency(self, direction: str, value: Any, path: str) -> Condition | None:
        window = self.window(value, path)
        return MessageRecency(direction, window) if window is not None else None

    def _purchases(self, value: Any, path: str) -> Condition | None:
        body = self.mapping(value, path, ("count", "total", "last"), "{count: {gte: 2}, last: {older_than: 60d}}")
        if body is None:
            return None
        count = self.compare(body["count"], join_path(path, "count")) if "count" in body else None
        total = self.compare(body["total"], join_path(path, "total")) if "total" in body else None
        last = self.window(body["last"], join_path(path, "last")) if "last" in body else None
        if any(k in body and v is None for k, v in (("count", count), ("total", total), ("last", last))):
            return None
        return Purchases(count, total, last)

    def _touch(self, which: str, value: Any, path: str) -> Condition | None:
        body = self.mapping(value, path, TOUCH_KEYS, "{network: meta, channel: whatsapp}")
        if body is None:
            return None
        found = {k: self.names(body[k], join_path(path, k), f"a {k}") for k in TOUCH_KEYS if k in body}
        if not found or any(v is None for v in found.values()):
            return None
        return Touch(which, **found)  # type: ignore[arg-type]

    def _consent(self, value: Any, path: str) -> Condition | None:
        if not isinstance(value, dict) or not value:
            self.issue(path, "expected purposes and their state, e.g. {ad_user_data: granted}")
            return None
        tests: list[Condition] = []
        for purpose, state in value.items():
            at = join_path(path, str(purpose))
            if not isinstance(purpose, str) or not _WORD.match(purpose):
                self.issue(at, f"'{purpose}' is no consent purpose; expected e.g. ad_user_data, marketing_messages")
            elif state not in CONSENT_STATES:
                self.issue(at, f"expected one of: {', '.join(CONSENT_STATES)}")
            else:
                tests.append(ConsentIs(purpose, state))
        if len(tests) != len(value):
            return None
        return tests[0] if len(tests) == 1 else AllOf(tuple(tests))


def parse_segment(data: Any, key: str, file: str, lines: Mapping[str, int], brands: Brands,
                  lifecycle: LifecycleConfig | None,
                  kinds: tuple[str, ...]) -> tuple[Segment | None, list[ConfigIssue]]:
    """Validate one segment file's data: (Segment, []) or (None, every issue with its line).

    ``lifecycle``: the shared lifecycle (None when it did not load: stage names are then not
    judged); a brand's own lifecycle is taken from ``brands``. ``kinds``: the audience
    destination kinds registered (``csv`` is always accepted).
    """
    reader = _Reader(file, lines, lifecycle)
    if not KEY.match(key):
        reader.issue("", f"'{key}' cannot name a segment; name the file with {KEY_HINT}")
    if data is None:
        reader.issue("", "file is empty; expected label:, conditions: and optionally brand:, match:, destinations:")
        return None, reader.issues
    if not isinstance(data, dict):
        reader.issue("", "expected a mapping with label:, conditions: and optionally brand:, match:, destinations:")
        return None, reader.issues
    for unknown in [k for k in data if k not in TOP_KEYS]:
        reader.issue(str(unknown), f"unknown key '{unknown}'; expected one of: {', '.join(TOP_KEYS)}")
    label = data.get("label")
    if not isinstance(label, str) or not label.strip() or len(label) > 200:
        reader.issue("label", "expected the segment's name shown to people (text, at most 200 characters)")
    description = data.get("description", "")
    if not isinstance(description, str) or len(description) > 2000:
        reader.issue("description", "expected text of at most 2,000 characters")
        description = ""
    brand = data.get("brand", DEFAULT_BRAND)
    if not isinstance(brand, str) or brands.get(brand) is None:
        reader.issue("brand", f"unknown brand '{brand}'; brands.yaml configures: {', '.join(brands.keys)}")
    elif lifecycle is not None:
        reader.lifecycle = brands.lifecycle(brand, lifecycle)
    match = data.get("match", "all")
    if match not in ("all", "any"):
        reader.issue("match", "expected all or any (whether every condition must hold, or one)")
    items = reader.conditions(data.get("conditions"), "conditions")
    destinations = _destinations(reader, data.get("destinations"), kinds)
    if reader.issues or items is None:
        return None, reader.issues
    root = AnyOf(items) if match == "any" else AllOf(items)
    return Segment(key=key, label=label.strip(), condition=root, brand=brand, description=description.strip(),
                   destinations=destinations, file=file), []


def _destinations(reader: _Reader, value: Any, kinds: tuple[str, ...]) -> tuple[DestinationEntry, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        reader.issue("destinations", "expected a list of destinations, e.g. [{name: meta-lapsed, kind: meta_audience}]")
        return ()
    known = tuple(sorted({*kinds, CSV_KIND}))
    found: list[DestinationEntry] = []
    for n, entry in enumerate(value):
        at = join_path("destinations", n)
        if not isinstance(entry, dict):
            reader.issue(at, "expected a mapping with name, kind and the destination's options")
            continue
        name, kind = entry.get("name"), entry.get("kind")
        if not isinstance(name, str) or not _NAME.match(name):
            reader.issue(join_path(at, "name"), "expected the destination's name: lowercase letters, digits, "
                                                "_ and - (at most 64), e.g. meta-lapsed")
            continue
        if any(d.name == name for d in found):
            reader.issue(join_path(at, "name"), f"destination {name} is listed twice in this segment")
            continue
        if kind not in known:
            reader.issue(join_path(at, "kind"),
                         f"unknown destination kind '{kind}'; expected one of: {', '.join(known)}")
            continue
        options: dict[str, str] = {}
        for option, raw in entry.items():
            if option in ("name", "kind"):
                continue
            if not isinstance(raw, str | int | float | bool) or not isinstance(option, str):
                reader.issue(join_path(at, str(option)), "expected a single value (text or number)")
                continue
            options[option] = str(raw).lower() if isinstance(raw, bool) else str(raw)
        found.append(DestinationEntry(name=name, kind=kind, options=options))
    return tuple(found)
