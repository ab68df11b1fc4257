"""Meta conformance: lifesync's CAPI user data and events against Meta's own SDK (``facebook_business``).

The SDK (facebook-python-business-sdk, ``adobjects/serverside``) is the vendor-written
reference: ``UserData.normalize()`` lowercases, trims and hashes each field with
``Normalize.normalize_field``. Where the SDK normalises a messy input, lifesync's hash must be
the SDK's. Where the SDK does less than Meta's documented rules (punctuation in names, country
and US state names, national phone numbers, ZIP+4 in some shapes) lifesync's normalised value
must be one the SDK leaves as is: hashing it through the SDK gives lifesync's hash.

Fields the SDK cannot express, so not compared here:
* ``external_id``: the SDK sends it as given (no normalising, no hashing); lifesync hashes it as
  Meta recommends, so the comparison is the SHA-256 of the SDK's value.
* ``whatsapp_business_account_id``, ``page_scoped_user_id``, ``ig_account_id``, ``ig_sid``:
  ``UserData`` has no such fields; ``MessagingChannel`` knows only ``whatsapp`` (26.0.3).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from facebook_business.adobjects.serverside.action_source import ActionSource
from facebook_business.adobjects.serverside.custom_data import CustomData
from facebook_business.adobjects.serverside.event import Event
from facebook_business.adobjects.serverside.event_request import EventRequest
from facebook_business.adobjects.serverside.gender import Gender
from facebook_business.adobjects.serverside.messaging_channel import MessagingChannel
from facebook_business.adobjects.serverside.normalize import Normalize
from facebook_business.adobjects.serverside.user_data import UserData

from sync.attribution.destination import DestinationConfig
from sync.attribution.facts import ContactFacts, ConversionFacts, TouchpointFacts
from sync.attribution.networks import meta as meta_capi

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def dest(**overrides) -> DestinationConfig:
    values = dict(name="meta", network="meta", base_url="https://graph.facebook.com", api_version="v26.0",
                  credentials={"access_token": "EAAG-token"}, account_id="1234567890")
    values.update(overrides)
    return DestinationConfig(**values)


def built_user(**contact) -> dict:
    """The user_data lifesync's Meta builder sends for a contact (an e-mail keeps it matchable)."""
    contact.setdefault("emails", ("someone@example.com",))
    facts = ContactFacts(contact_id=contact.pop("contact_id", 42), **contact)
    conv = ConversionFacts(event_id="ev-1", kind="lead", occurred_at=NOW - timedelta(hours=1))
    return meta_capi.build(conv, facts, [], dest(), now=NOW).payload["user_data"]


# (lifesync ContactFacts field, UserData keyword, CAPI key, messy input) where the SDK normalises the input itself
SDK_NORMALISES = [
    ("emails", "emails", "em", "  John_Smith@Gmail.COM "),
    ("emails", "emails", "em", "ANNA.lena@Example.co.uk"),
    ("phones", "phones", "ph", "+1 (650) 555-1212"),
    ("phones", "phones", "ph", "+44 20 7946 0958"),
    ("phones", "phones", "ph", "0044-20-7946-0958"),
    ("phones", "phones", "ph", "+971 50 123 4567"),
    ("first_name", "first_names", "fn", "  MARY "),
    ("first_name", "first_names", "fn", "José"),
    ("first_name", "first_names", "fn", "Zoë"),
    ("first_name", "first_names", "fn", "محمد"),  # Arabic: both keep the letters, lowercase is a no-op
    ("last_name", "last_names", "ln", "Müller"),
    ("last_name", "last_names", "ln", "العلي"),
    ("city", "cities", "ct", "San Francisco"),
    ("city", "cities", "ct", "Saint-Étienne"),
    ("city", "cities", "ct", "São Paulo"),
    ("state", "states", "st", "CA"),
    ("state", "states", "st", " ny "),
    ("zip", "zip_codes", "zp", "94107-1234"),
    ("zip", "zip_codes", "zp", "SW1A 1AA"),
    ("zip", "zip_codes", "zp", " 75008 "),
    ("country", "country_codes", "country", "US"),
    ("country", "country_codes", "country", " gb "),
    ("date_of_birth", "dates_of_birth", "db", "19900201"),
]


@pytest.mark.parametrize(("ours", "sdk_field", "key", "raw"), SDK_NORMALISES)
def test_hash_equals_the_sdks_for_messy_input(ours, sdk_field, key, raw):
    value = (raw,) if ours in ("emails", "phones") else raw
    user = built_user(**{ours: value})
    sdk = UserData(**{sdk_field: [raw]}).normalize()
    ours_value = user[key] if isinstance(user[key], list) else [user[key]]
    assert ours_value == sdk[key]


@pytest.mark.parametrize(("raw", "sdk_gender"), [("Female", Gender.FEMALE), ("m", Gender.MALE),
                                                  ("femme", Gender.FEMALE), (" MALE ", Gender.MALE)])
def test_gender_hash_equals_the_sdks_enum(raw, sdk_gender):
    # the SDK takes a Gender enum, not text; lifesync maps gender words to the enum's values
    assert [built_user(gender=raw)["ge"]] == UserData(genders=[sdk_gender]).normalize()["ge"]


def test_external_id_is_the_hash_of_what_the_sdk_sends_plain():
    sdk = UserData(external_ids=["42"]).normalize()["external_id"]
    assert built_user(contact_id=42)["external_id"] == [sha(sdk[0])]


