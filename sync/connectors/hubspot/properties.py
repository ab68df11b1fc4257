"""HubSpot properties seen from a mapping: which ones to request, and whether its values are options.

- ``mapping_properties(mapping)``: every HubSpot property name a mapping reads or writes under
  ``properties.`` (field, identity, stage, condition, conversion and transform-argument paths),
  sorted: what a pull asks HubSpot for.
- ``options_of(answer)``: the option values of a Properties API answer
  (``GET /crm/properties/2026-09/{type}/{name}``) in HubSpot's ``displayOrder``; for
  ``lifecyclestage`` that order is the funnel order a backward move is judged by.
- ``validate_mapping(mapping, options)``: every value a ``map`` transform reads from or writes
  to an enumeration property (``lifecyclestage``, ``hs_lead_status``, ``dealstage``…) must be
  one of that property's options in the portal; each one that is not becomes a
  ``ConfigIssue`` with the file, the key path and line of the value, and the options HubSpot
  has. HubSpot stores internal values exactly as spelled, so a value written back must match
  exactly; a value read matches the way the map does (case-insensitively by default).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path as FilePath
from typing import Any

from sync.config.yamlload import line_for, load_yaml
from sync.errors import ConfigError, ConfigIssue
from sync.mappings import Mapping as MappingSpec
from sync.mappings.paths import Key, Path
from sync.mappings.specs import FieldSpec

PROPERTIES = "properties"
MAX_SHOWN = 12  # options listed in an issue before "..."


def _paths(node: Any, seen: set[int]) -> Iterator[Path]:
    """Every compiled ``Path`` inside a loaded mapping (specs, conditions, transform arguments)."""
    if isinstance(node, Path):
        yield node
    elif isinstance(node, tuple | list):
        for item in node:
            yield from _paths(item, seen)
    elif dataclasses.is_dataclass(node) and not isinstance(node, type) and id(node) not in seen:
        seen.add(id(node))
        for f in dataclasses.fields(node):
            if f.name != "spec":  # a transform's definition holds functions, not paths
                yield from _paths(getattr(node, f.name), seen)


def property_of(path: Path | None) -> str | None:
    """``name`` for a path ``properties.name[...]``; None for any other path."""
    if path is None or len(path.steps) < 2:
        return None
    head, name = path.steps[0], path.steps[1]
    if isinstance(head, Key) and head.name == PROPERTIES and isinstance(name, Key):
        return name.name
    return None


def mapping_properties(mapping: MappingSpec) -> list[str]:
    """The HubSpot property names ``mapping`` reads or writes under ``properties.``, sorted."""
    return sorted({name for path in _paths(mapping, set()) if (name := property_of(path))})


def options_of(answer: Mapping[str, Any]) -> list[str]:
    """Option values of a Properties API answer, in ``displayOrder`` (ties and -1 keep HubSpot's order)."""
    options = [o for o in answer.get("options") or [] if isinstance(o, dict) and isinstance(o.get("value"), str)]
    indexed = sorted(enumerate(options), key=lambda pair: (_order(pair[1]), pair[0]))
    return [o["value"] for _, o in indexed]


def _order(option: Mapping[str, Any]) -> float:
    order = option.get("displayOrder")
    return float(order) if isinstance(order, int | float) and order >= 0 else float("inf")


def _specs(mapping: MappingSpec) -> Iterator[tuple[str, FieldSpec]]:
    """(key path in the file, spec) of the stage and every field."""
    if mapping.stage is not None:
        yield "stage", mapping.stage
    for name, spec in mapping.fields:
        yield f"fields.{name}", spec


def _shown(options: Sequence[str]) -> str:
    listed = ", ".join(options[:MAX_SHOWN])
    return listed + (", ..." if len(options) > MAX_SHOWN else "") if options else "no options"


def _lines(file: str) -> Mapping[str, int]:
    if not file or not FilePath(file).is_file():
        return {}
    try:
        return load_yaml(file)[1]
    except ConfigError:
        return {}


def validate_mapping(mapping: MappingSpec, options: Mapping[str, Sequence[str]]) -> list[ConfigIssue]:
    """Issues for every ``map`` value of ``mapping`` that is not an option of its HubSpot property."""
    found: dict[str, str] = {}  # key path -> message; a value both read and written is reported once
    for where, spec in _specs(mapping):
        read = next((p for p in map(property_of, spec.paths) if p in options), None)
        write = property_of(spec.write_path) if spec.direction != "in" else None
        for i, bound in enumerate(spec.transforms):
            if bound.name != "map":
                continue
            args, base = dict(bound.args), f"{where}.transforms[{i}].map"
            if read is not None:
                for path, message in _unread(base, read, args, options[read]):
                    found.setdefault(path, message)
            if write is not None and write in options:
                for path, message in _unwritable(base, write, args, options[write]):
                    found.setdefault(path, message)
    lines = _lines(mapping.file)
    issues = [ConfigIssue(mapping.file, path, message, line_for(lines, path) if lines else None)
              for path, message in found.items()]
    return sorted(issues, key=lambda i: (i.line is None, i.line or 0, i.path))


def _unread(base: str, prop: str, args: Mapping[str, Any], options: Sequence[str]) -> Iterator[tuple[str, str]]:
    """The ``values`` keys (vendor values read) that are no option, matched as the map matches."""
    fold = args.get("case_insensitive", True)
    known = {o.lower() for o in options} if fold else set(options)
    for value in args.get("values", {}):
        if (str(value).lower() if fold else str(value)) not in known:
            yield (f"{base}.values.{value}", f"{value!r} is not a HubSpot {prop} option, so HubSpot never sends it; "
                                             f"expected one of: {_shown(options)}")


def _written(base: str, args: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key path, vendor value) of every value the map's reverse writes (as ``sync.mappings`` inverts it)."""
    out: dict[str, tuple[str, str]] = {}
    for source, target in args.get("values", {}).items():
        if target is not None:
            out.setdefault(str(target).lower(), (f"{base}.values.{source}", str(source)))
    for canonical, value in (args.get("reverse") or {}).items():
        out[str(canonical).lower()] = (f"{base}.reverse.{canonical}", str(value))
    return list(out.values())


def _unwritable(base: str, prop: str, args: Mapping[str, Any],
                options: Sequence[str]) -> Iterator[tuple[str, str]]:
    """Values written back that are not exactly an option (HubSpot stores internal values as spelled)."""
    for path, value in _written(base, args):
        if value in options:
            continue
        spelled = next((o for o in options if o.lower() == value.lower()), None)
        hint = f"HubSpot spells it {spelled!r}" if spelled else f"expected one of: {_shown(options)}"
        yield path, f"{value!r} is written to HubSpot {prop} but is not one of its options; {hint}"
