r"""Bounded reading of untrusted JSON: webhook bodies and ``lifesync ingest`` files. Imports nothing of lifesync.

``json.loads`` alone lets a sender choose what breaks: a body nested 50,000 deep raises
``RecursionError``, an integer over 4,300 digits ``ValueError`` (Python's int max-str-digits), and
``NaN``, ``Infinity`` or ``1e400`` become floats that no JSON column can hold again. ``loads`` reads
with limits instead, and every violation is a ``JsonInputError`` (a ValueError) saying what and
where, which a receiver answers with 400 and ``ingest`` turns into a dead letter:

- nesting deeper than ``max_depth`` (checked on the text before the parser recurses);
- a number literal longer than ``max_number`` characters, ``NaN``/``Infinity``, a float out of range;
- a string longer than ``max_string`` characters;
- more than ``max_bytes`` of text, or bytes that are not JSON's encoding (UTF-8, or UTF-16/32 as
  ``json.loads`` detects them).

Escaped lone surrogates (``"\ud800"``) are *replaced* by U+FFFD, not refused. They are not text
(UTF-8 and PostgreSQL cannot hold them), but senders do emit them: JavaScript's ``JSON.stringify``
escapes a lone surrogate, which is what a message cut at a length limit in the middle of an
emoji leaves. The delivery is authentic (verified on its raw bytes) and the rest of it is good, so
refusing it would lose a real event, while a vendor retries it in vain; replacing the one broken
code unit keeps the event and makes it storable, as decoding bytes with ``errors="replace"`` does.

The checks that need a walk of the parsed value (string length, surrogates, depth of one record of
an array) run only when a cheap scan of the text says they could fail, so a typical webhook pays
for a few C-level scans of its text and no Python walk.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import Any


class JsonInputError(ValueError):
    """Input that is not JSON, or exceeds a limit; the message says what and where (line/column when known)."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        where = f" at line {line} column {column}" if line is not None else ""
        super().__init__(f"{message}{where}")
        self.reason, self.line, self.column = message, line, column
        self.ends_reading = False  # Reader.items: nothing after it could be read


@dataclass(frozen=True)
class Limits:
    """How much of each thing one JSON document may hold."""

    max_depth: int = 64  # arrays and objects inside each other; vendor payloads use under 10
    max_number: int = 100  # characters of one number literal; a 64-bit id has 20
    max_string: int = 1_000_000  # characters of one string; HubSpot and Salesforce long text fields hold 65,536-131,072
    max_bytes: int | None = None  # of the whole text; None: the caller caps it (a webhook's MAX_CONTENT_LENGTH)


DEFAULT = Limits()
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATES = re.compile("[\ud800-\udfff]")


def decode(data: bytes | str, limits: Limits = DEFAULT) -> str:
    """The text of a JSON document: UTF-8 (or the UTF-16/32 ``json.loads`` detects), within ``max_bytes``."""
    if limits.max_bytes is not None and len(data) > limits.max_bytes:
        raise JsonInputError(f"the document is {len(data):,} bytes, more than {limits.max_bytes:,}")
    if isinstance(data, str):
        return data
    try:
        return data.decode(json.detect_encoding(data))
    except UnicodeDecodeError as exc:
        raise JsonInputError(f"not valid {exc.encoding.upper()} text (byte {exc.start})") from None


