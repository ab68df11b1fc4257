"""A `lifesync serve` subprocess for end-to-end tests: started on a free port, always stopped."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def lifesync_serve(env: dict[str, str], cwd: Path, wait: float = 30) -> Iterator[str]:
    """Base URL of a `lifesync serve --port 0` run with ``env`` in ``cwd``; stopped (and checked) on exit.

    Its output goes to ``cwd/serve.log`` (a file, not a pipe a busy server could fill); the first
    line names the port.
    """
    log = cwd / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "sync.cli.main", "serve", "--port", "0"], env=env, cwd=cwd,
                                stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, match = time.monotonic() + wait, None
        while match is None and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
            match = re.search(r"http://127\.0\.0\.1:(\d+)", log.read_text().partition("\n")[0])
        assert match, f"lifesync serve did not announce its port; it printed:\n{log.read_text()}"
        yield f"http://127.0.0.1:{match.group(1)}"
    finally:
        proc.terminate()  # a warm shutdown: rq lets the job in progress finish, slow on a loaded machine
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail(f"lifesync serve did not stop within 30 s of SIGTERM; it printed:\n{log.read_text()}")
