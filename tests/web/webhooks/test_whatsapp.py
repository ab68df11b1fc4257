"""WhatsApp Cloud API receiver: handshake, signatures, inbox, routing, and the path to canonical state."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import func, select
from support.payloads import body_of, meta_signature, whatsapp_delivery, whatsapp_value

from sync.connectors.meta import signature as verifier
from sync.ingest import inbox
from sync.reconcile.patch import IdentityRef
from sync.reports.export import contacts_json, find_contact
from sync.store import model


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


@pytest.mark.parametrize(("payload", "reason"), [
    (b'{"object": "whatsapp_business_account", "entry": {}}', '"entry" must be a list'),
    (b'{"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": '
     b'{"messages": [{"from": "1"}]}}]}]}', "messages[0] must be an object with an id"),
])
def test_malformed_signed_body_is_400_with_the_reason(client, store, enqueued, payload, reason):
    res = post(client, None, body=payload)
    assert res.status_code == 400 and reason in res.json["message"]
    assert raw_count(store) == 0 and enqueued == []


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


def test_health_and_readiness(client):
    assert client.get("/healthz").json == {"status": "ok"}
    res = client.get("/readyz")
    assert res.status_code == 200 and res.json["checks"] == {"database": "ok", "queue": "ok"}


# ---- business-scoped user ids, referral fields, automatic events, malformed shapes ----------

NUMBER = "106540352242922"  # the business number's phone_number_id in the fixtures
SOFIA = "MX.13491208655302741918"  # a username user: no wa_id, no "from"
OLIVER = "GB.20671553907412058834"


def automatic_delivery(*values, waba="102290129340398"):
    return {"object": "whatsapp_business_account", "entry": [{"id": waba, "changes": [
        {"field": "automatic_events", "value": copy.deepcopy(v)} for v in values]}]}


def process(store, config, enqueued):
    for ids in enqueued:
        inbox.process_events(store, config, ids)
    enqueued.clear()


def receive(client, store, config, enqueued, *payloads):
    for payload in payloads:
        assert post(client, payload).status_code == 200
        process(store, config, enqueued)  # one at a time: later ones meet the stored contacts


def count(store, table) -> int:
    with store.transaction() as s:
        return s.scalar(select(func.count()).select_from(table))


def doc_of(store, kind, value):
    with store.transaction() as s:
        cid = find_contact(s, IdentityRef(kind, value))
        assert cid is not None, f"no contact holds {kind}:{value}"
        [doc] = contacts_json(s, [cid])
    return doc


def test_a_username_users_click_to_whatsapp_message_becomes_a_new_lead(client, store, config, enqueued):
    value = whatsapp_value("message_username.json")
    res = post(client, whatsapp_delivery(value))
    assert res.status_code == 200 and res.json == {"received": 1}
    process(store, config, enqueued)
    assert count(store, model.DeadLetter) == 0
    doc = doc_of(store, "whatsapp_user", f"{NUMBER}:{SOFIA}")
    assert doc["stage"] == "New Lead"
    assert doc["fields"]["whatsapp_username"]["value"] == "@sofi.ramirez"
    [tp] = doc["touchpoints"]
    assert tp["click_ids"] == {"ctwa_clid": value["messages"][0]["referral"]["ctwa_clid"]}
    assert [i for i in doc["identities"] if not i.startswith("ctwa_clid:")] == [f"whatsapp_user:{NUMBER}:{SOFIA}"]


def test_a_user_seen_by_phone_then_with_a_user_id_then_by_username_only_is_one_contact(
        client, store, config, enqueued):
    by_phone = whatsapp_value("message_text.json")  # 447911123456, before business-scoped ids
    with_id = whatsapp_value("message_bsuid.json")  # the same number, now with its user id
    hidden = copy.deepcopy(with_id)  # the user adopted a username: Meta withholds the number
    del hidden["contacts"][0]["wa_id"], hidden["messages"][0]["from"]
    hidden["contacts"][0]["profile"]["username"] = "@oliver"
    hidden["messages"][0].update(id="wamid.HIDDEN1", timestamp="1772616600")
    receive(client, store, config, enqueued, *(whatsapp_delivery(v) for v in (by_phone, with_id, hidden)))
    assert count(store, model.Contact) == 1
    doc = doc_of(store, "whatsapp_user", f"{NUMBER}:{OLIVER}")
    assert doc["identities"] == ["phone:+447911123456", "whatsapp:447911123456", f"whatsapp_user:{NUMBER}:{OLIVER}"]
    assert doc["fields"]["whatsapp_username"]["value"] == "@oliver"
    assert count(store, model.Activity) == 3


def test_a_user_seen_first_by_user_id_then_with_a_phone_number_is_one_contact(client, store, config, enqueued):
    shared = whatsapp_value("message_username.json")
    shared["contacts"][0]["wa_id"] = shared["messages"][0]["from"] = "5215598765432"
    shared["messages"][0].update(id="wamid.SHARED1", timestamp="1772532600")
    del shared["messages"][0]["referral"]
    receive(client, store, config, enqueued, whatsapp_delivery(whatsapp_value("message_username.json")),
            whatsapp_delivery(shared))
    assert count(store, model.Contact) == 1
    doc = doc_of(store, "whatsapp", "5215598765432")
    assert {"phone:+525598765432", f"whatsapp_user:{NUMBER}:{SOFIA}"} <= set(doc["identities"])
    assert doc["stage"] == "New Lead"


def test_a_status_for_a_username_user_is_their_outbound_activity(client, store, config, enqueued):
    status = whatsapp_value("status_username.json")
    receive(client, store, config, enqueued, whatsapp_delivery(whatsapp_value("message_username.json")),
            whatsapp_delivery(status))
    assert count(store, model.DeadLetter) == 0 and count(store, model.Contact) == 1
    with store.transaction() as s:
        cid = find_contact(s, IdentityRef("whatsapp_user", f"{NUMBER}:{SOFIA}"))
        acts = s.execute(select(model.Activity.contact_id, model.Activity.direction, model.Activity.external_id)
                         .order_by(model.Activity.direction)).all()
    assert acts == [(cid, "inbound", whatsapp_value("message_username.json")["messages"][0]["id"]),
                    (cid, "outbound", status["statuses"][0]["id"])]


def test_contacts_holding_different_user_ids_are_never_merged(client, store, config, enqueued):
    """A record that links two contacts with different business-scoped ids of one number merges nothing."""
    claim = whatsapp_value("message_bsuid.json")  # Oliver's number, but Sofía's user id
    claim["contacts"][0]["user_id"] = claim["messages"][0]["from_user_id"] = SOFIA
    claim["messages"][0].update(id="wamid.CLAIM1", timestamp="1772620200")
    receive(client, store, config, enqueued, whatsapp_delivery(whatsapp_value("message_username.json")),
            whatsapp_delivery(whatsapp_value("message_bsuid.json")), whatsapp_delivery(claim))
    assert count(store, model.Contact) == 2 and count(store, model.MergeLog) == 0
    sofia = doc_of(store, "whatsapp_user", f"{NUMBER}:{SOFIA}")
    oliver = doc_of(store, "whatsapp", "447911123456")
    assert sofia["id"] != oliver["id"]
    assert [i for i in oliver["identities"] if i.startswith("whatsapp_user:")] == [f"whatsapp_user:{NUMBER}:{OLIVER}"]
    with store.transaction() as s:
        blocked = s.execute(select(model.ConflictLog.field, model.ConflictLog.rule, model.ConflictLog.record_id)).all()
    assert blocked == [("identity:whatsapp_user", "merge_blocked", "wamid.CLAIM1")]


def test_a_contact_never_takes_a_second_user_id_of_one_number(client, store, config, enqueued):
    other = whatsapp_value("message_bsuid.json")
    other["contacts"][0]["user_id"] = other["messages"][0]["from_user_id"] = "GB.99999999999999999999"
    other["messages"][0].update(id="wamid.OTHER1", timestamp="1772620200")
    receive(client, store, config, enqueued, whatsapp_delivery(whatsapp_value("message_bsuid.json")),
            whatsapp_delivery(other))
    doc = doc_of(store, "whatsapp", "447911123456")
    assert [i for i in doc["identities"] if i.startswith("whatsapp_user:")] == [f"whatsapp_user:{NUMBER}:{OLIVER}"]
    assert count(store, model.ConflictLog) == 1 and count(store, model.Activity) == 2  # the message still counts


def test_referral_fields_are_kept_on_the_touchpoint(client, store, config, enqueued):
    receive(client, store, config, enqueued, whatsapp_delivery(whatsapp_value()),
            whatsapp_delivery(whatsapp_value("message_username.json")))
    with store.transaction() as s:
        extras = {tp.ad_id: tp.extra for tp in s.scalars(select(model.Touchpoint))}
    image = whatsapp_value()["messages"][0]["referral"]
    video = whatsapp_value("message_username.json")["messages"][0]["referral"]
    assert extras[image["source_id"]] == {"source_type": "ad", "media_type": "image", "body": image["body"],
                                          "image_url": image["image_url"]}
    assert extras[video["source_id"]] == {
        "source_type": "ad", "media_type": "video", "body": video["body"], "video_url": video["video_url"],
        "thumbnail_url": video["thumbnail_url"], "welcome_message": video["welcome_message"]["text"]}


def test_an_automatic_purchase_is_recorded_on_the_contact_who_clicked_as_metas_guess(client, store, config, enqueued):
    """Reported as its own kind: no stage moves on Meta's guess, and nothing goes back to Meta."""
    purchase = automatic_delivery(whatsapp_value("automatic_event_purchase.json"))
    receive(client, store, config, enqueued, whatsapp_delivery(whatsapp_value()), purchase)
    assert count(store, model.Contact) == 1 and count(store, model.DeadLetter) == 0
    doc = doc_of(store, "whatsapp", "5215512345678")
    assert doc["stage"] == "New Lead"
    [guess] = [c for c in doc["conversions"] if c["kind"] == "meta_detected_purchase"]
    assert (guess["value"], guess["currency"], guess["source"]) == (25.0, "USD", "whatsapp")
    assert sorted(c["kind"] for c in doc["conversions"]) == ["lead", "meta_detected_purchase"]
    networks = [d.name for d in config.conversions.destinations]  # the lead of the click is sent; Meta's guess is not
    assert config.conversions.destinations_for("lead", networks) == ("meta", "tiktok")
    assert config.conversions.destinations_for("meta_detected_purchase", networks) == ()
    # redelivered: stored once, recorded once
    assert post(client, purchase).status_code == 200 and enqueued == []
    assert count(store, model.RawEvent) == 2 and count(store, model.ConversionEvent) == len(doc["conversions"])


