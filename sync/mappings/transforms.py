"""The built-in transforms, grouped by what they work on; the machinery is ``sync.mappings.registry``.

Text (strip, lower, upper, string, digits, prefix, split_name, join, first_non_empty,
constant, default), contact points (e164, email), numbers and booleans (int, float, bool, not,
consent),
dates (date, datetime) and lookup (map). Every transform is a pure function of its value
and arguments, so the costly ones (phone and e-mail checks, date parsing) memoise their work
on text inputs in bounded caches (``registry.memo``): a record's phone is parsed once even
when both an identity and a field read it.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import phonenumbers

from sync.mappings.registry import (
    ON_INVALID,
    REGISTRY,
    BoundTransform,
    TransformDef,
    TransformError,
    bind,
    blank,
    invalid,
    memo,
    refuse,
    scalar_arg,
    text_of,
    transform,
)
from sync.utc import utc

__all__ = [
    "REGISTRY", "BoundTransform", "TransformDef", "TransformError", "bind", "parse_instant", "to_bool", "to_float",
    "transform",
]

_NO_DEFAULT: Any = object()


def _identity(v: Any, /, **_: Any) -> Any:
    return v


def _to_str(v: Any, /, **_: Any) -> str:
    return text_of(v, "reverse")


# ---- text ------------------------------------------------------------------------------


@transform("strip", reverse=_identity)
def strip(v: Any, /) -> str:
    """Trim surrounding whitespace."""
    return text_of(v, "strip").strip()


@transform("lower", reverse=_identity)
def lower(v: Any, /) -> str:
    """Lowercase."""
    return text_of(v, "lower").lower()


@transform("upper", reverse=_identity)
def upper(v: Any, /) -> str:
    """Uppercase."""
    return text_of(v, "upper").upper()


@transform("string", reverse=_identity)
def string(v: Any, /) -> str:
    """Convert a scalar to text."""
    return text_of(v, "string")


@transform("digits")
def digits(v: Any, /) -> str | None:
    """Keep only the digits (None when there are none)."""
    return "".join(ch for ch in text_of(v, "digits") if ch.isdigit()) or None


def _unprefix(v: Any, /, *, value: str) -> str:
    text = text_of(v, "prefix")
    return text[len(value) :] if text.startswith(value) else text


def _check_prefix(args: dict[str, Any]) -> None:
    if not isinstance(args["value"], str) or not args["value"]:
        raise ValueError("argument 'value' must be a non-empty text")


@transform("prefix", reverse=_unprefix, check=_check_prefix)
def prefix(v: Any, /, *, value: str) -> str:
    """Prepend ``value`` unless the text already starts with it (e.g. '+' before a wa_id)."""
    text = text_of(v, "prefix").strip()
    return text if text.startswith(value) else value + text


@transform("split_name", choices={"part": ("first", "last")}, pii=True)
def split_name(v: Any, /, *, part: str) -> str | None:
    """First word of a full name (``part: first``) or the rest of it (``part: last``)."""
    words = text_of(v, "split_name").split()
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
    return sep.join(text_of(i, "join").strip() for i in items if not blank(i)) or None


@transform("first_non_empty", handles_blank=True)
def first_non_empty(v: Any, /) -> Any:
    """The first item of a list that is not null, blank or empty."""
    for item in v if isinstance(v, list) else [v]:
        if not blank(item) and item != [] and item != {}:
            return item
    return None


@transform("constant", check=scalar_arg("value"), handles_blank=True)
def constant(v: Any, /, *, value: Any) -> Any:
    """Always ``value``, whatever the input."""
    return value


@transform("default", reverse=_identity, check=scalar_arg("value"), handles_blank=True)
def default(v: Any, /, *, value: Any) -> Any:
    """``value`` when the input is null or blank, else the input."""
    return value if blank(v) else v


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


@memo
def _e164_text(text: str, region: str) -> str | None:
    """E.164 spelling of ``text`` read in ``region``, None when it is not a valid number."""
    number = _parse_phone(text, region)
    return None if number is None else phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@transform("e164", reverse=_identity, check=_check_phone, choices={"on_invalid": ON_INVALID}, pii=True,
           path_args={"region_path": "record_region"})
def e164(v: Any, /, *, region: str = "US", on_invalid: str = "null", record_region: Any = None) -> str | None:
    """Normalise a phone number to E.164 (``+15551234567``); ``region_path`` reads the region."""
    text = text_of(v, "e164").strip()
    if isinstance(record_region, str) and record_region.strip().upper() in phonenumbers.SUPPORTED_REGIONS:
        region = record_region.strip().upper()
    found = _e164_text(text, region)
    if found is None:
        return invalid(on_invalid, f"not a valid phone number for region {region}", v, text, "invalid_phone")
    return found


_EMAIL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)


@memo
def _is_email(text: str) -> bool:
    return _EMAIL.fullmatch(text) is not None


@transform("email", reverse=_identity, choices={"on_invalid": ON_INVALID}, pii=True)
def email(v: Any, /, *, on_invalid: str = "null") -> str | None:
    """Trim and lowercase an email address and check it looks like local@domain.tld."""
    text = text_of(v, "email").strip().lower()
    if _is_email(text):
        return text
    return invalid(on_invalid, "not a valid email address (expected local@domain.tld)", v, text, "invalid_email")


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
    text = text_of(v, "bool").strip().lower() if isinstance(v, str | int | float) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise TransformError("expected true/false, yes/no, 1/0 or on/off", v)


def _invert(v: Any, /) -> bool:
    return not to_bool(v)


@transform("not", reverse=_invert)
def invert(v: Any, /) -> bool:
    """The opposite boolean (``HasOptedOutOfEmail: true`` → consent false); reads what ``bool`` reads."""
    return not to_bool(v)


# a vendor's word for a consent state: granted (true) or withdrawn (false); matched trimmed, any case,
# spaces and hyphens read as _
CONSENT_WORDS: dict[str, bool] = {
    **dict.fromkeys(("granted", "grant", "opt_in", "opted_in", "optin", "subscribed", "subscribe", "yes", "true",
                     "1", "resume", "start", "unstop", "consent", "consented", "accepted", "allow", "allowed"), True),
    **dict.fromkeys(("denied", "deny", "opt_out", "opted_out", "optout", "unsubscribed", "unsubscribe",
                     "not_subscribed", "no", "false", "0", "stop", "stopall", "cancel", "end", "quit", "revoked",
                     "withdrawn", "declined", "rejected", "إلغاء", "الغاء", "ايقاف", "إيقاف", "توقف"), False),
}


@transform("consent")
def consent(v: Any, /) -> bool | None:
    """Consent from a vendor's word: granted/opt_in/subscribed/yes/resume/... true, denied/opt_out/unsubscribed/
    no/stop/... false (Arabic STOP words too); any other word is refused (a data-quality issue), not guessed.
    """
    if isinstance(v, bool):
        return v
    text = text_of(v, "consent").strip().lower().replace("-", "_").replace(" ", "_")
    found = CONSENT_WORDS.get(text)
    if found is None:
        refuse("invalid_value", "not a consent value (expected granted/denied, opt_in/opt_out, subscribed/"
               "unsubscribed, yes/no, true/false, stop/resume)", v)
    return found


# ---- dates -----------------------------------------------------------------------------


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NUMERIC = re.compile(r"[+-]?\d+(?:\.\d+)?")
_MS_THRESHOLD = 100_000_000_000  # 1e11 s is the year 5138; 1e11 ms is 1973


def parse_instant(v: Any) -> datetime:
    """Aware UTC datetime from epoch s/ms (number or text), ISO 8601 text, or date/datetime."""
    if isinstance(v, str):
        return _instant_from_text(v)
    if isinstance(v, datetime):
        return utc(v)
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day, tzinfo=UTC)
    if isinstance(v, int | float) and not isinstance(v, bool):
        return _instant_from_epoch(v)
    raise TransformError(_EXPECTED_INSTANT, v)


_EXPECTED_INSTANT = "expected epoch seconds/milliseconds or an ISO 8601 date or date-time"


def _instant_from_epoch(v: float) -> datetime:
    try:
        if abs(v) >= _MS_THRESHOLD:
            return _EPOCH + timedelta(milliseconds=v)
        return _EPOCH + timedelta(seconds=v)
    except (OverflowError, ValueError):
        raise TransformError(f"{_EXPECTED_INSTANT} (out of range)", v) from None


@memo
def _instant_from_text(v: str) -> datetime:
    """``parse_instant`` for text (memoised: a record's times are often read by several specs)."""
    if _NUMERIC.fullmatch(v.strip()):
        return _instant_from_epoch(float(v) if "." in v else int(v))
    text = v.strip()
    if text[-1:] in ("z", "Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise TransformError(_EXPECTED_INSTANT, v) from None
    return utc(parsed)


_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date_out(v: Any, /) -> str:
    if isinstance(v, str):
        return _date_from_text(v)
    return parse_instant(v).date().isoformat()


@memo
def _date_from_text(v: str) -> str:
    if _DATE_ONLY.fullmatch(v.strip()):
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
    text = text_of(v, "map").strip()
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
    scalar_arg("default")(args)


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
    shown = ", ".join(str(k) for k in list(values)[:10]) + (", ..." if len(values) > 10 else "")
    if default is _NO_DEFAULT:
        raise TransformError(f"value is not one of the mapped values ({shown}) and no default is set", v)
    if default is None:  # `default: null`: the value is dropped, and recorded as refused
        refuse("unmapped_value", f"not one of the mapped values ({shown})", v)
    return default
