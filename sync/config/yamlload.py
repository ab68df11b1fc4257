"""Read YAML config files safely and remember where every key was written.

``load_yaml`` returns the plain Python data plus a side table from *key path* to the
1-based line it was written on, so validation errors can point an ops person at the exact
line. Key paths join mapping keys with dots and list positions with brackets, relative to
the document root: ``stages[1].phase``, ``survivorship.fields.email.rule``. The root
itself is the empty path ``""``.

``issues_from_messages`` turns a marshmallow ``ValidationError.messages`` tree into
``ConfigIssue`` objects using that table. Both are generic: any schema-validated YAML file
(lifecycle, mappings, conversions, schedules) can use them.

YAML dialect: the safe loader, except that only ``true``/``false`` (also ``True``, ``TRUE``,
``False``, ``FALSE``) are booleans. YAML 1.1 also reads ``yes/no/on/off`` as booleans, which would turn
the key ``on:`` of a transition rule into ``True`` and the region code ``NO`` (Norway)
into ``False``. Duplicate keys, which PyYAML silently resolves to the last one, are errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from sync.errors import ConfigError, ConfigIssue

_BOOL_TAG = "tag:yaml.org,2002:bool"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Loader(yaml.SafeLoader):
    """SafeLoader whose booleans are only true/false (see the module docstring)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def join_path(prefix: str, segment: str | int) -> str:
    """Extend a key path by one mapping key (``a.b``) or list index (``a[0]``)."""
    if isinstance(segment, int) and not isinstance(segment, bool):
        return f"{prefix}[{segment}]"
    return f"{prefix}.{segment}" if prefix else str(segment)


def load_yaml(path: str | Path) -> tuple[Any, dict[str, int]]:
    """Parse one YAML file into plain data and a key-path → line table.

    An empty file gives ``(None, {})``. Unreadable files, syntax errors and duplicate keys
    raise ``ConfigError`` naming the file and line.
    """
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError([ConfigIssue(file, "", f"cannot read file: {reason}")]) from None

    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        lines: dict[str, int] = {}
        duplicates = list(_walk(node, "", lines, set()))
        if duplicates:
            raise ConfigError([ConfigIssue(file, p, m, ln) for p, m, ln in duplicates])
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise ConfigError([_syntax_issue(file, exc)]) from None
    finally:
        loader.dispose()
    return data, lines


def _syntax_issue(file: str, exc: yaml.YAMLError) -> ConfigIssue:
    """One ConfigIssue describing a YAML syntax error."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    return ConfigIssue(file, "", message, mark.line + 1 if mark is not None else None)


def _walk(
    node: yaml.Node, path: str, lines: dict[str, int], ancestors: set[int]
) -> Iterator[tuple[str, str, int]]:
    """Record the line of every key path below ``node``; yield duplicate keys found."""
    lines.setdefault(path, node.start_mark.line + 1)
    if id(node) in ancestors:  # a recursive alias (&a ... *a) would loop forever
        return
    ancestors = ancestors | {id(node)}
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                continue  # merged (<<) and complex keys get their parent's line
            key, line = key_node.value, key_node.start_mark.line + 1
            child = join_path(path, key)
            if key in seen:
                yield child, f"duplicate key '{key}' (first written at line {seen[key]})", line
                continue
            seen[key] = line
            lines[child] = line
            yield from _walk(value_node, child, lines, ancestors)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _walk(item, join_path(path, index), lines, ancestors)


def line_for(lines: Mapping[str, int], path: str) -> int | None:
    """Line of ``path`` or, when it was not written (a missing key), of its deepest written prefix."""
    candidate = path
    while True:
        if candidate in lines:
            return lines[candidate]
        if not candidate:
            return None
        cut = max(candidate.rfind("."), candidate.rfind("["))
        candidate = candidate[:cut] if cut > 0 else ""


def issues_from_messages(file: str, messages: Any, lines: Mapping[str, int]) -> list[ConfigIssue]:
    """Flatten marshmallow ``ValidationError.messages`` into ConfigIssues, sorted by line.

    Nested dicts become dotted paths, integer keys list indexes (``stages[1]``), and
    ``_schema`` adds nothing to the path (the error belongs to the enclosing object).
    Each issue gets the line of its path, or of the deepest prefix that exists in the
    file (a missing required key points at the object that lacks it).
    """
    issues = [
        ConfigIssue(file, path, message, line_for(lines, path))
        for path, message in _flatten(messages, "")
    ]
    return sorted(issues, key=lambda i: (i.line is None, i.line or 0, i.path))


def _flatten(messages: Any, path: str) -> Iterator[tuple[str, str]]:
    """Yield (key path, message) for every leaf of a marshmallow error tree."""
    if isinstance(messages, Mapping):
        for key, sub in messages.items():
            yield from _flatten(sub, path if key == "_schema" else join_path(path, key))
    elif isinstance(messages, list | tuple):
        for item in messages:
            yield from _flatten(item, path)
    else:
        yield path, str(messages)
