"""WhatsApp records as sync/connectors/meta/whatsapp.py files them, read by config/mappings/whatsapp_*.yaml.

Business-scoped user ids (username users without a phone number), the referral fields kept
on the touchpoint, and Meta's automatic events, from the connector's split to the patch.
"""

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sync.config import load_config
from sync.connectors.meta import whatsapp
from sync.mappings import apply, load_mapping
from sync.reconcile.patch import ConversionData, IdentityRef

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS = ROOT / "config" / "mappings"
FIXTURES = ROOT / "tests" / "fixtures" / "whatsapp"
MESSAGE = load_mapping(MAPPINGS / "whatsapp_message.yaml")
STATUS = load_mapping(MAPPINGS / "whatsapp_status.yaml")
AUTOMATIC = load_mapping(MAPPINGS / "whatsapp_automatic_event.yaml")
NUMBER = "106540352242922"  # the business number's phone_number_id in every fixture
SOFIA = "MX.13491208655302741918"


def value(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def delivery(*values: dict, field: str = "messages") -> dict:
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"field": field, "value": v} for v in values]}]}


def patch_of(name: str, field: str = "messages"):
    [event] = whatsapp.split(delivery(value(name), field=field))
    mapping = {"message": MESSAGE, "status": STATUS, "automatic_event": AUTOMATIC}[event.object]
    return event, apply(mapping, event.record)


def apply_status(v):
    [event] = whatsapp.split(delivery(v))
    return event, apply(STATUS, event.record)


def test_a_username_user_without_a_phone_number_is_identified_by_the_scoped_user_id():
    event, patch = patch_of("message_username.json")
    assert event.record["scoped_user_id"] == f"{NUMBER}:{SOFIA}"
    assert set(patch.identities) == {
        IdentityRef("whatsapp_user", f"{NUMBER}:{SOFIA}"),
        IdentityRef("ctwa_clid", value("message_username.json")["messages"][0]["referral"]["ctwa_clid"])}
    assert patch.field_map["whatsapp_username"] == "@sofi.ramirez"
    assert patch.stage == "New Lead"
    [act] = patch.activities
    assert act.conversation_id == f"{NUMBER}:{SOFIA}"  # no wa_id to thread on


def test_a_phone_user_with_a_user_id_keeps_wa_id_phone_and_the_scoped_user_id():
    _, patch = patch_of("message_bsuid.json")
    assert [str(i) for i in patch.identities] == [
        "whatsapp:447911123456", "phone:+447911123456", f"whatsapp_user:{NUMBER}:GB.20671553907412058834"]


@pytest.mark.parametrize("name", ["message_referral.json", "message_text.json", "status_sent.json"])
def test_a_phone_number_user_record_is_what_it_always_was(name):
    """No user id: the stored record holds exactly the keys it held before business-scoped ids."""
    [event] = whatsapp.split(delivery(value(name)))
    keys = {"metadata", "statuses"} if event.object == "status" else {
        "messaging_product", "metadata", "contacts", "messages"}
    assert set(event.record) == keys


@pytest.mark.parametrize(("on_message", "on_contact"), [(SOFIA, None), (None, SOFIA), (SOFIA, SOFIA)])
def test_the_user_id_is_the_messages_own_or_else_its_contacts(on_message, on_contact):
    v = value("message_username.json")
    v["messages"][0].pop("from_user_id")
    v["contacts"][0].pop("user_id")
    if on_message:
        v["messages"][0]["from_user_id"] = on_message
    if on_contact:
        v["contacts"][0]["user_id"] = on_contact
    [event] = whatsapp.split(delivery(v))
    assert event.record["scoped_user_id"] == f"{NUMBER}:{SOFIA}"


def test_the_scoped_user_id_is_qualified_by_the_number_that_received_the_message():
    other = value("message_username.json")
    other["metadata"]["phone_number_id"] = "222000111"
    [a, b] = whatsapp.split(delivery(value("message_username.json"), other))
    assert (a.record["scoped_user_id"], b.record["scoped_user_id"]) == (f"{NUMBER}:{SOFIA}", f"222000111:{SOFIA}")


def test_contacts_are_matched_to_messages_by_wa_id_or_user_id():
    v = value("message_username.json")
    phone = value("message_bsuid.json")
    v["contacts"].insert(0, phone["contacts"][0])  # the phone user's contact first
    v["messages"].insert(0, phone["messages"][0])
    v["messages"].reverse()  # the username user's message first
    first, second = whatsapp.split(delivery(v))
    assert first.record["contacts"] == value("message_username.json")["contacts"]
    assert first.record["scoped_user_id"] == f"{NUMBER}:{SOFIA}"
    assert second.record["contacts"] == phone["contacts"]
    assert apply(MESSAGE, first.record).field_map["whatsapp_username"] == "@sofi.ramirez"
    assert IdentityRef("whatsapp", "447911123456") in apply(MESSAGE, second.record).identities


