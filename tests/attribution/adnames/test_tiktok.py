"""The TikTok ad-name reader against recorded ``ad/get`` answers (``responses``)."""

from __future__ import annotations

import json

import pytest
import responses
from responses import matchers

from sync.attribution.adnames.tiktok import TikTokAdReader
from sync.errors import AuthError

BASE = "https://tiktok.example.test"
URL = f"{BASE}/open_api/v1.3/ad/get/"
TOKEN = "tt-marketing-token-0123456789"


def reader(waits=None):
    return TikTokAdReader(TOKEN, "7001", base_url=BASE, sleep=(waits if waits is not None else []).append)


def row(ad_id):
    return {"ad_id": ad_id, "ad_name": f"ad {ad_id}", "adgroup_id": "g1", "adgroup_name": "Broad 18-34",
            "campaign_id": "c1", "campaign_name": "Summer | Traffic"}


@responses.activate
def test_ad_get_names_listed_ads_and_refuses_the_ones_it_does_not_list():
    responses.get(URL, match=[matchers.header_matcher({"Access-Token": TOKEN}), matchers.query_param_matcher({
        "advertiser_id": "7001", "filtering": json.dumps({"ad_ids": ["1", "2"]}), "page_size": "100",
        "fields": json.dumps(["ad_id", "ad_name", "adgroup_id", "adgroup_name", "campaign_id", "campaign_name"])})],
        json={"code": 0, "message": "OK", "request_id": "r1", "data": {"list": [row("1")], "page_info": {}}})
    found = reader().read(["1", "2"])
    assert found.found["1"].adset_name == "Broad 18-34" and found.found["1"].campaign_name == "Summer | Traffic"
    assert found.refused["2"].startswith("TikTok ad/get lists no ad 2 for advertiser 7001")


@responses.activate
def test_throttling_40100_is_retried():
    responses.get(URL, json={"code": 40100, "message": "Too many requests", "data": {}})
    responses.get(URL, json={"code": 0, "message": "OK", "data": {"list": [row("1")]}})
    waits: list[float] = []
    assert list(reader(waits).read(["1"]).found) == ["1"] and len(waits) == 1


@responses.activate
def test_a_token_without_permission_raises_auth_error_naming_the_settings():
    responses.get(URL, json={"code": 40001, "message": "No permission to operate advertiser 7001", "data": {}})
    with pytest.raises(AuthError, match="LIFESYNC_TIKTOK_MARKETING_") as raised:
        reader().read(["1"])
    assert TOKEN not in str(raised.value)


def test_more_than_a_hundred_ids_is_refused_before_any_request():
    with pytest.raises(ValueError, match="at most 100"):
        reader().read([str(n) for n in range(101)])


def test_the_reader_against_the_tiktok_sandbox():
    from sync.sandbox.ads.tiktok import TikTokSandbox
    from sync.sandbox.server import SandboxServer

    box = TikTokSandbox()
    box.add_ad("1801", "Summer | Video", "1701", "Broad 18-34", "1601", "Summer Offer | Traffic")
    with SandboxServer(tiktok=box) as server:
        found = TikTokAdReader(box.MARKETING_TOKEN, box.ADVERTISER_ID, base_url=f"{server.url}/tiktok").read(
            ["1801", "1899"])
        assert found.found["1801"].campaign_name == "Summer Offer | Traffic"
        assert found.found["1801"].adset_name == "Broad 18-34" and list(found.refused) == ["1899"]
        with pytest.raises(AuthError, match="no permission for this advertiser"):
            TikTokAdReader(box.MARKETING_TOKEN, "42", base_url=f"{server.url}/tiktok").read(["1801"])
        with pytest.raises(AuthError):
            TikTokAdReader(box.ACCESS_TOKEN, box.ADVERTISER_ID, base_url=f"{server.url}/tiktok").read(["1801"])
        with pytest.raises(ValueError):
            TikTokAdReader(box.MARKETING_TOKEN, box.ADVERTISER_ID, base_url=server.url).read(["1"] * 101)