def deepest(text: str) -> int:
    """How deep arrays and objects nest in ``text``, strings aside; without recursion, at C speed."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


class _Refused(Exception):
    """A limit a parser hook found: the reason and the literal, to place it in the text."""

    def __init__(self, reason: str, literal: str):
        super().__init__(reason)
        self.reason, self.literal = reason, literal


class Reader:
    """Parses documents (or the items of one big array, one by one) within ``limits``."""

    def __init__(self, limits: Limits = DEFAULT):
        self.limits = limits
        self._decoder = json.JSONDecoder(parse_int=self._int, parse_float=self._float, parse_constant=self._constant)

    def loads(self, data: bytes | str) -> Any:
        """The value of one JSON document; JsonInputError when it is not JSON or breaks a limit."""
        text = decode(data, self.limits)
        if self.too_deep(text):
            raise JsonInputError(f"arrays and objects nested more than {self.limits.max_depth} deep")
        value, end = self.raw_decode(text, _skip_space(text, 0), self.scan_strings(text))
        if (end := _skip_space(text, end)) != len(text):
            raise JsonInputError("not valid JSON (extra data after the value)", *_position(text, end))
        return value

    def items(self, text: str, at: int) -> Iterator[tuple[Any, int]]:
        """The items of the JSON array starting at ``at``: (value or JsonInputError, offset), one by one.

        An item that breaks a limit, or whose brackets close around a syntax error, comes as its
        JsonInputError and reading goes on after it; any other syntax error ends the array (nothing
        after it can be told apart from it): the last item, marked ``ends_reading``.
        """
        deep = self.too_deep(text)
        walk = deep or self.scan_strings(text)
        at = _skip_space(text, at + 1)
        if text.startswith("]", at):
            return
        while True:
            try:
                if deep and text.startswith(("[", "{"), at):  # measured without recursion before it is parsed
                    end, depth = container_span(text, at)
                    if depth >= self.limits.max_depth:
                        raise JsonInputError(f"arrays and objects nested more than {self.limits.max_depth} deep",
                                             *_position(text, at))
                value, end = self.raw_decode(text, at, walk, depth=1)
            except JsonInputError as exc:
                end = value_end(text, at)
                exc.ends_reading = end is None
                yield exc, at
                if end is None:
                    return
            else:
                yield value, at
            at = _skip_space(text, end)
            if text.startswith("]", at):
                return
            if not text.startswith(",", at):
                error = JsonInputError("not valid JSON (expected ',' or ']' after an array item)", *_position(text, at))
                error.ends_reading = True
                yield error, at
                return
            at = _skip_space(text, at + 1)

    def too_deep(self, text: str) -> bool:
        """True when arrays and objects nest deeper than ``max_depth`` in ``text`` (a count of openers first)."""
        limit = self.limits.max_depth
        return text.count("[") + text.count("{") > limit and deepest(text) > limit

    def scan_strings(self, text: str) -> bool:
        """True when ``text`` could hold a string too long or a lone surrogate (its values need ``checked``)."""
        limit = self.limits.max_string
        long_strings = len(text) > limit and max(map(len, text.split('"'))) > limit
        return long_strings or _SURROGATE_ESCAPE.search(text) is not None

    def raw_decode(self, text: str, at: int, walk: bool = True, depth: int = 0) -> tuple[Any, int]:
        """The value starting at ``at`` and where it ends; ``walk`` checks its strings, ``depth`` is where it sits."""
        try:
            value, end = self._decoder.raw_decode(text, at)
        except json.JSONDecodeError as exc:
            raise JsonInputError(f"not valid JSON ({exc.msg})", exc.lineno, exc.colno) from None
        except RecursionError:
            raise JsonInputError("arrays and objects nested too deep", *_position(text, at)) from None
        except _Refused as exc:
            raise JsonInputError(exc.reason, *_position(text, text.find(exc.literal, at))) from None
        return (self.checked(value, depth) if walk else value), end

    def checked(self, value: Any, depth: int = 0) -> Any:
        """``value`` with lone surrogates replaced; JsonInputError for a string too long or nesting too deep."""
        if isinstance(value, str):
            if len(value) > self.limits.max_string:
                raise JsonInputError(f"a string of {len(value):,} characters (at most {self.limits.max_string:,})")
            return value if value.isascii() else _SURROGATES.sub("\ufffd", value)
        if isinstance(value, list | dict):
            if depth >= self.limits.max_depth:
                raise JsonInputError(f"arrays and objects nested more than {self.limits.max_depth} deep")
            if isinstance(value, list):
                return [self.checked(v, depth + 1) for v in value]
            return {self.checked(k): self.checked(v, depth + 1) for k, v in value.items()}
        return value

    def _number(self, literal: str) -> None:
        if len(literal) > self.limits.max_number:
            raise _Refused(f"a number of {len(literal):,} characters (at most {self.limits.max_number})", literal)

    def _int(self, literal: str) -> int:
        self._number(literal)
        return int(literal)

    def _float(self, literal: str) -> float:
        self._number(literal)
        value = float(literal)
        if not math.isfinite(value):
            raise _Refused(f"the number {literal} is out of range", literal)
        return value

    def _constant(self, literal: str) -> Any:
        raise _Refused(f"{literal} is not a JSON value", literal)


_LENIENT = json.JSONDecoder(parse_int=len, parse_float=len, parse_constant=len)
_SPACE = re.compile(r"[ \t\n\r]*")


def value_end(text: str, at: int) -> int | None:
    """Where the value at ``at`` ends, read without limits; None when it is no JSON value at all.

    An array or object too deep for the parser, or broken inside, ends where its brackets close.
    """
    try:
        return _LENIENT.raw_decode(text, at)[1]
    except (json.JSONDecodeError, RecursionError):
        return container_span(text, at)[0] if text.startswith(("[", "{"), at) else None


def container_span(text: str, at: int) -> tuple[int | None, int]:
    """(end, depth) of the array or object starting at ``at``, by its brackets alone; end None when it never closes."""
    depth = most = 0
    for token in _TOKEN.finditer(text, at):
        bracket = token.group()
        if bracket in "[{":
            depth += 1
            most = max(most, depth)
        elif bracket in "]}":
            depth -= 1
            if depth == 0:
                return token.end(), most
    return None, most


def _skip_space(text: str, at: int) -> int:
    match = _SPACE.match(text, at)
    return match.end() if match else at


def _position(text: str, at: int) -> tuple[int, int]:
    """1-based (line, column) of offset ``at``."""
    at = max(at, 0)
    return text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1


_READER = Reader()


def loads(data: bytes | str, limits: Limits = DEFAULT) -> Any:
    """The value of one untrusted JSON document within ``limits`` (see the module docstring)."""
    return (_READER if limits is DEFAULT else Reader(limits)).loads(data)
