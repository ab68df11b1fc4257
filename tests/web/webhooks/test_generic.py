"""Generic signed webhook: HMAC of the raw body, optional timestamp, mapping from settings."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from support.payloads import SHOP_ORDER as ORDER
from support.signatures import generic_signature as signed
from support.webhook_app import ENV

from sync.cli.main import main
from sync.errors import ConfigError
from sync.ingest import inbox
from sync.settings import Settings
from sync.store import model
from sync.web import create_app


def post(client, payload, secret="shop-secret", timestamp=None, signature=None, name="shop"):
    body = json.dumps(payload).encode()
    headers = {"X-Lifesync-Signature": signature or signed(secret, body, timestamp)}
    if timestamp is not None:
        headers["X-Lifesync-Timestamp"] = timestamp
    return client.post(f"/webhooks/generic/{name}", data=body, headers=headers)


def test_paid_order_becomes_a_customer_with_a_purchase(client, store, config, enqueued):
    assert post(client, ORDER, timestamp=str(int(time.time()))).status_code == 200
    inbox.process_events(store, config, enqueued[0])
    with store.transaction() as s:
        contact = s.scalar(select(model.Contact))
        event = s.scalar(select(model.ConversionEvent))
    assert contact.stage == "Customer"
    assert (event.kind, event.value, event.currency, event.order_id) == ("purchase", 89.9, "EUR", "1001")


def test_a_timestamp_that_is_not_unix_seconds_is_401_and_stores_nothing(client, store, enqueued):
    res = post(client, ORDER, timestamp="yesterday")
    assert res.status_code == 401 and "Unix seconds" in res.json["message"]
    with store.transaction() as s:
        assert s.scalar(select(func.count()).select_from(model.RawEvent)) == 0
    assert enqueued == []


def test_array_body_is_one_event_per_object_and_redelivery_is_ignored(client, store):
    batch = [ORDER, {**ORDER, "id": "1002", "status": "cart"}]
    assert post(client, batch).json == {"received": 2}
    assert post(client, batch).status_code == 200
    with store.transaction() as s:
        assert sorted(s.scalars(select(model.RawEvent.event_key))) == ["shop:1001", "shop:1002"]


@pytest.mark.parametrize("payload", [[], [1, 2]])
def test_body_that_is_not_objects_is_400(client, payload):
    res = post(client, payload)
    assert res.status_code == 400 and "JSON object" in res.json["message"]


@pytest.mark.parametrize(("payload", "reason"), [
    ({**ORDER, "id": {"order": 1001}}, "record: id must be a string or an integer, got dict"),
    ([ORDER, {**ORDER, "id": ["1002"]}], "record 1: id must be a string or an integer, got list"),
    ({**ORDER, "event_id": 1.5}, "record: event_id must be a string or an integer, got float"),
])
def test_an_id_that_cannot_be_a_key_is_400_and_stores_nothing(client, store, enqueued, payload, reason):
    res = post(client, payload)
    assert res.status_code == 400 and reason in res.json["message"]
    with store.transaction() as s:
        assert s.scalar(select(func.count()).select_from(model.RawEvent)) == 0
    assert enqueued == []


@pytest.mark.parametrize(("extra", "expected"), [
    ({"LIFESYNC_GENERIC_SECRET__BOOK": "s", "LIFESYNC_GENERIC_MAPPING__BOOK": "booking/appointment"},
     ["LIFESYNC_GENERIC_MAPPING__BOOK: no mapping for 'booking/appointment'; mappings exist for: "]),
    ({"LIFESYNC_GENERIC_SECRET__CART": "s", "LIFESYNC_GENERIC_MAPPING__CART": "cart"},
     ["LIFESYNC_GENERIC_MAPPING__CART: expected source/object (e.g. shop/order), got 'cart'"]),
    ({"LIFESYNC_GENERIC_SECRET__CART": "s"},
     ["LIFESYNC_GENERIC_MAPPING__CART: generic endpoint 'cart' has a secret but no mapping"]),
    ({"LIFESYNC_GENERIC_MAPPING__CART": "shop/order"},
     ["LIFESYNC_GENERIC_SECRET__CART: generic endpoint 'cart' has a mapping but no secret"]),
])
def test_a_misconfigured_endpoint_stops_the_app_from_starting(store, config, database_url, extra, expected):
    """Found at start-up, naming the setting, not when the first order is dead-lettered."""
    settings = Settings.from_env({"DATABASE_URL": database_url, **ENV, **extra})
    with pytest.raises(ConfigError) as err:
        create_app(settings, store=store, config=config, enqueue=list.append)
    assert [str(i)[:len(e)] for i, e in zip(err.value.issues, expected, strict=True)] == expected


def test_config_check_reports_a_generic_mapping_that_does_not_exist(monkeypatch, database_url):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("LIFESYNC_GENERIC_SECRET__BOOK", "s")
    monkeypatch.setenv("LIFESYNC_GENERIC_MAPPING__BOOK", "booking/appointment")
    result = CliRunner().invoke(main, ["config", "check"])
    assert result.exit_code == 1
    assert "LIFESYNC_GENERIC_MAPPING__BOOK: no mapping for 'booking/appointment'" in result.output
    monkeypatch.setenv("LIFESYNC_GENERIC_MAPPING__BOOK", "shop/order")
    assert CliRunner().invoke(main, ["config", "check"]).exit_code == 0


def test_the_senders_timestamp_and_event_id_are_kept_with_the_event(client, store):
    stamp = str(int(time.time()))
    body = json.dumps(ORDER).encode()
    res = client.post("/webhooks/generic/shop", data=body, headers={
        "X-Lifesync-Signature": signed("shop-secret", body, stamp), "X-Lifesync-Timestamp": stamp,
        "X-Lifesync-Event-Id": "evt-42"})
    assert res.status_code == 200
    with store.transaction() as s:
        [raw] = s.scalars(select(model.RawEvent))
    assert raw.headers == {"X-Lifesync-Timestamp": stamp, "X-Lifesync-Event-Id": "evt-42"}
    assert raw.event_key == "shop:evt-42"
