"""Fault knobs shared by every sandbox: error rates, latency, 429 storms.

A sandbox calls ``Faults.before(request_path)`` at the start of each API request; it returns
``None`` (serve normally) or a ``Fault`` telling the sandbox to answer with that status
instead, in the vendor's own error shape. Randomness comes from a seeded ``random.Random``,
so a test that sets ``error_rate`` sees the same failures on every run.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Fault:
    """An injected failure: answer ``status`` (with ``retry_after`` seconds on a 429)."""

    status: int
    retry_after: float | None = None
    reason: str = "injected fault"


@dataclass
class Faults:
    """Mutable knobs (tests change them while a sandbox runs); thread-safe."""

    error_rate: float = 0.0  # share of requests answered 500
    latency: float = 0.0  # seconds added to every request
    storm_requests: int = 0  # the next N requests are answered 429
    storm_retry_after: float | None = 1.0  # Retry-After of storm 429s (None: no header)
    fail_paths: dict[str, int] = field(default_factory=dict)  # path substring -> status, every time
    seed: int = 7
    injected: int = 0  # how many faults were served
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def storm(self, requests: int, retry_after: float | None = 1.0) -> None:
        """Answer the next ``requests`` requests with 429."""
        with self._lock:
            self.storm_requests, self.storm_retry_after = requests, retry_after

    def before(self, path: str) -> Fault | None:
        """The fault to serve for this request, if any (sleeps ``latency`` first)."""
        if self.latency:
            time.sleep(self.latency)
        with self._lock:
            for fragment, status in self.fail_paths.items():
                if fragment in path:
                    self.injected += 1
                    return Fault(status, reason=f"injected failure for {fragment}")
            if self.storm_requests > 0:
                self.storm_requests -= 1
                self.injected += 1
                return Fault(429, self.storm_retry_after, "injected 429 storm")
            if self.error_rate and self._random.random() < self.error_rate:
                self.injected += 1
                return Fault(500, reason="injected server error")
        return None
