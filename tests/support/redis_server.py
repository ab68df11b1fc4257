"""A private redis-server on a free loopback port, for tests that stop and restart Redis.

The shared Redis of the test run (REDIS_TEST_URL) is never stopped: other suites use it.
This one keeps nothing on disk, so a restart loses every queue and key, as a Redis restart
without persistence does.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from redis import Redis
from redis.exceptions import ConnectionError as RedisDown


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """``start`` / ``stop`` a redis-server on one port; ``url`` names its db 0."""

    def __init__(self, workdir: Path):
        self.port, self.workdir = free_port(), workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self, wait: float = 30) -> None:
        """Start it and wait until it answers."""
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + wait
        while True:
            try:
                Redis.from_url(self.url, socket_connect_timeout=1).ping()
                return
            except RedisDown:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop it (SIGTERM: it exits at once, keeping nothing)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)
        self.proc = None


@contextmanager
def private_redis(workdir: Path) -> Iterator[RedisServer]:
    """A started private redis-server, stopped on exit."""
    server = RedisServer(workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
