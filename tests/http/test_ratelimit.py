"""The Redis token bucket: shared by workers, never over the rate, and lowered by what vendors report."""

from __future__ import annotations

import pytest

from jobs.connection import redis_connection
from sync.errors import RateLimited
from sync.http import HUBSPOT_DAILY, HUBSPOT_TEN_SECONDLY, SALESFORCE_DAILY, Budget, Limiters, Policy, TokenBucket
from sync.http.ratelimit import hubspot_daily, hubspot_rolling, salesforce_api_usage


class SimClock:
    """One simulated clock for every worker: sleeping advances it instead of blocking."""

    def __init__(self, start: float = 1_700_000_000.0):
        self.start, self.elapsed = start, 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.start + self.elapsed

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.elapsed += seconds


POLICY = Policy("ten_secondly", capacity=10, interval=1.0)


def bucket(conn, clock, connection="hubspot-main", policy=POLICY, **kw):
    return TokenBucket(conn, connection, policy, clock=clock, sleep=clock.sleep, **kw)


def test_two_workers_sharing_one_bucket_never_exceed_the_rate(settings, redis):
    clock = SimClock()
    workers = [bucket(redis, clock), bucket(redis_connection(settings), clock)]  # two clients, one bucket
    grants = []
    for i in range(100):
        workers[i % 2].acquire()
        grants.append(clock.elapsed)
    # a token bucket allows its capacity at once, then the refill rate: never more in any window
    for start in grants:
        in_window = sum(1 for t in grants if start <= t < start + 1.0)
        assert in_window <= POLICY.capacity + POLICY.capacity * 1.0
    for t in grants:
        assert sum(1 for g in grants if g <= t) <= POLICY.capacity + POLICY.capacity * t + 1e-6
    assert grants[-1] == pytest.approx((100 - POLICY.capacity) / POLICY.capacity, abs=0.05)  # and no slower
    assert sum(w.waited for w in workers) == pytest.approx(sum(clock.slept))


def test_buckets_are_per_connection_and_policy(redis):
    clock = SimClock()
    a = bucket(redis, clock, "hubspot-a")
    for _ in range(POLICY.capacity):
        assert a.acquire() == 0
    assert a.try_acquire() > 0
    assert bucket(redis, clock, "hubspot-b").try_acquire() == 0
    assert bucket(redis, clock, "hubspot-a", Policy("daily", 100, 86400.0)).try_acquire() == 0


def test_learn_lowers_the_remaining_budget(redis):
    clock = SimClock()
    b = bucket(redis, clock, policy=HUBSPOT_TEN_SECONDLY)
    assert b.remaining() == pytest.approx(100)
    learned = b.learn({"X-HubSpot-RateLimit-Remaining": "3", "X-HubSpot-RateLimit-Max": "20",
                       "X-HubSpot-RateLimit-Interval-Milliseconds": "1000"})
    assert learned == Budget(3.0, 20.0, 1.0)
    assert b.remaining() == pytest.approx(3)
    assert [b.acquire() for _ in range(3)] == [0, 0, 0]
    assert b.acquire() == pytest.approx(1 / 20)  # the learned 20 per second, not the configured 100 per 10 s
    b.learn({"X-HubSpot-RateLimit-Remaining": "50"})  # a report above what we hold never raises it
    assert b.remaining() == pytest.approx(0)


def test_learn_is_shared_with_other_workers(settings, redis):
    clock = SimClock()
    b = bucket(redis, clock, "sf-org", SALESFORCE_DAILY)
    b.learn({"Sforce-Limit-Info": "api-usage=14990/15000"})
    other = bucket(redis_connection(settings), clock, "sf-org", SALESFORCE_DAILY)
    assert other.remaining() == pytest.approx(10)


def test_headers_without_a_budget_change_nothing(redis):
    clock = SimClock()
    b = bucket(redis, clock, policy=HUBSPOT_TEN_SECONDLY)
    assert b.learn({"Content-Type": "application/json"}) is None
    assert b.remaining() == pytest.approx(100)


