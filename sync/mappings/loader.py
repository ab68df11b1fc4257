"""Load mapping files: YAML with a line for every key, validated into ``Mapping`` objects.

Every problem of every file is collected as a ``ConfigIssue`` (file, key path, line,
expectation) and raised together as one ``ConfigError``. The YAML dialect is YAML 1.1
except that only ``true``/``false`` are booleans, so ``no``, ``on`` or ``yes`` stay text
(a map from a vendor's ``no`` must not turn into ``False``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from marshmallow import ValidationError

from sync.errors import ConfigError, ConfigIssue
from sync.mappings.schema import MappingSchema
from sync.mappings.specs import Mapping

__all__ = ["load_mapping", "load_mappings", "parse_yaml"]

KeyPath = tuple[str | int, ...]
_BOOL = "tag:yaml.org,2002:bool"
_MERGE = "tag:yaml.org,2002:merge"


class _Loader(yaml.SafeLoader):
    """SafeLoader whose only booleans are true/false (any case)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def parse_yaml(text: str) -> tuple[Any, dict[KeyPath, int], list[tuple[KeyPath, int, str]]]:
    """Parse YAML text into (data, line of every key path, problems found while building).

    Raises ``yaml.YAMLError`` for syntax errors.
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        lines: dict[KeyPath, int] = {}
        problems: list[tuple[KeyPath, int, str]] = []
        data = None if node is None else _build(loader, node, (), lines, problems)
    finally:
        loader.dispose()
    return data, lines, problems


def _build(loader: _Loader, node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int],
           problems: list[tuple[KeyPath, int, str]], ancestors: frozenset[int] = frozenset()) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if id(node) in ancestors:
        problems.append((path, node.start_mark.line + 1, "an alias cannot contain itself"))
        return None
    ancestors = ancestors | {id(node)}
    if isinstance(node, yaml.MappingNode):
        written = {id(k) for k, _ in node.value if k.tag != _MERGE}
        loader.flatten_mapping(node)  # resolves `<<: *anchor` merges; written keys override merged ones
        out: dict[Any, Any] = {}
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = _build(loader, key_node, (*path, "<key>"), {}, problems)
            if not isinstance(key, str | int | float | bool) and key is not None:
                key = str(key)
            line = key_node.start_mark.line + 1
            if id(key_node) in written:
                if key in seen:
                    problems.append(((*path, key), line, f"duplicate key {key!r} (line {seen[key]})"))
                seen[key] = line
            lines[(*path, key)] = line
            out[key] = _build(loader, value_node, (*path, key), lines, problems, ancestors)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, i), lines, problems, ancestors) for i, item in enumerate(node.value)]
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, yaml.YAMLError) as exc:  # e.g. an impossible unquoted date 2026-02-30
        problems.append((path, node.start_mark.line + 1, f"cannot read value {node.value!r}: {exc}"))
        return node.value


def _flatten(messages: Any, prefix: KeyPath = ()) -> Iterator[tuple[KeyPath, str]]:
    """Marshmallow's nested error messages as (key path, message) pairs."""
    if isinstance(messages, dict):
        for key, sub in messages.items():
            yield from _flatten(sub, prefix if key == "_schema" else (*prefix, key))
    elif isinstance(messages, list):
        for message in messages:
            yield from _flatten(message, prefix) if isinstance(message, dict | list) else [(prefix, str(message))]
    else:
        yield prefix, str(messages)


def format_key_path(path: KeyPath) -> str:
    """``("fields", "first_name", "transforms", 0)`` → ``fields.first_name.transforms[0]``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) and not isinstance(part, bool) else f".{part}"
    return out.lstrip(".")


def _line(lines: dict[KeyPath, int], path: KeyPath) -> int | None:
    """Line of the deepest existing prefix of ``path`` (a missing key points at its parent)."""
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def _load(path: Path) -> tuple[Mapping | None, list[ConfigIssue], dict[KeyPath, int]]:
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [ConfigIssue(file, "", f"cannot read the file: {exc}")], {}
    try:
        data, lines, problems = parse_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(p for p in (exc.context, exc.problem) if p)
        return None, [ConfigIssue(file, "", f"invalid YAML: {message}", mark.line + 1 if mark else None)], {}
    except yaml.YAMLError as exc:
        return None, [ConfigIssue(file, "", f"invalid YAML: {exc}")], {}
    issues = [ConfigIssue(file, format_key_path(p), m, line) for p, line, m in problems]
    if not isinstance(data, dict):
        issues.append(ConfigIssue(file, "", "expected a mapping with source, object, record_id, ...", 1))
        return None, issues, lines
    try:
        parts = MappingSchema().load(data)
    except ValidationError as exc:
        issues += [ConfigIssue(file, format_key_path(p), m, _line(lines, p)) for p, m in _flatten(exc.messages)]
        return None, sorted(issues, key=lambda i: (i.line or 0, i.path)), lines
    if issues:
        return None, issues, lines
    return Mapping(name=path.stem, file=file, **parts), [], lines


def load_mapping(path: str | Path) -> Mapping:
    """Load and validate one mapping file; raise ConfigError listing every problem."""
    mapping, issues, _ = _load(Path(path))
    if issues or mapping is None:
        raise ConfigError(issues)
    return mapping


def load_mappings(config_dir: str | Path) -> dict[tuple[str, str], Mapping]:
    """Load every ``config_dir/mappings/*.yaml`` keyed by (source, object); one ConfigError for all."""
    folder = Path(config_dir) / "mappings"
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []
    found: dict[tuple[str, str], Mapping] = {}
    issues: list[ConfigIssue] = []
    for file in files:
        mapping, file_issues, lines = _load(file)
        issues += file_issues
        if mapping is None:
            continue
        key = (mapping.source, mapping.object)
        if key in found:
            issues.append(ConfigIssue(mapping.file, "object", f"duplicate mapping for source {key[0]!r}, object "
                                      f"{key[1]!r}: {found[key].file} already maps it", lines.get(("object",))))
            continue
        found[key] = mapping
    if issues:
        raise ConfigError(issues)
    return found
