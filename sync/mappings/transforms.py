"""The transform registry: named pure functions a mapping file can chain on a value.

Each transform is ``fn(value, **args)``. Its keyword-only parameters are its arguments:
those without a default are required, and a mapping naming any other argument fails at
load. None and blank strings pass through untouched, except for ``default``, ``constant``
and ``first_non_empty``, which exist to handle them. A transform may declare a reverse
(used when a mapping writes canonical values back to the vendor); a field with direction
``out``/``both`` may only chain reversible transforms.

Errors say what was expected; the offending value travels separately on
``TransformError.value`` so the engine can decide whether it may be shown (never for
personal data).
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import phonenumbers

from sync.mappings.paths import Path, compile_path, get_path

__all__ = ["REGISTRY", "BoundTransform", "TransformDef", "TransformError", "bind", "transform"]


class TransformError(ValueError):
    """A value could not be transformed; ``value`` is the offending input (maybe personal data)."""

    def __init__(self, message: str, value: Any = None):
        self.value = value
        super().__init__(message)


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
_NO_DEFAULT: Any = object()


def transform(
    name: str,
    reverse: Callable[..., Any] | None = None,
    *,
    check: Callable[[dict[str, Any]], None] | None = None,
    choices: dict[str, tuple[Any, ...]] | None = None,
    handles_blank: bool = False,
    pii: bool = False,
    path_args: dict[str, str] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn(value, **args)`` under ``name`` (a decorator)."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
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


@dataclass(frozen=True)
class BoundTransform:
    """A transform with its validated arguments, ready to apply."""

    spec: TransformDef
    args: tuple[tuple[str, Any], ...] = ()
    paths: tuple[tuple[str, Path], ...] = ()  # compiled path arguments: (keyword to fill, path)

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
        if not self.spec.handles_blank and _blank(value):
            return value
        extra = {kw: get_path(record, path) for kw, path in self.paths}
        return self.spec.fn(value, **dict(self.args), **extra)

    def invert(self, value: Any) -> Any:
        """Apply the reverse (canonical value → vendor value)."""
        if self.spec.reverse is None:
            raise TransformError(f"transform {self.name} cannot be reversed")
        if _blank(value):
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


# ---- helpers ---------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any, name: str) -> str:
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


def _identity(v: Any, /, **_: Any) -> Any:
    return v


def _to_str(v: Any, /, **_: Any) -> str:
    return _text(v, "reverse")


def _scalar_arg(*names: str) -> Callable[[dict[str, Any]], None]:
    def check(args: dict[str, Any]) -> None:
        for arg in names:
            if arg in args and isinstance(args[arg], dict | list):
                raise ValueError(f"argument {arg!r} must be a single value, not a list or mapping")

    return check


def _invalid(on_invalid: str, message: str, value: Any, kept: Any) -> Any:
    if on_invalid == "error":
        raise TransformError(message, value)
    return kept if on_invalid == "keep" else None


ON_INVALID = ("null", None, "error", "keep")  # YAML reads `on_invalid: null` as None


# ---- text ------------------------------------------------------------------------------


@transform("strip", reverse=_identity)
def strip(v: Any, /) -> str:
    """Trim surrounding whitespace."""
    return _text(v, "strip").strip()


@transform("lower", reverse=_identity)
def lower(v: Any, /) -> str:
    """Lowercase."""
    return _text(v, "lower").lower()


@transform("upper", reverse=_identity)
def upper(v: Any, /) -> str:
    """Uppercase."""
    return _text(v, "upper").upper()


@transform("string", reverse=_identity)
def string(v: Any, /) -> str:
    """Convert a scalar to text."""
    return _text(v, "string")


@transform("digits")
def digits(v: Any, /) -> str | None:
    """Keep only the digits (None when there are none)."""
    return "".join(ch for ch in _text(v, "digits") if ch.isdigit()) or None


def _unprefix(v: Any, /, *, value: str) -> str:
    text = _text(v, "prefix")
    return text[len(value) :] if text.startswith(value) else text


def _check_prefix(args: dict[str, Any]) -> None:
    if not isinstance(args["value"], str) or not args["value"]:
        raise ValueError("argument 'value' must be a non-empty text")


@transform("prefix", reverse=_unprefix, check=_check_prefix)
def prefix(v: Any, /, *, value: str) -> str:
    """Prepend ``value`` unless the text already starts with it (e.g. '+' before a wa_id)."""
    text = _text(v, "prefix").strip()
    return text if text.startswith(value) else value + text


@transform("split_name", choices={"part": ("first", "last")}, pii=True)
def split_name(v: Any, /, *, part: str) -> str | None:
    """First word of a full name (``part: first``) or the rest of it (``part: last``)."""
    words = _text(v, "split_name").split()
    if part == "first":
        return words[0] if words else None
    return " ".join(words[1:]) or None


def _check_join(args: dict[str, Any]) -> None:
    if not isinstance(args.get("sep", " "), str):
        raise ValueError("argument 'sep' must be text")


@transform("join", check=_check_join)
def join(v: Any, /, *, sep: str = " ") -> str | None:
    """Join a list's non-blank items with ``sep``."""
    items = v if isinstance(v, list) else [v]
    return sep.join(_text(i, "join").strip() for i in items if not _blank(i)) or None


