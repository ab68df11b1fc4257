"""Delivering built events: vendor error codes in the classification, batching, and bisection.

``VendorCodes`` is the ad networks' ``judge`` on ``sync.http.HttpClient``: after the shared
table has classified an outcome, it reads the vendor's own error code in the body with the
network's reader (Meta ``error.code``/``error_subcode``/``is_transient``, TikTok's ``code`` on
an HTTP 200, Google's ``error.details``) and looks it up in a ``Rule`` table shaped like the
HTTP overrides, so retries, rate limits and auth still happen in one place, in the HTTP
layer. The raised error's declared context says ``vendor_code``, ``vendor_message``
(redacted), ``bisect`` (the refusal is about an event's content) and ``located`` ({index in
the batch: message}).

``BatchSender.send`` validates each event locally, sends the rest in batches of
``max_batch``, and when a batch is refused for an event's content:

* with ``located`` indexes, fails those events and resends the others once;
* with ``bisect``, splits the batch in halves and sends each, recursively, until the bad
  events stand alone (``failed`` with the vendor's message) and the rest are delivered. When
  the left half goes through, the right half is known to hold the bad event and is split
  without being resent whole. At most ``max_bisect_requests`` extra requests per ``send``;
  events not isolated by then are ``retry`` (they were not proven bad).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests

from sync.attribution.destination import BuiltEvent, DestinationConfig, EventResult, now_utc
from sync.errors import PermanentError, RateLimited, SyncError, TransientError
from sync.http import Action, HttpClient, Outcome, RetryPolicy, Rule, VendorError, make_session, vendor_text
from sync.http.errors import retry_after_seconds

__all__ = ["BatchSender", "ReadError", "VendorCodes", "VendorError", "json_body", "result_for_error", "vendor_text"]

log = logging.getLogger(__name__)

_TRANSIENT = Rule(Action.RETRY, TransientError, "a temporary error")
_REFUSED = Rule(Action.FAIL, PermanentError, "the request was refused")

ReadError = Callable[[requests.Response], VendorError | None]
"""A network's reader: its error code and message in a body (any status), or None when the body holds none."""


@dataclass
class VendorCodes:
    """The ad network's verdict on an outcome (``HttpClient.judge``): its code in the body, looked up in ``codes``."""

    vendor: str
    read_error: ReadError | None = None
    codes: Mapping[str, Rule] = field(default_factory=dict)  # "code/subcode" or "code" -> Rule
    bisect_when: Callable[[VendorError], bool] = lambda _error: False
    secrets: tuple[str, ...] = ()  # credential values blanked from messages even if a vendor echoes them

    def scrub(self, text: str) -> str:
        """``text`` with every known credential value blanked."""
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def __call__(self, outcome: Outcome) -> Outcome:
        """``outcome`` judged by the vendor's code, its messages scrubbed of credentials."""
        outcome = self._judged(outcome)
        if outcome.error is not None:
            outcome.error.args = (self.scrub(str(outcome.error)),)
            outcome.error.vendor_message = self.scrub(outcome.error.vendor_message)
        return outcome

    def _judged(self, outcome: Outcome) -> Outcome:
        response = outcome.response
        if response is None or self.read_error is None:
            return outcome
        found = self.read_error(response)
        if found is None:
            return outcome
        rule = self.codes.get(found.full_code) or self.codes.get(found.code)
        if rule is None and found.transient:
            rule = _TRANSIENT
        if rule is None and outcome.error is None:  # an unknown code on a 2xx: refuse rather than assume
            rule = _REFUSED
        retry_after = retry_after_seconds(response.headers)
        retry_after = found.retry_after if retry_after is None else retry_after
        status = response.status_code
        action = outcome.action if rule is None else rule.action
        bisect = action is Action.FAIL and self.bisect_when(found)
        located = dict(found.located) if action is Action.FAIL else {}
        if rule is None:  # a code the table does not know on a refused response: the HTTP table's error stands
            error = outcome.error
            assert error is not None
            error.status, error.retry_after, error.bisect, error.located = status, retry_after, bisect, located
            error.vendor_code, error.vendor_message = found.full_code, found.message
        else:
            message = f"{self.vendor}: {rule.message} (HTTP {status}, code {found.full_code}): {found.message}"
            error = rule.error(message, status=status, retry_after=retry_after, vendor_code=found.full_code,
                               vendor_message=found.message, bisect=bisect, located=located)
        return Outcome(action, error, retry_after, response)


def json_body(response: requests.Response) -> Any:
    """The response's JSON, or None when it has none."""
    try:
        return response.json()
    except ValueError:
        return None


def result_for_error(key: str, error: SyncError, vendor: str) -> EventResult:
    """The result of an event whose request failed with ``error``."""
    if isinstance(error, RateLimited | TransientError):
        return EventResult(key, "retry", str(error), retry_after=error.retry_after)
    if error.bisect:  # isolated: the refusal is about this event
        return EventResult(key, "failed", f"{vendor} rejected the event (code {error.vendor_code}): "
                                          f"{error.vendor_message}")
    return EventResult(key, "failed", str(error))


