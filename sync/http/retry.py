"""Retries inside a job: tenacity around ``session.send``, driven by the classification table.

``send`` retries what the table calls RETRY or RATE_LIMITED (connection errors, timeouts,
429, 5xx): it waits ``Retry-After`` when the response gives one (seconds or an HTTP date),
otherwise a jittered exponential backoff capped at ``max_wait``; attempts are bounded. A
``Retry-After`` longer than ``max_wait`` is not slept here: the ``RateLimited`` error is raised
at once (with ``retry_after``) for rq's job-level ``Retry`` to handle, so the two retry layers
never overlap. AUTH calls the ``refresh`` hook and retries once; FAIL raises the typed error
with the vendor's message, redacted. ``sleep`` is injectable so tests record waits instead of
sleeping.

``HttpClient`` is composed, not subclassed. Its hooks: ``read_error`` reads a vendor's error
body (code and message, for the table's ``(status, code)`` rows and the error's message;
``sync.http.errors.read_error`` by default), ``judge`` gives the vendor's own verdict on each
classified outcome (the ad networks read a code in the body, on a 2xx too; see
``sync.attribution.delivery``), ``refresh`` renews credentials, ``limiter`` paces requests.

Every connector sends through here, so this is where ``/metrics`` counts vendor API calls (by
classified outcome) and rate-limit waits (``sync.metrics.counters``), once for all of them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_random_exponential

from sync.errors import RateLimited, SyncError, TransientError
from sync.http.errors import Action, ErrorReader, ErrorTable, Outcome, classify, read_error
from sync.http.redact import redact, redact_url
from sync.metrics.counters import API_CALLS, rate_limit_wait

log = logging.getLogger(__name__)

Refresh = Callable[[requests.PreparedRequest], requests.PreparedRequest]
Judge = Callable[[Outcome], Outcome]
"""The vendor's verdict on a classified outcome (a response's, or a raised exception's): the same or a new one."""


class Limiter(Protocol):
    """What ``send`` needs from a rate limiter (``sync.http.ratelimit.TokenBucket`` is one)."""

    def acquire(self, cost: int = 1) -> float:
        """Block until ``cost`` tokens are available; return the seconds waited."""

    def learn(self, headers: Any) -> None:
        """Update the remaining budget from response headers."""


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts and how long to wait between them."""

    max_attempts: int = 5
    initial_wait: float = 0.5
    max_wait: float = 60.0


def _retry_after(state: RetryCallState) -> float | None:
    """The wait the failed attempt's error asked for (only ``SyncError`` subclasses are retried)."""
    exc = state.outcome.exception() if state.outcome else None
    return exc.retry_after if isinstance(exc, SyncError) else None


def _wait_for(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    backoff = wait_random_exponential(multiplier=policy.initial_wait, max=policy.max_wait)

    def wait(state: RetryCallState) -> float:
        retry_after = _retry_after(state)
        if retry_after is not None:
            return min(float(retry_after), policy.max_wait)
        return backoff(state)

    return wait


def _stop_for(policy: RetryPolicy) -> Callable[[RetryCallState], bool]:
    def stop(state: RetryCallState) -> bool:
        if state.attempt_number >= policy.max_attempts:
            return True
        retry_after = _retry_after(state)
        return retry_after is not None and retry_after > policy.max_wait  # leave long waits to rq

    return stop


@dataclass
class HttpClient:
    """A session plus everything around a send: retry policy, error table and reader, limiter, auth refresh."""

    session: requests.Session
    vendor: str = "the remote system"
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    overrides: ErrorTable | None = None
    limiter: Limiter | None = None
    refresh: Refresh | None = None
    sleep: Callable[[float], None] = time.sleep
    read_error: ErrorReader = read_error
    judge: Judge | None = None
    rate_limit_wait: Callable[[float], None] | None = None  # told each wait a rate limit imposed (run stats)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Prepare ``method path`` on the session (``json=``, ``params=``, ...) and ``send`` it."""
        prepare = getattr(self.session, "prepare", None)
        if prepare is not None:
            prepared = prepare(method, path, **kwargs)
        else:
            prepared = self.session.prepare_request(requests.Request(method.upper(), path, **kwargs))
        return self.send(prepared)

    def send(self, request: requests.PreparedRequest) -> requests.Response:
        """Send with retries; return the successful response or raise the typed error."""
        state = {"request": request, "refreshed": False}

        def attempt() -> requests.Response:
            outcome = self._once(state["request"])
            if outcome.action is Action.AUTH and self.refresh is not None and not state["refreshed"]:
                state["refreshed"] = True
                state["request"] = self.refresh(state["request"])
                outcome = self._once(state["request"])
            if outcome.error is not None:
                raise outcome.error
            assert outcome.response is not None
            return outcome.response

        retrying = Retrying(stop=_stop_for(self.policy), wait=_wait_for(self.policy), sleep=self.sleep,
                            retry=retry_if_exception_type((TransientError, RateLimited)), reraise=True,
                            before_sleep=self._log_retry)
        return retrying(attempt)

    def _once(self, request: requests.PreparedRequest) -> Outcome:
        if self.limiter is not None:
            waited = self.limiter.acquire()
            if isinstance(waited, (int, float)):  # a limiter that reports its wait (TokenBucket, Limiters)
                rate_limit_wait(self.vendor, "budget", waited)
        where = f"{request.method} {redact_url(request.url or '')}"
        try:
            response = self.session.send(request)
        except requests.RequestException as exc:
            # requests' own messages embed the full URL (tokens and all): log only the type.
            log.warning("%s %s: %s", self.vendor, where, type(exc).__name__)
            return self._judged(classify(exc, overrides=self.overrides, vendor=self.vendor))
        if self.limiter is not None:
            self.limiter.learn(response.headers)
        log.debug("%s %s -> HTTP %d", self.vendor, where, response.status_code)
        return self._judged(classify(response, overrides=self.overrides, vendor=self.vendor,
                                     read_error=self.read_error))

    def _judged(self, outcome: Outcome) -> Outcome:
        judged = outcome if self.judge is None else self.judge(outcome)
        API_CALLS.labels(self.vendor, judged.action.value).inc()
        return judged

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        if isinstance(exc, RateLimited) and wait > 0:  # a 429's Retry-After, not a backoff after a transient failure
            rate_limit_wait(self.vendor, "retry_after", wait)
            if self.rate_limit_wait is not None:
                self.rate_limit_wait(wait)
        log.info("retrying in %.1fs after attempt %d: %s", wait, state.attempt_number, redact(str(exc)))
