"""JSON text of database columns, with a fast path for plain strings (most stored values).

Field values are mostly short strings (names, emails, phone numbers, stages): encoding one
through the general encoder, or decoding its text through the general decoder, costs several
times the work of the string itself. ``dumps`` gives exactly ``json.dumps``'s text; ``loads``
reads a quoted string without escapes by slicing, and everything else with ``json.loads``.
Both engines use them for JSON columns, and PostgreSQL COPY formats with ``dumps`` too.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii
from typing import Any


def dumps(value: Any) -> str:
    """``json.dumps(value)``: the same text, plain strings without the general encoder."""
    return encode_basestring_ascii(value) if type(value) is str else json.dumps(value)


def loads(text: str | bytes) -> Any:
    """``json.loads(text)``: a string holding no escape and no inner quote is sliced out directly."""
    if type(text) is str and len(text) >= 2 and text[0] == '"' and text[-1] == '"' \
            and "\\" not in text and text.count('"') == 2:
        return text[1:-1]
    return json.loads(text)
