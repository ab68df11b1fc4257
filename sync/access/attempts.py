"""Failed sign-in attempts, counted per client, so a token cannot be guessed by trying many.

After ``limit`` failures within ``window`` seconds a client is refused (429 with Retry-After)
until the window that counted them ends, whatever it presents. With Redis the count is shared by
every web process (``INCR`` on a key that expires with its window); without it, each process
counts its own.
"""

from __future__ import annotations

import threading
import time
from typing import Any

KEY = "lifesync:auth-failures:"


class FailedAttempts:
    """Counts failures per client key; ``blocked`` says for how many seconds a client is refused."""

    def __init__(self, redis: Any = None, *, limit: int = 10, window: int = 60):
        self.redis = redis if redis is not None and hasattr(redis, "incr") else None
        self.limit = limit
        self.window = window
        self._local: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def failed(self, client: str) -> None:
        """Count one failure of ``client``."""
        if self.redis is not None:
            key = KEY + client
            pipe = self.redis.pipeline()  # SET NX EX then INCR: the window starts once (any Redis version)
            pipe.set(key, 0, ex=self.window, nx=True)
            pipe.incr(key)
            pipe.execute()
            return
        now = time.monotonic()
        with self._lock:
            if len(self._local) > 10_000:  # forget finished windows before the table grows without bound
                self._local = {k: v for k, v in self._local.items() if v[1] > now}
            count, until = self._local.get(client, (0, now + self.window))
            if until <= now:
                count, until = 0, now + self.window
            self._local[client] = (count + 1, until)

    def blocked(self, client: str) -> int:
        """Seconds ``client`` is still refused for (0: not refused)."""
        if self.redis is not None:
            key = KEY + client
            count = self.redis.get(key)
            if count is None or int(count) < self.limit:
                return 0
            return max(int(self.redis.ttl(key)), 1)
        now = time.monotonic()
        with self._lock:
            count, until = self._local.get(client, (0, now))
        return max(int(until - now + 0.999), 1) if count >= self.limit and until > now else 0

    def clear(self) -> None:
        """Forget every count (an admin unblocking clients, or a test starting clean)."""
        if self.redis is not None:
            for key in self.redis.scan_iter(match=KEY + "*"):
                self.redis.delete(key)
        with self._lock:
            self._local.clear()