@transform("first_non_empty", handles_blank=True)
def first_non_empty(v: Any, /) -> Any:
    """The first item of a list that is not null, blank or empty."""
    for item in v if isinstance(v, list) else [v]:
        if not _blank(item) and item != [] and item != {}:
            return item
    return None


@transform("constant", check=_scalar_arg("value"), handles_blank=True)
def constant(v: Any, /, *, value: Any) -> Any:
    """Always ``value``, whatever the input."""
    return value


@transform("default", reverse=_identity, check=_scalar_arg("value"), handles_blank=True)
def default(v: Any, /, *, value: Any) -> Any:
    """``value`` when the input is null or blank, else the input."""
    return value if _blank(v) else v


# ---- contact points --------------------------------------------------------------------


def _check_phone(args: dict[str, Any]) -> None:
    if args.get("region", "US") not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("argument 'region' must be a two-letter ISO region code such as US, GB or MX")


def _parse_phone(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    if sum(ch.isdigit() for ch in text) < 7:
        return None  # too short to be anyone's contact number (phonenumbers allows 4-6 digits in places)
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not number.national_number:
        return None  # all zeros, which phonenumbers accepts for a few regions
    if not phonenumbers.is_valid_number(number) and number.country_code == 52:
        # WhatsApp still writes Mexican mobiles with the '1' Mexico dropped in 2019
        national = str(number.national_number)
        if len(national) == 11 and national.startswith("1"):
            number = phonenumbers.parse(f"+52{national[1:]}")
    return number if phonenumbers.is_valid_number(number) else None


@transform("e164", reverse=_identity, check=_check_phone, choices={"on_invalid": ON_INVALID}, pii=True,
           path_args={"region_path": "record_region"})
def e164(v: Any, /, *, region: str = "US", on_invalid: str = "null", record_region: Any = None) -> str | None:
    """Normalise a phone number to E.164 (``+15551234567``); ``region_path`` reads the region."""
    text = _text(v, "e164").strip()
    if isinstance(record_region, str) and record_region.strip().upper() in phonenumbers.SUPPORTED_REGIONS:
        region = record_region.strip().upper()
    number = _parse_phone(text, region)
    if number is None:
        return _invalid(on_invalid, f"not a valid phone number for region {region}", v, text)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_EMAIL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)


@transform("email", reverse=_identity, choices={"on_invalid": ON_INVALID}, pii=True)
def email(v: Any, /, *, on_invalid: str = "null") -> str | None:
    """Trim and lowercase an email address and check it looks like local@domain.tld."""
    text = _text(v, "email").strip().lower()
    if _EMAIL.fullmatch(text):
        return text
    return _invalid(on_invalid, "not a valid email address (expected local@domain.tld)", v, text)


# ---- numbers and booleans --------------------------------------------------------------


_INT = re.compile(r"[+-]?\d+(?:\.0*)?")
_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


@transform("int", reverse=_to_str)
def to_int(v: Any, /) -> int:
    """Whole number from a number or numeric text."""
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and _INT.fullmatch(v.strip()):
        return int(v.strip().split(".")[0])
    raise TransformError("expected a whole number", v)


@transform("float", reverse=_to_str)
def to_float(v: Any, /) -> float:
    """Decimal number from a number or numeric text."""
    if isinstance(v, int | float) and not isinstance(v, bool):
        result = float(v)
    elif isinstance(v, str) and _FLOAT.fullmatch(v.strip()):
        result = float(v.strip())
    else:
        raise TransformError("expected a number", v)
    if not math.isfinite(result):
        raise TransformError("expected a finite number", v)
    return result


_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})


@transform("bool", reverse=_to_str)
def to_bool(v: Any, /) -> bool:
    """Boolean from true/false, yes/no, 1/0 or on/off (any case)."""
    if isinstance(v, bool):
        return v
    text = _text(v, "bool").strip().lower() if isinstance(v, str | int | float) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise TransformError("expected true/false, yes/no, 1/0 or on/off", v)


