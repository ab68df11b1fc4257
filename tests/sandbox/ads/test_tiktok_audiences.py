"""The TikTok sandbox's segment API, driven by tiktok_audience and by raw requests."""

from __future__ import annotations

import pytest
import requests

from sync.sandbox.ads.tiktok import TikTokSandbox
from sync.sandbox.server import SandboxServer
from sync.segments.destinations import build
from sync.segments.destinations.base import Audience, AudienceMember, Entry
from sync.segments.destinations.tiktok_audience import TikTokAudience, mapping_body
from sync.settings import Settings

H = "c" * 64


@pytest.fixture(scope="module")
def served():
    sandbox = TikTokSandbox()
    with SandboxServer(tiktok=sandbox) as server:
        env = {**server.env(), "LIFESYNC_TIKTOK_MARKETING_ACCESS_TOKEN": sandbox.MARKETING_TOKEN,
               "LIFESYNC_TIKTOK_MARKETING_ADVERTISER_ID": sandbox.ADVERTISER_ID}
        config = TikTokAudience.from_settings("t", {}, Settings.from_env(env))
        yield sandbox, config, f"{server.url}/tiktok/open_api/v1.3/segment/mapping/"


@pytest.fixture
def tiktok(served):
    sandbox = served[0]
    sandbox.requests, sandbox.rate.limit, sandbox.segment_allow_listed = 0, None, True
    return served


def test_a_segment_is_mapped_in_batches_and_unmapped_again(tiktok):
    sandbox, config, _ = tiktok
    dest = build(config)
    dest.max_batch = 3
    audience_id = dest.ensure(Audience("lapsed", "Lapsed customers"))
    people = [AudienceMember(i, emails=(f"u{i}@example.com",), phones=(f"+1415555010{i}",)) for i in range(7)]
    entries = [Entry(m.contact_id, dest.keys(m)) for m in people]
    assert {r.status for r in dest.add(audience_id, entries)} == {"done"}
    members = sandbox.segment_audiences[audience_id]["members"]
    assert len(members) == 14 and sandbox.requests == 1 + 3
    assert {r.status for r in dest.remove(audience_id, entries)} == {"done"} and members == set()


def test_an_app_that_is_not_allow_listed_is_refused_with_a_clear_reason(tiktok):
    sandbox, config, _ = tiktok
    dest = build(config)
    audience_id = dest.ensure(Audience("x", "X"))
    sandbox.segment_allow_listed = False
    result = dest.add(audience_id, [Entry(1, dest.keys(AudienceMember(1, emails=("a@b.co",))))])[0]
    assert result.status == "retry" and "allow-listed" in result.reason
    with pytest.raises(Exception, match="allow-list"):
        dest.ensure(Audience("y", "Y"))


def _post(url: str, sandbox: TikTokSandbox, body: dict) -> dict:
    return requests.post(url, json=body, headers={"Access-Token": sandbox.MARKETING_TOKEN}, timeout=5).json()


@pytest.mark.parametrize(("change", "said"), [
    (lambda b: b.update(action="replace"), "action"),
    (lambda b: b.update(id_schema=["EMAIL_SHA256", "EMAIL_SHA256"]), "id_schema"),
    (lambda b: b["batch_data"][0].pop(), "batch_data[0] must hold one cell"),
    (lambda b: b["batch_data"][0][0].update(id="ann@example.com"), "batch_data[0][0].id"),
    (lambda b: b["batch_data"][0][0].update(audience_ids=["1"]), "audience_ids"),
    (lambda b: b["batch_data"].append([{}, {}]), "batch_data[1] has no id"),
    (lambda b: b["batch_data"].extend(b["batch_data"] * 1000), "between 1 and 1000"),
    (lambda b: b.update(advertiser_ids=["123"]), "No permission"),
])
def test_a_bad_mapping_is_refused_whole_with_code_40002_or_40001(tiktok, change, said):
    sandbox, config, url = tiktok
    audience_id = build(config).ensure(Audience("b", "B"))
    body = mapping_body("add", sandbox.ADVERTISER_ID, audience_id,
                        [Entry(1, {"EMAIL_SHA256": [H], "PHONE_SHA256": [H]})])
    change(body)
    answer = _post(url, sandbox, body)
    assert answer["code"] in (40001, 40002) and said in answer["message"]
    assert sandbox.segment_audiences[audience_id]["members"] == set()
