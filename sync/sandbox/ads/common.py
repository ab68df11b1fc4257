"""What the ad-network sandboxes (Meta, TikTok, Google Ads) share: hash checks, counters, rate window, dedup.

``AdSandbox`` holds the state every network records behind one lock:

    accepted          every accepted event / conversion, first copy only, with the API request index
                      (``request``) and ``test_event_code`` when sent in test mode
    duplicate_events  copies of accepted items whose dedup key was already accepted (not counted twice)
    duplicates        len(duplicate_events)
    requests          API requests received (every answer, injected faults included)
    rejected_batches  requests refused as a whole (auth, limits, validation)
    rejected_events   events / conversions refused (one by one, or with their batch)

``RateWindow`` is a sliding one-minute request limit read from the sandbox clock, so tests move
time instead of sleeping; ``DedupLedger`` remembers dedup keys for a window (first one wins).
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any

from flask import Flask, Response, g, request

from sync.sandbox.faults import Fault, Faults

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_ANY_CASE_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
CURRENCY = re.compile(r"[A-Za-z]{3}")


def is_sha256_hex(value: object) -> bool:
    """True for a SHA-256 digest as the networks want it: exactly 64 lowercase hex digits."""
    return isinstance(value, str) and _SHA256_HEX.fullmatch(value) is not None


def looks_hashed(value: object) -> bool:
    """True for a value that looks like a digest (64 hex digits of either case): wrong where a raw id is due."""
    return isinstance(value, str) and _ANY_CASE_HEX64.fullmatch(value.strip()) is not None


def as_list(value: object) -> list[Any]:
    """A field that may be one value or an array of values, as a list."""
    return list(value) if isinstance(value, list) else [value]


def is_number(value: object) -> bool:
    """True for a JSON number (not a boolean, not a string)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """A compact JSON response with extra headers."""
    response = Response(json.dumps(body, separators=(",", ":")), status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def request_json() -> Any:
    """The request body parsed as JSON (``None`` when empty); ValueError when it is not JSON."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return None
    return json.loads(raw)


def gate_requests(app: Flask, sandbox: Any, fault_error: Callable[[Fault], Exception]) -> None:
    """Count every routed request (its index in ``g.request_index``); raise an injected fault as the network would."""

    @app.before_request
    def gate() -> None:
        if request.url_rule is None:
            return
        fault = sandbox.faults.before(request.path)
        g.request_index = sandbox.begin_request()
        if fault is not None:
            raise fault_error(fault)


class RateWindow:
    """At most ``limit`` admitted requests in any ``period`` seconds (``None``: unlimited)."""

    def __init__(self, limit: int | None, clock: Callable[[], float], period: float = 60.0):
        if limit is not None and limit < 1:
            raise ValueError(f"rate_limit must be at least 1 request per minute or None, not {limit}")
        self.limit, self.clock, self.period = limit, clock, period
        self._times: deque[float] = deque()

    def _trim(self, now: float) -> None:
        while self._times and self._times[0] <= now - self.period:
            self._times.popleft()

    def admit(self) -> bool:
        """Count one request and return True, or return False (not counted) when the window is full."""
        if self.limit is None:
            return True
        now = self.clock()
        self._trim(now)
        if len(self._times) >= self.limit:
            return False
        self._times.append(now)
        return True

    def retry_after(self) -> float:
        """Seconds until the oldest request in the window leaves it (0 when there is room)."""
        if self.limit is None:
            return 0.0
        now = self.clock()
        self._trim(now)
        if len(self._times) < self.limit:
            return 0.0
        return max(0.0, self._times[0] + self.period - now)

    def usage_percent(self) -> int:
        """How full the window is, in percent (0 when unlimited)."""
        if self.limit is None:
            return 0
        self._trim(self.clock())
        return min(100, round(100 * len(self._times) / self.limit))


class DedupLedger:
    """Dedup keys seen, each with the time it was first accepted; ``window`` seconds (``None``: forever)."""

    def __init__(self, window: float | None):
        self.window = window
        self._first: dict[Hashable, float] = {}

    def contains(self, key: Hashable, now: float) -> bool:
        """True when ``key`` was accepted within the window before ``now``."""
        first = self._first.get(key)
        return first is not None and (self.window is None or now - first <= self.window)

    def add(self, key: Hashable, now: float) -> None:
        """Remember ``key`` as accepted at ``now`` (a key outside its window starts a new one)."""
        if not self.contains(key, now):
            self._first[key] = now


class AdSandbox:
    """State and counters every ad-network sandbox shares (thread-safe: hold ``lock`` to change them)."""

    def __init__(self, *, rate_limit: int | None, faults: Faults | None, clock: Callable[[], float],
                 dedup_window: float | None):
        self.lock = threading.RLock()
        self.clock = clock
        self.faults = faults if faults is not None else Faults()
        self.rate = RateWindow(rate_limit, clock)
        self.ledger = DedupLedger(dedup_window)
        self.accepted: list[dict[str, Any]] = []
        self.duplicate_events: list[dict[str, Any]] = []
        self.requests = 0
        self.rejected_batches = 0
        self.rejected_events = 0

    @property
    def duplicates(self) -> int:
        """Items accepted again under a dedup key already accepted (recorded apart, not as new conversions)."""
        return len(self.duplicate_events)

    def begin_request(self) -> int:
        """Count an API request; returns its 1-based index (stored with what it delivers)."""
        with self.lock:
            self.requests += 1
            return self.requests

    def reject(self, events: int) -> None:
        """Count a request refused as a whole, with the events it carried."""
        with self.lock:
            self.rejected_batches += 1
            self.rejected_events += events

    def deliver(self, item: dict[str, Any], key: Hashable | None, request_index: int, **notes: Any) -> bool:
        """Record an accepted item; False (kept in ``duplicate_events``) when ``key`` was already accepted."""
        with self.lock:
            now = self.clock()
            copy = {"request": request_index, **item,
                    **{name: value for name, value in notes.items() if value is not None}}
            if key is not None and self.ledger.contains(key, now):
                self.duplicate_events.append(copy)
                return False
            if key is not None:
                self.ledger.add(key, now)
            self.accepted.append(copy)
            return True