def test_a_wait_beyond_max_wait_raises_rate_limited(redis):
    clock = SimClock()
    b = bucket(redis, clock, "sf-org", SALESFORCE_DAILY, max_wait=1)
    b.learn({"Sforce-Limit-Info": "api-usage=15000/15000"})
    with pytest.raises(RateLimited) as raised:
        b.acquire()
    assert raised.value.retry_after == pytest.approx(86400 / 15000, abs=0.001)
    assert clock.slept == []


def test_limiters_acquire_every_bucket(redis):
    clock = SimClock()
    both = Limiters(bucket(redis, clock, policy=HUBSPOT_TEN_SECONDLY), bucket(redis, clock, policy=HUBSPOT_DAILY))
    both.learn({"X-HubSpot-RateLimit-Remaining": "1", "X-HubSpot-RateLimit-Daily-Remaining": "5",
                "X-HubSpot-RateLimit-Daily": "250000"})
    assert both.acquire() == 0
    assert both.acquire() == pytest.approx(10 / 100)
    assert [b.remaining() for b in both.buckets] == [pytest.approx(0), pytest.approx(3 + 0.1 * 250000 / 86400)]


@pytest.mark.parametrize(("parser", "headers", "budget"), [
    (hubspot_rolling, {"X-HubSpot-RateLimit-Remaining": "189", "X-HubSpot-RateLimit-Max": "190",
                       "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}, Budget(189, 190, 10.0)),
    (hubspot_rolling, {"X-HubSpot-RateLimit-Remaining": "7"}, Budget(7, None, None)),
    (hubspot_rolling, {"X-HubSpot-RateLimit-Remaining": "n/a"}, None),
    (hubspot_rolling, {}, None),
    (hubspot_daily, {"X-HubSpot-RateLimit-Daily": "250000", "X-HubSpot-RateLimit-Daily-Remaining": "249990"},
     Budget(249990, 250000, 86400.0)),
    (salesforce_api_usage, {"Sforce-Limit-Info": "api-usage=25/15000"}, Budget(14975, 15000, 86400.0)),
    (salesforce_api_usage, {"Sforce-Limit-Info": "per-app-api-usage=3/100(appName=x), api-usage=120/5000"},
     Budget(4880, 5000, 86400.0)),
    (salesforce_api_usage, {"Sforce-Limit-Info": "api-usage=16000/15000"}, Budget(0, 15000, 86400.0)),
    (salesforce_api_usage, {}, None),
])
def test_header_parsers(parser, headers, budget):
    assert parser(headers) == budget


def test_concurrent_threads_on_the_wall_clock_stay_within_the_rate(settings, redis):
    import threading
    import time

    policy = Policy("burst", capacity=5, interval=0.2)  # 25 per second
    grants: list[float] = []
    lock = threading.Lock()
    start = time.time()

    def worker():
        b = TokenBucket(redis_connection(settings), "threads", policy)
        for _ in range(8):
            b.acquire()
            with lock:
                grants.append(time.time() - start)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(grants) == 32
    for t in grants:  # a few ms of slack for the time between the script and the append
        assert sum(1 for g in grants if g <= t) <= policy.capacity + 25 * (t + 0.01) + 1


def test_http_client_waits_on_the_shared_bucket_after_a_vendor_says_zero_left(redis, mock):
    import responses

    from sync.http import HttpClient, RetryPolicy, make_session

    clock = SimClock()
    limiter = bucket(redis, clock, "hubspot-main", HUBSPOT_TEN_SECONDLY)
    client = HttpClient(make_session("https://api.hubapi.com"), vendor="HubSpot", limiter=limiter,
                        policy=RetryPolicy(max_attempts=2), sleep=clock.sleep)
    url = "https://api.hubapi.com/crm/v3/objects/contacts"
    mock.add(responses.GET, url, json={"results": []},
             headers={"X-HubSpot-RateLimit-Remaining": "0", "X-HubSpot-RateLimit-Max": "190",
                      "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"})
    mock.add(responses.GET, url, json={"results": []})
    client.request("GET", "/crm/v3/objects/contacts")
    assert clock.slept == []
    client.request("GET", "/crm/v3/objects/contacts")
    assert clock.slept == [pytest.approx(10 / 190, abs=0.001)]  # waited for one token at the learned rate
