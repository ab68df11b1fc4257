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
the key ``on:`` of a transition rule into ``True``, the region code ``NO`` (Norway) into
``False`` and a mapping's vendor value ``no`` into ``False``. Anchors, aliases and ``<<``
merge keys work. These are errors, each reported with its key path and line: duplicate keys
(which PyYAML silently resolves to the last one), an alias that contains itself (which
would never end), and a value that cannot be read (an unquoted impossible date such as
``2026-02-30``).

Reading is bounded, since config files may come from anyone who can edit them (and, later,
over the ops API): each limit is refused within a second as an issue naming the file and line,
where an unbounded loader would spend minutes and gigabytes — a file over ``MAX_BYTES``; bytes
that are not UTF-8; a NUL or another character YAML cannot hold; nesting deeper than
``MAX_DEPTH``; anchors, aliases and ``<<`` merge keys that expand the document to more than
``MAX_NODES`` values (a "billion laughs" file, or a merge-key bomb of under a kilobyte).

Config files end in ``.yaml``; ``yaml_files`` lists a directory's and reports every
``.yml`` file there as an issue rather than silently ignoring it.
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
_LOOP = "an alias cannot contain itself"
# PyYAML reads about 200 kB a second: the limits keep any file under about a second and a half
MAX_BYTES = 256 * 1024  # the bundled files are under 10 kB; a mapping's value table of thousands of rows fits
MAX_DEPTH = 64  # nested values, aliases expanded; configs use under 10
MAX_NODES = 50_000  # values of the document with every alias and merge expanded


class _TooLarge(Exception):
    """The document, aliases expanded, breaks a limit at ``node``."""

    def __init__(self, node: yaml.Node, message: str):
        super().__init__(message)
        self.node, self.message = node, message


class _Loader(yaml.SafeLoader):
    """SafeLoader whose booleans are only true/false and which notes unreadable values."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.unreadable: list[tuple[yaml.Node, str]] = []
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        """Compose as usual, refusing nesting deeper than ``MAX_DEPTH`` before the recursion gets there."""
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"values nested more than {MAX_DEPTH} deep",
                                                  self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Construct as usual, but note a scalar that cannot be read and keep its text."""
        if not isinstance(node, yaml.ScalarNode):
            return super().construct_object(node, deep)
        was_deep = self.deep_construct
        try:
            return super().construct_object(node, deep)
        except ValueError as exc:  # e.g. an impossible unquoted date 2026-02-30
            self.recursive_objects.pop(node, None)
            self.deep_construct = was_deep
            self.unreadable.append((node, f"cannot read value {node.value!r}: {exc}"))
            self.constructed_objects[node] = node.value
            return node.value


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


def load_yaml(path: str | Path, recovered: list[ConfigIssue] | None = None) -> tuple[Any, dict[str, int]]:
    """Parse one YAML file into plain data and a key-path → line table.

    An empty file gives ``(None, {})``. Unreadable files, syntax errors, duplicate keys,
    self-containing aliases and unreadable values raise ``ConfigError`` naming the file,
    key path and line of each problem. With ``recovered`` (a list), the problems that leave
    the data readable — duplicate keys (the last one counts) and unreadable values (kept as
    their text) — are appended there instead, and the data returned, so a check can go on to
    report the file's other issues in the same run.
    """
    file = str(path)
    text = _read_text(file)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        try:
            _expanded(node, 0, {}, set())
        except _TooLarge as exc:
            raise ConfigError([ConfigIssue(file, "", exc.message, exc.node.start_mark.line + 1)]) from None
        lines: dict[str, int] = {}
        where: dict[int, str] = {}
        problems = [ConfigIssue(file, p, m, ln) for p, m, ln in _walk(node, "", lines, where, frozenset())]
        if problems and (recovered is None or any(i.message == _LOOP for i in problems)):
            raise ConfigError(problems)  # an alias inside itself cannot be built at all
        data = loader.construct_document(node)
        problems += [ConfigIssue(file, where.get(id(n), ""), message, n.start_mark.line + 1)
                     for n, message in loader.unreadable]
        if problems and recovered is None:
            raise ConfigError(problems)
        if recovered is not None:
            recovered.extend(problems)
    except yaml.YAMLError as exc:
        raise ConfigError([_syntax_issue(file, exc)]) from None
    finally:
        loader.dispose()
    return data, lines


