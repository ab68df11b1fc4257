"""The transform registry: how named pure functions are declared, bound and called.

Each transform is ``fn(value, **args)``. Its keyword-only parameters are its arguments:
those without a default are required, and a mapping naming any other argument fails at
load. None and blank strings pass through untouched, except for transforms registered
with ``handles_blank`` (``default``, ``constant``, ``first_non_empty``). A transform may
declare a reverse (used when a mapping writes canonical values back to the vendor); a
field with direction ``out``/``both`` may only chain reversible transforms.

``bind`` checks a transform's arguments once, at load, and returns a ``BoundTransform``
whose ``call`` is a closure with the arguments already in place, so applying it costs one
blank check and one function call. Expensive pure helpers (phone parsing, date parsing)
are memoised with ``memo``, a bounded ``lru_cache`` that ``clear_caches`` can empty.

Errors say what was expected; the offending value travels separately on
``TransformError.value`` so the engine can decide whether it may be shown (never for
personal data). A transform that drops a value it cannot use instead of failing (``e164``
and ``email`` with ``on_invalid: null``, ``map`` with ``default: null``) says so with
``refuse``: the engine, collecting with ``refusals_collected`` while it reads a record, turns
each into a ``Refusal`` on the patch — a data-quality issue, never a silent loss. The
built-in transforms live in ``sync.mappings.transforms``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

from sync.mappings.paths import MISSING, Path, compile_path

__all__ = [
    "CACHE_SIZE", "ON_INVALID", "REGISTRY", "BoundTransform", "TransformDef", "TransformError", "bind",
    "clear_caches", "memo", "refusals_collected", "refuse", "transform",
]

F = TypeVar("F", bound=Callable[..., Any])
CACHE_SIZE = 8192  # entries per memoised helper: a few MB at most, so memory stays flat
ON_INVALID = ("null", None, "error", "keep")  # YAML reads `on_invalid: null` as None
_CACHES: list[Any] = []
# (kind, what was expected, the value) of each value dropped while the engine reads one record
_REFUSED: ContextVar[list[tuple[str, str, Any]] | None] = ContextVar("lifesync_refused", default=None)


class TransformError(ValueError):
    """A value could not be transformed; ``value`` is the offending input (maybe personal data)."""

    def __init__(self, message: str, value: Any = None):
        self.value = value
        super().__init__(message)


def memo(fn: F) -> F:
    """Memoise a pure helper in a bounded LRU cache (results must depend only on the arguments)."""
    cached = lru_cache(maxsize=CACHE_SIZE, typed=True)(fn)
    _CACHES.append(cached)
    return cached  # type: ignore[return-value]


def clear_caches() -> None:
    """Empty every memoised helper (benchmarks start cold with it)."""
    for cached in _CACHES:
        cached.cache_clear()


@dataclass(frozen=True)
class TransformDef:
    """A registered transform: its function, reverse, arguments and handling flags."""

    name: str
    fn: Callable[..., Any]
    reverse: Callable[..., Any] | None
    required: frozenset[str]
    optional: frozenset[str]
    check: Callable[[dict[str, Any]], None] | None = None
    choices: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    handles_blank: bool = False
    pii: bool = False
    path_args: tuple[tuple[str, str], ...] = ()  # (argument holding a path, keyword it fills)


REGISTRY: dict[str, TransformDef] = {}


def transform(
    name: str,
    reverse: Callable[..., Any] | None = None,
    *,
    check: Callable[[dict[str, Any]], None] | None = None,
    choices: dict[str, tuple[Any, ...]] | None = None,
    handles_blank: bool = False,
    pii: bool = False,
    path_args: dict[str, str] | None = None,
) -> Callable[[F], F]:
    """Register ``fn(value, **args)`` under ``name`` (a decorator)."""

    def register(fn: F) -> F:
        filled = set((path_args or {}).values())
        params = [
            p for p in inspect.signature(fn).parameters.values()
            if p.kind is p.KEYWORD_ONLY and p.name not in filled
        ]
        REGISTRY[name] = TransformDef(
            name=name, fn=fn, reverse=reverse,
            required=frozenset(p.name for p in params if p.default is p.empty),
            optional=frozenset(p.name for p in params if p.default is not p.empty) | set(path_args or {}),
            check=check, choices=tuple((choices or {}).items()), handles_blank=handles_blank, pii=pii,
            path_args=tuple((path_args or {}).items()),
        )
        return fn

    return register


def blank(value: Any) -> bool:
    """True for None and for text that is empty or only whitespace."""
    return value is None or (isinstance(value, str) and not value.strip())


def _compile_call(spec: TransformDef, args: dict[str, Any], paths: tuple[tuple[str, Path], ...]) -> Callable:
    """``call(value, record)`` with the arguments bound: no per-call dict building or lookups."""
    fn, skip_blank = spec.fn, not spec.handles_blank
    if paths:
        lookups = tuple((keyword, path.lookup) for keyword, path in paths)

        def call_with_paths(value: Any, record: Any = None) -> Any:
            if skip_blank and (value is None or (isinstance(value, str) and not value.strip())):
                return value
            extra = {}
            for keyword, lookup in lookups:
                found = lookup(record)
                extra[keyword] = None if found is MISSING else found
            return fn(value, **args, **extra)

        return call_with_paths
    if args:

        def call_with_args(value: Any, record: Any = None) -> Any:
            if skip_blank and (value is None or (isinstance(value, str) and not value.strip())):
                return value
            return fn(value, **args)

        return call_with_args

    def call(value: Any, record: Any = None) -> Any:
        if skip_blank and (value is None or (isinstance(value, str) and not value.strip())):
            return value
        return fn(value)

    return call


@dataclass(frozen=True)
class BoundTransform:
    """A transform with its validated arguments, ready to apply."""

    spec: TransformDef
    args: tuple[tuple[str, Any], ...] = ()
    paths: tuple[tuple[str, Path], ...] = ()  # compiled path arguments: (keyword to fill, path)
    call: Callable[[Any, Any], Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "call", _compile_call(self.spec, dict(self.args), self.paths))

    @property
    def name(self) -> str:
        """The registered name."""
        return self.spec.name

    @property
    def reversible(self) -> bool:
        """True when the transform has a reverse."""
        return self.spec.reverse is not None

    def __call__(self, value: Any, record: Any = None) -> Any:
        """Apply to ``value``; ``record`` feeds path arguments such as ``region_path``."""
        return self.call(value, record)

    def invert(self, value: Any) -> Any:
        """Apply the reverse (canonical value → vendor value)."""
        if self.spec.reverse is None:
            raise TransformError(f"transform {self.name} cannot be reversed")
        if blank(value):
            return value
        return self.spec.reverse(value, **dict(self.args))


def bind(name: str, args: dict[str, Any] | None = None) -> BoundTransform:
    """Validate ``args`` for transform ``name``; raise ValueError saying what was expected."""
    spec = REGISTRY.get(name)
    if spec is None:
        raise ValueError(f"unknown transform {name!r}; expected one of: {', '.join(sorted(REGISTRY))}")
    args = dict(args or {})
    allowed = sorted(spec.required | spec.optional)
    problems = [f"unknown argument {k!r}" for k in args if k not in allowed]
    problems += [f"missing required argument {k!r}" for k in sorted(spec.required - set(args))]
    if problems:
        expected = f"expected {', '.join(allowed)}" if allowed else "it takes no arguments"
        raise ValueError(f"transform {name}: {'; '.join(problems)} ({expected})")
    paths: list[tuple[str, Path]] = []
    for arg, keyword in spec.path_args:
        if arg in args:
            try:
                paths.append((keyword, compile_path(args.pop(arg))))
            except ValueError as exc:
                raise ValueError(f"transform {name}: argument {arg!r}: {exc}") from None
    for arg, options in spec.choices:
        if arg in args and not any(args[arg] is o or (args[arg] == o and type(args[arg]) is type(o))
                                   for o in options):
            shown = ", ".join(dict.fromkeys("null" if o is None else str(o) for o in options))
            raise ValueError(f"transform {name}: argument {arg!r} must be one of {shown}")
    if spec.check:
        try:
            spec.check(args)
        except ValueError as exc:
            raise ValueError(f"transform {name}: {exc}") from None
    return BoundTransform(spec, tuple(args.items()), tuple(paths))


# ---- helpers for transform authors ----------------------------------------------------


def text_of(value: Any, name: str) -> str:
    """Scalar → text (JSON spelling for booleans, no '.0' on whole floats)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    raise TransformError(f"{name} expects a text or number value, got {type(value).__name__}")