def test_an_automatic_lead_is_stored_under_its_own_key_and_recorded_once(client, store, config, enqueued):
    message, lead = whatsapp_value(), whatsapp_value("automatic_event_lead.json")
    assert lead["automatic_events"][0]["id"] == message["messages"][0]["id"]  # detected in that very message
    receive(client, store, config, enqueued, whatsapp_delivery(message), automatic_delivery(lead))
    with store.transaction() as s:
        raws = s.execute(select(model.RawEvent.object, model.RawEvent.status).order_by(model.RawEvent.id)).all()
    assert raws == [("message", "processed"), ("automatic_event", "processed")]
    doc = doc_of(store, "ctwa_clid", lead["automatic_events"][0]["ctwa_clid"])
    assert doc["stage"] == "New Lead" and sorted(c["kind"] for c in doc["conversions"]) == ["lead",
                                                                                             "meta_detected_lead"]
    assert count(store, model.Contact) == 1 and count(store, model.DeadLetter) == 0


def test_an_automatic_event_whose_click_no_contact_holds_is_a_dead_letter_not_a_contact(client, store, config,
                                                                                         enqueued):
    receive(client, store, config, enqueued, automatic_delivery(whatsapp_value("automatic_event_purchase.json")))
    with store.transaction() as s:
        [(obj, reason)] = s.execute(select(model.DeadLetter.object, model.DeadLetter.reason)).all()
    assert obj == "automatic_event" and "no known contact holds its ctwa_clid" in reason
    assert count(store, model.Contact) == 0 and count(store, model.ConversionEvent) == 0


