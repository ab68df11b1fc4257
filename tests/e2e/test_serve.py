"""A fresh `lifesync serve` (embedded mode) takes a signed click-to-WhatsApp message to canonical state."""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request

from sqlalchemy import select
from support.payloads import body_of, meta_signature, whatsapp_delivery, whatsapp_value
from support.serve import lifesync_serve

from sync.reconcile.patch import IdentityRef
from sync.reports.export import contacts_json, find_contact
from sync.store import model


def _post(url: str, body: bytes, signature: str) -> int:
    req = urllib.request.Request(url, data=body, headers={"X-Hub-Signature-256": signature})
    try:
        with urllib.request.urlopen(req, timeout=5) as res:
            return res.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_serve_end_to_end(store, database_url, tmp_path):
    env = {**os.environ, "DATABASE_URL": database_url, "LIFESYNC_WHATSAPP_APP_SECRET": "wa-secret",
           "LIFESYNC_LOG_LEVEL": "WARNING"}
    env.pop("REDIS_URL", None)
    with lifesync_serve(env, tmp_path) as url:
        base = f"{url}/webhooks/whatsapp"
        body = body_of(whatsapp_delivery(whatsapp_value()))
        assert _post(base, body, meta_signature("forged", body)) == 401
        assert _post(base, body, meta_signature("wa-secret", body)) == 200
        deadline = time.monotonic() + 20
        doc = None
        while time.monotonic() < deadline and doc is None:
            with store.transaction() as s:
                cid = find_contact(s, IdentityRef("whatsapp", "5215512345678"))
                doc = contacts_json(s, [cid])[0] if cid else None
            time.sleep(0.2)
        assert doc is not None, "the event was acknowledged but never processed"
        assert doc["stage"] == "New Lead"
        assert doc["touchpoints"][0]["click_ids"]["ctwa_clid"].startswith("ARAk")
        with store.transaction() as s:
            assert list(s.scalars(select(model.RawEvent.status))) == ["processed"]  # the forged one left nothing


def test_serve_drains_events_a_killed_run_left_at_start_up(store, database_url, tmp_path):
    """Events stored, never processed (the previous serve was killed): drained at start-up, with no sweep to help."""
    from sync.connectors.events import InboundEvent
    from sync.ingest.inbox import store_events

    value = whatsapp_value()
    store_events(store, [InboundEvent("whatsapp", "message", value["messages"][0]["id"], value)])
    config = tmp_path / "config"
    config.mkdir()
    (config / "schedule.yaml").write_text("jobs:\n  sweep: {task: sweep_inbox, every: 60, enabled: false}\n")
    env = {**os.environ, "DATABASE_URL": database_url, "LIFESYNC_WHATSAPP_APP_SECRET": "wa-secret",
           "LIFESYNC_LOG_LEVEL": "WARNING", "LIFESYNC_CONFIG_DIR": str(config)}
    env.pop("REDIS_URL", None)
    with lifesync_serve(env, tmp_path):
        deadline, status = time.monotonic() + 60, None
        while time.monotonic() < deadline and status != "processed":
            with store.transaction() as s:
                status = s.scalar(select(model.RawEvent.status))
            time.sleep(0.2)
    assert status == "processed"
