"""A segment and its conditions as typed, immutable values (what ``sync.segments.parse`` loads a file into).

A segment file ``segments/<key>.yaml`` names who belongs to the segment; its ``conditions``
are a tree of the values below, read by one compiler (``sync.segments.compile``) into a SQL
filter over contacts. Conditions that read the clock (``in_stage_for``, message recency, the
last purchase) make a segment *time-based*: contacts drift in and out of it without any change
of theirs, which only the scheduled full evaluation notices (``Segment.time_based``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sync.config.types import DEFAULT_BRAND
from sync.segments.destinations.base import DestinationEntry

_DURATION = re.compile(r"^\s*(\d{1,6})\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_DURATION = timedelta(days=36_525)  # 100 years: now minus more could leave datetime's range (year 1)
DURATION_HINT = "a duration such as 30m, 12h, 14d or 8w, at most 100 years"


def parse_duration(value: Any) -> timedelta | None:
    """``14d`` → 14 days (units m, h, d, w); None when ``value`` is no duration or longer than MAX_DURATION."""
    if not isinstance(value, str):
        return None
    found = _DURATION.match(value)
    if found is None or int(found.group(1)) == 0:
        return None
    span = timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    return span if span <= MAX_DURATION else None


@dataclass(frozen=True)
class Window:
    """A time window relative to now: ``within`` (at most this long ago) and/or ``older_than``."""

    within: timedelta | None = None
    older_than: timedelta | None = None


@dataclass(frozen=True)
class Compare:
    """Numeric comparisons, each optional, all of which must hold: gt, gte, lt, lte, equals."""

    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None
    equals: float | None = None


@dataclass(frozen=True)
class AllOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class NotOf:
    item: Condition


@dataclass(frozen=True)
class StageIs:
    """In one of these active stages (in the segment's brand), not lost."""

    stages: tuple[str, ...]


@dataclass(frozen=True)
class LostStageIs:
    """In one of these lost stages; empty: in any lost stage."""

    stages: tuple[str, ...] = ()


@dataclass(frozen=True)
class PhaseIs:
    """In an active stage of one of these phases (lifecycle.yaml's ``phase`` of each stage), not lost."""

    phases: tuple[str, ...]
    stages: tuple[str, ...]  # the brand's stages of those phases, resolved at load


@dataclass(frozen=True)
class InStageFor:
    """In its current stage (active or lost) for more than / less than a duration."""

    more_than: timedelta | None = None
    less_than: timedelta | None = None


@dataclass(frozen=True)
class FieldTest:
    """A canonical field's winning value: equals / in / exists / contains / prefix / numeric comparisons."""

    name: str
    op: str  # equals, in, exists, contains, prefix, gt, gte, lt, lte
    value: Any


@dataclass(frozen=True)
class HasIdentity:
    """Holds an identity of one of these kinds (email, phone, whatsapp, hubspot, ...)."""

    kinds: tuple[str, ...]


@dataclass(frozen=True)
class MessageRecency:
    """The last inbound / outbound message: ``within`` a duration, or none for ``older_than`` (never included)."""

    direction: str  # inbound | outbound
    window: Window


@dataclass(frozen=True)
class Purchases:
    """Purchase conversions in the segment's brand, net of retractions (restated values count as restated)."""

    count: Compare | None = None
    total: Compare | None = None
    last: Window | None = None  # older_than includes contacts that never bought


@dataclass(frozen=True)
class Touch:
    """The first or last touch (ad referral, click) matches every given attribute (each a list of accepted values)."""

    which: str  # first | last
    network: tuple[str, ...] = ()
    channel: tuple[str, ...] = ()
    campaign: tuple[str, ...] = ()
    ad: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConsentIs:
    """The contact's consent for ``purpose`` is granted (true), denied (false) or unknown (not recorded)."""

    purpose: str
    state: str  # granted | denied | unknown


Condition = (AllOf | AnyOf | NotOf | StageIs | LostStageIs | PhaseIs | InStageFor | FieldTest | HasIdentity
             | MessageRecency | Purchases | Touch | ConsentIs)


def time_based(condition: Condition) -> bool:
    """True when the condition reads the clock (only a full evaluation keeps such a segment current)."""
    if isinstance(condition, AllOf | AnyOf):
        return any(time_based(c) for c in condition.items)
    if isinstance(condition, NotOf):
        return time_based(condition.item)
    if isinstance(condition, Purchases):
        return condition.last is not None
    return isinstance(condition, InStageFor | MessageRecency)


@dataclass(frozen=True)
class Segment:
    """One segment file: key (its file name), label, brand, conditions and where its members are synced."""

    key: str
    label: str
    condition: Condition
    brand: str = DEFAULT_BRAND
    description: str = ""
    destinations: tuple[DestinationEntry, ...] = ()
    file: str = field(default="", compare=False)

    @property
    def time_based(self) -> bool:
        """True when membership changes with time alone (see the module docstring)."""
        return time_based(self.condition)

    @property
    def fingerprint(self) -> str:
        """A digest of what decides membership (brand and conditions): a new one needs a full evaluation."""
        return hashlib.sha256(repr((self.brand, self.condition)).encode()).hexdigest()