def test_an_automatic_event_without_a_click_id_is_kept_as_a_dead_letter(client, store, config, enqueued):
    status_ad = whatsapp_value("automatic_event_purchase.json")  # an ad in WhatsApp Status: no ctwa_clid
    del status_ad["automatic_events"][0]["ctwa_clid"]
    receive(client, store, config, enqueued, automatic_delivery(status_ad))
    with store.transaction() as s:
        [(obj, reason)] = s.execute(select(model.DeadLetter.object, model.DeadLetter.reason)).all()
    assert obj == "automatic_event" and "no usable identity" in reason
    assert count(store, model.RawEvent) == 1 and count(store, model.Contact) == 0


def test_automatic_events_are_routed_to_the_connection_owning_the_phone_number(client, store):
    value = whatsapp_value("automatic_event_purchase.json")
    value["metadata"]["phone_number_id"] = "222000111"
    assert post(client, automatic_delivery(value), secret="wa-secret").status_code == 200
    with store.transaction() as s:
        assert s.execute(select(model.RawEvent.connection, model.RawEvent.object)).all() == [
            ("salon2", "automatic_event")]


def _change(value, field="messages"):
    return [{"changes": [{"field": field, "value": value}]}]


@pytest.mark.parametrize(("entry", "reason"), [
    ([1], "entry[0] must be an object with a list of changes, not a number"),
    ({"a": 1}, '"entry" must be a list, not an object'),
    (None, '"entry" must be a list, not null'),
    ([{"changes": "x"}], "entry[0].changes must be a list, not a string"),
    ([{"changes": [1]}], "entry[0].changes[0] must be an object with a field and a value, not a number"),
    ([{"changes": [{"field": 5, "value": {}}]}], "entry[0].changes[0].field must be a string, not a number"),
    (_change([1]), "entry[0].changes[0].value must be an object, not a list"),
    (_change("x", field="automatic_events"), "entry[0].changes[0].value must be an object, not a string"),
    (_change({"metadata": "x"}), "entry[0].changes[0].value.metadata must be an object, not a string"),
    (_change({"metadata": {"phone_number_id": [1]}}),
     "entry[0].changes[0].value.metadata.phone_number_id must be a string, not a list"),
    (_change({"metadata": {"phone_number_id": True}}),
     "entry[0].changes[0].value.metadata.phone_number_id must be a string, not a boolean"),
    (_change({"contacts": {}}), "entry[0].changes[0].value.contacts must be a list, not an object"),
    (_change({"contacts": [1]}), "entry[0].changes[0].value.contacts[0] must be an object, not a number"),
    (_change({"messages": {"id": "wamid.X"}}), "entry[0].changes[0].value.messages must be a list, not an object"),
    (_change({"messages": ["wamid.X"]}), "entry[0].changes[0].value.messages[0] must be an object, not a string"),
    (_change({"messages": [{"id": {"x": 1}}]}), "entry[0].changes[0].value.messages[0] must be an object with an id"),
    (_change({"statuses": "x"}), "entry[0].changes[0].value.statuses must be a list, not a string"),
    (_change({"statuses": [{"id": "wamid.X"}]}),
     "entry[0].changes[0].value.statuses[0] must be an object with an id and a status"),
    (_change({"automatic_events": {}}, field="automatic_events"),
     "entry[0].changes[0].value.automatic_events must be a list, not an object"),
    (_change({"automatic_events": [{"id": "wamid.X"}]}, field="automatic_events"),
     "entry[0].changes[0].value.automatic_events[0] must be an object with an id and an event_name"),
    (_change({"automatic_events": [{"id": "wamid.X", "event_name": "Purchase", "custom_data": "25"}]},
             field="automatic_events"),
     "entry[0].changes[0].value.automatic_events[0].custom_data must be an object, not a string"),
    # a good change first: the delivery is refused whole, nothing of it stored
    ([{"changes": [{"field": "messages", "value": whatsapp_value("message_text.json")}, 7]}],
     "entry[0].changes[1] must be an object with a field and a value, not a number"),
])
def test_every_malformed_shape_is_400_naming_the_path_and_stores_nothing(client, store, enqueued, entry, reason):
    res = post(client, {"object": "whatsapp_business_account", "entry": entry})
    assert res.status_code == 400 and reason in res.json["message"], res.json
    assert raw_count(store) == 0 and enqueued == []