# ---- dates -----------------------------------------------------------------------------


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NUMERIC = re.compile(r"[+-]?\d+(?:\.\d+)?")
_MS_THRESHOLD = 100_000_000_000  # 1e11 s is the year 5138; 1e11 ms is 1973


def parse_instant(v: Any) -> datetime:
    """Aware UTC datetime from epoch s/ms (number or text), ISO 8601 text, or date/datetime."""
    if isinstance(v, datetime):
        return (v if v.tzinfo else v.replace(tzinfo=UTC)).astimezone(UTC)
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day, tzinfo=UTC)
    expected = "expected epoch seconds/milliseconds or an ISO 8601 date or date-time"
    if isinstance(v, str) and _NUMERIC.fullmatch(v.strip()):
        v = float(v) if "." in v else int(v)
    if isinstance(v, int | float) and not isinstance(v, bool):
        try:
            if abs(v) >= _MS_THRESHOLD:
                return _EPOCH + timedelta(milliseconds=v)
            return _EPOCH + timedelta(seconds=v)
        except (OverflowError, ValueError):
            raise TransformError(f"{expected} (out of range)", v) from None
    if not isinstance(v, str):
        raise TransformError(expected, v)
    text = v.strip()
    if text[-1:] in ("z", "Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise TransformError(expected, v) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date_out(v: Any, /) -> str:
    if isinstance(v, str) and _DATE_ONLY.fullmatch(v.strip()):
        date.fromisoformat(v.strip())  # validates the calendar date
        return v.strip()
    return parse_instant(v).date().isoformat()


@transform("date", reverse=lambda v, /: to_date(v))
def to_date(v: Any, /) -> str:
    """``YYYY-MM-DD`` from any input ``datetime`` accepts (the UTC date of an instant)."""
    try:
        return _date_out(v)
    except ValueError as exc:
        raise TransformError(str(exc) if isinstance(exc, TransformError) else "expected a date", v) from None


@transform("datetime", reverse=lambda v, /: parse_instant(v).isoformat())
def to_datetime(v: Any, /) -> datetime:
    """Timezone-aware UTC datetime from epoch s/ms, ISO 8601 (Z, offsets, fractions) or a date."""
    return parse_instant(v)


# ---- lookup ----------------------------------------------------------------------------


def _key(v: Any, case_insensitive: bool) -> str:
    text = _text(v, "map").strip()
    return text.lower() if case_insensitive else text


def _check_map(args: dict[str, Any]) -> None:
    for arg in ("values", "reverse"):
        table = args.get(arg, {})
        if not isinstance(table, dict) or (arg == "values" and not table):
            raise ValueError(f"argument {arg!r} must be a mapping of from: to")
        if any(isinstance(x, dict | list) for pair in table.items() for x in pair):
            raise ValueError(f"argument {arg!r} must map single values to single values")
        if None in table:
            raise ValueError(f"argument {arg!r}: a key cannot be null (quote it: 'null')")
    _scalar_arg("default")(args)


def _unmap(v: Any, /, *, values: dict[Any, Any], default: Any = _NO_DEFAULT,
           case_insensitive: bool = True, reverse: dict[Any, Any] | None = None) -> Any:
    inverse: dict[str, Any] = {}
    for source, target in values.items():
        if target is not None:
            inverse.setdefault(_key(target, case_insensitive), source)
    inverse.update({_key(k, case_insensitive): t for k, t in (reverse or {}).items()})
    found = inverse.get(_key(v, case_insensitive), _NO_DEFAULT)
    if found is _NO_DEFAULT:
        raise TransformError("no reverse mapping for this value (add it under map's 'reverse')", v)
    return found


@transform("map", reverse=_unmap, check=_check_map, choices={"case_insensitive": (True, False)})
def map_values(v: Any, /, *, values: dict[Any, Any], default: Any = _NO_DEFAULT,
               case_insensitive: bool = True, reverse: dict[Any, Any] | None = None) -> Any:
    """Look the value up in ``values``; unmapped values give ``default`` or an error."""
    if isinstance(v, dict | list):
        raise TransformError("map expects a single value, not a list or mapping")
    wanted = _key(v, case_insensitive)
    for source, target in values.items():
        if _key(source, case_insensitive) == wanted:
            return target
    if default is _NO_DEFAULT:
        shown = ", ".join(str(k) for k in list(values)[:10])
        raise TransformError(f"value is not one of the mapped values ({shown}) and no default is set", v)
    return default
