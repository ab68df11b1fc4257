"""A database outage: webhooks and /readyz answer 503 with Retry-After and log one line, not a traceback."""

from __future__ import annotations

import logging

import pytest
from support.receivers import RECEIVER_ENV, RECEIVERS
from support.webhook_app import ENV

from sync.settings import Settings
from sync.store.engine import open_store
from sync.web import create_app

DOWN = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/lifesync",  # nothing listens on port 1
    "sqlite": "sqlite:////nonexistent-directory/lifesync.db",  # cannot be opened
}


@pytest.fixture(params=sorted(DOWN))
def down(request, config):
    """A client of an app whose database is unreachable."""
    url = DOWN[request.param]
    store = open_store(url, migrate=False)
    app = create_app(Settings.from_env({"DATABASE_URL": url, **ENV, **RECEIVER_ENV}), store=store, config=config,
                     enqueue=lambda ids: None)
    yield app.test_client()
    store.dispose()


@pytest.mark.parametrize("receiver", [r for r in RECEIVERS if r.name in ("whatsapp", "hubspot", "twilio")],
                         ids=lambda r: r.name)
def test_a_webhook_is_503_with_retry_after_and_one_log_line(down, caplog, receiver):
    delivery = receiver.deliver()
    with caplog.at_level(logging.WARNING):
        res = down.post(delivery.path, data=delivery.body, headers=delivery.headers)
    assert (res.status_code, res.headers.get("Retry-After")) == (503, "5"), res.data[:300]
    assert res.json == {"error": "Service Unavailable", "status": 503,
                        "message": "the database is unavailable; deliver again later"}
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    lines = [r.getMessage() for r in caplog.records if r.name == "lifesync"]
    assert len(lines) == 1 and lines[0].startswith("database unavailable, answered 503: OperationalError"), lines


def test_readyz_is_503_with_retry_after_naming_the_database(down):
    res = down.get("/readyz")
    assert (res.status_code, res.headers.get("Retry-After")) == (503, "5")
    assert res.json["checks"]["database"].startswith("unreachable")