def test_one_person_writing_to_two_business_numbers_holds_one_user_id_of_each(client, store, config, enqueued):
    """User ids are scoped by the number that received the message: one per number, not one in all."""
    second = whatsapp_value("message_bsuid.json")
    second["metadata"]["phone_number_id"] = "106540352242999"
    second["messages"][0].update(id="wamid.SECOND1", timestamp="1772620200")
    receive(client, store, config, enqueued, whatsapp_delivery(whatsapp_value("message_bsuid.json")),
            whatsapp_delivery(second))
    doc = doc_of(store, "whatsapp", "447911123456")
    assert sorted(i for i in doc["identities"] if i.startswith("whatsapp_user:")) == [
        f"whatsapp_user:{NUMBER}:{OLIVER}", f"whatsapp_user:106540352242999:{OLIVER}"]
    assert count(store, model.Contact) == 1 and count(store, model.ConflictLog) == 0


def test_a_message_and_the_automatic_event_after_it_in_one_drain_batch_land_in_arrival_order(client, store, config,
                                                                                             enqueued):
    """One batch holds both: the message (which makes the contact) is processed before the event that needs it."""
    assert post(client, whatsapp_delivery(whatsapp_value())).status_code == 200
    assert post(client, automatic_delivery(whatsapp_value("automatic_event_purchase.json"))).status_code == 200
    with store.transaction() as s:
        ids = list(s.scalars(select(model.RawEvent.id)))
    inbox.process_events(store, config, ids)
    assert count(store, model.DeadLetter) == 0
    doc = doc_of(store, "whatsapp", "5215512345678")
    assert sorted(c["kind"] for c in doc["conversions"]) == ["lead", "meta_detected_purchase"]


