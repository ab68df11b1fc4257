"""Survivorship: choose a field's winning value among the candidates of every source.

Pure functions over candidate sets. Each source keeps one candidate per (contact, field)
— its newest by the source's own timestamp — and the winner is computed from the set, so
neither step depends on arrival order. Ties always break on (source name, value), never on
arrival. A blank value never beats a non-blank one: a record that lacks a field is not a
deletion of another system's good data; the field clears only when every source cleared it.

Consent (``consent.<purpose>`` slots, values true = granted, false = withdrawn) has its own
rule, the same for a source's kept candidate and for the winner among sources: the most
recent wins, and at equal times a withdrawal wins over a grant (then the source name
decides), so no order of the same candidates gives another result.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sync.config.types import FieldRule

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Candidate(NamedTuple):
    """One source's value for one field, stamped with the source's own modification time.

    A named tuple rather than a dataclass: millions are made per ingest, and tuples are cheap.
    """

    source: str
    value: Any
    source_time: datetime | None
    record_id: str | None = None


def is_blank(value: Any) -> bool:
    """None, empty or whitespace-only strings, and empty lists/dicts are blank."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | dict):
        return not value
    return False


def value_key(value: Any) -> str:
    """A total, deterministic ordering key for any JSON value (strings skip the encoder)."""
    if type(value) is str:
        return "s" + value
    return "j" + json.dumps(value, sort_keys=True, default=str)


def _time(c: Candidate) -> datetime:
    return c.source_time or EPOCH


def _newest_key(c: Candidate) -> tuple[datetime, str, str]:
    return (_time(c), c.source, value_key(c.value))


def newer(current: Candidate | None, incoming: Candidate) -> Candidate:
    """The candidate a source keeps: the newer by source time; equal times break on value."""
    if current is None:
        return incoming
    return max(current, incoming, key=_newest_key)


CONSENT_PREFIX = "consent."  # the candidate slot of a consent purpose: ``consent.marketing_email``


def consent_slot(purpose: str) -> str:
    """The field name a purpose's consent candidates are kept under."""
    return CONSENT_PREFIX + purpose


def consent_purpose(name: str) -> str | None:
    """The purpose a slot name holds consent for; None for an ordinary field."""
    return name[len(CONSENT_PREFIX):] if name.startswith(CONSENT_PREFIX) else None


def _consent_key(c: Candidate) -> tuple[datetime, bool, str, str, str]:
    return (_time(c), c.value is False, c.source, value_key(c.value), c.record_id or "")


def consent_winner(candidates: Iterable[Candidate]) -> Candidate | None:
    """The consent that holds: the most recent; at equal times a withdrawal (false) over a grant.

    Only true/false candidates count (None: no consent recorded).
    """
    known = [c for c in candidates if isinstance(c.value, bool)]
    return max(known, key=_consent_key) if known else None


def kept(name: str, current: Candidate | None, incoming: Candidate) -> Candidate:
    """The candidate a source keeps for field ``name``: ``newer``, or for a consent slot the consent rule."""
    if current is None:
        return incoming
    if name.startswith(CONSENT_PREFIX):
        return max(current, incoming, key=_consent_key)
    return newer(current, incoming)


def _number_or_text(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (1, str(value))
    if isinstance(value, int | float):
        return (0, value)
    try:
        return (0, float(value))
    except (TypeError, ValueError):
        return (1, str(value))


def choose(rule: FieldRule, candidates: Iterable[Candidate]) -> Candidate | None:
    """The winning candidate under ``rule``, or None when every candidate is blank."""
    filled = [c for c in candidates if not is_blank(c.value)]
    if len(filled) <= 1:
        return filled[0] if filled else None
    if rule.rule == "newest":
        return max(filled, key=_newest_key)
    if rule.rule == "first":
        return min(filled, key=_newest_key)
    if rule.rule in ("max", "min"):
        def key(c: Candidate) -> tuple[tuple[int, Any], str, str]:
            return (_number_or_text(c.value), c.source, value_key(c.value))
        return max(filled, key=key) if rule.rule == "max" else min(filled, key=key)
    if rule.rule in ("priority", "prefer"):
        order = {source: i for i, source in enumerate(rule.sources)}
        ranked = [c for c in filled if c.source in order]
        if ranked:
            best = min(order[c.source] for c in ranked)
            return max((c for c in ranked if order[c.source] == best), key=_newest_key)
        return max(filled, key=_newest_key)
    raise ValueError(f"unknown survivorship rule {rule.rule!r}")


def disagreement(candidates: Iterable[Candidate]) -> bool:
    """True when non-blank candidates hold more than one distinct value."""
    filled = [c.value for c in candidates if not is_blank(c.value)]
    return len(filled) > 1 and len({value_key(v) for v in filled}) > 1
