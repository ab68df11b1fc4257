"""TikTok Business Messaging receiver: Tiktok-Signature with replay window, nested JSON content, echoes, inbox."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from support.inbox_checks import counts, process
from support.signatures import tiktok_signature
from support.social_payloads import body_of, fixture

from sync.connectors import tiktok as tiktok_messaging
from sync.reconcile.patch import IdentityRef
from sync.reports.export import contacts_json, find_contact
from sync.store import model

BUSINESS = "-000kBz7ZgQ1xq5Nw3Lr8TyUe0VaHc4Df2"
PERSON = "-000pQ5tRw8YzX2vB6nK1mL9sD3fG7hJ0"
TOLERANCE = 300  # LIFESYNC_WEBHOOK_TOLERANCE_SECONDS default


def delivery(name: str = "receive_msg") -> dict:
    return fixture(f"tiktok/webhook_{name}.json")


def post(client, payload=None, *, secret="tt-secret", timestamp=None, header=None, body=None, path="/webhooks/tiktok"):
    body = body if body is not None else body_of(payload)
    stamp = int(time.time()) if timestamp is None else timestamp
    headers = {"Content-Type": "application/json"}
    if header is not False:
        headers["Tiktok-Signature"] = header if header is not None else tiktok_signature(secret, body, stamp)
    return client.post(path, data=body, headers=headers)


def test_the_recorded_delivery_splits_into_the_mapping_fixture():
    [event] = tiktok_messaging.split(delivery())
    assert (event.source, event.object, event.record) == ("tiktok", "message", fixture("tiktok/message_receive.json"))
    assert event.event_key == f"{BUSINESS}:7481530000123456789"


def test_signature_matches_an_independent_computation():
    body, stamp = b'{"event":"im_receive_msg"}', 1772360400
    header = tiktok_signature("tt-secret", body, stamp)
    assert tiktok_messaging.sign("tt-secret", body, stamp) == header
    tiktok_messaging.verify("tt-secret", body, header, TOLERANCE, now=stamp + TOLERANCE)
    # the parts may come in either order, with spaces
    t, s = header.split(",")
    tiktok_messaging.verify("tt-secret", body, f"{s}, {t}", TOLERANCE, now=stamp)


def test_inbound_message_makes_a_contact_with_a_scoped_identity_and_activity(client, store, config, enqueued):
    res = post(client, delivery())
    assert res.status_code == 200 and res.json == {"received": 1}
    process(store, config, enqueued)
    with store.transaction() as s:
        cid = find_contact(s, IdentityRef("tiktok", f"{BUSINESS}:{PERSON}"))
        [doc] = contacts_json(s, [cid])
        act = s.scalar(select(model.Activity))
        assert s.scalar(select(model.RawEvent.status)) == "processed"
    assert doc["identities"] == [f"tiktok:{BUSINESS}:{PERSON}"]
    assert (act.channel, act.direction, act.external_id, act.conversation_id, act.occurred_at) == (
        "tiktok", "inbound", "7481530000123456789", "0:1:7481526049163204613:7352298745619158017",
        datetime(2026, 3, 1, 10, 20, 0, 321000, tzinfo=UTC))  # content.timestamp is milliseconds


def test_echo_of_our_message_is_an_outbound_activity_of_the_recipient(client, store, config, enqueued):
    assert post(client, delivery("send_msg")).status_code == 200
    assert post(client, delivery()).status_code == 200
    process(store, config, enqueued)
    with store.transaction() as s:
        acts = s.execute(select(model.Activity.direction, model.Activity.external_id)
                         .order_by(model.Activity.direction)).all()
        assert s.scalar(select(func.count()).select_from(model.Contact)) == 1
        assert find_contact(s, IdentityRef("tiktok", f"{BUSINESS}:{BUSINESS}")) is None  # never the business
    assert acts == [("inbound", "7481530000123456789"), ("outbound", "7481530555987654321")]


@pytest.mark.parametrize("name", ["mark_read_msg", "ping"])
def test_read_receipts_and_other_events_are_acknowledged_but_not_stored(client, store, enqueued, name):
    payload = delivery(name) if name != "ping" else {
        "client_key": "aw3k9xq2m7tuv1bz", "event": "tiktok.ping", "create_time": 1772360400622,
        "user_openid": BUSINESS, "content": '{"reason":"testing Webhook"}'}
    res = post(client, payload)
    assert res.status_code == 200 and res.json == {"received": 0}
    assert counts(store) == (0, 0, 0) and enqueued == []


def _body() -> bytes:
    return body_of(delivery())


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"header": "t=1772360400"}, "must look like"),
    ({"header": "t=now,s=" + "0" * 64}, "must look like"),
    ({"header": "now,s=" + "0" * 64}, "does not match"),
])
def test_a_signature_header_with_a_bad_part_is_401_and_stores_nothing(client, store, enqueued, kwargs, reason):
    # "now" is the moment the test runs (parameters are built when the suite is collected)
    kwargs = dict(kwargs)
    if str(kwargs.get("header", "")).startswith("now,"):
        kwargs["header"] = f"t={int(time.time())}," + kwargs["header"].removeprefix("now,")
    res = post(client, delivery(), **kwargs)
    assert res.status_code == 401 and reason in res.json["message"]
    assert counts(store) == (0, 0, 0) and enqueued == []


def test_signature_over_another_timestamp_is_401(client, store, enqueued):
    body, now = _body(), int(time.time())
    header = tiktok_signature("tt-secret", body, now - 10).replace(f"t={now - 10}", f"t={now}")
    res = post(client, body=body, header=header)
    assert res.status_code == 401 and counts(store) == (0, 0, 0) and enqueued == []


def _content(**changes) -> dict:
    payload = delivery()
    content = json.loads(payload["content"])
    content.update(changes)
    payload["content"] = json.dumps(content)
    return payload


@pytest.mark.parametrize(("payload", "reason"), [
    ({**delivery(), "content": '{"conversation_id": "0:1:2", "message_id": '}, '"content": not valid JSON'),
    ({**delivery(), "content": '["not", "an", "object"]'}, '"content" must be a JSON object'),
    ({**delivery(), "content": None}, '"content" must be a JSON object'),
    ({**delivery(), "user_openid": ""}, '"user_openid"'),
    (_content(message_id=None), "no message_id"),
    (_content(timestamp="2026-03-01"), "timestamp must be Unix milliseconds"),
    (_content(from_user={}), "from_user.id"),
    ({**delivery("send_msg"), "content": json.dumps({**json.loads(delivery("send_msg")["content"]), "to_user": None})},
     "to_user.id"),
])
def test_malformed_signed_body_is_400_with_the_reason(client, store, enqueued, payload, reason):
    res = post(client, body=payload if isinstance(payload, bytes) else body_of(payload))
    assert res.status_code == 400 and reason in res.json["message"]
    assert counts(store) == (0, 0, 0) and enqueued == []


@pytest.mark.parametrize(("secret", "path", "status"), [
    ("tt-secret-2", "/webhooks/tiktok/brand2", 200), ("tt-secret", "/webhooks/tiktok/brand2", 401)])
def test_named_connection_uses_its_own_secret(client, store, secret, path, status):
    assert post(client, delivery(), secret=secret, path=path).status_code == status
    if status == 200:
        with store.transaction() as s:
            assert s.scalar(select(model.RawEvent.connection)) == "brand2"
