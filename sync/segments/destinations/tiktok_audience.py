"""``tiktok_audience``: a segment as a TikTok custom audience, through the Business API v1.3 segment (streaming) API.

TikTok offers two ways (docs/vendors/audiences-and-consent.md §3): customer files (upload a file,
create or update an audience from it: public, but whole files, and their update actions are not
documented) and the segment API that adds and removes members one request at a time —
``/segment/audience/`` then ``/segment/mapping/`` — which TikTok opens to an app only after
**allow-listing** it ("Streaming API"). Per-member add/remove needs the second; an app that is not
allow-listed is refused with code 40001, which this destination reports as such (``ALLOW_LIST``).

* ``ensure``: the ``audience_id`` option, else the audience kept from the last sync, else
  ``POST /open_api/v1.3/segment/audience/ {custom_audience_name, advertiser_id, action: "create"}``
  → ``data.audience_id`` (names longer than 70 characters are cut by TikTok: lifesync cuts them).
* ``keys``: ``{"EMAIL_SHA256": [...], "PHONE_SHA256": [...]}`` — SHA-256 hex after TikTok's rules,
  the Events API's (``sync.attribution.networks.tiktok.USER_DATA``: e-mail trimmed and lowercased,
  phone E.164 with ``+``, which TikTok's current matching guide recommends and says is also
  accepted without it). Without either: ``Unmatchable``.
* ``add`` / ``remove``: ``POST /open_api/v1.3/segment/mapping/ {advertiser_ids, action: "add" |
  "delete", id_schema: ["EMAIL_SHA256", "PHONE_SHA256"], batch_data}``: one row per identifier pair
  of a member, each row one cell per ``id_schema`` column — ``{id, audience_ids: [audience]}`` or
  ``{}`` when the member has none of that type. TikTok publishes no maximum rows per call:
  ``MAX_ROWS`` (1,000) is what TikTok's partners batch (Tealium), enforced by the sandbox too.

Answers: TikTok's ``{code, message, data}`` on HTTP 200 (``sync.attribution.networks.tiktok``'s
reader and table): 0 ok; 40002 a parameter refused (bisected); 40100 rate limited; 40104/40105 the
token; 40001 no permission — the allow-list, or an advertiser the token does not manage.
Settings: ``LIFESYNC_TIKTOK_MARKETING_ACCESS_TOKEN`` and ``..._ADVERTISER_ID`` (``[__<CONNECTION>]``),
host ``LIFESYNC_TIKTOK_EVENTS_BASE_URL``, version ``LIFESYNC_TIKTOK_EVENTS_API_VERSION`` (v1.3).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import requests

from sync.attribution.delivery import json_body
from sync.attribution.networks import tiktok
from sync.errors import AuthError
from sync.http import Action, Rule, join_url
from sync.segments.destinations import ad_delivery
from sync.segments.destinations.base import (
    Audience,
    AudienceDestinationConfig,
    AudienceMember,
    Entry,
    MemberResult,
    Unmatchable,
)
from sync.settings import Settings

KIND = "tiktok_audience"
VENDOR = "TikTok segment API"
MAX_ROWS = 1000  # ⚠ TikTok publishes no maximum; its partners batch 1,000 (docs/vendors/audiences-and-consent.md §3)
MAX_ROWS_PER_MEMBER = 10
MAX_NAME = 70
ID_SCHEMA = ("EMAIL_SHA256", "PHONE_SHA256")
ALLOW_LIST = ("no permission: TikTok's segment API (/segment/audience/, /segment/mapping/) works only for apps TikTok "
              "has allow-listed for it (the Streaming API) and for advertisers the token manages; ask TikTok to "
              "allow-list the app, or check LIFESYNC_TIKTOK_MARKETING_ADVERTISER_ID")
CODES: dict[str, Rule] = {**tiktok.CODES, "40001": Rule(Action.FAIL, AuthError, ALLOW_LIST)}


class TikTokAudience(ad_delivery.AdAudience):
    """A TikTok custom audience kept equal to a segment (allow-listed segment API)."""

    kind: ClassVar[str] = KIND
    max_batch: ClassVar[int] = MAX_ROWS
    vendor: ClassVar[str] = VENDOR
    actions: ClassVar[tuple[str, str]] = ("add", "delete")

    def __init__(self, config: AudienceDestinationConfig, session: requests.Session | None = None, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self.client = ad_delivery.http_client(config, session, VENDOR, read_error=tiktok.read_error, codes=CODES,
                                              bisect_when=lambda error: error.code in tiktok.BISECT_CODES,
                                              sleep=sleep)
        self.headers = {"Access-Token": config.credentials.get("access_token", "")}

    @classmethod
    def from_settings(cls, name: str, options: Mapping[str, str], settings: Settings) -> AudienceDestinationConfig:
        """``LIFESYNC_TIKTOK_MARKETING_ACCESS_TOKEN`` / ``..._ADVERTISER_ID`` of the entry's connection."""
        connection = ad_delivery.connection_of(name, options)
        found = ad_delivery.require(settings, name, KIND, "tiktok_marketing", ("access_token", "advertiser_id"),
                                    connection)
        audience_id = str(options.get("audience_id") or "").strip()
        return AudienceDestinationConfig(
            name=name, kind=KIND, credentials={"access_token": found["access_token"]},
            base_url=ad_delivery.read(settings, "tiktok_events", "base_url", connection) or tiktok.NETWORK.base_url,
            api_version=ad_delivery.read(settings, "tiktok_events", "api_version", connection, shared=True)
            or tiktok.NETWORK.api_version,
            options={"advertiser_id": found["advertiser_id"], **({"audience_id": audience_id} if audience_id else {})})

    def keys(self, member: AudienceMember) -> dict[str, Any]:
        """``{"EMAIL_SHA256": [...], "PHONE_SHA256": [...]}`` hashed by TikTok's rules; ``Unmatchable`` without any."""
        hashes = ad_delivery.member_hashes(tiktok.USER_DATA, member, self.config)
        if not hashes.emails and not hashes.phones:
            raise Unmatchable("TikTok audiences need an e-mail or a phone number TikTok can read")
        return {key: values for key, values in zip(ID_SCHEMA, (hashes.emails, hashes.phones), strict=True) if values}

    def ensure(self, audience: Audience) -> str:
        """The audience's id: the ``audience_id`` option, the one kept, or a new segment audience."""
        given = self.existing(audience)
        if given:
            return given
        body = {"advertiser_id": self.config.options["advertiser_id"], "action": "create",
                "custom_audience_name": audience.label[:MAX_NAME]}
        reply = json_body(self.client.request("POST", self._url("segment/audience/"), headers=self.headers, json=body))
        return self.created(reply, audience, "data", "audience_id")

    def _url(self, path: str) -> str:
        return join_url(self.config.base_url, f"open_api/{self.config.api_version}/{path}")

    def send(self, action: str, remote_id: str, entries: Sequence[Entry]) -> list[MemberResult]:
        """Map (``add``) or unmap (``delete``) ``entries`` on audience ``remote_id``."""

        def post(batch: Sequence[Entry], _part: ad_delivery.Part) -> list[MemberResult]:
            body = mapping_body(action, self.config.options["advertiser_id"], remote_id, batch)
            self.client.request("POST", self._url("segment/mapping/"), headers=self.headers, json=body)
            return [MemberResult(entry.contact_id, "done") for entry in batch]

        return ad_delivery.upload(entries, post, vendor=VENDOR, limit=self.max_batch, weight=lambda e: len(rows(e)))


def rows(entry: Entry) -> list[tuple[str | None, ...]]:
    """The entry's rows: its e-mails and phones paired in order, one hash (or None) per ``ID_SCHEMA`` column."""
    columns = [list(entry.keys.get(key) or []) for key in ID_SCHEMA]
    count = min(max((len(c) for c in columns), default=0), MAX_ROWS_PER_MEMBER)
    return [tuple(c[i] if i < len(c) else None for c in columns) for i in range(count)]


def mapping_body(action: str, advertiser_id: str, audience_id: str, batch: Sequence[Entry]) -> dict[str, Any]:
    """The ``/segment/mapping/`` request for one batch."""
    data = [[{"id": value, "audience_ids": [audience_id]} if value else {} for value in row]
            for entry in batch for row in rows(entry)]
    return {"advertiser_ids": [advertiser_id], "action": action, "id_schema": list(ID_SCHEMA), "batch_data": data}


DESTINATION = TikTokAudience
