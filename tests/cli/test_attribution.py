"""`lifesync dispatch` takes the dispatcher's lock: never two senders to one destination at once."""

from __future__ import annotations

import json

from click.testing import CliRunner
from support.crm import KEY

from jobs.connection import redis_connection
from jobs.locks import host_scope, sync_lock
from sync.cli.main import main
from sync.sandbox.ads.meta import MetaSandbox
from sync.sandbox.server import SandboxServer
from sync.settings import Settings


def test_dispatch_skips_a_destination_whose_dispatcher_is_running(store, database_url, monkeypatch):
    with SandboxServer(meta=MetaSandbox()) as server:
        for name, value in {**server.env(), "DATABASE_URL": database_url, "LIFESYNC_SECRET_KEY": KEY}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("REDIS_URL", raising=False)
        monkeypatch.delenv("LIFESYNC_CONFIG_DIR", raising=False)
        settings = Settings.from_env()

        def dispatch() -> dict:
            result = CliRunner().invoke(main, ["dispatch", "--destination", "meta"], catch_exceptions=False)
            assert result.exit_code == 0, result.output
            return json.loads(result.output)

        with sync_lock(redis_connection(settings), "lifesync", "dispatch_meta", host_scope(settings)) as lease:
            assert lease is not None  # the scheduled dispatcher is sending to Meta
            assert dispatch() == {"meta": {"skipped": True,
                                           "reason": "another run of lifesync dispatch_meta is in progress"}}
        ran = dispatch()["meta"]
        assert "skipped" not in ran and ran["sent"] == 0  # its turn: nothing was pending
