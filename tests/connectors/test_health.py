"""``sync.connectors.health``: every connection, configured or not, with health read from runs, inbox and deliveries."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from sync.config import load_config
from sync.connectors.events import InboundEvent
from sync.connectors.health import DAY, connection, connections, find, state
from sync.crm import runs
from sync.errors import AuthError, NotFound
from sync.ingest.inbox import store_events
from sync.settings import Settings
from sync.store import model

CONFIG = load_config(None)


@pytest.fixture
def settings(database_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFESYNC_")}
    env.update(DATABASE_URL=database_url, LIFESYNC_HUBSPOT_TOKEN="hub-token-0123456789",
               LIFESYNC_WHATSAPP_APP_SECRET="wa-secret", LIFESYNC_WHATSAPP_APP_SECRET__SALON2="wa-2",
               LIFESYNC_META_ACCESS_TOKEN="meta-token", LIFESYNC_META_DATASET_ID="123")
    return Settings.from_env(env)


def by_label(items):
    return {f"{c['kind']}/{c['name']}": c for c in items}


def delivery(session, destination, status, at, error=None, n=[0]):  # noqa: B006 - a counter for unique keys
    n[0] += 1
    row = model.Outbox(idempotency_key=f"k{n[0]}", kind="conversion", destination=destination, payload={})
    session.add(row)
    session.flush()
    session.add(model.Delivery(outbox_id=row.id, destination=destination, status=status, attempts=1,
                               last_error=error, response={}, updated_at=at))


def test_configured_and_unconfigured_connections_are_all_listed(store, settings):
    found = by_label(connections(store, settings, CONFIG))
    assert found["hubspot/default"]["configured"] is True
    assert found["salesforce/default"]["configured"] is False  # listed once, to say it could be connected
    assert found["whatsapp/default"]["configured"] and found["whatsapp/salon2"]["configured"]
    assert not found["twilio/default"]["configured"]
    assert (found["destination/meta"]["configured"], found["destination/meta"]["network"]) == (True, "meta")
    assert found["destination/google"]["configured"] is False
    assert found["hubspot/default"]["next_run"]["schedule"] == "sync-hubspot"
    assert found["salesforce/default"]["next_run"] is None  # nothing runs for an unconfigured connection
    assert found["hubspot/default"]["last_success"] is None and found["hubspot/default"]["cursor"] == {}


def test_a_failed_run_shows_the_vendors_message_and_the_last_success_stays(store, settings):
    now = model.utcnow()
    ok = runs.start(store, "hubspot", "default", now=now - timedelta(hours=2))
    runs.finish(store, ok, {"objects": {"contacts": {"records": 40, "dead_lettered": 1}},
                            "stats": {"api_calls": 3, "rate_limit_waits": 2, "rate_limit_seconds": 1.5},
                            "pushed": {"sent": 4}}, now=now - timedelta(hours=2))
    failed = runs.start(store, "hubspot", "default", now=now - timedelta(hours=1))
    runs.finish(store, failed, error=AuthError("HubSpot rejected the token (HTTP 401)",
                                               vendor_message="Authentication credentials not found"),
                now=now - timedelta(minutes=59))
    health = connection(store, settings, CONFIG, "hubspot", "default", now=now)
    assert health["last_failure"]["message"] == ("HubSpot rejected the token (HTTP 401): "
                                                 "Authentication credentials not found")
    assert health["last_success"]["at"] == now - timedelta(hours=2)
    assert health["last_24h"] == {"records_in": 40, "records_out": 0, "errors": 2,  # 1 dead record, 1 failed run
                                  "refused_values": 0}
    assert health["rate_limit"] == {"api_calls": 0, "waits": 0, "wait_seconds": 0.0, "quota_reached": False}
    assert health["next_run"]["at"] == now - timedelta(hours=1) + timedelta(seconds=900)  # last start + every


def test_webhooks_and_deliveries_make_their_connections_health(store, settings):
    now = model.utcnow()
    store_events(store, [InboundEvent("whatsapp", "message", f"m{i}", {"i": i}, "salon2") for i in range(3)])
    with store.transaction() as session:
        delivery(session, "meta", "sent", now - timedelta(hours=3))
        delivery(session, "meta", "dead", now - timedelta(hours=1), "Meta: Invalid parameter (HTTP 400)")
        delivery(session, "meta", "sent", now - DAY - timedelta(hours=1))  # outside the 24 h
    found = by_label(connections(store, settings, CONFIG, now=now))
    salon2 = found["whatsapp/salon2"]
    assert salon2["last_webhook_at"] is not None and salon2["last_24h"]["records_in"] == 3
    assert found["whatsapp/default"]["last_webhook_at"] is None
    meta = found["destination/meta"]
    assert meta["last_failure"] == {"at": now - timedelta(hours=1), "message": "Meta: Invalid parameter (HTTP 400)"}
    assert meta["last_success"]["at"] == now - timedelta(hours=3)
    assert meta["last_24h"] == {"records_in": 0, "records_out": 1, "errors": 1, "refused_values": 0}
    assert meta["next_run"]["schedule"] == "dispatch-conversions"


def test_an_unknown_connection_is_not_found_naming_what_exists(settings):
    with pytest.raises(NotFound, match="no connection hubspot/salon9; lifesync knows hubspot/default"):
        find(settings, CONFIG, "hubspot", "salon9")


@pytest.mark.parametrize(("configured", "running", "success", "failure", "expected"), [
    (False, None, None, None, "unconfigured"),
    (True, None, None, None, "idle"),
    (True, None, 1, None, "ok"),
    (True, None, 2, 1, "ok"),  # failed, then succeeded
    (True, None, 1, 2, "failing"),
    (True, None, None, 1, "failing"),
    (True, 3, 1, 2, "running"),
])
def test_state_names_a_connections_health(configured, running, success, failure, expected):
    base = model.utcnow()

    def event(hours):
        return None if hours is None else {"at": base + timedelta(hours=hours), "message": "m"}

    found = {"configured": configured, "running_since": event(running) and event(running)["at"],
             "last_success": event(success), "last_failure": event(failure)}
    assert state(found) == expected


def test_a_webhook_received_is_a_channels_success():
    now = model.utcnow()
    base = {"configured": True, "last_success": None, "last_failure": None, "running_since": None}
    assert state({**base, "last_webhook_at": now}) == "ok"
    assert state({**base, "last_webhook_at": now - DAY, "last_failure": {"at": now, "message": "x"}}) == "failing"
    assert state({**base, "last_webhook_at": now, "last_failure": {"at": now - DAY, "message": "x"}}) == "ok"
