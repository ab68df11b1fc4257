"""The gunicorn `lifesync serve` runs: a client's SCRIPT_NAME or PATH_INFO header changes nothing (no 500)."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import time

import pytest
from click.testing import CliRunner

from sync.cli.main import main


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(monkeypatch, database_url, tmp_path):
    """The gunicorn command `lifesync serve` execs, running on a free port: (port, its log)."""
    from conftest import REDIS_TEST_URL

    env = {"DATABASE_URL": database_url, "REDIS_URL": REDIS_TEST_URL}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    argv: list[str] = []

    def execvp(file: str, args: list[str]) -> None:  # an exec never returns
        argv.extend(args)
        raise SystemExit(0)

    monkeypatch.setattr(os, "execvp", execvp)
    port = free_port()
    assert CliRunner().invoke(main, ["serve", "--port", str(port), "--workers", "1"]).exit_code == 0
    assert "python:jobs.gunicorn_conf" in argv
    log = (tmp_path / "gunicorn.log").open("w")
    proc = subprocess.Popen(argv, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        yield port, tmp_path / "gunicorn.log"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        res = conn.getresponse()
        return res.status, res.read()
    finally:
        conn.close()


def test_a_client_sent_script_name_or_path_info_header_is_ignored(served):
    port, log = served
    for header in ("SCRIPT_NAME", "SCRIPT-NAME", "PATH_INFO"):
        assert get(port, "/healthz", {header: "/elsewhere"}) == (200, b'{"status":"ok"}\n'), header
        assert get(port, "/elsewhere/healthz", {header: "/elsewhere"})[0] == 404, header
    assert "Configuration problem" not in log.read_text()
