"""The reason class of a dead letter: its reason with what varies from letter to letter taken out.

Dead letters are triaged by (stage, source or destination, reason class): a thousand records
refused for the same cause are one group, whatever their ids and values. The class is derived
from the reason by :func:`reason_class` when a letter is written (the column's default, so every
writer gets it) or its reason is refreshed (:func:`reason_values`), and stored, so grouping
millions of letters is an index scan, never a pass of Python over their text.

Taken out: record ids (``record <id>:``), quoted values (as a bare "…"), e-mail addresses, URLs, and every word
holding a digit (numbers, hex and UUID ids, phone numbers); what a value was (``(got …)``) too.
HTTP statuses stay (``HTTP 400`` and ``HTTP 500`` are different causes). The class holds no
personal data a reason could carry, and is the same text for the same cause.

It lives in ``sync.store`` because the model's column default calls it on every insert.
"""

from __future__ import annotations

import re

MAX_CHARS = 255
PLACEHOLDER = "…"

_STEPS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\brecord \S+?(?=: |:$)"), "record " + PLACEHOLDER),  # "<source> <object> record <id>: why"
    (re.compile(r"\(got .*\)"), f"(got {PLACEHOLDER})"),  # a mapping's "(got <value>)"
    (re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE), "<url>"),
    (re.compile(r"[\w.+-][\w.+'-]*@[\w-]+(?:\.[\w-]+)+"), "<email>"),
    # a quoted value becomes the bare placeholder: a quote mark in it could pair with a stray one
    (re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"|`[^`\n]*`"), PLACEHOLDER),
    (re.compile(r"\+(?=\d)"), ""),  # a phone number's plus sign: the number goes below
)
_STATUS = re.compile(r"\b(?:HTTP|status|code)[ :=]+$", re.IGNORECASE)
_DIGITS = re.compile(r"(?<![\w-])(?=[\w.:-]*\d)[\w.:-]*\w")  # a word with a digit in it
_NUMBERS = re.compile(r"\(?#(?:[ ().-]*#)+")  # "(555) 123-4567", "+44 7911 123456": one number
_SPACES = re.compile(r"\s+")


def _number(match: re.Match[str]) -> str:
    word = match.group()
    before = match.string[max(0, match.start() - 12):match.start()]
    if len(word) == 3 and word.isdigit() and _STATUS.search(before):
        return word  # an HTTP status names a cause
    return "#"


def reason_class(reason: str | None) -> str:
    """The stable class of a dead letter's ``reason`` (see the module docstring)."""
    text = _SPACES.sub(" ", reason or "")  # first: what a newline or tab splits is one word, quote or number
    for pattern, replacement in _STEPS:
        text = pattern.sub(replacement, text)
    text = _NUMBERS.sub("#", _DIGITS.sub(_number, text))
    text = _SPACES.sub(" ", text).strip()
    return text[:MAX_CHARS] or "(no reason)"


def reason_values(reason: str) -> dict[str, str]:
    """The column values of a letter whose reason is (re)set: its reason and its class."""
    return {"reason": reason, "reason_class": reason_class(reason)}
