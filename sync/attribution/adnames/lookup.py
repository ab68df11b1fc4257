"""What an ad-name reader returns, and the protocol every network's reader follows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class AdInfo:
    """One ad as its network names it: the ad, its ad set (TikTok: ad group) and its campaign."""

    ad_id: str
    ad_name: str | None = None
    adset_id: str | None = None
    adset_name: str | None = None
    campaign_id: str | None = None
    campaign_name: str | None = None


@dataclass
class Lookup:
    """The answer for a set of ad ids: each one named, refused (with the network's message) or left for later."""

    found: dict[str, AdInfo] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # ad id -> the network's own reason
    later: list[str] = field(default_factory=list)  # not answered this time (throttled, timed out): ask again
    requests: int = 0

    def add(self, other: Lookup) -> None:
        """Fold ``other`` into this one."""
        self.found.update(other.found)
        self.refused.update(other.refused)
        self.later.extend(other.later)
        self.requests += other.requests


class AdReader(Protocol):
    """Reads ads of one network, at most ``max_batch`` ids a request."""

    network: str
    max_batch: int

    def read(self, ad_ids: Sequence[str]) -> Lookup:
        """Look up at most ``max_batch`` ad ids (``SyncError`` when the whole request is refused)."""