def test_another_persons_contact_is_never_used_for_a_message():
    v = value("message_username.json")
    v["contacts"] = [value("message_bsuid.json")["contacts"][0], {"profile": {"name": "X"}, "wa_id": "4915112345678"}]
    [event] = whatsapp.split(delivery(v))  # the message's user is neither of them
    assert event.record["contacts"] == []
    assert event.record["scoped_user_id"] == f"{NUMBER}:{SOFIA}"  # from the message's from_user_id
    assert [i.kind for i in apply(MESSAGE, event.record).identities] == ["whatsapp_user", "ctwa_clid"]


def test_a_status_for_a_username_user_names_them_by_the_scoped_user_id():
    event, patch = patch_of("status_username.json")
    assert event.event_key.endswith(":sent")
    assert patch.identities == (IdentityRef("whatsapp_user", f"{NUMBER}:{SOFIA}"),)
    [act] = patch.activities
    assert act.direction == "outbound"


def test_a_status_names_its_recipient_by_the_contact_when_recipient_id_is_missing():
    v = value("status_username.json")
    v["contacts"][0]["wa_id"] = "5215512345678"
    _, patch = apply_status(v)
    assert {str(i) for i in patch.identities} == {"whatsapp:5215512345678", f"whatsapp_user:{NUMBER}:{SOFIA}"}


def test_every_referral_field_is_kept_on_the_touchpoint():
    _, patch = patch_of("message_username.json")
    [tp] = patch.touchpoints
    referral = value("message_username.json")["messages"][0]["referral"]
    assert dict(tp.extra) == {
        "source_type": "ad", "media_type": "video", "body": referral["body"],
        "video_url": referral["video_url"], "thumbnail_url": referral["thumbnail_url"],
        "welcome_message": "¡Hola! ¿En qué te podemos ayudar?"}
    assert (tp.ad_id, tp.headline, tp.referral_url) == (
        referral["source_id"], referral["headline"], referral["source_url"])
    _, image = patch_of("message_referral.json")
    assert dict(image.touchpoints[0].extra)["image_url"].endswith("0000000_n.png")
    assert dict(image.touchpoints[0].extra)["body"] == "Envíos nacionales en 24 horas"


def test_an_automatic_purchase_is_metas_guess_on_the_contact_who_clicked():
    event, patch = patch_of("automatic_event_purchase.json", field="automatic_events")
    ev = value("automatic_event_purchase.json")["automatic_events"][0]
    assert (event.object, event.event_key) == ("automatic_event", f"automatic_event:{ev['id']}:Purchase")
    assert patch.identities == (IdentityRef("ctwa_clid", ev["ctwa_clid"]),)
    assert patch.conversions == (ConversionData("meta_detected_purchase", datetime(2026, 3, 1, 11, 15, tzinfo=UTC),
                                                25.0, "USD"),)
    assert patch.creates_contact is False and patch.stage is None


def test_an_automatic_lead_is_metas_guess_of_a_lead_and_moves_no_stage():
    event, patch = patch_of("automatic_event_lead.json", field="automatic_events")
    assert event.event_key.startswith("automatic_event:") and event.event_key.endswith(":LeadSubmitted")
    assert [i.kind for i in patch.identities] == ["ctwa_clid"]
    assert [c.kind for c in patch.conversions] == ["meta_detected_lead"] and patch.stage is None
    assert patch.creates_contact is False


@pytest.mark.parametrize(("thousandths", "amount"), [
    (25000, 25.0), ("25000", 25.0), (1999, 1.999), ("abc", None), (True, None), (None, None), ("1e999999", None)])
def test_the_automatic_purchase_amount_is_metas_value_divided_by_1000(thousandths, amount):
    v = value("automatic_event_purchase.json")
    v["automatic_events"][0]["custom_data"]["value"] = thousandths
    [event] = whatsapp.split(delivery(v, field="automatic_events"))
    assert event.record.get("amount") == amount


def test_a_lead_and_a_purchase_detected_in_one_message_are_two_events():
    lead, purchase = value("automatic_event_lead.json"), copy.deepcopy(value("automatic_event_lead.json"))
    purchase["automatic_events"][0].update(event_name="Purchase", custom_data={"currency": "usd", "value": "9990"})
    keys = [e.event_key for e in whatsapp.split(delivery(lead, purchase, field="automatic_events"))]
    assert len(set(keys)) == 2


def test_other_change_fields_are_acknowledged_and_not_stored():
    assert whatsapp.split(delivery({"phone_number": "15550783881", "event": "VERIFIED"}, field="account_update")) == []


def test_whatsapp_user_is_an_exclusive_identity_kind():
    """Two contacts with different business-scoped ids of one number are never merged."""
    kind = load_config(None).lifecycle.identity_kind("whatsapp_user")
    assert kind.exclusive is True
