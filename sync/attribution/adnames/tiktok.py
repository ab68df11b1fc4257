"""TikTok ad names through the Marketing API's ``GET /open_api/v1.3/ad/get/``.

The call takes the advertiser (``advertiser_id``), a ``filtering`` object with ``ad_ids`` (1-100
ids; tiktok/tiktok-business-api-sdk, ``python_sdk/docs/FilteringAdGet.md``), the ``fields`` to
return and ``page_size``; the token goes in the ``Access-Token`` header
(https://business-api.tiktok.com/portal/docs?id=1735735588640770). The answer is TikTok's
envelope ``{code, message, request_id, data: {list: [...], page_info}}``: ``code`` 0 is success,
40100 is throttling (retried with backoff by the HTTP layer), 40001/40104/40105 a token that
cannot read the advertiser. An id ``ad/get`` does not list (deleted, or another advertiser's)
is recorded unresolved, saying so.

Only used when ``LIFESYNC_TIKTOK_MARKETING_ACCESS_TOKEN`` and
``LIFESYNC_TIKTOK_MARKETING_ADVERTISER_ID`` are set.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import requests

from sync.attribution.adnames.lookup import AdInfo, Lookup
from sync.attribution.delivery import VendorCodes, json_body
from sync.attribution.networks import tiktok as events_api
from sync.errors import AuthError
from sync.http import Action, HttpClient, RetryPolicy, Rule, join_url, make_session

NETWORK = "tiktok"
VENDOR = "TikTok Marketing API"
FIELDS = ("ad_id", "ad_name", "adgroup_id", "adgroup_name", "campaign_id", "campaign_name")
MAX_BATCH = 100
CODES: dict[str, Rule] = {**events_api.CODES,
                          "40001": Rule(Action.FAIL, AuthError, "the access token has no permission for this "
                                                                "advertiser; check LIFESYNC_TIKTOK_MARKETING_*")}


class TikTokAdReader:
    """Reads a TikTok advertiser's ads' names, ≤ 100 ads a request."""

    network = NETWORK
    max_batch = MAX_BATCH

    def __init__(self, token: str, advertiser_id: str, *, base_url: str, api_version: str = "v1.3",
                 session: requests.Session | None = None, client: HttpClient | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.advertiser_id = advertiser_id
        self.headers = {"Access-Token": token}
        self.url = join_url(base_url, f"open_api/{api_version}/ad/get/")
        self.client = client or HttpClient(
            session or make_session(base_url), vendor=VENDOR, policy=RetryPolicy(), sleep=sleep,
            judge=VendorCodes(VENDOR, read_error=events_api.read_error, codes=CODES, secrets=(token,)))

    def read(self, ad_ids: Sequence[str]) -> Lookup:
        """One ``ad/get`` request for ``ad_ids`` (at most 100)."""
        if len(ad_ids) > MAX_BATCH:
            raise ValueError(f"ad/get filters at most {MAX_BATCH} ad ids, not {len(ad_ids)}")
        params = {"advertiser_id": self.advertiser_id, "filtering": json.dumps({"ad_ids": list(ad_ids)}),
                  "fields": json.dumps(list(FIELDS)), "page_size": str(MAX_BATCH)}
        body = json_body(self.client.request("GET", self.url, params=params, headers=self.headers))
        data = body.get("data") if isinstance(body, Mapping) else None
        rows = data.get("list") if isinstance(data, Mapping) else None
        lookup = Lookup(requests=1)
        if not isinstance(rows, list):
            lookup.later.extend(ad_ids)
            return lookup
        for row in rows:
            if isinstance(row, Mapping) and str(row.get("ad_id")) in ad_ids:
                lookup.found[str(row["ad_id"])] = ad_info(row)
        for ad_id in ad_ids:
            if ad_id not in lookup.found:
                lookup.refused[ad_id] = (f"TikTok ad/get lists no ad {ad_id} for advertiser {self.advertiser_id} "
                                         "(deleted, or another advertiser's)")
        return lookup


def ad_info(row: Mapping[str, Any]) -> AdInfo:
    """One ``ad/get`` row as ``AdInfo`` (an ad group is TikTok's ad set)."""
    def text(key: str) -> str | None:
        value = row.get(key)
        return str(value) if value not in (None, "") else None

    return AdInfo(str(row["ad_id"]), text("ad_name"), text("adgroup_id"), text("adgroup_name"),
                  text("campaign_id"), text("campaign_name"))
