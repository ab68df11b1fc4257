"""Dotted paths into vendor records: parsed once at load, evaluated many times.

Syntax: ``a.b.c`` (keys), ``a[0]`` / ``a[-1]`` (list index), ``a[*].b`` (every element;
the result is a list), ``custom_fields[name=Budget].value`` (the first element whose
``name`` equals ``Budget``; quote the value to include ``]``: ``[name="x]y"]``) and
``properties."hs.weird"`` (a quoted key may contain dots, brackets and spaces).
A missing key, an index out of range or a step into the wrong type gives None.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MISSING", "Path", "PathSyntaxError", "compile_path", "get_path", "path_exists", "set_path"]


class PathSyntaxError(ValueError):
    """A path string does not follow the path syntax."""


@dataclass(frozen=True)
class Key:
    """Step into a dict key."""

    name: str


@dataclass(frozen=True)
class Index:
    """Step into a list position (negative counts from the end)."""

    index: int


@dataclass(frozen=True)
class Each:
    """Step into every element of a list (``[*]``)."""


@dataclass(frozen=True)
class Select:
    """Step into the first list element whose ``key`` equals ``value`` (``[key=value]``)."""

    key: str
    value: str


Step = Key | Index | Each | Select


class _Missing:
    """Marker for 'the path does not exist', distinct from an explicit null."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Path:
    """A compiled path: the text as written, its steps, and ``lookup(obj)`` (value or MISSING)."""

    text: str
    steps: tuple[Step, ...]
    lookup: Callable[[Any], Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lookup", _compile_lookup(self.steps))

    @property
    def is_plain(self) -> bool:
        """True when every step is a dict key (the only kind ``set_path`` can write)."""
        return all(isinstance(s, Key) for s in self.steps)

    @property
    def has_wildcard(self) -> bool:
        """True when the path contains ``[*]`` and so yields a list."""
        return any(isinstance(s, Each) for s in self.steps)

    def __str__(self) -> str:
        return self.text


_PLAIN_KEY = re.compile(r'[^.\[\]"\s]+')
_INDEX = re.compile(r"-?\d+")
_SELECT = re.compile(r'\s*([^=\]"\s]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\]"]*))\s*')


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """Read a double-quoted string starting at ``text[start] == '"'``; return (value, end)."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if ch == '"':
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise PathSyntaxError(f"unterminated quote starting at position {start + 1}")


def _read_bracket(text: str, start: int) -> tuple[Step, int]:
    """Read ``[...]`` starting at ``text[start] == '['``; return (step, end)."""
    if text.startswith("[*]", start):
        return Each(), start + 3
    close = _find_close(text, start)
    inner = text[start + 1 : close]
    if _INDEX.fullmatch(inner.strip()):
        return Index(int(inner.strip())), close + 1
    match = _SELECT.fullmatch(inner)
    if match:
        quoted, bare = match.group(2), match.group(3)
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare.strip()
        return Select(match.group(1), value), close + 1
    raise PathSyntaxError(
        f"bad bracket [{inner}] at position {start + 1}: expected [N], [-N], [*] or [key=value]"
    )


def _find_close(text: str, start: int) -> int:
    """Position of the ``]`` closing the bracket at ``start`` (quotes may hide a ``]``)."""
    i, quoted = start + 1, False
    while i < len(text):
        ch = text[i]
        if ch == "\\" and quoted:
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch == "]" and not quoted:
            return i
        i += 1
    raise PathSyntaxError(f"unclosed [ at position {start + 1}")


def compile_path(text: str) -> Path:
    """Parse a path string into a ``Path``; raise ``PathSyntaxError`` explaining the problem."""
    if not isinstance(text, str) or not text.strip():
        raise PathSyntaxError("a path must be a non-empty string")
    if text != text.strip():
        raise PathSyntaxError("a path must not start or end with spaces")
    steps: list[Step] = []
    i, need_key = 0, True
    while i < len(text):
        ch = text[i]
        if ch == "[":
            if not steps and need_key:
                raise PathSyntaxError("a path must start with a key, not [")
            step, i = _read_bracket(text, i)
            steps.append(step)
            need_key = False
        elif ch == ".":
            if need_key:
                raise PathSyntaxError(f"empty key at position {i + 1} (two dots, or a leading dot)")
            i += 1
            need_key = True
            if i == len(text):
                raise PathSyntaxError("a path must not end with a dot")
        elif need_key:
            if ch == '"':
                name, i = _read_quoted(text, i)
                if not name:
                    raise PathSyntaxError(f'empty quoted key "" at position {i - 1}')
            else:
                match = _PLAIN_KEY.match(text, i)
                if not match:
                    raise PathSyntaxError(f"unexpected {ch!r} at position {i + 1}: expected a key")
                name, i = match.group(0), match.end()
            steps.append(Key(name))
            need_key = False
        else:
            raise PathSyntaxError(f"unexpected {ch!r} at position {i + 1}: expected '.' or '['")
    return Path(text, tuple(steps))


def _step(value: Any, step: Step) -> Any:
    """Apply one non-wildcard step; MISSING when it does not lead anywhere."""
    if isinstance(step, Key):
        return value.get(step.name, MISSING) if isinstance(value, dict) else MISSING
    if not isinstance(value, list):
        return MISSING
    if isinstance(step, Index):
        return value[step.index] if -len(value) <= step.index < len(value) else MISSING
    if isinstance(step, Select):
        for item in value:
            if isinstance(item, dict) and step.key in item and _text(item[step.key]) == step.value:
                return item
    return MISSING


def _text(value: Any) -> str:
    """How a selector compares an element's value: JSON spelling for booleans and null."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def _walk(value: Any, steps: tuple[Step, ...]) -> Any:
    """Evaluate steps; MISSING when absent, a list of found values after ``[*]``."""
    for pos, step in enumerate(steps):
        if isinstance(step, Each):
            if not isinstance(value, list):
                return MISSING
            rest = steps[pos + 1 :]
            found: list[Any] = []
            for item in value:
                got = _walk(item, rest)
                if got is MISSING:
                    continue
                # a second [*] further on yields a list per element: flatten it
                if isinstance(got, list) and any(isinstance(s, Each) for s in rest):
                    found.extend(got)
                else:
                    found.append(got)
            return found
        value = _step(value, step)
        if value is MISSING:
            return MISSING
    return value


