"""Which ad touch a conversion is attributed to.

Destinations use the **last** touch, at or before the conversion, that the network can
attribute: one carrying one of its click ids, or one its own rule accepts (Meta: a
click-to-message ad referral on WhatsApp, Messenger or Instagram). Each network declares this
as its ``TouchRules``. Reports also use the **first** touch. Touches without a time sort before
timed ones (they are old captures whose time was lost), otherwise the given order is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sync.attribution.facts import TouchpointFacts
from sync.utc import utc


@dataclass(frozen=True)
class TouchRules:
    """The touches one ad network can attribute a conversion to."""

    click_ids: tuple[str, ...]  # the click ids it reads, in order of preference
    also: Callable[[TouchpointFacts], bool] | None = None  # a touch without a click id it attributes too


def click_id(touch: TouchpointFacts, rules: TouchRules) -> tuple[str, str] | None:
    """The touch's preferred click id for the network as (name, value), or None."""
    for name in rules.click_ids:
        value = (touch.click_ids.get(name) or "").strip()
        if value:
            return name, value
    return None


def usable(touch: TouchpointFacts, rules: TouchRules) -> bool:
    """True when the network can attribute a conversion to ``touch``."""
    return click_id(touch, rules) is not None or (rules.also is not None and rules.also(touch))


def _ordered(touchpoints: Sequence[TouchpointFacts], before: datetime | None) -> list[TouchpointFacts]:
    limit = utc(before) if before is not None else None
    kept = [t for t in touchpoints if limit is None or t.occurred_at is None or utc(t.occurred_at) <= limit]
    return sorted(kept, key=lambda t: (t.occurred_at is not None, utc(t.occurred_at) if t.occurred_at else 0))


def attributed(touchpoints: Sequence[TouchpointFacts], rules: TouchRules, *,
               before: datetime | None = None) -> TouchpointFacts | None:
    """The last touch at or before ``before`` that the network can attribute, or None."""
    candidates = [t for t in _ordered(touchpoints, before) if usable(t, rules)]
    return candidates[-1] if candidates else None


def first_touch(touchpoints: Sequence[TouchpointFacts], *, before: datetime | None = None) -> TouchpointFacts | None:
    """The earliest touch at or before ``before`` (for first-touch reports), or None."""
    ordered = _ordered(touchpoints, before)
    return ordered[0] if ordered else None


def last_touch(touchpoints: Sequence[TouchpointFacts], *, before: datetime | None = None) -> TouchpointFacts | None:
    """The latest touch at or before ``before`` (for last-touch reports), or None."""
    ordered = _ordered(touchpoints, before)
    return ordered[-1] if ordered else None