def _read_text(file: str) -> str:
    """The file's text: at most ``MAX_BYTES`` of UTF-8 holding only characters YAML accepts (else ConfigError)."""
    try:
        with open(file, "rb") as stream:
            data = stream.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError([ConfigIssue(file, "", f"cannot read file: {exc.strerror or exc}")]) from None
    if len(data) > MAX_BYTES:
        raise ConfigError([ConfigIssue(file, "", f"the file is larger than {MAX_BYTES:,} bytes, the most a config "
                                                 "file may hold; is it the right file?")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _line_column(data, exc.start, b"\n")
        raise ConfigError([ConfigIssue(file, "", f"cannot read file: not UTF-8 text (byte 0x{data[exc.start]:02x} "
                                                 f"at column {column})", line)]) from None
    bad = yaml.reader.Reader.NON_PRINTABLE.search(text)
    if bad:
        char = bad.group()
        what = "a NUL byte" if char == "\x00" else f"the control character U+{ord(char):04X}"
        line, column = _line_column(text, bad.start(), "\n")
        raise ConfigError([ConfigIssue(file, "", f"{what} at column {column}: YAML files cannot hold it", line)])
    return text


def _line_column(text: Any, at: int, newline: Any) -> tuple[int, int]:
    """1-based line and column of offset ``at`` in a text or bytes."""
    return text.count(newline, 0, at) + 1, at - (text.rfind(newline, 0, at) + 1) + 1


def _expanded(node: yaml.Node, depth: int, memo: dict[int, tuple[int, int]], active: set[int]) -> int:
    """How many values ``node`` stands for with its aliases and merges expanded; _TooLarge past a limit.

    Each node is measured once (an alias is the same node object as its anchor), so this is linear
    in the file however much it expands. A node inside itself (``&a [*a]``) counts nothing here:
    ``_walk`` reports it.
    """
    if depth > MAX_DEPTH:
        raise _TooLarge(node, f"values nested more than {MAX_DEPTH} deep once aliases are expanded")
    key = id(node)
    if key in active:
        return 0
    if key not in memo:
        active.add(key)
        size, height = 1, 0
        children = [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else \
            node.value if isinstance(node, yaml.SequenceNode) else []
        for child in children:
            size += _expanded(child, depth + 1, memo, active)
            height = max(height, memo.get(id(child), (0, 0))[1] + 1)
            if size > MAX_NODES:
                raise _TooLarge(node, f"this value holds more than {MAX_NODES:,} values once its anchors, "
                                      "aliases and merge keys (<<) are expanded")
        active.discard(key)
        memo[key] = (size, height)
    size, height = memo[key]
    if depth + height > MAX_DEPTH:
        raise _TooLarge(node, f"values nested more than {MAX_DEPTH} deep once aliases are expanded")
    return size


def misnamed_file(path: Path) -> ConfigIssue:
    """The issue for a ``.yml`` file where a ``.yaml`` one is expected."""
    return ConfigIssue(str(path), "", "ignored: config files must end in .yaml; rename it to "
                                      f"{path.with_suffix('.yaml').name}")


def yaml_files(directory: Path) -> tuple[list[Path], list[ConfigIssue]]:
    """The ``*.yaml`` files directly in ``directory`` (sorted) and an issue for each ``*.yml`` one.

    A directory that does not exist has neither.
    """
    if not directory.is_dir():
        return [], []
    found = sorted(p for p in directory.glob("*.yaml") if p.is_file())
    return found, [misnamed_file(p) for p in sorted(directory.glob("*.yml")) if p.is_file()]


def _syntax_issue(file: str, exc: yaml.YAMLError) -> ConfigIssue:
    """One ConfigIssue describing a YAML syntax error."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    return ConfigIssue(file, "", message, mark.line + 1 if mark is not None else None)


def _walk(
    node: yaml.Node, path: str, lines: dict[str, int], where: dict[int, str], ancestors: frozenset[int]
) -> Iterator[tuple[str, str, int]]:
    """Record the line of every key path below ``node``; yield duplicate keys and looping aliases."""
    line = node.start_mark.line + 1
    lines.setdefault(path, line)
    where.setdefault(id(node), path)
    if id(node) in ancestors:  # a recursive alias (&a [*a]) would loop forever
        yield path, _LOOP, line
        return
    ancestors = ancestors | {id(node)}
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                # merged (<<) and complex keys get their parent's line; look inside only for loops
                yield from (p for p in _walk(value_node, path, {}, {}, ancestors) if p[1] == _LOOP)
                continue
            key, line = key_node.value, key_node.start_mark.line + 1
            child = join_path(path, key)
            if key in seen:
                yield child, f"duplicate key '{key}' (first written at line {seen[key]})", line
                continue
            seen[key] = line
            lines[child] = line
            where.setdefault(id(key_node), child)
            yield from _walk(value_node, child, lines, where, ancestors)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _walk(item, join_path(path, index), lines, where, ancestors)


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


def validated(schema: Any, data: Any, file: str, lines: Mapping[str, int], top: str) -> Any:
    """``data`` of ``file`` loaded by the marshmallow ``schema``; ConfigError listing every issue with its line.

    ``top`` names the key the file must hold (for the message of an empty file).
    """
    from marshmallow import ValidationError

    if data is None:
        raise ConfigError([ConfigIssue(file, "", f"file is empty; expected a {top}: mapping", 1)])
    try:
        return schema.load(data)
    except ValidationError as err:
        raise ConfigError(issues_from_messages(file, err.messages, lines)) from None
