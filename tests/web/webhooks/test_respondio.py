"""respond.io receiver: X-Webhook-Signature, one event per delivery, and the path to canonical state."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from support.signatures import respondio_signature as rio_signature

from sync.connectors.respondio import webhooks as verifier
from sync.ingest import inbox
from sync.reconcile.patch import IdentityRef
from sync.reports.export import contacts_json, find_contact
from sync.store import model

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "respondio"
CARLOS = IdentityRef("respondio", "1043822")


def webhook(name: str) -> dict:
    return json.loads((FIXTURES / f"webhook_{name}.json").read_text(encoding="utf-8"))


def post(client, payload, key="rio-key-messages", path="/webhooks/respondio", signature=None, body=None):
    body = body if body is not None else json.dumps(payload).encode()
    sig = signature if signature is not None else rio_signature(key, body)
    headers = {} if sig is False else {"X-Webhook-Signature": sig}
    return client.post(path, data=body, headers=headers, content_type="application/json")


def raw_count(store) -> int:
    with store.transaction() as s:
        return s.scalar(select(func.count()).select_from(model.RawEvent))


def process_all(store, config, enqueued) -> None:
    for ids in enqueued:
        inbox.process_events(store, config, ids)


def doc_of(store, ref: IdentityRef) -> dict:
    with store.transaction() as s:
        [doc] = contacts_json(s, [find_contact(s, ref)])
    return doc


def activities(store) -> list[tuple]:
    with store.transaction() as s:
        return [tuple(r) for r in s.execute(select(model.Activity.channel, model.Activity.direction,
                                                   model.Activity.external_id).order_by(model.Activity.occurred_at))]


@pytest.mark.parametrize("name", ["message_received", "contact_lifecycle_updated", "conversation_opened_ctc_ads"])
def test_split_hands_the_mapping_the_contact_enriched_with_the_event(name):
    received = datetime(2026, 3, 1, 10, 15, 30, tzinfo=UTC)
    [event] = verifier.split(webhook(name), received, "default")
    expected = json.loads((FIXTURES / f"event_{name}.json").read_text(encoding="utf-8"))
    assert event.record == expected
    assert (event.source, event.object, event.event_key) == ("respondio", "event", webhook(name)["event_id"])


def test_signature_is_base64_hmac_sha256_of_the_raw_body():
    body = b'{"event_type":"contact.updated"}'
    sig = rio_signature("k1", body)
    assert verifier.sign("k1", body) == sig
    assert verifier.verify(["other", "k1"], body, sig)
    assert not verifier.verify(["other"], body, sig)
    assert not verifier.verify(["k1"], body + b" ", sig)
    assert not verifier.verify([], body, sig)


def test_received_message_maps_contact_stage_and_inbound_activity(client, store, config, enqueued):
    res = post(client, webhook("message_received"))
    assert res.status_code == 200 and res.json == {"received": 1}
    process_all(store, config, enqueued)
    doc = doc_of(store, CARLOS)
    assert doc["stage"] == "Hot Lead"
    assert sorted(doc["identities"]) == ["email:carlos.perez@example.es", "phone:+34612345678", "respondio:1043822"]
    assert doc["fields"]["company"]["value"] == "Iberia Foods SL"
    assert activities(store) == [("whatsapp", "inbound", "1742960012")]
    with store.transaction() as s:
        assert s.scalar(select(model.RawEvent.status)) == "processed"


def test_sent_message_is_an_outbound_activity_on_the_same_contact(client, store, config, enqueued):
    for name, key in (("message_received", "rio-key-messages"), ("message_sent", "rio-key-contacts")):
        assert post(client, webhook(name), key=key).status_code == 200  # any of the connection's keys
    process_all(store, config, enqueued)
    assert activities(store) == [("whatsapp", "inbound", "1742960012"), ("whatsapp", "outbound", "1742960377")]
    with store.transaction() as s:
        assert s.scalar(select(func.count()).select_from(model.Contact)) == 1


def test_conversation_opened_from_click_to_chat_ad_is_a_new_lead_with_a_touchpoint(client, store, config, enqueued):
    assert post(client, webhook("conversation_opened_ctc_ads")).status_code == 200
    process_all(store, config, enqueued)
    doc = doc_of(store, IdentityRef("respondio", "1051377"))
    assert doc["stage"] == "New Lead"
    [tp] = doc["touchpoints"]
    assert (tp["channel"], tp["network"], tp["ad_id"]) == ("whatsapp", "meta", "120210000000000123")
    assert tp["click_ids"] == {"ctwa_clid": webhook("conversation_opened_ctc_ads")["conversation"]["meta"]["ctwa_clid"]}
    assert activities(store) == []


def test_conversation_opened_by_the_contact_makes_no_touchpoint(client, store, config, enqueued):
    payload = webhook("conversation_opened_ctc_ads")
    payload["conversation"]["openedBySource"] = "contact"
    assert post(client, payload).status_code == 200
    process_all(store, config, enqueued)
    assert doc_of(store, IdentityRef("respondio", "1051377"))["touchpoints"] == []


@pytest.mark.parametrize("lifecycle", ["Customer", {"id": 5, "name": "Customer"}, "customer"])
def test_lifecycle_as_a_name_or_an_object_moves_the_stage(client, store, config, enqueued, lifecycle):
    assert post(client, webhook("message_received")).status_code == 200
    payload = webhook("contact_lifecycle_updated")
    payload["contact"]["lifecycle"] = lifecycle
    assert post(client, payload, key="rio-key-contacts").status_code == 200
    process_all(store, config, enqueued)
    doc = doc_of(store, CARLOS)
    assert doc["stage"] == "Customer"
    assert [(h["from"], h["to"]) for h in doc["stage_history"]] == [(None, "Hot Lead"), ("Hot Lead", "Customer")]


def test_contact_updates_apply_by_event_time_whatever_the_arrival_order(client, store, config, enqueued):
    later = webhook("contact_updated")  # timestamp 2026-03-02, new e-mail
    earlier = webhook("message_received")  # 2026-03-01, old e-mail
    for payload in (later, earlier):
        assert post(client, payload).status_code == 200
    process_all(store, config, enqueued)
    doc = doc_of(store, CARLOS)
    assert doc["fields"]["email"]["value"] == "carlos.perez@iberiafoods.example"
    assert doc["stage"] == "Payment"


@pytest.mark.parametrize("case", ["sha1", "other connection"])
def test_a_signature_by_another_scheme_or_key_is_401_and_stores_nothing(client, store, enqueued, case):
    body = json.dumps(webhook("message_received")).encode()
    if case == "sha1":
        sig = base64.b64encode(hmac.new(b"rio-key-messages", body, hashlib.sha1).digest()).decode()
    else:  # another connection's key
        sig = rio_signature("rio-key-agency", body)
    res = post(client, None, signature=sig, body=body)
    assert res.status_code == 401 and res.json["status"] == 401
    assert raw_count(store) == 0 and enqueued == []


@pytest.mark.parametrize(("body", "reason"), [
    (b'{"event_id": "x", "contact": {"id": 1}}', "event_type"),
    (b'{"event_type": "message.received", "event_id": "x"}', "contact"),
    (b'{"event_type": "contact.updated", "event_id": "x", "contact": {"firstName": "Ana"}}', "contact"),
])
def test_malformed_signed_body_is_400_with_the_reason(client, store, enqueued, body, reason):
    res = post(client, None, body=body)
    assert res.status_code == 400 and reason in res.json["message"]
    assert raw_count(store) == 0 and enqueued == []


def test_message_without_event_id_is_keyed_by_its_message(client, store):
    payload = webhook("message_received")
    del payload["event_id"]
    again = copy.deepcopy(payload)
    again["contact"]["lastName"] = "Pérez"  # same message delivered again with a fresher contact
    assert post(client, payload).status_code == 200 and post(client, again).status_code == 200
    with store.transaction() as s:
        assert list(s.scalars(select(model.RawEvent.event_key))) == ["message.received:1742960012"]


def test_named_connection_uses_its_own_key(client, store):
    payload = webhook("message_received")
    assert post(client, payload, key="rio-key-messages", path="/webhooks/respondio/agency").status_code == 401
    assert post(client, payload, key="rio-key-agency", path="/webhooks/respondio/agency").status_code == 200
    with store.transaction() as s:
        assert s.scalar(select(model.RawEvent.connection)) == "agency"
