"""The job step: look up the ads touchpoints name that the cache does not know (or knows too long).

``resolve_ad_names`` runs on a schedule (``config/schedule.yaml``: ``resolve_ad_names``), before
``lifesync report attribution``/``html`` and in the demo. It asks each network whose reader the
settings enable (``readers``) for its stale ad ids a batch at a time — never an id per
touchpoint, never an id per report — and saves each batch as it comes back. A refused request
(bad token, ended API version, throttled past the retry budget) stops that network's run with
its message in the result; the ids not asked wait for the next run. Nothing here blocks
ingestion or dispatch: the reports fall back to "(unresolved)".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

import requests

from sync.attribution.adnames import cache
from sync.attribution.adnames.lookup import AdReader, Lookup
from sync.errors import LifesyncError
from sync.settings import URL, ConnectionSettings, Settings, integer, setting
from sync.store.engine import Store
from sync.store.model import utcnow


@dataclass(frozen=True)
class AdNamesSettings(ConnectionSettings):
    """What the ad-name readers need: the Marketing API tokens, hosts, versions and the refresh age."""

    platform: ClassVar[str] = "ad names"
    meta_token: str | None = setting("LIFESYNC_META_MARKETING_ACCESS_TOKEN")
    meta_app_secret: str | None = setting("LIFESYNC_META_APP_SECRET")
    meta_base_url: str = setting("LIFESYNC_META_BASE_URL", URL)
    meta_api_version: str = setting("LIFESYNC_META_API_VERSION")  # the Conversions API's: one version table
    tiktok_token: str | None = setting("LIFESYNC_TIKTOK_MARKETING_ACCESS_TOKEN")
    tiktok_advertiser_id: str | None = setting("LIFESYNC_TIKTOK_MARKETING_ADVERTISER_ID")
    tiktok_base_url: str = setting("LIFESYNC_TIKTOK_EVENTS_BASE_URL", URL)
    tiktok_api_version: str = setting("LIFESYNC_TIKTOK_EVENTS_API_VERSION")
    refresh_days: int = setting("LIFESYNC_AD_NAMES_REFRESH_DAYS", integer(1, 365))


def readers(settings: Settings, session: requests.Session | None = None) -> dict[str, AdReader]:
    """The readers the settings enable, by network (none: no Marketing API token is set)."""
    from sync.attribution.adnames.meta import MetaAdReader
    from sync.attribution.adnames.tiktok import TikTokAdReader

    own = AdNamesSettings.of(settings)
    found: dict[str, AdReader] = {}
    if own.meta_token:
        found["meta"] = MetaAdReader(own.meta_token, base_url=own.meta_base_url, api_version=own.meta_api_version,
                                     app_secret=own.meta_app_secret, session=session)
    if own.tiktok_token and own.tiktok_advertiser_id:
        found["tiktok"] = TikTokAdReader(own.tiktok_token, own.tiktok_advertiser_id, base_url=own.tiktok_base_url,
                                         api_version=own.tiktok_api_version, session=session)
    return found


@dataclass
class ResolveResult:
    """What one run did, per network."""

    asked: dict[str, int] = field(default_factory=dict)  # ad ids looked up
    named: dict[str, int] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)  # recorded unresolved with the network's reason
    later: dict[str, int] = field(default_factory=dict)  # left for the next run
    no_reader: dict[str, int] = field(default_factory=dict)  # stale ids of networks no reader is set up for
    requests: int = 0
    errors: dict[str, str] = field(default_factory=dict)  # network -> why its run stopped

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready counts (the job's return value)."""
        return {"asked": self.asked, "named": self.named, "refused": self.refused, "later": self.later,
                "no_reader": self.no_reader, "requests": self.requests, "errors": self.errors}


def resolve_ad_names(store: Store, settings: Settings, *, enabled: dict[str, AdReader] | None = None,
                     now: datetime | None = None) -> ResolveResult:
    """Look up every stale ad id of a network with a reader, a batch a request; save each batch."""
    now = now or utcnow()
    refresh = timedelta(days=AdNamesSettings.of(settings).refresh_days)
    enabled = readers(settings) if enabled is None else enabled
    with store.transaction() as session:
        due = cache.stale(session, now, refresh)
    result = ResolveResult()
    for network, ad_ids in due.items():
        reader = enabled.get(network)
        if reader is None:
            result.no_reader[network] = len(ad_ids)
            continue
        total = Lookup()
        for start in range(0, len(ad_ids), reader.max_batch):
            chunk = ad_ids[start:start + reader.max_batch]
            try:
                lookup = reader.read(chunk)
            except LifesyncError as exc:  # the whole request refused: stop this network, keep what was saved
                result.errors[network] = str(exc)  # the vendor's message is part of it (sync.http)
                total.later.extend(ad_ids[start:])
                break
            with store.transaction() as session:
                cache.save(session, network, lookup, now)
            total.add(lookup)
        result.asked[network] = len(ad_ids)
        result.named[network], result.refused[network] = len(total.found), len(total.refused)
        result.later[network] = len(total.later)
        result.requests += total.requests
    return result