# (field, CAPI key, messy input, what lifesync normalises it to) where the SDK does less than Meta's rules:
# lifesync's value must be normal for the SDK too (the SDK hashes it to lifesync's hash).
STRICTER_THAN_SDK = [
    ("first_name", "fn", "O'Connor", "oconnor"),  # Meta: no punctuation; the SDK keeps the apostrophe
    ("last_name", "ln", "Smith-Jones", "smithjones"),
    ("city", "ct", "St. Louis", "stlouis"),
    ("state", "st", "California", "ca"),  # Meta: 2-letter code for US states; the SDK keeps the name
    ("country", "country", "United Kingdom", "gb"),  # the SDK refuses country names
    ("country", "country", "DEU", "de"),
    ("date_of_birth", "db", "1990-02-01", "19900201"),  # the SDK hashes any text as given
    ("date_of_birth", "db", "02/01/1990", "19900201"),  # month-first for the default US region
]


@pytest.mark.parametrize(("field", "key", "raw", "normal"), STRICTER_THAN_SDK)
def test_stricter_normalisation_is_a_fixed_point_of_the_sdk(field, key, raw, normal):
    assert built_user(**{field: raw})[key] == sha(normal) == Normalize.normalize_field(key, normal)


@pytest.mark.parametrize("raw", ["(650) 555-1212", "650.555.1212"])
def test_national_phone_the_sdk_cannot_place_is_normal_for_it_once_lifesync_adds_the_country_code(raw):
    # the SDK has no region to read a national number in: it hashes the 10 digits as if international, or
    # refuses the dots; lifesync reads it in the contact's region (US by default)
    assert built_user(phones=(raw,))["ph"] == [sha("16505551212")] == [Normalize.normalize_field("ph", "16505551212")]
    try:
        sdk = Normalize.normalize_field("ph", raw)
    except ValueError:
        sdk = None
    assert sdk != sha("16505551212")


def test_action_sources_are_the_sdks():
    assert {source.value for source in ActionSource} == meta_capi.ACTION_SOURCES


def sdk_event(payload: dict) -> Event:
    """The SDK's Event built from lifesync's payload (hashed values pass through the SDK unchanged)."""
    user = payload["user_data"]
    single = {"fn": "first_names", "ln": "last_names", "ct": "cities", "st": "states", "zp": "zip_codes",
              "country": "country_codes", "db": "dates_of_birth"}
    kwargs = {sdk: [user[key]] for key, sdk in single.items() if key in user}
    kwargs.update(emails=user.get("em"), phones=user.get("ph"), external_ids=user.get("external_id"),
                  fbc=user.get("fbc"), fbp=user.get("fbp"), ctwa_clid=user.get("ctwa_clid"))
    if "ge" in user:
        kwargs["genders"] = [next(g for g in Gender if sha(g.value) == user["ge"])]
    custom = payload.get("custom_data")
    channel = payload.get("messaging_channel")
    return Event(event_name=payload["event_name"], event_time=payload["event_time"], event_id=payload["event_id"],
                 user_data=UserData(**{k: v for k, v in kwargs.items() if v is not None}),
                 custom_data=CustomData(**custom) if custom else None,
                 action_source=ActionSource(payload["action_source"]),
                 messaging_channel=MessagingChannel(channel) if channel else None,
                 data_processing_options=payload.get("data_processing_options"),
                 data_processing_options_country=payload.get("data_processing_options_country"),
                 data_processing_options_state=payload.get("data_processing_options_state"))


def comparable(payload: dict) -> dict:
    """Lists as sets: the SDK de-duplicates user_data lists through a set and wraps single fields in lists."""
    user = {k: sorted(v) if isinstance(v, list) else [v] for k, v in payload["user_data"].items()}
    for key in ("fbc", "fbp", "ctwa_clid"):
        if key in user:
            user[key] = user[key][0]
    return {**payload, "user_data": user}


def test_a_full_crm_event_is_what_the_sdks_event_sends():
    contact = ContactFacts(contact_id=7, emails=("Ann@Example.com", "ann.b@example.org"), phones=("+1 650 555 1212",),
                           first_name="Ann", last_name="Lee", city="Austin", state="Texas", zip="73301",
                           country="United States", date_of_birth="1985-07-04", gender="female",
                           policy="restricted")
    conv = ConversionFacts(event_id="ev-9", kind="purchase", occurred_at=NOW - timedelta(hours=2), value=99.5,
                           currency="EUR", order_id="o-1")
    touch = TouchpointFacts(channel="web", network="meta", occurred_at=NOW - timedelta(days=1),
                            click_ids={"fbclid": "IwAR0abc", "fbp": "fb.1.1700000000000.123"})
    payload = meta_capi.build(conv, contact, [touch], dest(), now=NOW).payload
    sdk = sdk_event(payload).normalize()
    assert comparable(sdk) == comparable(payload)
    # and the SDK's request accepts the event list lifesync batches
    request = EventRequest(pixel_id="1234567890", events=[sdk_event(payload)], test_event_code="TEST1")
    assert [json.loads(event) for event in request.get_params()["data"]] == [sdk]


def test_a_whatsapp_business_messaging_event_is_what_the_sdks_event_sends():
    contact = ContactFacts(contact_id=8, phones=("+44 7700 900123",))
    conv = ConversionFacts(event_id="ev-10", kind="qualified_lead", occurred_at=NOW - timedelta(hours=1))
    touch = TouchpointFacts(channel="whatsapp", network="meta", occurred_at=NOW - timedelta(days=1),
                            click_ids={"ctwa_clid": "ARAkLkA"}, extra={"waba_id": "waba-1"})
    payload = meta_capi.build(conv, contact, [touch], dest(), now=NOW).payload
    # whatsapp_business_account_id has no UserData field in the SDK (see the module docstring)
    account = payload["user_data"].pop("whatsapp_business_account_id")
    assert account == "waba-1"
    assert comparable(sdk_event(payload).normalize()) == comparable(payload)
