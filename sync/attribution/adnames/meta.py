"""Meta ad names through the Marketing API: ``{ad} → name, adset{id,name}, campaign{id,name}``.

One ad is read with ``GET /{version}/{ad_id}?fields=id,name,adset{id,name},campaign{id,name}``
(the Ad node's ``name``, ``adset`` and ``campaign`` fields, field expansion for the nested
names; https://developers.facebook.com/docs/marketing-api/reference/adgroup/, the field names
as facebook_business's ``Ad.Field`` spells them). Reading an ad needs a token with ``ads_read``
on its ad account (``LIFESYNC_META_MARKETING_ACCESS_TOKEN``).

Ads are read **≤ 50 at a time in one Graph batch request** (``POST /{version}/`` with
``batch=[{"method":"GET","relative_url":"<ad_id>?fields=..."}, ...]``, at most 50 calls a batch,
each counted against the rate limits on its own;
https://developers.facebook.com/docs/graph-api/batch-requests). Not through the multi-ID read
``GET /?ids=a,b,c``: since 2026-11-04 "new apps cannot use multi-ID requests ... and existing
apps cannot introduce new use cases for them. This applies across all Graph API versions"
(https://developers.facebook.com/blog/post/2026/11/04/introducing-graph-api-v27-and-marketing-api-v27/),
and root ``?ids=`` calls already fail on v26.0 (restfb/restfb#1692, 2026-08-05).

The token (+ ``appsecret_proof``) travels in the batch POST's form body, never in its URL; only
the ``check`` read (``GET me/adaccounts``) carries it in the query, where every log line passes
the one redaction point (``sync.http.redact``) that blanks ``access_token=``/``appsecret_proof=``
and the configured token's value.

The batch answers one element per call: ``{"code": 200, "body": "<json>"}``, an error body
for a call Meta refused, or ``null`` for a call that did not complete in time (asked again
later). An ad the token cannot see or that was deleted is refused with code 100, subcode 33
("Unsupported get request. Object with ID ... does not exist, cannot be loaded due to missing
permissions, or does not support this operation") and recorded unresolved with that message.
Throttling — code 17 (2446079), 613 (1487742), 4, 32, and the Business Use Case codes 80000-80014
(80004: ads management; https://developers.facebook.com/docs/marketing-api/overview/rate-limiting)
— on the whole request is retried with backoff by the HTTP layer (``X-Business-Use-Case-Usage``'s
time to regain access honoured); on one call of a batch, that ad is left for the next run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import requests

from sync.attribution.adnames.lookup import AdInfo, Lookup
from sync.attribution.delivery import VendorCodes, json_body, vendor_text
from sync.attribution.networks import meta as capi
from sync.http import Action, HttpClient, RetryPolicy, join_url, make_session

NETWORK = "meta"
VENDOR = "Meta Marketing API"
FIELDS = "id,name,adset{id,name},campaign{id,name}"
MAX_BATCH = 50
THROTTLED = frozenset(code for code, rule in capi.CODES.items() if rule.action is Action.RATE_LIMITED)


class MetaAdReader:
    """Reads Meta ads' names with a Marketing API token, ≤ 50 ads a request."""

    network = NETWORK
    max_batch = MAX_BATCH

    def __init__(self, token: str, *, base_url: str, api_version: str, app_secret: str | None = None,
                 session: requests.Session | None = None, client: HttpClient | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.params = {"access_token": token}
        if app_secret:
            self.params["appsecret_proof"] = capi.appsecret_proof(app_secret, token)
        self.url = join_url(base_url, f"{api_version}/")
        self.client = client or HttpClient(
            session or make_session(base_url), vendor=VENDOR, policy=RetryPolicy(), sleep=sleep,
            judge=VendorCodes(VENDOR, read_error=capi.read_error, codes=capi.CODES, secrets=(token,)))

    def read(self, ad_ids: Sequence[str]) -> Lookup:
        """One batch request for ``ad_ids`` (at most 50)."""
        if len(ad_ids) > MAX_BATCH:
            raise ValueError(f"a Graph batch takes at most {MAX_BATCH} calls, not {len(ad_ids)}")
        calls = [{"method": "GET", "relative_url": f"{ad_id}?fields={FIELDS}"} for ad_id in ad_ids]
        response = self.client.request("POST", self.url, data={
            **self.params, "batch": json.dumps(calls, separators=(",", ":")), "include_headers": "false"})
        answers = json_body(response)
        lookup = Lookup(requests=1)
        if not isinstance(answers, list) or len(answers) != len(ad_ids):
            lookup.later.extend(ad_ids)  # not a batch answer: nothing learned, nothing refused
            return lookup
        for ad_id, answer in zip(ad_ids, answers, strict=True):
            read_answer(ad_id, answer, lookup)
        return lookup

    def check(self) -> str:
        """The first ad account the token can read (``lifesync connections check``): ``ad account act_1 'Shop'``."""
        reply = json_body(self.client.request("GET", join_url(self.url, "me/adaccounts"),
                                              params={**self.params, "fields": "id,name", "limit": "1"}))
        accounts = reply.get("data") if isinstance(reply, dict) else None
        if not accounts:
            return "token valid, but it reads no ad account (grant it ads_read on one)"
        first = accounts[0]
        return f"ad account {first.get('id')}" + (f" {first['name']!r}" if first.get("name") else "")


def read_answer(ad_id: str, answer: Any, lookup: Lookup) -> None:
    """File one batch element under found, refused or later."""
    if not isinstance(answer, Mapping):
        lookup.later.append(ad_id)  # null: the call did not complete in time
        return
    try:
        body = json.loads(answer.get("body") or "null")
    except (TypeError, ValueError):
        body = None
    if answer.get("code") == 200 and isinstance(body, Mapping):
        lookup.found[ad_id] = ad_info(ad_id, body)
        return
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        lookup.later.append(ad_id)
        return
    code, subcode = str(error.get("code") or ""), str(error.get("error_subcode") or "")
    if code in THROTTLED or error.get("is_transient") is True:
        lookup.later.append(ad_id)
        return
    where = f"{code}/{subcode}" if subcode else code
    lookup.refused[ad_id] = f"Meta code {where}: {vendor_text(error.get('message'))}"


def ad_info(ad_id: str, node: Mapping[str, Any]) -> AdInfo:
    """An Ad node (``id,name,adset{id,name},campaign{id,name}``) as ``AdInfo``."""
    adset = node.get("adset") if isinstance(node.get("adset"), Mapping) else {}
    campaign = node.get("campaign") if isinstance(node.get("campaign"), Mapping) else {}
    return AdInfo(ad_id, _text(node.get("name")), _text(adset.get("id")), _text(adset.get("name")),
                  _text(campaign.get("id")), _text(campaign.get("name")))


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
