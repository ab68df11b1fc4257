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
