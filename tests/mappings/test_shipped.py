"""The mappings in config/mappings against recorded-shape vendor records in tests/fixtures."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sync.mappings import apply, get_path, load_mapping, load_mappings, reverse
from sync.reconcile.patch import ActivityData, ConversionData, IdentityRef, Patch, TouchpointData

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS = ROOT / "config" / "mappings"
FIXTURES = ROOT / "tests" / "fixtures"
STAGES = {"New Lead", "Hot Lead", "Payment", "Customer", "Repeat Customer", "Cold Lead", "Unqualified",
          "Lost to competitor"}
WAMID = "wamid.HBgNNTIxNTUxMjM0NTY3OBUCABIYFjNFQjBDMTJGOUIxQjNFNDk3QjlBAA=="
WAMID_TEXT = "wamid.HBgMNDQ3OTExMTIzNDU2FQIAEhggQTQ5RkI0RkQ3NUI3RTAwMkE3NjRBRDZCMEU5QjYA"


def at(*parts):
    return datetime(*parts, tzinfo=UTC)


def ids(*texts):
    return tuple(IdentityRef.parse(t) for t in texts)


def record(name):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


EXPECTED = {
    ("hubspot_contacts", "hubspot/contact.json"): Patch(
        source="hubspot", object="contacts", record_id="51", source_time=at(2026, 3, 1, 10, 15, 42, 120000),
        identities=ids("hubspot:51", "email:ana.lopez@example.com", "phone:+12125550142"),
        fields=(("email", "ana.lopez@example.com"), ("phone", "+12125550142"), ("first_name", "Ana María"),
                ("last_name", "López"), ("company", "Acme Logistics"), ("job_title", "Operations Manager"),
                ("city", "New York"), ("state", "NY"), ("zip", None), ("country", "United States"),
                ("language", "es"), ("lead_source", "PAID_SOCIAL"), ("lead_status", "IN_PROGRESS"),
                ("owner", "81234567")),
        stage="Hot Lead",
    ),
    ("hubspot_deals", "hubspot/deal.json"): Patch(
        source="hubspot", object="deals", record_id="18423950071", source_time=at(2026, 3, 20, 16, 31, 5, 337000),
        identities=ids("hubspot:51"), stage="Customer",
        conversions=(ConversionData("purchase", at(2026, 3, 20, 16, 30), 1250.5, "USD", "18423950071"),),
    ),
    ("salesforce_lead", "salesforce/lead.json"): Patch(
        source="salesforce", object="Lead", record_id="00Q5g00000A1b2CEAR", source_time=at(2026, 3, 1, 10, 15, 2),
        identities=ids("salesforce_lead:00Q5g00000A1b2CEAR", "salesforce:0035g00000XyZ12AAB",
                       "email:oliver.smith@example.co.uk", "phone:+447911123456"),
        fields=(("email", "oliver.smith@example.co.uk"), ("phone", "+447911123456"), ("first_name", "Oliver"),
                ("last_name", "Smith"), ("company", "Smith & Daughters Ltd"), ("job_title", "Director"),
                ("city", "London"), ("state", None), ("zip", "SW1A 1AA"), ("country", "United Kingdom"),
                ("lead_source", "Web"), ("lead_status", "OPEN_DEAL"), ("owner", "0055g00000Ab1CdAAJ")),
        stage="Hot Lead",
    ),
    ("salesforce_contact", "salesforce/contact.json"): Patch(
        source="salesforce", object="Contact", record_id="0035g00000XyZ12AAB", source_time=at(2026, 3, 2, 11),
        identities=ids("salesforce:0035g00000XyZ12AAB", "email:oliver.smith@example.co.uk", "phone:+14155552671"),
        fields=(("email", "oliver.smith@example.co.uk"), ("phone", "+14155552671"), ("first_name", "Oliver"),
                ("last_name", "Smith"), ("company", "Smith & Daughters Ltd"), ("job_title", "Director"),
                ("city", "London"), ("state", None), ("zip", "SW1A 1AA"), ("country", "United Kingdom"),
                ("lead_source", "Web"), ("owner", "0055g00000Ab1CdAAJ")),
    ),
    ("salesforce_opportunity", "salesforce/opportunity.json"): Patch(
        source="salesforce", object="Opportunity", record_id="0065g00000Lm4NoAAJ",
        source_time=at(2026, 3, 18, 17, 45, 10), identities=ids("salesforce:0035g00000XyZ12AAB"), stage="Customer",
        conversions=(ConversionData("purchase", at(2026, 3, 18), 48000.0, "USD", "0065g00000Lm4NoAAJ"),),
    ),
    ("whatsapp_message", "whatsapp/message_referral.json"): Patch(
        source="whatsapp", object="message", record_id=WAMID, source_time=at(2026, 3, 1, 10, 15),
        identities=ids("whatsapp:5215512345678", "phone:+525512345678",
                       "ctwa_clid:ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0"),
        fields=(("first_name", "Ana"), ("last_name", "María López")),
        stage="New Lead",
        touchpoints=(TouchpointData(
            channel="whatsapp", occurred_at=at(2026, 3, 1, 10, 15), network="meta", ad_id="120210000000000123",
            click_ids=(("ctwa_clid", "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0"),),
            referral_url="https://fb.me/3cr4Wqqkv", headline="Envíos express",
            extra=(("source_type", "ad"), ("media_type", "image"), ("body", "Envíos nacionales en 24 horas"),
                   ("image_url", "https://scontent.xx.fbcdn.net/v/t45.1600-4/0000000_n.png")),
        ),),
        activities=(ActivityData("whatsapp", "inbound", at(2026, 3, 1, 10, 15), WAMID, "5215512345678"),),
    ),
    ("whatsapp_automatic_event", "whatsapp/automatic_event_purchase.json"): Patch(
        source="whatsapp", object="automatic_event",
        record_id="wamid.HBgNNTIxNTUxMjM0NTY3OBUCABIYFjNFQjBEOUE3QzE0RjJCNkU4QTMwNUQA",
        source_time=at(2026, 3, 1, 11, 15),
        identities=ids("ctwa_clid:ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0"),
        # the value is the connector's "amount" (Meta's custom_data.value / 1000), not in Meta's value itself
        conversions=(ConversionData("meta_detected_purchase", at(2026, 3, 1, 11, 15), None, "USD"),),
        creates_contact=False,  # only adds to the contact who clicked
    ),
    ("whatsapp_message", "whatsapp/message_text.json"): Patch(
        source="whatsapp", object="message", record_id=WAMID_TEXT, source_time=at(2026, 3, 2, 9, 30),
        identities=ids("whatsapp:447911123456", "phone:+447911123456"),
        fields=(("first_name", "Oliver"),),  # one word: no last name, and no claim that it was cleared
        activities=(ActivityData("whatsapp", "inbound", at(2026, 3, 2, 9, 30), WAMID_TEXT, "447911123456"),),
    ),
    ("respondio_contact", "respondio/contact.json"): Patch(
        source="respondio", object="contact", record_id="1043822", source_time=at(2026, 2, 24, 11, 20),
        identities=ids("respondio:1043822", "email:carlos.perez@example.es", "phone:+34612345678"),
        fields=(("email", "carlos.perez@example.es"), ("phone", "+34612345678"), ("first_name", "Carlos"),
                ("last_name", "Pérez Gil"), ("language", "es"), ("country", "ES"), ("company", "Iberia Foods SL"),
                ("lead_source", "Instagram"), ("owner", "2201")),
        stage="Hot Lead",
    ),
    ("whatsapp_status", "whatsapp/status_sent.json"): Patch(
        source="whatsapp", object="status", record_id="wamid.HBgNNTIxNTUxMjM0NTY3OBUCABEYEjQ4NjBBNjc2MzA0QjA5QUQ0AA==",
        source_time=at(2026, 3, 1, 10, 20), identities=ids("whatsapp:5215512345678"),
        activities=(ActivityData("whatsapp", "outbound", at(2026, 3, 1, 10, 20),
                                 "wamid.HBgNNTIxNTUxMjM0NTY3OBUCABEYEjQ4NjBBNjc2MzA0QjA5QUQ0AA==",
                                 "8b1a6bb1a4d0e5c2a3f5d9e1c7b2a610"),),
    ),
    ("whatsapp_user_preference", "whatsapp/user_preference_stop.json"): Patch(
        source="whatsapp", object="user_preference",
        record_id="user_preference:5215512345678:marketing_messages:stop:1772362800",
        source_time=datetime.fromtimestamp(1772362800, UTC), identities=ids("whatsapp:5215512345678",
                                                                            "phone:+525512345678"),
        consent=(("marketing_messages", False),),
    ),
    ("shop_order", "shop/order.json"): Patch(
        source="shop", object="order", record_id="5523", source_time=at(2026, 11, 20, 9, 15, 30),
        identities=ids("email:lucia.gomez@example.es", "phone:+34612345678", "external:881"),
        fields=(("email", "lucia.gomez@example.es"), ("phone", "+34612345678"), ("first_name", "Lucía"),
                ("last_name", "Gómez")),
        stage="Customer",
        conversions=(ConversionData("purchase", at(2026, 11, 20, 9, 15), 149.0, "EUR", "5523"),),
    ),
    ("messenger_message", "messenger/message_referral.json"): Patch(
        source="messenger", object="message",
        record_id="104872651234567:m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P",
        source_time=at(2026, 3, 1, 10, 15, 0, 123000),  # Meta's messaging timestamps are milliseconds
        identities=ids("messenger:104872651234567:7385629104826351"),  # the PSID scoped by its page
        stage="New Lead",
        touchpoints=(TouchpointData(
            channel="messenger", occurred_at=at(2026, 3, 1, 10, 15, 0, 123000), network="meta",
            ad_id="120210000000000456", headline="Envíos gratis en marzo",
            extra=(("ref", "spring_promo"), ("source", "ADS"), ("type", "OPEN_THREAD"), ("placement", "message"),
                   ("post_id", "104872651234567_987654321098765"),
                   ("photo_url", "https://scontent.xx.fbcdn.net/v/t45.1600-4/0000001_n.jpg")),
        ),),
        activities=(ActivityData(
            "messenger", "inbound", at(2026, 3, 1, 10, 15, 0, 123000),
            "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P",
            "104872651234567:7385629104826351"),),
    ),
    ("instagram_message", "instagram/message_text.json"): Patch(
        source="instagram", object="message",
        record_id="17841405822304914:aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1ODIyMzA0OTE0OjM0MDI4MjM2Njg0MTcxMDMwMT"
                  "I0NDI3NjAxNzAxMzkyNzg4ODkyMDozMTk0OTg4MTI3NTk2NTY5NjQ4MjIwNDQ0NDU0NjI0Mjc1MgZDZD",
        source_time=at(2026, 3, 2, 10, 10, 0, 789000),
        identities=ids("instagram:17841405822304914:1254459154682919"),  # no referral: no stage, no touchpoint
        activities=(ActivityData(
            "instagram", "inbound", at(2026, 3, 2, 10, 10, 0, 789000),
            "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1ODIyMzA0OTE0OjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI3NjAxNzAxMzkyNzg4"
            "ODkyMDozMTk0OTg4MTI3NTk2NTY5NjQ4MjIwNDQ0NDU0NjI0Mjc1MgZDZD",
            "17841405822304914:1254459154682919"),),
    ),
    ("tiktok_message", "tiktok/message_receive.json"): Patch(
        source="tiktok", object="message", record_id="-000kBz7ZgQ1xq5Nw3Lr8TyUe0VaHc4Df2:7481530000123456789",
        source_time=at(2026, 3, 1, 10, 20, 0, 321000),
        identities=ids("tiktok:-000kBz7ZgQ1xq5Nw3Lr8TyUe0VaHc4Df2:-000pQ5tRw8YzX2vB6nK1mL9sD3fG7hJ0"),
        activities=(ActivityData("tiktok", "inbound", at(2026, 3, 1, 10, 20, 0, 321000), "7481530000123456789",
                                 "0:1:7481526049163204613:7352298745619158017"),),
    ),
    ("twilio_message", "twilio/sms_inbound.json"): Patch(
        source="twilio", object="message", record_id="SM9f1c2a7b4e8d3c6a5b2f1e0d9c8b7a61",
        source_time=at(2026, 3, 3, 14, 5, 9),  # Twilio sends no message time: the receipt time
        identities=ids("phone:+12125550142"),
        activities=(ActivityData("sms", "inbound", at(2026, 3, 3, 14, 5, 9), "SM9f1c2a7b4e8d3c6a5b2f1e0d9c8b7a61",
                                 "12125550142"),),
    ),
    ("twilio_message", "twilio/whatsapp_referral.json"): Patch(
        source="twilio", object="message", record_id="SM2e7b0c5a8f1d4e7b0c5a8f1d4e7b0c53",
        source_time=at(2026, 3, 1, 10, 15, 4),
        identities=ids("phone:+525512345678", "whatsapp:5215512345678"),  # "whatsapp:" stripped from From
        fields=(("first_name", "Ana"), ("last_name", "María López")),
        stage="New Lead",
        touchpoints=(TouchpointData(
            channel="whatsapp", occurred_at=at(2026, 3, 1, 10, 15, 4), network="meta", ad_id="120210000000000123",
            click_ids=(("ctwa_clid", "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0"),),
            referral_url="https://fb.me/3cr4Wqqkv", headline="Envíos express",
            extra=(("source_type", "ad"), ("body", "Entrega en 24 h en toda la ciudad"), ("media_type", "image/jpeg")),
        ),),
        activities=(ActivityData("whatsapp", "inbound", at(2026, 3, 1, 10, 15, 4), "SM2e7b0c5a8f1d4e7b0c5a8f1d4e7b0c53",
                                 "5215512345678"),),
    ),
    ("twilio_status", "twilio/status_sent.json"): Patch(
        source="twilio", object="status", record_id="SM71d4a8e2b5c9f3a6d0e4b7c1f5a8d2e9",
        source_time=at(2026, 3, 1, 10, 20), identities=ids("phone:+525512345678"),
        activities=(ActivityData("whatsapp", "outbound", at(2026, 3, 1, 10, 20), "SM71d4a8e2b5c9f3a6d0e4b7c1f5a8d2e9",
                                 "5215512345678"),),
    ),
    ("respondio_event", "respondio/event_message_received.json"): Patch(
        source="respondio", object="event", record_id="9c1e4b7a-3d2f-4a8e-b6c5-0f1e2d3c4b5a",
        source_time=at(2026, 3, 1, 10, 15),  # the message's time (milliseconds), not the contact's creation
        identities=ids("respondio:1043822", "email:carlos.perez@example.es", "phone:+34612345678"),
        fields=(("email", "carlos.perez@example.es"), ("phone", "+34612345678"), ("first_name", "Carlos"),
                ("last_name", "Pérez Gil"), ("language", "es"), ("country", "ES"), ("company", "Iberia Foods SL"),
                ("owner", "2201")),
        stage="Hot Lead",
        activities=(ActivityData("whatsapp", "inbound", at(2026, 3, 1, 10, 15), "1742960012", "1043822"),),
    ),
    ("respondio_event", "respondio/event_contact_lifecycle_updated.json"): Patch(
        source="respondio", object="event", record_id="d4c3b2a1-0f9e-4d8c-b7a6-5f4e3d2c1b0a",
        source_time=at(2026, 3, 3, 10, 15),
        identities=ids("respondio:1043822", "email:carlos.perez@iberiafoods.example", "phone:+34612345678"),
        fields=(("email", "carlos.perez@iberiafoods.example"), ("phone", "+34612345678"), ("first_name", "Carlos"),
                ("last_name", "Pérez Gil"), ("language", "es"), ("country", "ES"), ("owner", "2201")),
        stage="Customer",  # lifecycle as a plain name
    ),
    ("respondio_event", "respondio/event_conversation_opened_ctc_ads.json"): Patch(
        source="respondio", object="event", record_id="7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918",
        source_time=at(2026, 3, 1, 10, 14, 55),
        identities=ids("respondio:1051377", "phone:+525512345678"),
        fields=(("email", None), ("phone", "+525512345678"), ("first_name", "Lucía"), ("last_name", "Gómez"),
                ("language", "es"), ("country", "MX")),
        stage="New Lead",  # no lifecycle yet, conversation opened from a click-to-chat ad
        touchpoints=(TouchpointData(
            channel="whatsapp", occurred_at=at(2026, 3, 1, 10, 14, 55), network="meta", ad_id="120210000000000123",
            click_ids=(("ctwa_clid", "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0"),),
            referral_url="https://fb.me/3cr4Wqqkv", headline="Envíos express",
            extra=(("source", "ctc_ads"), ("source_type", "ad")),
        ),),
    ),
}


@pytest.mark.parametrize(("mapping_name", "fixture"), list(EXPECTED), ids=[f for _, f in EXPECTED])
def test_fixture_gives_the_exact_patch(mapping_name, fixture):
    patch = apply(load_mapping(MAPPINGS / f"{mapping_name}.yaml"), record(fixture))
    expected = EXPECTED[(mapping_name, fixture)]
    assert patch == expected
    assert patch.source_time.tzinfo is not None
    assert dict(patch.meta) == {"mapping": mapping_name}


def test_every_shipped_mapping_loads_and_has_a_fixture():
    mappings = load_mappings(ROOT / "config")
    assert sorted(m.name for m in mappings.values()) == sorted(p.stem for p in MAPPINGS.glob("*.yaml"))
    assert {m for m, _ in EXPECTED} == {m.name for m in mappings.values()}


@pytest.mark.parametrize("path", sorted(MAPPINGS.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_stages_are_default_lifecycle_stages(path):
    assert load_mapping(path).stage_values() <= STAGES


# vendor values the canonical form normalises, so reverse gives back the normal form
NORMALISED = {
    "hubspot_contacts": {"properties.email": "ana.lopez@example.com", "properties.phone": "+12125550142",
                         "properties.zip": None},  # an explicit blank comes back as null: both clear it
    "salesforce_lead": {"Phone": "+447911123456"},  # the lead had only a MobilePhone; written back as Phone
    "salesforce_contact": {},
    "respondio_contact": {"email": "carlos.perez@example.es", "phone": "+34612345678", "language": "es",
                          "lifecycle": "Hot Lead"},  # {id, name} is written back as the name
}


@pytest.mark.parametrize("mapping_name", sorted(NORMALISED))
def test_apply_then_reverse_gives_back_the_vendor_values(mapping_name):
    mapping = load_mapping(MAPPINGS / f"{mapping_name}.yaml")
    vendor = record(next(f for m, f in EXPECTED if m == mapping_name))
    patch = apply(mapping, vendor)
    back = reverse(mapping, patch.field_map, stage=patch.stage)

    specs = [spec for name, spec in mapping.fields if name in mapping.out_fields()]
    if mapping.stage is not None and mapping.stage.direction != "in":
        specs.append(mapping.stage)
    assert specs
    for spec in specs:
        path = spec.write_path
        assert get_path(back, path) == NORMALISED[mapping_name].get(path.text, get_path(vendor, path)), path.text

    # and the written record maps back to the same canonical values
    again = apply(mapping, {**vendor, **back})
    assert {k: again.field_map.get(k) for k in mapping.out_fields()} == {
        k: patch.field_map.get(k) for k in mapping.out_fields()}
    assert again.stage == patch.stage


@pytest.mark.parametrize("lifecycle", ["Hot Lead", {"id": 3, "name": "Hot Lead"}, "hot lead"])
def test_respondio_lifecycle_is_a_name_or_an_object(lifecycle):
    mapping = load_mapping(MAPPINGS / "respondio_contact.yaml")
    assert apply(mapping, {**record("respondio/contact.json"), "lifecycle": lifecycle}).stage == "Hot Lead"


def test_respondio_repeat_customer_passes_through_both_ways():
    mapping = load_mapping(MAPPINGS / "respondio_contact.yaml")
    assert apply(mapping, {**record("respondio/contact.json"), "lifecycle": "Repeat Customer"}).stage == \
        "Repeat Customer"
    assert reverse(mapping, {}, stage="Repeat Customer") == {"lifecycle": "Repeat Customer"}


@pytest.mark.parametrize(("stage", "expected"), [("Some Custom Stage", None), (None, None), ("", None)])
def test_respondio_unknown_lifecycle_gives_no_stage(stage, expected):
    mapping = load_mapping(MAPPINGS / "respondio_contact.yaml")
    assert apply(mapping, {**record("respondio/contact.json"), "lifecycle": stage}).stage == expected


@pytest.mark.parametrize(
    ("stage", "expected"),
    [("lead", "New Lead"), ("subscriber", "New Lead"), ("marketingqualifiedlead", "Hot Lead"),
     ("opportunity", "Payment"), ("customer", "Customer"), ("evangelist", "Customer"), ("other", None), (None, None)],
)
def test_hubspot_lifecycle_stages(stage, expected):
    mapping = load_mapping(MAPPINGS / "hubspot_contacts.yaml")
    vendor = record("hubspot/contact.json")
    vendor["properties"]["lifecyclestage"] = stage
    assert apply(mapping, vendor).stage == expected


@pytest.mark.parametrize(
    ("stage", "vendor"), [("Payment", "opportunity"), ("Unqualified", "other"), ("New Lead", "lead"),
                          ("Hot Lead", "salesqualifiedlead"), ("Repeat Customer", "customer")],
)
def test_hubspot_lifecycle_write_back(stage, vendor):
    mapping = load_mapping(MAPPINGS / "hubspot_contacts.yaml")
    assert reverse(mapping, {}, stage=stage) == {"properties": {"lifecyclestage": vendor}}


def test_hubspot_phone_falls_back_to_mobile():
    vendor = record("hubspot/contact.json")
    vendor["properties"]["phone"] = None
    patch = apply(load_mapping(MAPPINGS / "hubspot_contacts.yaml"), vendor)
    assert patch.field_map["phone"] == "+14155552671"
    assert IdentityRef("phone", "+14155552671") in patch.identities


def test_unconverted_salesforce_lead_has_no_contact_identity():
    vendor = {**record("salesforce/lead.json"), "IsConverted": False, "ConvertedContactId": None,
              "Status": "Closed - Not Converted"}
    patch = apply(load_mapping(MAPPINGS / "salesforce_lead.yaml"), vendor)
    assert [i.kind for i in patch.identities] == ["salesforce_lead", "email", "phone"]
    assert patch.stage == "Unqualified"


@pytest.mark.parametrize(("stage", "won", "expected_stage", "conversions"), [
    ("Negotiation/Review", False, "Payment", 0), ("Closed Lost", False, "Lost to competitor", 0),
    ("Closed Won", True, "Customer", 1)])
def test_salesforce_opportunity_stages(stage, won, expected_stage, conversions):
    vendor = {**record("salesforce/opportunity.json"), "StageName": stage, "IsWon": won, "CurrencyIsoCode": "eur"}
    patch = apply(load_mapping(MAPPINGS / "salesforce_opportunity.yaml"), vendor)
    sales = [c for c in patch.conversions if c.adjust is None]
    assert (patch.stage, len(sales)) == (expected_stage, conversions)
    # a lost opportunity retracts the purchase its id may have made when it was won (none: nothing to retract)
    assert [(c.kind, c.adjust, c.order_id) for c in patch.conversions if c.adjust] == (
        [("purchase", "retract", vendor["Id"])] if stage == "Closed Lost" else [])
    assert all(c.currency == "EUR" for c in sales)


def test_deleted_records_are_flagged():
    vendor = {**record("salesforce/contact.json"), "IsDeleted": True}
    assert apply(load_mapping(MAPPINGS / "salesforce_contact.yaml"), vendor).deleted is True
