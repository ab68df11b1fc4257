"""A clock tests set and move by hand (sandboxes and connectors take ``clock=`` callables)."""

from __future__ import annotations


class Clock:
    """Returns ``now`` (epoch seconds) until a test moves it."""

    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        self.now += seconds


class SleepingClock(Clock):
    """A monotonic clock that an injected ``sleep`` moves forward, recording every sleep."""

    def __init__(self, now: float = 1000.0):
        super().__init__(now)
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