def refuse(kind: str, message: str, value: Any) -> None:
    """Report a value this transform drops (returning None for it): ``kind`` of issue, what was expected.

    Outside ``refusals_collected`` (a transform called on its own) nothing is recorded.
    """
    sink = _REFUSED.get()
    if sink is not None:
        sink.append((kind, message, value))


@contextmanager
def refusals_collected() -> Iterator[list[tuple[str, str, Any]]]:
    """Collect the ``refuse`` reports of the transforms called inside: (kind, message, value) each."""
    sink: list[tuple[str, str, Any]] = []
    token = _REFUSED.set(sink)
    try:
        yield sink
    finally:
        _REFUSED.reset(token)


def invalid(on_invalid: str, message: str, value: Any, kept: Any, kind: str = "invalid_value") -> Any:
    """What ``on_invalid`` asks for: raise (``error``), the cleaned text (``keep``) or None, refused as ``kind``."""
    if on_invalid == "error":
        raise TransformError(message, value)
    if on_invalid == "keep":
        return kept
    refuse(kind, message, value)
    return None


def scalar_arg(*names: str) -> Callable[[dict[str, Any]], None]:
    """An argument check: each of ``names``, when given, must be a single value."""

    def check(args: dict[str, Any]) -> None:
        for arg in names:
            if arg in args and isinstance(args[arg], dict | list):
                raise ValueError(f"argument {arg!r} must be a single value, not a list or mapping")

    return check

