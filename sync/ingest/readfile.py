"""Records from an input file for ``lifesync ingest``: a JSON array, one JSON object, or JSON lines.

Read with ``sync.connectors.jsonread``'s limits, record by record, so that one bad record never
stops a file: a line (or array item) that is not JSON, or breaks a limit (nesting, a number of
thousands of digits, ``NaN``...), comes out as ``Unreadable`` — where it is, why, and its text —
which ``map_records`` turns into a dead letter beside the records that did land. An array whose
syntax breaks outside any item's brackets cannot be read past that point: everything from there is
one ``Unreadable``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sync.connectors.jsonread import JsonInputError, Reader, decode, value_end

KEPT_TEXT = 2000  # characters of an unreadable record kept as its dead letter's payload
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # neither PostgreSQL's text nor UTF-8 holds these


@dataclass(frozen=True)
class Unreadable:
    """Part of an input file that is no record: where (file, line, record), why, and the start of its text."""

    where: str
    reason: str
    text: str

    @property
    def message(self) -> str:
        """The dead letter's reason: where and why."""
        return f"{self.where}: {self.reason}"


def _unreadable(name: str, where: str, exc: JsonInputError, text: str) -> Unreadable:
    reason = exc.reason + (f" (column {exc.column})" if exc.column is not None else "")
    return Unreadable(f"{name} {where}", reason, _UNSTORABLE.sub("\ufffd", text[:KEPT_TEXT]))


def records(name: str, data: bytes | str, reader: Reader | None = None) -> Iterator[Any]:
    """The records of one file's contents (``name`` for messages): values, and ``Unreadable`` for the rest.

    Raises JsonInputError only when the whole file is unreadable (not UTF-8, or not JSON at all).
    """
    reader = reader or Reader()
    text = decode(data)
    start = len(text) - len(text.lstrip())
    end = value_end(text, start)
    whole = end is not None and not text[end:].strip()  # one value (else JSON lines)
    if text.startswith("[", start) and (whole or end is None):  # an array of records (or a broken one)
        yield from _array(name, text, start, reader)
        return
    if whole:  # one (possibly pretty-printed) value
        try:
            yield reader.loads(text)
        except JsonInputError as exc:
            yield _unreadable(name, "record 1", exc, text[start:])
        return
    if not text.startswith(("{", "["), start):  # CSV, XML, prose...: not one dead letter a line
        line = text.count("\n", 0, start) + 1
        raise JsonInputError(f"expected a JSON array, one JSON value, or JSON lines (one object a line); line {line} "
                             f"starts with {text[start:start + 10]!r}")
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield reader.loads(line)
        except JsonInputError as exc:
            yield _unreadable(name, f"line {lineno}", exc, line)


def _array(name: str, text: str, start: int, reader: Reader) -> Iterator[Any]:
    for n, (value, at) in enumerate(reader.items(text, start)):
        if not isinstance(value, JsonInputError):
            yield value
            continue
        line = text.count("\n", 0, at) + 1
        where = f"record {n + 1} (line {line})"
        if value.ends_reading:
            where += " and everything after it"
        yield _unreadable(name, where, value, text[at:])