def _compile_lookup(steps: tuple[Step, ...]) -> Callable[[Any], Any]:
    """A function evaluating ``steps``; plain-key paths become direct ``dict.get`` chains."""
    if not steps or not all(isinstance(s, Key) for s in steps):
        return lambda obj: _walk(obj, steps)
    names = tuple(s.name for s in steps if isinstance(s, Key))
    if len(names) == 1:
        (first,) = names

        def lookup_one(obj: Any) -> Any:
            return obj.get(first, MISSING) if isinstance(obj, dict) else MISSING

        return lookup_one
    if len(names) == 2:
        first, second = names

        def lookup_two(obj: Any) -> Any:
            if not isinstance(obj, dict):
                return MISSING
            obj = obj.get(first, MISSING)
            return obj.get(second, MISSING) if isinstance(obj, dict) else MISSING

        return lookup_two

    def lookup_keys(obj: Any) -> Any:
        for name in names:
            if not isinstance(obj, dict):
                return MISSING
            obj = obj.get(name, MISSING)
        return obj

    return lookup_keys


def get_path(obj: Any, path: Path) -> Any:
    """Value at ``path`` in ``obj``, or None when any step is missing."""
    value = path.lookup(obj)
    return None if value is MISSING else value


def path_exists(obj: Any, path: Path) -> bool:
    """True when every step of ``path`` exists in ``obj`` (even if the final value is null)."""
    return path.lookup(obj) is not MISSING


def set_path(obj: dict[str, Any], path: Path, value: Any) -> None:
    """Write ``value`` at a plain-key ``path`` in ``obj``, creating nested dicts as needed."""
    if not path.is_plain:
        raise ValueError(f"cannot write to path {path.text!r}: only plain keys can be written")
    *parents, last = (step.name for step in path.steps if isinstance(step, Key))
    target = obj
    for name in parents:
        child = target.setdefault(name, {})
        if not isinstance(child, dict):
            raise ValueError(f"cannot write to path {path.text!r}: {name!r} already holds a non-object")
        target = child
    target[last] = value
