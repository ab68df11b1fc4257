"""A token bucket in Redis, shared by every worker, per (connection, policy), that learns from headers.

State lives in one Redis hash per bucket (``tokens``, ``ts`` and any learned ``capacity`` /
``interval``); both operations are single Lua scripts, so concurrent workers never race.
``acquire(cost)`` takes tokens or sleeps (injectable ``sleep``) until the refill covers
them; ``learn(headers)`` lowers the remaining tokens to what the vendor reports (HubSpot
``X-HubSpot-RateLimit-Remaining``/``-Max``/``-Interval-Milliseconds``, Salesforce
``Sforce-Limit-Info: api-usage=used/limit``) so a budget spent by other apps or processes is
respected. Times come from the injectable ``clock`` (wall time by default, which workers
share closely enough for second-scale budgets).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from redis import Redis

from sync.errors import RateLimited

KEY_PREFIX = "lifesync:ratelimit"

# Times are integer milliseconds (exact in Lua's doubles, unlike epoch seconds with fractions).
# KEYS[1] bucket; ARGV capacity, interval ms, now ms, cost, ttl ms. Returns the wait in ms; takes
# the tokens only when it returns 0.
_ACQUIRE = """
local h = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'capacity', 'interval')
local capacity = tonumber(h[3]) or tonumber(ARGV[1])
local interval = tonumber(h[4]) or tonumber(ARGV[2])
local now, cost = tonumber(ARGV[3]), tonumber(ARGV[4])
local rate = capacity / interval
local tokens, ts = tonumber(h[1]), tonumber(h[2])
if tokens == nil then tokens, ts = capacity, now end
if now > ts then tokens = math.min(capacity, tokens + (now - ts) * rate); ts = now end
local wait = 0
-- the epsilon absorbs float rounding after a refill that exactly covers the cost
if tokens + 1e-9 >= cost then tokens = math.max(0, tokens - cost) else wait = math.ceil((cost - tokens) / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return wait
"""

# KEYS[1] bucket; ARGV remaining, capacity ('' = unknown), interval ms ('' = unknown), now ms, ttl ms.
_LEARN = """
local h = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local remaining, now = tonumber(ARGV[1]), tonumber(ARGV[4])
local tokens, ts = tonumber(h[1]), tonumber(h[2])
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'capacity', ARGV[2]) end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'interval', ARGV[3]) end
if tokens == nil or remaining < tokens then tokens = remaining end
if ts == nil or now > ts then ts = now end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
"""


@dataclass(frozen=True)
class Budget:
    """What a response says is left: ``remaining`` calls of ``capacity`` per ``interval`` seconds."""

    remaining: float
    capacity: float | None = None
    interval: float | None = None


HeaderParser = Callable[[Mapping[str, str]], "Budget | None"]


def _num(headers: Mapping[str, str], name: str) -> float | None:
    try:
        return float(headers[name])
    except (KeyError, TypeError, ValueError):
        return None


def hubspot_rolling(headers: Mapping[str, str]) -> Budget | None:
    """HubSpot's rolling window: ``X-HubSpot-RateLimit-Remaining``/``-Max``/``-Interval-Milliseconds``."""
    remaining = _num(headers, "X-HubSpot-RateLimit-Remaining")
    if remaining is None:
        return None
    interval_ms = _num(headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
    return Budget(remaining, _num(headers, "X-HubSpot-RateLimit-Max"),
                  interval_ms / 1000.0 if interval_ms else None)


def hubspot_daily(headers: Mapping[str, str]) -> Budget | None:
    """HubSpot's daily budget: ``X-HubSpot-RateLimit-Daily-Remaining`` of ``-Daily``."""
    remaining = _num(headers, "X-HubSpot-RateLimit-Daily-Remaining")
    if remaining is None:
        return None
    return Budget(remaining, _num(headers, "X-HubSpot-RateLimit-Daily"), 86400.0)


_SFORCE = re.compile(r"(?<![\w-])api-usage=(\d+)/(\d+)")  # not per-app-api-usage


def salesforce_api_usage(headers: Mapping[str, str]) -> Budget | None:
    """Salesforce's rolling 24 h org budget from ``Sforce-Limit-Info: api-usage=used/limit``."""
    match = _SFORCE.search(headers.get("Sforce-Limit-Info") or "")
    if not match:
        return None
    used, limit = float(match.group(1)), float(match.group(2))
    return Budget(max(0.0, limit - used), limit, 86400.0)


@dataclass(frozen=True)
class Policy:
    """A named budget: ``capacity`` calls per ``interval`` seconds, and how to read it from headers."""

    name: str
    capacity: float
    interval: float
    parser: HeaderParser | None = None


HUBSPOT_TEN_SECONDLY = Policy("ten_secondly", 100, 10.0, hubspot_rolling)
HUBSPOT_DAILY = Policy("daily", 250_000, 86400.0, hubspot_daily)
# CRM search: 4 requests per second per token, besides the ten-second budget; no header reports it.
# https://developers.hubspot.com/changelog/crm-search-api-rate-limit-increase ("four requests per second
# and per authentication token"; https://developers.hubspot.com/changelog/burst-limits-are-increasing-for-api-key-authenticated-calls
# keeps search at 4/s when other limits rose). One token per quarter second, no burst: a bucket of 4 per
# second would allow 4 at once and 3 more as it refills, 7 within one rolling second; this never starts a
# fifth search inside any one second, however HubSpot counts its seconds.
HUBSPOT_SEARCH = Policy("search", 1, 0.25)
SALESFORCE_DAILY = Policy("daily", 15_000, 86400.0, salesforce_api_usage)


class TokenBucket:
    """One Redis-backed bucket for (``connection``, ``policy``); every worker using the same key shares it."""

    def __init__(self, redis: Redis, connection: str, policy: Policy, *,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 max_wait: float = 3600.0):
        if policy.capacity <= 0 or policy.interval <= 0:
            raise ValueError("a rate-limit policy needs a positive capacity and interval")
        self.redis, self.policy, self.clock, self.sleep, self.max_wait = redis, policy, clock, sleep, max_wait
        self.key = f"{KEY_PREFIX}:{connection}:{policy.name}"
        self._ttl_ms = int(max(policy.interval * 2, 60) * 1000)
        self._acquire = redis.register_script(_ACQUIRE)
        self._learn = redis.register_script(_LEARN)
        self.waited = 0.0  # total seconds this instance slept, for progress reporting

    def __repr__(self) -> str:
        return f"TokenBucket({self.key!r})"

    def try_acquire(self, cost: int = 1) -> float:
        """Take ``cost`` tokens if available and return 0; otherwise take nothing and return the wait."""
        args = [self.policy.capacity, round(self.policy.interval * 1000), self._now_ms(), cost, self._ttl_ms]
        return int(self._acquire(keys=[self.key], args=args)) / 1000.0

    def _now_ms(self) -> int:
        return round(self.clock() * 1000)

    def acquire(self, cost: int = 1) -> float:
        """Block (via ``sleep``) until ``cost`` tokens are taken; return the seconds waited."""
        waited = 0.0
        while (wait := self.try_acquire(cost)) > 0:
            if waited + wait > self.max_wait:
                raise RateLimited(f"rate budget {self.policy.name!r} exhausted", retry_after=wait)
            self.sleep(wait)
            waited += wait
        self.waited += waited
        return waited

    def learn(self, headers: Mapping[str, str]) -> Budget | None:
        """Lower the remaining tokens (and adopt capacity/interval) from a response's rate-limit headers."""
        budget = self.policy.parser(headers) if self.policy.parser else None
        if budget is None:
            return None
        args = [repr(float(budget.remaining)), "" if budget.capacity is None else repr(float(budget.capacity)),
                "" if budget.interval is None else str(round(budget.interval * 1000)), self._now_ms(), self._ttl_ms]
        self._learn(keys=[self.key], args=args)
        return budget

    def remaining(self) -> float:
        """Tokens available now (after refill), without taking any."""
        self.try_acquire(0)  # refills and stores the current level
        value = self.redis.hget(self.key, "tokens")
        return float(value) if value is not None else float(self.policy.capacity)


class Limiters:
    """Several buckets acquired together (e.g. HubSpot's ten-secondly and daily budgets)."""

    def __init__(self, *buckets: TokenBucket):
        self.buckets = buckets

    def acquire(self, cost: int = 1) -> float:
        """Acquire from every bucket in order; return the total seconds waited."""
        return sum(b.acquire(cost) for b in self.buckets)

    def learn(self, headers: Mapping[str, str]) -> None:
        """Let every bucket learn from the headers it understands."""
        for bucket in self.buckets:
            bucket.learn(headers)
