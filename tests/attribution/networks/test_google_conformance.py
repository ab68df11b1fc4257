"""Google conformance: lifesync's Data Manager requests and hashes against Google's own packages.

* ``google-ads-datamanager`` (the API's protobuf messages): every ``events:ingest`` body lifesync
  builds parses into ``IngestEventsRequest`` with unknown fields refused; what the sandbox answers
  parses into ``IngestEventsResponse``, ``RetrieveRequestStatusResponse`` and ``google.rpc.Status``.
* ``google-ads-datamanager-util`` (Google's ``Formatter``): e-mails, phones, names, postal and
  region codes normalise and hash exactly as it does (``Encoding.HEX``). The Formatter reads a
  phone as already international (``+`` and digits); lifesync also reads national numbers in the
  contact's country, so phones are compared on international inputs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from google.ads.datamanager_util.format import Encoding, Formatter
from google.ads.datamanager_v1.types import IngestEventsRequest, IngestEventsResponse, RetrieveRequestStatusResponse
from google.protobuf import json_format
from google.rpc import error_details_pb2, status_pb2

from sync.attribution import hashing
from sync.attribution.destination import DestinationConfig, NormalizeCache
from sync.attribution.facts import ContactFacts, ConversionFacts, TouchpointFacts
from sync.attribution.networks.google import common, data_manager
from sync.sandbox.ads.google_ads import GoogleAdsSandbox, create_app

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
FORMAT = Formatter()
RULES = common.USER_DATA
assert error_details_pb2.ErrorInfo  # imported for its descriptors: google.rpc.Status details are Any of these


def dest(**overrides) -> DestinationConfig:
    values = dict(name="google", network="google", base_url="https://datamanager.googleapis.com", api_version="v1",
                  credentials={"access_token": GoogleAdsSandbox.ACCESS_TOKEN}, account_id=GoogleAdsSandbox.CUSTOMER_ID,
                  conversion_actions=dict(GoogleAdsSandbox.CONVERSION_ACTIONS))
    values.update(overrides)
    return DestinationConfig(**values)


EMAILS = ["John.Q.Smith@gmail.com", " ANA.MARIA+ads@GoogleMail.com ", "j.o.h.n+x+y@gmail.com",
          "first.last+tag@example.com", "Mixed.Case@Example.CO.UK", "plain@yahoo.com", "a+b@gmail.com"]
PHONES = ["+1 (650) 555-1212", "+44 20 7123 4567", "+49 151 23456789", "+52 55 1234 5678", " +33 1 42 68 53 00 "]
NAMES = ["Mary Ann", "  JOSÉ ", "O'Brien", "Jean-Luc", "Zoë", "李"]
POSTAL = ["94043", "SW1A 1AA", " 10115 ", "94043-1351", "75008"]
REGIONS = ["US", "gb", " de "]


@pytest.mark.parametrize("email", EMAILS)
def test_emails_hash_as_googles_formatter_hashes_them(email):
    assert hashing.wire_value(RULES, "email", email) == FORMAT.process_email_address(email, Encoding.HEX)


@pytest.mark.parametrize("phone", PHONES)
def test_international_phones_hash_as_googles_formatter_hashes_them(phone):
    assert hashing.wire_value(RULES, "phone", phone) == FORMAT.process_phone_number(phone, Encoding.HEX)
    assert NormalizeCache().phone(RULES, FORMAT.format_phone_number(phone)) == \
        FORMAT.process_phone_number(phone, Encoding.HEX)  # the E.164 identity route agrees too


@pytest.mark.parametrize("name", NAMES)
def test_names_hash_as_googles_formatter_hashes_them(name):
    assert hashing.wire_value(RULES, "first_name", name) == FORMAT.process_given_name(name, Encoding.HEX)
    assert hashing.wire_value(RULES, "last_name", name) == FORMAT.process_family_name(name, Encoding.HEX)


@pytest.mark.parametrize("code", POSTAL)
def test_postal_codes_go_as_googles_formatter_writes_them(code):
    assert hashing.wire_value(RULES, "zip", code, region="US") == FORMAT.process_postal_code(code)


@pytest.mark.parametrize("code", REGIONS)
def test_region_codes_go_as_googles_formatter_writes_them(code):
    assert hashing.wire_value(RULES, "country", code) == FORMAT.process_region_code(code)


def test_meta_and_tiktok_keep_their_own_rules():
    from sync.attribution.networks import meta, tiktok

    assert hashing.normalize(meta.USER_DATA, "email", "a.b+c@gmail.com") == "a.b+c@gmail.com"
    assert hashing.normalize(tiktok.USER_DATA, "first_name", "Mary Ann") == "maryann"
    assert hashing.normalize(tiktok.USER_DATA, "country", "GB") == "gb"


CONTACTS = [
    ContactFacts(1, emails=("John.Q.Smith+shop@gmail.com", "work@example.com"), phones=("+16505551212",),
                 first_name="John", last_name="O'Smith", zip="94043", country="US",
                 consent={"ad_user_data": True, "ad_personalization": False}),
    ContactFacts(2, phones=("+442071234567",), country="United Kingdom"),
    ContactFacts(3, emails=("x@example.com",), consent={"ad_user_data": False}),
    ContactFacts(4, emails=tuple(f"p{i}@example.com" for i in range(12))),
]
TOUCHES = [[TouchpointFacts("web", "google", NOW - timedelta(days=3), click_ids={"gclid": "Cj0KCQiA-abc"})],
           [TouchpointFacts("web", "google", NOW - timedelta(days=2), click_ids={"wbraid": "wb-1", "gbraid": "gb-1"})],
           [TouchpointFacts("web", "google", NOW - timedelta(days=1), click_ids={"gbraid": "gb-2"})], []]
KINDS = [("purchase", 120.5, "eur", "order-7"), ("lead", None, None, None), ("booking", 0.0, "USD", None),
         ("qualified_lead", 10, "gbp", None)]


def built_events() -> list[dict]:
    cache = NormalizeCache()
    out = []
    for i, (person, touches, (kind, value, currency, order)) in enumerate(zip(CONTACTS, TOUCHES, KINDS, strict=True)):
        facts = ConversionFacts(f"ev-{i}", kind, NOW - timedelta(hours=i + 1), value=value, currency=currency,
                                order_id=order)
        out.append(data_manager.build(facts, person, touches, dest(), now=NOW, cache=cache).payload)
    return out


@pytest.mark.parametrize("overrides", [{}, {"validate_only": True},
                                       {"credentials": {"access_token": "t", "login_customer_id": "987-654-3210"}}],
                         ids=["plain", "validate only", "through a manager"])
def test_every_request_lifesync_builds_parses_into_googles_ingest_events_request(overrides):
    config = dest(**overrides)
    events = built_events()
    body = data_manager.request_body(config, events, data_manager.references_of(events))
    message = json_format.ParseDict(body, IngestEventsRequest.pb()(), ignore_unknown_fields=False)
    assert len(message.events) == 4 and len(message.destinations) == 4
    assert [d.product_destination_id for d in message.destinations] == ["111", "222", "333", "555"]
    assert message.destinations[0].operating_account.account_id == GoogleAdsSandbox.CUSTOMER_ID
    assert bool(message.destinations[0].login_account.account_id) == ("credentials" in overrides)
    first = message.events[0]
    assert first.transaction_id == "order-7" and first.ad_identifiers.gclid == "Cj0KCQiA-abc"
    assert first.consent.ad_user_data == 1 and first.consent.ad_personalization == 2  # GRANTED, DENIED
    assert first.event_timestamp.seconds == int((NOW - timedelta(hours=1)).timestamp())
    assert message.events[1].ad_identifiers.gbraid == "gb-1" and not message.events[1].ad_identifiers.wbraid
    assert message.events[2].transaction_id == "ev-2" and not message.events[2].user_data.user_identifiers
    assert len(message.events[3].user_data.user_identifiers) == data_manager.MAX_IDENTIFIERS
    assert message.validate_only is bool(overrides.get("validate_only"))


def test_the_identifiers_in_a_built_event_are_googles_formatter_output():
    identifiers = built_events()[0]["userData"]["userIdentifiers"]
    assert identifiers == [
        {"emailAddress": FORMAT.process_email_address("John.Q.Smith+shop@gmail.com", Encoding.HEX)},
        {"emailAddress": FORMAT.process_email_address("work@example.com", Encoding.HEX)},
        {"phoneNumber": FORMAT.process_phone_number("+16505551212", Encoding.HEX)},
        {"address": {"givenName": FORMAT.process_given_name("John", Encoding.HEX),
                     "familyName": FORMAT.process_family_name("O'Smith", Encoding.HEX),
                     "regionCode": FORMAT.process_region_code("US"),
                     "postalCode": FORMAT.process_postal_code("94043")}},
    ]


@pytest.fixture
def client():
    sandbox = GoogleAdsSandbox(clock=NOW.timestamp)
    return create_app(sandbox).test_client()


HEADERS = {"Authorization": f"Bearer {GoogleAdsSandbox.ACCESS_TOKEN}"}


def test_the_sandboxs_answers_parse_into_googles_response_messages(client):
    events = built_events()
    answer = client.post("/v1/events:ingest", json=data_manager.request_body(dest(), events,
                                                                             data_manager.references_of(events)),
                         headers=HEADERS)
    assert answer.status_code == 200
    response = json_format.ParseDict(answer.json, IngestEventsResponse.pb()(), ignore_unknown_fields=False)
    assert response.request_id
    status = client.get(f"/v1/requestStatus:retrieve?requestId={response.request_id}", headers=HEADERS)
    parsed = json_format.ParseDict(status.json, RetrieveRequestStatusResponse.pb()(), ignore_unknown_fields=False)
    assert [s.destination.product_destination_id for s in parsed.request_status_per_destination] == \
        ["111", "222", "333", "555"]
    assert {s.request_status for s in parsed.request_status_per_destination} == {1}  # SUCCESS
    assert parsed.request_status_per_destination[0].events_ingestion_status.record_count == 1


def test_the_sandboxs_refusals_parse_into_google_rpc_status(client):
    events = built_events()
    events[2]["currency"] = "euro"
    answer = client.post("/v1/events:ingest", json=data_manager.request_body(dest(), events,
                                                                             data_manager.references_of(events)),
                         headers=HEADERS)
    error = dict(answer.json["error"])
    assert error.pop("status") == "INVALID_ARGUMENT"  # REST's envelope names the code; the rest is google.rpc.Status
    status = json_format.ParseDict(error, status_pb2.Status(), ignore_unknown_fields=False)
    assert (answer.status_code, status.code) == (400, 400)
    info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
    assert status.details[0].Unpack(info) and info.reason == "INVALID_CURRENCY_CODE"
    assert status.details[1].Unpack(bad) and bad.field_violations[0].field == "events[2].currency"
