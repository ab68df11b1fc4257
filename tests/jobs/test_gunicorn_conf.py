"""The gunicorn `lifesync serve` runs: a client's SCRIPT_NAME or PATH_INFO header changes nothing (no 500); its
access log blanks the handshake's verify token and the Salesforce outbound secret of a path."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import time

import pytest
from click.testing import CliRunner

from sync.cli.main import main

SECRETS = {"LIFESYNC_WHATSAPP_APP_SECRET": "wa-app-secret-1", "LIFESYNC_WHATSAPP_VERIFY_TOKEN": "wa-verify-8841",
           "LIFESYNC_MESSENGER_APP_SECRET": "ms-app-secret-1", "LIFESYNC_MESSENGER_VERIFY_TOKEN": "ms-verify-5521",
           "LIFESYNC_SALESFORCE_OUTBOUND_SECRET": "sf-outbound-7713"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(monkeypatch, database_url, tmp_path):
    """The gunicorn command `lifesync serve` execs, running on a free port: (port, its log)."""
    from conftest import REDIS_TEST_URL

    env = {"DATABASE_URL": database_url, "REDIS_URL": REDIS_TEST_URL, **SECRETS}
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


def get(port: int, path: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
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


def test_the_access_log_blanks_handshake_tokens_and_path_secrets(served):
    port, log = served
    for channel, token in (("whatsapp", "wa-verify-8841"), ("messenger", "ms-verify-5521")):
        answer = get(port, f"/webhooks/{channel}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=4242")
        assert answer == (200, b"4242"), channel  # the handshake worked: the token was the right one
    get(port, "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=a-wrong-guess-1&hub.challenge=1")
    get(port, "/webhooks/salesforce/default/sf-outbound-7713", method="POST")
    get(port, "/healthz")  # gunicorn writes its access lines as requests end: this one follows the others
    text = log.read_text()
    assert text.count("[redacted]") >= 4 and "/webhooks/salesforce/default/[redacted]" in text, text
    assert [s for s in (*SECRETS.values(), "a-wrong-guess-1") if s in text] == []
