"""WhatsApp Cloud API receiver: handshake, signatures, inbox, routing, and the path to canonical state."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import func, select
from support.payloads import body_of, meta_signature, whatsapp_delivery, whatsapp_value

from sync import inbox, model
from sync.connectors import meta_signature as verifier
from sync.export import contacts_json, find_contact
from sync.patch import IdentityRef


def post(client, payload, secret="wa-secret", path="/webhooks/whatsapp", signature=None, body=None):
    body = body if body is not None else body_of(payload)
    sig = signature if signature is not None else meta_signature(secret, body)
    return client.post(path, data=body, headers={"X-Hub-Signature-256": sig, "Content-Type": "application/json"})


def raw_count(store) -> int:
    with store.transaction() as s:
        return s.scalar(select(func.count()).select_from(model.RawEvent))


def test_published_signature_vector():
    # Meta's documented example: key "secret", body "test"
    expected = "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"
    assert verifier.sign("secret", b"test") == expected
    assert verifier.verify("secret", b"test", expected)
    assert not verifier.verify("secret", b"test ", expected)


@pytest.mark.parametrize(("params", "status", "body"), [
    ({"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"}, 200, b"1158201444"),
    ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"}, 403, None),
    ({"hub.mode": "unsubscribe", "hub.verify_token": "verify-me", "hub.challenge": "1"}, 403, None),
])
def test_verification_handshake(client, params, status, body):
    res = client.get("/webhooks/whatsapp", query_string=params)
    assert res.status_code == status
    if body is not None:
        assert res.data == body and res.mimetype == "text/plain"


def test_click_to_whatsapp_message_becomes_a_new_lead_with_its_touchpoint(client, store, config, enqueued):
    res = post(client, whatsapp_delivery(whatsapp_value()))
    assert res.status_code == 200 and res.json == {"received": 1}
    [ids] = enqueued
    result = inbox.process_events(store, config, ids)
    assert result.created == 1
    with store.transaction() as s:
        cid = find_contact(s, IdentityRef("whatsapp", "5215512345678"))
        [doc] = contacts_json(s, [cid])
        assert s.scalar(select(model.RawEvent.status)) == "processed"
    assert doc["stage"] == "New Lead"
    [tp] = doc["touchpoints"]
    assert tp["click_ids"]["ctwa_clid"].startswith("ARAkLkA8") and tp["ad_id"] == "120210000000000123"
    assert "phone:+525512345678" in doc["identities"]


@pytest.mark.parametrize("signature", [
    "sha256=" + "0" * 64, "", "sha1=abc", None,
])
def test_forged_or_missing_signature_is_401_and_stores_nothing(client, store, enqueued, signature):
    body = body_of(whatsapp_delivery(whatsapp_value()))
    headers = {} if signature is None else {"X-Hub-Signature-256": signature}
    res = client.post("/webhooks/whatsapp", data=body, headers=headers)
    assert res.status_code == 401 and res.json["status"] == 401
    assert raw_count(store) == 0 and enqueued == []


def test_tampered_body_is_rejected(client, store):
    body = body_of(whatsapp_delivery(whatsapp_value()))
    res = post(client, None, signature=meta_signature("wa-secret", body), body=body.replace(b"Hola", b"Hoal"))
    assert res.status_code == 401 and raw_count(store) == 0


@pytest.mark.parametrize(("payload", "reason"), [
    (b"{not json", "not valid JSON"),
    (b'{"object": "page", "entry": []}', "whatsapp_business_account"),
    (b'{"object": "whatsapp_business_account", "entry": {}}', '"entry" must be a list'),
    (b'{"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": '
     b'{"messages": [{"from": "1"}]}}]}]}', "messages[0] must be an object with an id"),
])
def test_malformed_signed_body_is_400_with_the_reason(client, store, enqueued, payload, reason):
    res = post(client, None, body=payload)
    assert res.status_code == 400 and reason in res.json["message"]
    assert raw_count(store) == 0 and enqueued == []


def test_oversized_body_is_413_and_stores_nothing(client, store):
    big = whatsapp_value()
    big["messages"][0]["text"]["body"] = "x" * 5000
    res = post(client, whatsapp_delivery(big))
    assert res.status_code == 413 and raw_count(store) == 0


def test_redelivery_is_a_no_op(client, store, config, enqueued):
    payload = whatsapp_delivery(whatsapp_value())
    assert post(client, payload).status_code == 200
    inbox.process_events(store, config, enqueued[0])
    assert post(client, payload).status_code == 200
    assert raw_count(store) == 1
    assert enqueued[1:] == []  # already processed: nothing to queue again


def test_statuses_out_of_order_make_one_outbound_activity(client, store, config, enqueued):
    value = whatsapp_value()
    sent = {"id": "wamid.OUT1", "status": "sent", "timestamp": "1772360200", "recipient_id": "5215512345678",
            "conversation": {"id": "conv-1"}}
    delivered = {**sent, "status": "delivered", "timestamp": "1772360205"}
    for st in (delivered, sent, delivered):  # out of order, and redelivered
        v = {"messaging_product": "whatsapp", "metadata": value["metadata"], "statuses": [st]}
        assert post(client, whatsapp_delivery(v)).status_code == 200
    post(client, whatsapp_delivery(value))
    for ids in enqueued:
        inbox.process_events(store, config, ids)
    with store.transaction() as s:
        acts = s.execute(select(model.Activity.direction, model.Activity.external_id)
                         .order_by(model.Activity.direction)).all()
        assert s.scalar(select(func.count()).select_from(model.RawEvent)) == 3
    assert acts == [("inbound", value["messages"][0]["id"]), ("outbound", "wamid.OUT1")]


def test_one_delivery_with_several_messages_splits_per_message(client, store, enqueued):
    a = whatsapp_value()
    b = copy.deepcopy(a)
    b["messages"][0]["id"] = "wamid.SECOND"
    b["contacts"][0]["wa_id"] = b["messages"][0]["from"] = "447911123456"
    assert post(client, whatsapp_delivery(a, b)).json == {"received": 2}
    with store.transaction() as s:
        keys = sorted(s.scalars(select(model.RawEvent.event_key)))
    assert keys == sorted([a["messages"][0]["id"], "wamid.SECOND"])


def test_delivery_is_routed_to_the_connection_owning_the_phone_number(client, store):
    value = whatsapp_value()
    value["metadata"]["phone_number_id"] = "222000111"
    assert post(client, whatsapp_delivery(value)).status_code == 200
    with store.transaction() as s:
        assert s.scalar(select(model.RawEvent.connection)) == "salon2"


def test_named_connection_uses_its_own_secret(client, store):
    payload = whatsapp_delivery(whatsapp_value())
    assert post(client, payload, secret="wa-secret", path="/webhooks/whatsapp/salon2").status_code == 401
    assert post(client, payload, secret="wa-secret-2", path="/webhooks/whatsapp/salon2").status_code == 200


def test_unconfigured_connection_is_404(client):
    assert post(client, whatsapp_delivery(whatsapp_value()), path="/webhooks/whatsapp/nope").status_code == 404


def test_health_and_readiness(client):
    assert client.get("/healthz").json == {"status": "ok"}
    res = client.get("/readyz")
    assert res.status_code == 200 and res.json["checks"] == {"database": "ok", "queue": "ok"}