def preference_delivery(value: str, timestamp: int) -> dict:
    pref = whatsapp_value("user_preference_stop.json")
    del pref["preference_id"]  # lifesync's own: the connector adds it
    pref["user_preferences"][0].update(value=value, timestamp=timestamp)
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [
        {"field": "user_preferences", "value": pref}]}]}


def test_a_users_stop_and_resume_in_whatsapp_set_their_marketing_messages_consent(client, store, config, enqueued):
    from sync.reports.contact_detail import contact_detail

    stop, resume = preference_delivery("stop", 1772362800), preference_delivery("resume", 1772366400)
    receive(client, store, config, enqueued, whatsapp_delivery(whatsapp_value()), stop)
    with store.transaction() as s:
        cid = find_contact(s, IdentityRef("whatsapp", "5215512345678"))
        assert s.get(model.Contact, cid).consent == {"marketing_messages": False}
        [row] = s.scalars(select(model.FieldValue).where(model.FieldValue.field == "consent.marketing_messages"))
        assert (row.source, row.value, row.record_id) == (
            "whatsapp", False, "user_preference:5215512345678:marketing_messages:stop:1772362800")
        assert s.get(model.SegmentDirty, cid) is not None  # segments look at the contact again
    assert count(store, model.Contact) == 1 and count(store, model.DeadLetter) == 0
    receive(client, store, config, enqueued, resume, stop)  # the older stop redelivered late changes nothing
    with store.transaction() as s:
        assert s.get(model.Contact, cid).consent == {"marketing_messages": True}
        shown = contact_detail(s, config.lifecycle, cid)["consent"]["marketing_messages"]
    assert (shown["value"], shown["source"], shown["record_id"]) == (
        True, "whatsapp", "user_preference:5215512345678:marketing_messages:resume:1772366400")
    assert [c["value"] for c in shown["candidates"]] == [True]  # one source, its newest candidate kept