@dataclass
class _Run:
    """Book-keeping of one ``send``: results by position, requests made, bisection budget left."""

    results: dict[int, EventResult] = field(default_factory=dict)
    requests: int = 0
    extra: int = 0
    budget: int = 0


class BatchSender:
    """Batching, local validation and bisection around a network's ``post`` of one batch."""

    max_batch: int = 1000
    vendor: str = "the ad network"

    def __init__(self, dest: DestinationConfig, client: HttpClient, *,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.dest = dest
        self.client = client
        self.clock = clock or now_utc
        self.requests = 0  # API requests this sender made, bisection included (for the dispatcher's counts)

    @staticmethod
    def client_for(dest: DestinationConfig, session: requests.Session | None, vendor: str, *,
                   sleep: Callable[[float], None] = time.sleep, read_error: ReadError | None = None,
                   codes: Mapping[str, Rule] | None = None,
                   bisect_when: Callable[[VendorError], bool] | None = None) -> HttpClient:
        """An ``HttpClient`` on ``session`` (or a new one for ``dest.base_url``) judged by the network's codes."""
        secrets = tuple(v for v in dest.credentials.values() if v and len(v) >= 6)
        judge = VendorCodes(vendor, read_error=read_error, codes=dict(codes or {}),
                            bisect_when=bisect_when or (lambda _error: False), secrets=secrets)
        return HttpClient(session or make_session(dest.base_url), vendor=vendor, policy=RetryPolicy(), sleep=sleep,
                          judge=judge)

    def validate(self, payload: dict[str, Any], now: datetime) -> str | None:
        """Why ``payload`` cannot be sent now (which field, what was expected), or None."""
        return None

    def post(self, events: Sequence[BuiltEvent]) -> list[EventResult]:
        """Send one batch; return a result per event, or raise the batch's ``SyncError``."""
        raise NotImplementedError

    def send(self, events: Sequence[BuiltEvent]) -> list[EventResult]:
        """Validate locally, send in batches of ``max_batch``; one result per event, in order."""
        now = self.clock()
        run = _Run(budget=max(0, self.dest.max_bisect_requests))
        ready: list[int] = []
        for position, event in enumerate(events):
            problem = self.validate(event.payload, now)
            if problem:
                run.results[position] = EventResult(event.key, "failed", f"not sent: {problem}")
            else:
                ready.append(position)
        for start in range(0, len(ready), self.max_batch):
            self._deliver(events, ready[start:start + self.max_batch], run, extra=False)
        self.requests += run.requests
        counts = {s: sum(1 for r in run.results.values() if r.status == s) for s in ("sent", "failed", "retry")}
        log.info("%s: %d events -> %d sent, %d failed, %d retry in %d requests (%d extra to isolate rejected events)",
                 self.vendor, len(events), counts["sent"], counts["failed"], counts["retry"], run.requests,
                 run.extra)
        return [run.results[position] for position in range(len(events))]

    def _deliver(self, events: Sequence[BuiltEvent], chunk: list[int], run: _Run, *, extra: bool) -> bool:
        """Send ``chunk`` and record its results; True when the request itself was accepted."""
        if extra:
            if run.extra >= run.budget:
                for position in chunk:
                    run.results[position] = EventResult(
                        events[position].key, "retry",
                        f"{self.vendor} rejected the batch holding this event and it was not isolated within "
                        f"max_bisect_requests={run.budget}; it will be retried")
                return False
            run.extra += 1
        run.requests += 1
        try:
            results = self.post([events[position] for position in chunk])
        except SyncError as error:
            self._isolate(events, chunk, error, run)
            return False
        run.results.update(zip(chunk, results, strict=True))
        return True

    def _isolate(self, events: Sequence[BuiltEvent], chunk: list[int], error: SyncError, run: _Run) -> None:
        """Find the events that made ``chunk`` fail with ``error``; deliver the others."""
        located = error.located
        if located and all(0 <= index < len(chunk) for index in located):
            for index, message in located.items():
                key = events[chunk[index]].key
                run.results[chunk[index]] = EventResult(key, "failed", f"{self.vendor} rejected the event: {message}")
            rest = [position for index, position in enumerate(chunk) if index not in located]
            if rest:
                self._deliver(events, rest, run, extra=True)
            return
        if not error.bisect or len(chunk) == 1:
            for position in chunk:
                run.results[position] = result_for_error(events[position].key, error, self.vendor)
            return
        middle = len(chunk) // 2
        left, right = chunk[:middle], chunk[middle:]
        if self._deliver(events, left, run, extra=True):
            self._isolate(events, right, error, run)  # the left half went through: the refusal is in the right
        else:
            self._deliver(events, right, run, extra=True)
