"""The API quota: a run's share of the daily limit stops it cleanly between pages; the org limit does too."""

from __future__ import annotations

import fakeredis
import pytest
import responses
from connectors.salesforce import helpers as sf

from sync.connectors.crm import PushItem, QuotaReached
from sync.connectors.salesforce import ApiLimitExceeded, Quota, SalesforceConnector
from sync.errors import RateLimited

SOQL = sf.lead_soql("2026-11-27T09:45:00Z")
CURSOR = {"bookmark": "2026-11-27T09:50:00Z"}


@pytest.fixture
def connector(connect):
    return connect(quota_share="0.25")


def test_quota_share_stops_the_run_between_pages_with_the_last_cursor_intact(mock, connector):
    # 25% of 100 calls: the run started at 50 used, so it may go on until 75
    sf.describe(mock, "Lead", used=50, limit=100)
    sf.query(mock, SOQL, [sf.lead(1, sf.STAMP)], next_url=sf.locator_url(1), used=60, limit=100)
    sf.query(mock, None, [sf.lead(2, sf.STAMP)], url=sf.INSTANCE + sf.locator_url(1), next_url=sf.locator_url(2),
             used=75, limit=100)
    # no mock for locator 2: asking for it would fail the strict mock
    pulled = connector.pull("Lead", CURSOR, now=sf.NOW)
    pages = [next(pulled), next(pulled)]
    with pytest.raises(QuotaReached, match=r"26 API calls.*25% of the org's daily 100"):
        next(pulled)
    assert pages[-1].cursor["run"]["after"] == ["2026-11-27T09:58:00Z", sf.lead(2)["Id"]]
    assert pages[-1].cursor["bookmark"] == CURSOR["bookmark"]
    assert connector.client.quota.spent == 26

    # the other objects of this run stop at once, without a call
    with pytest.raises(QuotaReached):
        next(connector.pull("Contact", {}, now=sf.NOW))
    assert len(mock.calls) == 3


def test_request_limit_exceeded_stops_the_run_between_pages_without_retrying(mock, connector, sleeps):
    sf.describe(mock, "Lead")
    sf.query(mock, SOQL, [sf.lead(1, sf.STAMP)], next_url=sf.locator_url(1))
    mock.add(responses.GET, sf.INSTANCE + sf.locator_url(1), status=403, json=sf.load("error_request_limit.json"),
             headers=sf.usage(100_000))
    pulled = connector.pull("Lead", CURSOR, now=sf.NOW)
    first = next(pulled)
    with pytest.raises(QuotaReached, match="daily API limit") as err:
        next(pulled)
    assert isinstance(err.value.__cause__, ApiLimitExceeded)
    assert first.cursor["run"]["after"] == ["2026-11-27T09:58:00Z", sf.lead(1)["Id"]]
    assert sleeps == [] and len(mock.calls) == 3


def test_request_limit_exceeded_on_a_push_raises_rate_limited_for_a_later_retry(mock, connector, sleeps):
    mock.add(responses.PATCH, f"{sf.DATA}/composite/sobjects", status=403, json=sf.load("error_request_limit.json"))
    with pytest.raises(RateLimited) as err:
        connector.push("Lead", [PushItem(1, "Lead", "00Q5g00000A1b2CEAR", {"Status": "Working - Contacted"})])
    assert err.value.retry_after >= 3600 and "REQUEST_LIMIT_EXCEEDED" in str(err.value)
    assert sleeps == []


@pytest.mark.parametrize(("headers", "spent", "reached"), [
    ([], 0, False),
    (["api-usage=40/100"], 1, False),
    (["api-usage=40/100", "api-usage=64/100"], 25, True),
    (["per-app-api-usage=90/100(appName=lifesync), api-usage=10/100"], 1, False),
    (["api-usage=99/100", "api-usage=100/100"], 2, True),  # the org limit itself
])
def test_quota_reads_api_usage_and_measures_from_the_first_call(headers, spent, reached):
    quota = Quota(share=0.25)
    for header in headers:
        quota.observe({"Sforce-Limit-Info": header})
    assert (quota.spent, quota.reached) == (spent, reached)


def test_with_redis_the_shared_daily_bucket_learns_from_sforce_limit_info(mock, sleeps):
    redis = fakeredis.FakeRedis()
    connector = SalesforceConnector(sf.settings(), tokens=sf.stored_session(), fields=sf.FIELDS, redis=redis,
                                    sleep=sleeps.append, clock=lambda: 1_795_773_600.0)
    sf.describe(mock, "Lead", used=14_000, limit=15_000)
    sf.query(mock, SOQL, [], used=14_001, limit=15_000)
    list(connector.pull("Lead", CURSOR, now=sf.NOW))
    assert float(redis.hget("lifesync:ratelimit:salesforce:default:daily", "tokens")) == pytest.approx(999, abs=1)


def test_a_push_after_the_run_spent_its_share_stops_without_a_call(mock, connector):
    sf.describe(mock, "Lead", used=50, limit=100)
    # the pull spent the share
    sf.query(mock, SOQL, [sf.lead(1, sf.STAMP)], next_url=sf.locator_url(1), used=76, limit=100)
    pulled = connector.pull("Lead", CURSOR, now=sf.NOW)
    next(pulled)
    calls = len(mock.calls)
    with pytest.raises(QuotaReached, match=r"27 API calls.*the Lead write-back resumes on the next run"):
        connector.push("Lead", [PushItem(1, "Lead", "00Q5g00000A1b2CEAR", {"Status": "Working - Contacted"})])
    assert len(mock.calls) == calls


def test_a_push_within_the_share_is_sent(mock, connector):
    mock.add(responses.PATCH, f"{sf.DATA}/composite/sobjects", status=200, headers=sf.usage(51, 100),
             json=[{"id": "00Q5g00000A1b2CEAR", "success": True, "errors": []}])
    [result] = connector.push("Lead", [PushItem(1, "Lead", "00Q5g00000A1b2CEAR", {"Status": "Working - Contacted"})])
    assert result.status == "ok" and connector.client.quota.spent == 1


def test_a_mixed_push_whose_first_request_spends_the_share_defers_the_second(mock, connector):
    # 25% of 100 calls from 49 used: the update's answer (74 used) spends the run's 25th call
    mock.add(responses.PATCH, f"{sf.DATA}/composite/sobjects", status=200, headers=sf.usage(50, 100),
             json=[{"id": "00Q5g00000A1b2CEAR", "success": True, "errors": []}])
    connector.push("Lead", [PushItem(1, "Lead", "00Q5g00000A1b2CEAR", {"Status": "Working - Contacted"})])
    mock.replace(responses.PATCH, f"{sf.DATA}/composite/sobjects", status=200, headers=sf.usage(74, 100),
                 json=[{"id": "00Q5g00000A1b2DEAR", "success": True, "errors": []}])
    # no mock for the upsert: a second request would fail the strict mock
    results = connector.push("Lead", [PushItem(2, "Lead", None, {"LastName": "Sato"}, external_id="c-2"),
                                      PushItem(3, "Lead", "00Q5g00000A1b2DEAR", {"Status": "Qualified"})])
    assert [(r.key, r.status) for r in results] == [(2, "deferred"), (3, "ok")]
    assert "25 API calls" in results[0].error and "the Lead write-back resumes on the next run" in results[0].error
    assert len(mock.calls) == 2 and connector.client.quota.spent == 25
