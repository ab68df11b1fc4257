"""``HubSpotConnector``: one HubSpot connection (portal) as a ``Puller`` and a ``Pusher``.

Composed from small parts: ``auth`` (private-app token or OAuth refreshed by TTL), ``client``
(the shared retry layer, metered), ``pull`` + ``search`` + ``associations`` (pages with
resumable cursors), ``push`` (batches) and ``properties`` (what to request, option checks).

Settings of a connection (``HubSpotSettings``: ``LIFESYNC_HUBSPOT_<NAME>`` for ``default``,
``…__<CONNECTION>`` for others): ``BASE_URL``, ``API_VERSION`` (the paths: ``endpoints``),
``RATE_PER_10S`` and ``LOOKBACK_SECONDS`` fall back to the default connection's, then to the
documented defaults; credentials are per connection (see ``auth``). With ``redis`` every worker
of the connection shares its token buckets: ``lifesync:ratelimit:hubspot:<connection>:ten_secondly``
at ``RATE_PER_10S`` and ``:daily``, which also learn HubSpot's own remaining budget from its
rate-limit headers, and ``:search`` (4 per second) that CRM search requests take from as well.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from redis import Redis

from sync.connectors.crm import Page, PushItem, PushResult, SyncStats
from sync.connectors.hubspot.auth import (
    TOKEN_PATH,
    BearerToken,
    OAuthTokens,
    TokenStore,
    credentials_from_settings,
    setting_name,
)
from sync.connectors.hubspot.client import HubSpotApi, Meter, MeteredLimiter, token_poster
from sync.connectors.hubspot.endpoints import Endpoints
from sync.connectors.hubspot.properties import mapping_properties, options_of, property_of, validate_mapping
from sync.connectors.hubspot.pull import ObjectPull
from sync.connectors.hubspot.push import MAX_BATCH, Pusher
from sync.connectors.hubspot.settings import HubSpotSettings
from sync.errors import ConfigIssue
from sync.http import HUBSPOT_DAILY, HUBSPOT_SEARCH, HUBSPOT_TEN_SECONDLY, Limiters, TokenBucket
from sync.mappings import Mapping as MappingSpec
from sync.settings import Settings

OBJECTS = ("contacts", "deals")  # dependency order: a deal's contact is known before the deal


def default_properties(settings: Settings) -> dict[str, list[str]]:
    """Properties each object's HubSpot mapping reads (project config overriding the bundled files)."""
    from sync.config.loader import resolve_files  # config loading pulls in every schema: only when needed
    from sync.mappings import load_mapping

    found: dict[str, list[str]] = {}
    for path in resolve_files(settings.config_dir).mappings:
        if path.name.startswith("hubspot_"):
            mapping = load_mapping(path)
            if mapping.source == "hubspot":
                found[mapping.object] = mapping_properties(mapping)
    return found


class HubSpotConnector:
    """Pulls contacts and deals from one HubSpot portal and pushes changes back."""

    source = "hubspot"
    max_batch = MAX_BATCH

    def __init__(self, settings: Settings, connection: str = "default", *, redis: Redis | None = None,
                 tokens: TokenStore | None = None, properties: Mapping[str, Sequence[str]] | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time):
        self.settings, self.connection, self._clock = settings, connection, clock
        self.stats = SyncStats()
        meter = Meter(lambda: self.stats, sleep)
        conf = HubSpotSettings.of(settings, connection)
        base_url, rate, self.lookback = conf.base_url, conf.rate_per_10s, conf.lookback_seconds
        post = token_poster(base_url, meter, TOKEN_PATH, setting_name("refresh_token", connection))
        self.auth = credentials_from_settings(settings, connection, post=post, tokens=tokens, clock=clock)
        limiter = search_limiter = None
        if redis is not None:
            key = f"hubspot:{connection}"
            ten_secondly = dataclasses.replace(HUBSPOT_TEN_SECONDLY, capacity=rate)
            buckets = [TokenBucket(redis, key, policy, clock=clock, sleep=sleep)
                       for policy in (HUBSPOT_SEARCH, ten_secondly, HUBSPOT_DAILY)]
            limiter = MeteredLimiter(Limiters(*buckets[1:]), meter)
            search_limiter = MeteredLimiter(Limiters(*buckets), meter)  # a search spends from all three
        credential = setting_name("token" if isinstance(self.auth, BearerToken) else "refresh_token", connection)
        refresh = self.auth.refresh_request if isinstance(self.auth, OAuthTokens) else None  # a 401: one retry
        self.api = HubSpotApi(base_url, meter, auth=self.auth, limiter=limiter, search_limiter=search_limiter,
                              credential_setting=credential, refresh=refresh,
                              paths=Endpoints(conf.api_version, conf.preferences_version))
        self._properties = {k: list(v) for k, v in properties.items()} if properties is not None else None
        self._options: dict[tuple[str, str], list[str]] = {}
        self._pusher = Pusher(self.api, self.stage_options)

    def __repr__(self) -> str:
        return f"HubSpotConnector(connection={self.connection!r})"

    def objects(self) -> list[str]:
        """``["contacts", "deals"]``: contacts first, so a deal's contact already exists."""
        return list(OBJECTS)

    def properties(self, obj: str) -> list[str]:
        """The properties a pull of ``obj`` requests (besides its modification property)."""
        if self._properties is None:
            self._properties = default_properties(self.settings)
        return list(self._properties.get(obj, []))

    def pull(self, obj: str, cursor: dict[str, Any], *, full: bool = False,
             now: datetime | None = None) -> Iterator[Page]:
        """Pages of ``obj`` changed since ``cursor`` (everything when ``full`` or the cursor is empty)."""
        if obj not in OBJECTS:
            raise ValueError(f"HubSpot object {obj!r} is not synced; expected one of {', '.join(OBJECTS)}")
        start = now or datetime.fromtimestamp(self._clock(), UTC)
        puller = ObjectPull(self.api, obj, self.properties(obj), lookback=self.lookback, stats=self.stats)
        return puller.pages(cursor, full=full, now=start)

    def push(self, obj: str, items: list[PushItem]) -> list[PushResult]:
        """Send ``items`` (at most ``max_batch``) of ``obj``; one result per item."""
        return self._pusher.push(obj, items)

    def stage_options(self, object_type: str = "contacts", prop: str = "lifecyclestage") -> list[str]:
        """The option values of an enumeration property, in HubSpot's display order (read once, then cached)."""
        key = (object_type, prop)
        if key not in self._options:
            self._options[key] = options_of(self.api.get(self.api.paths.property(object_type, prop)))
        return list(self._options[key])

    def check_mapping(self, mapping: MappingSpec) -> list[ConfigIssue]:
        """``validate_mapping`` against the portal's options of every property the mapping maps values of."""
        mapped = {prop for spec in ([mapping.stage] if mapping.stage else []) + [s for _, s in mapping.fields]
                  if any(t.name == "map" for t in spec.transforms)
                  for prop in [*map(property_of, spec.paths), property_of(spec.write_path)] if prop}
        return validate_mapping(mapping, {p: self.stage_options(mapping.object, p) for p in sorted(mapped)})
