"""The Meta checker of bench/vendor_requests.py: facebook_business's serverside SDK must send what lifesync sent."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from facebook_business.adobjects.serverside.action_source import ActionSource
from facebook_business.adobjects.serverside.custom_data import CustomData
from facebook_business.adobjects.serverside.event import Event
from facebook_business.adobjects.serverside.event_request import EventRequest
from facebook_business.adobjects.serverside.user_data import UserData

from bench.vendor_refs import ACCEPTED, REFUSED, UNCHECKED, check
from sync.attribution.destination import DestinationConfig
from sync.attribution.facts import ContactFacts, ConversionFacts, TouchpointFacts
from sync.attribution.networks import meta as meta_capi
from sync.sandbox.recording import RecordedRequest

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
PATH = "/v26.0/1234567890/events"


def recorded(body, path: str = PATH, method: str = "POST") -> RecordedRequest:
    return RecordedRequest("meta", method, path, "", "application/json", json.dumps(body).encode(), 200)


def sdk_body() -> dict:
    """A request as Meta's SDK itself sends it."""
    event = Event(event_name="Purchase", event_time=int(NOW.timestamp()), event_id="ev-1",
                  action_source=ActionSource.SYSTEM_GENERATED,
                  user_data=UserData(emails=["Ann@Example.com"], phones=["+1 650 555 1212"], first_names=["Ann"],
                                     external_ids=["42"]),
                  custom_data=CustomData(value=12.5, currency="eur", order_id="o-1"))
    params = EventRequest(pixel_id="1234567890", events=[event], partner_agent="lifesync").get_params()
    return {**params, "data": [json.loads(e) for e in params["data"]]}


def lifesync_body() -> dict:
    """A request as lifesync's Meta builder sends it (a CRM purchase and a WhatsApp lead)."""
    dest = DestinationConfig(name="meta", network="meta", base_url="https://graph.facebook.com", api_version="v26.0",
                             credentials={"access_token": "t"}, account_id="1234567890")
    buyer = ContactFacts(contact_id=7, emails=("Ann@Example.com",), phones=("+1 650 555 1212",), first_name="Ann",
                         city="Austin", state="Texas", country="United States", gender="female")
    purchase = ConversionFacts(event_id="ev-9", kind="purchase", occurred_at=NOW - timedelta(hours=2), value=99.5,
                               currency="EUR", order_id="o-1")
    lead = ConversionFacts(event_id="ev-10", kind="qualified_lead", occurred_at=NOW - timedelta(hours=1))
    touch = TouchpointFacts(channel="whatsapp", network="meta", occurred_at=NOW - timedelta(days=1),
                            click_ids={"ctwa_clid": "ARAkLkA"}, extra={"waba_id": "waba-1"})
    events = [meta_capi.build(purchase, buyer, [], dest, now=NOW).payload,
              meta_capi.build(lead, ContactFacts(contact_id=8, phones=("+44 7700 900123",)), [touch], dest,
                              now=NOW).payload]
    return {"data": events, "partner_agent": "lifesync"}


def test_the_sdks_own_request_is_accepted():
    verdict = check(recorded(sdk_body()))
    assert (verdict.vendor, verdict.outcome, verdict.items, verdict.reasons) == ("Meta", ACCEPTED, 1, ())


def test_lifesyncs_events_are_accepted_and_the_fields_beyond_the_sdk_are_named():
    verdict = check(recorded(lifesync_body()))
    assert (verdict.outcome, verdict.reasons) == (ACCEPTED, ())
    assert verdict.notes == ("user_data.whatsapp_business_account_id: documented by Meta, no UserData field in the "
                             "SDK: not compared",)


def edited(edit) -> dict:
    body = sdk_body()
    edit(body, body["data"][0])
    return body


@pytest.mark.parametrize(("body", "reason"), [
    # a clear e-mail: the SDK would hash it, so it does not send what lifesync sent
    (edited(lambda b, e: e["user_data"].update(em=["ann@example.com"])),
     "data[0].user_data.em: the SDK sends another value"),
    # an upper-case digest is not one the SDK leaves alone
    (edited(lambda b, e: e["user_data"].update(em=[e["user_data"]["em"][0].upper()])),
     "data[0].user_data.em: the SDK sends another value"),
    (edited(lambda b, e: e["user_data"].update(email=["x"])), "data[0].user_data.email: UserData has no such field"),
    (edited(lambda b, e: e.update(event_nme="Lead")), "data[0].event_nme: Event has no such parameter"),
    (edited(lambda b, e: e.update(action_source="crm")),
     "data[0].action_source: 'crm' is not one of the SDK's ActionSource values"),
    (edited(lambda b, e: e.update(messaging_channel="telegram")),
     "data[0].messaging_channel: 'telegram' is not one of the SDK's MessagingChannel values"),
    (edited(lambda b, e: b.update(partner="lifesync")), "body.partner: EventRequest has no such parameter"),
    ({"events": []}, "body: no data list of events"),
])
def test_what_the_sdk_would_not_send_is_refused(body, reason):
    verdict = check(recorded(body))
    assert verdict.outcome == REFUSED
    assert reason in verdict.reasons, verdict.reasons


def test_a_hashed_gender_the_sdk_knows_is_accepted_and_an_unknown_one_refused():
    good = edited(lambda b, e: e["user_data"].update(ge=[hashlib.sha256(b"f").hexdigest()]))
    assert check(recorded(good)).outcome == ACCEPTED
    bad = edited(lambda b, e: e["user_data"].update(ge=[hashlib.sha256(b"x").hexdigest()]))
    assert "data[0].user_data.ge: not the hash of a Gender the SDK knows" in check(recorded(bad)).reasons


def test_requests_other_than_events_are_not_checked():
    verdict = check(recorded({}, path="/v26.0/1234567890", method="GET"))
    assert verdict.outcome == UNCHECKED
