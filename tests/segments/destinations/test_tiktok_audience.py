"""tiktok_audience: settings, hashed keys, the mapping body, the allow-list refusal, bisection (``responses``)."""

from __future__ import annotations

import hashlib
import json

import pytest
import responses

from sync.errors import SettingsError
from sync.segments.destinations import build, kind
from sync.segments.destinations.base import Audience, AudienceMember, Entry, Unmatchable
from sync.segments.destinations.tiktok_audience import TikTokAudience, mapping_body
from sync.settings import Settings

BASE = "https://tt.example"
ENV = {"LIFESYNC_TIKTOK_MARKETING_ACCESS_TOKEN": "tt-marketing-token",
       "LIFESYNC_TIKTOK_MARKETING_ADVERTISER_ID": "70001", "LIFESYNC_TIKTOK_EVENTS_BASE_URL": BASE}
MAPPING = f"{BASE}/open_api/v1.3/segment/mapping/"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def destination(**options) -> TikTokAudience:
    return build(kind("tiktok_audience").from_settings("tiktok-lapsed", options, Settings.from_env(ENV)))


def test_settings_are_the_marketing_token_and_advertiser():
    config = TikTokAudience.from_settings("t", {"audience_id": "55"}, Settings.from_env(ENV))
    assert config.credentials == {"access_token": "tt-marketing-token"}
    assert (config.base_url, config.api_version, config.options) == (BASE, "v1.3",
                                                                     {"advertiser_id": "70001", "audience_id": "55"})
    with pytest.raises(SettingsError, match="LIFESYNC_TIKTOK_MARKETING_ACCESS_TOKEN__EU"):
        TikTokAudience.from_settings("t", {"connection": "eu"}, Settings.from_env(ENV))


def test_keys_hash_emails_and_phones_by_tiktoks_rules():
    keys = destination().keys(AudienceMember(1, emails=(" Ann@Example.COM ",), phones=("+1 415 555 0100", "nope")))
    assert keys == {"EMAIL_SHA256": [sha("ann@example.com")], "PHONE_SHA256": [sha("+14155550100")]}
    with pytest.raises(Unmatchable, match="e-mail or a phone"):
        destination().keys(AudienceMember(2, first_name="Ann"))


def test_the_mapping_body_has_one_cell_per_id_schema_column_and_empty_cells_for_missing_ids():
    entry = Entry(1, {"EMAIL_SHA256": ["e1", "e2"], "PHONE_SHA256": ["p1"]})
    assert mapping_body("delete", "70001", "99", [entry]) == {
        "advertiser_ids": ["70001"], "action": "delete", "id_schema": ["EMAIL_SHA256", "PHONE_SHA256"],
        "batch_data": [[{"id": "e1", "audience_ids": ["99"]}, {"id": "p1", "audience_ids": ["99"]}],
                       [{"id": "e2", "audience_ids": ["99"]}, {}]]}


@responses.activate
def test_ensure_creates_an_audience_with_a_name_tiktok_keeps_whole():
    responses.post(f"{BASE}/open_api/v1.3/segment/audience/", json={"code": 0, "data": {"audience_id": "99"}})
    assert destination().ensure(Audience("k", "L" * 90)) == "99"
    body = json.loads(responses.calls[0].request.body)
    assert body == {"advertiser_id": "70001", "action": "create", "custom_audience_name": "L" * 70}
    assert responses.calls[0].request.headers["Access-Token"] == "tt-marketing-token"


@responses.activate
def test_without_the_allow_list_ensure_says_so():
    responses.post(f"{BASE}/open_api/v1.3/segment/audience/", json={"code": 40001, "message": "No permission"})
    with pytest.raises(Exception, match="allow-list"):
        destination().ensure(Audience("k", "L"))


@responses.activate
def test_a_refused_mapping_is_bisected_to_the_bad_member():
    def answer(request):
        rows = json.loads(request.body)["batch_data"]
        bad = any(cell.get("id") == sha("u2@example.com") for row in rows for cell in row)
        return 200, {}, json.dumps({"code": 40002, "message": "batch_data: invalid"} if bad else {"code": 0})
    responses.add_callback(responses.POST, MAPPING, callback=answer)
    dest = destination()
    entries = [Entry(i, dest.keys(AudienceMember(i, emails=(f"u{i}@example.com",)))) for i in range(6)]
    results = dest.add("99", entries)
    assert [r.status for r in results] == ["done", "done", "failed", "done", "done", "done"]
    assert "batch_data: invalid" in results[2].reason and len(responses.calls) < 6
