"""The Redis connection rq uses: ``REDIS_URL``, or an embedded in-process store without it."""

from __future__ import annotations

import threading

import fakeredis
from redis import Redis

from sync.settings import Settings

_embedded_server: fakeredis.FakeServer | None = None
_lock = threading.Lock()


def redis_connection(settings: Settings) -> Redis:
    """A Redis client for rq; every embedded client of one process shares one store."""
    global _embedded_server
    if settings.redis_url:
        return Redis.from_url(settings.redis_url)
    with _lock:
        if _embedded_server is None:
            _embedded_server = fakeredis.FakeServer()
    return fakeredis.FakeRedis(server=_embedded_server)
