"""JSON text of database columns: orjson's speed with the json module's reach.

Both engines use ``dumps`` and ``loads`` for JSON columns, and PostgreSQL COPY formats with
``dumps`` too. A bulk load writes millions of values: a contact's ``attributes`` (a dozen
fields with their sources) take the json module about 6 µs to encode and orjson 0.4 µs.

- ``dumps``: a plain string (most field values) is escaped directly, exactly as
  ``json.dumps`` does. Anything else goes through orjson: compact, non-ASCII characters as
  UTF-8. What orjson refuses — integers beyond 64 bits, strings that are not valid Unicode,
  datetimes and dataclasses (passed through so that they fail as with the json module) — is
  encoded by ``json.dumps``, which raises for what JSON cannot hold. Floats that are not
  numbers (NaN, infinities) become ``null``, as JSON has no such values.
- ``loads``: a quoted string without escapes is sliced out; everything else is read by
  ``json.loads`` (orjson reads an integer beyond 64 bits as an inexact float).
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii
from typing import Any

import orjson

# datetimes and dataclasses are refused as the json module refuses them: a column holds JSON's own types
_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps(value: Any) -> str:
    """JSON text of ``value``; ``json.loads`` of it gives ``value`` back."""
    if type(value) is str:
        return encode_basestring_ascii(value)
    try:
        return orjson.dumps(value, option=_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value)


_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON of ``value`` (a webhook's stored body), with ``dumps``'s fallbacks."""
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except TypeError:
        return _COMPACT.encode(value).encode()


def loads(text: str | bytes) -> Any:
    """The value of JSON ``text``; a string holding no escape and no inner quote is sliced out directly."""
    if type(text) is str and len(text) >= 2 and text[0] == '"' and text[-1] == '"' \
            and "\\" not in text and text.count('"') == 2:
        return text[1:-1]
    return json.loads(text)
