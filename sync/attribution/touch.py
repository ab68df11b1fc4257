"""Which ad touch a conversion is attributed to.

Destinations use the **last** touch, at or before the conversion, that the network can
attribute: one carrying one of its click ids, or (Meta) a click-to-message ad referral on
WhatsApp, Messenger or Instagram. Reports also use the **first** touch. Touches without a
time sort before timed ones (they are old captures whose time was lost), otherwise the
given order is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sync.attribution.destination import utc
from sync.attribution.facts import TouchpointFacts

CLICK_IDS: dict[str, tuple[str, ...]] = {  # in order of preference
    "meta": ("ctwa_clid", "fbc", "fbclid"),
    "tiktok": ("ttclid",),
    "google": ("gclid", "gbraid", "wbraid"),
}
MESSAGING_CHANNELS = frozenset({"whatsapp", "messenger", "instagram"})


def click_id(touch: TouchpointFacts, network: str) -> tuple[str, str] | None:
    """The touch's preferred click id for ``network`` as (name, value), or None."""
    for name in CLICK_IDS[network]:
        value = (touch.click_ids.get(name) or "").strip()
        if value:
            return name, value
    return None


def is_message_ad(touch: TouchpointFacts) -> bool:
    """True for a click-to-message ad touch: a messaging channel with a ctwa_clid or a Meta ad referral."""
    if (touch.channel or "").lower() not in MESSAGING_CHANNELS:
        return False
    return bool(touch.click_ids.get("ctwa_clid")) or (touch.network == "meta" and bool(touch.ad_id))


def usable(touch: TouchpointFacts, network: str) -> bool:
    """True when ``network`` can attribute a conversion to ``touch``."""
    return click_id(touch, network) is not None or (network == "meta" and is_message_ad(touch))


def _ordered(touchpoints: Sequence[TouchpointFacts], before: datetime | None) -> list[TouchpointFacts]:
    limit = utc(before) if before is not None else None
    kept = [t for t in touchpoints if limit is None or t.occurred_at is None or utc(t.occurred_at) <= limit]
    return sorted(kept, key=lambda t: (t.occurred_at is not None, utc(t.occurred_at) if t.occurred_at else 0))


def attributed(touchpoints: Sequence[TouchpointFacts], network: str, *,
               before: datetime | None = None) -> TouchpointFacts | None:
    """The last touch at or before ``before`` that ``network`` can attribute, or None."""
    if network not in CLICK_IDS:
        raise ValueError(f"unknown ad network {network!r}; expected one of {sorted(CLICK_IDS)}")
    candidates = [t for t in _ordered(touchpoints, before) if usable(t, network)]
    return candidates[-1] if candidates else None


def first_touch(touchpoints: Sequence[TouchpointFacts], *, before: datetime | None = None) -> TouchpointFacts | None:
    """The earliest touch at or before ``before`` (for first-touch reports), or None."""
    ordered = _ordered(touchpoints, before)
    return ordered[0] if ordered else None


def last_touch(touchpoints: Sequence[TouchpointFacts], *, before: datetime | None = None) -> TouchpointFacts | None:
    """The latest touch at or before ``before`` (for last-touch reports), or None."""
    ordered = _ordered(touchpoints, before)
    return ordered[-1] if ordered else None
