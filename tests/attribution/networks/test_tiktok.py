"""TikTok Events API 2.0: exact event payloads, CRM lead fields, age window, batching, partial success, errors."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
import responses

from sync.attribution.destination import BuiltEvent, DestinationConfig
from sync.attribution.facts import ContactFacts, ConversionFacts, TouchpointFacts
from sync.attribution.networks import sender_for, tiktok
from sync.errors import ValidationError

NOW = datetime(2025, 3, 11, 12, 0, 0, tzinfo=UTC)
URL = "https://business-api.tiktok.com/open_api/v1.3/event/track/"
TOKEN = "tt-access-token-0123456789"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def dest(**overrides) -> DestinationConfig:
    values = dict(name="tiktok", network="tiktok", base_url="https://business-api.tiktok.com", api_version="v1.3",
                  credentials={"access_token": TOKEN}, account_id="CRM_SET_1", event_names={})
    values.update(overrides)
    return DestinationConfig(**values)


def contact(**overrides) -> ContactFacts:
    values = dict(contact_id=42, emails=(" John.Smith@Example.com ",), phones=("(650) 555-1212",),
                  first_name="Mary", last_name="O'Connor", city="San Francisco", state="California",
                  zip="94107-1234", country="United States")
    values.update(overrides)
    return ContactFacts(**values)


def conversion(**overrides) -> ConversionFacts:
    values = dict(event_id="ev-1", kind="lead", occurred_at=NOW - timedelta(hours=1), source="hubspot")
    values.update(overrides)
    return ConversionFacts(**values)


def test_crm_event_is_exact():
    touches = [TouchpointFacts("tiktok", "tiktok", NOW - timedelta(days=1), click_ids={"ttclid": "E.C.P.abc"})]
    built = tiktok.build(conversion(kind="purchase", value=99.0, currency="usd", order_id="o-1"), contact(),
                         touches, dest(), now=NOW)
    assert built.key == "ev-1"
    assert built.payload == {
        "event": "Purchase", "event_time": int((NOW - timedelta(hours=1)).timestamp()), "event_id": "ev-1",
        "limited_data_use": False,
        "user": {"email": [sha("john.smith@example.com")], "phone": [sha("+16505551212")],  # E.164 with +
                 "external_id": [sha("42")], "first_name": sha("mary"), "last_name": sha("oconnor"),
                 "city": "sanfrancisco", "state": "ca", "country": "us",  # plain normalised text
                 "zip_code": sha("94107"), "ttclid": "E.C.P.abc"},  # ttclid never hashed
        "properties": {"value": 99.0, "currency": "USD", "order_id": "o-1"},
        # no "lead": the contact holds no TikTok lead id, and lifesync's own contact id (42) is not one
    }


def test_lead_id_is_the_tiktok_lead_identity_and_web_sources_have_no_lead():
    person = contact(identities=(("tiktok", "biz:9"), ("tiktok_lead", "7135063418060406785"))).under("restricted")
    built = tiktok.build(conversion(), person, [], dest(), now=NOW)
    assert built.payload["lead"] == {"lead_id": "7135063418060406785", "lead_event_source": "HubSpot"}
    assert built.payload["limited_data_use"] is True
    web = tiktok.build(conversion(), person, [], dest(event_source="web"), now=NOW)
    assert "lead" not in web.payload


@pytest.mark.parametrize(("source", "named"), [
    ("hubspot", "HubSpot"), ("salesforce", "Salesforce"), ("HubSpot", "HubSpot"),
    ("shop", None), ("whatsapp", None), ("lifesync", None), ("", None),
])
def test_lead_event_source_is_only_a_crms_name(source, named):
    person = contact(identities=(("tiktok_lead", "7301"),))
    lead = tiktok.build(conversion(source=source), person, [], dest(), now=NOW).payload["lead"]
    assert lead == ({"lead_id": "7301", "lead_event_source": named} if named else {"lead_id": "7301"})


def test_a_tiktok_message_user_id_is_not_a_lead_id():
    person = contact(identities=(("tiktok", "biz:9"), ("hubspot", "501"), ("salesforce_lead", "00Q1")))
    assert "lead" not in tiktok.build(conversion(), person, [], dest(), now=NOW).payload


def test_a_crm_event_matches_on_a_lead_id_alone():
    person = contact(emails=(), phones=(), identities=(("tiktok_lead", "7301"),))
    built = tiktok.build(conversion(), person, [], dest(), now=NOW)
    assert built.payload["lead"]["lead_id"] == "7301" and "email" not in built.payload["user"]


def test_a_crm_event_with_only_a_click_id_is_refused():
    touches = [TouchpointFacts("tiktok", "tiktok", NOW - timedelta(days=1), click_ids={"ttclid": "E.C.P.abc"})]
    with pytest.raises(ValidationError, match=r"needs lead\.lead_id, an e-mail or a phone"):
        tiktok.build(conversion(), contact(emails=(), phones=()), touches, dest(), now=NOW)
    web = tiktok.build(conversion(), contact(emails=(), phones=()), touches, dest(event_source="web"), now=NOW)
    assert web.payload["user"]["ttclid"] == "E.C.P.abc"


def test_prehashed_email_is_not_hashed_again():
    digest = sha("john.smith@example.com")
    built = tiktok.build(conversion(), contact(emails=(digest,)), [], dest(), now=NOW)
    assert built.payload["user"]["email"] == [digest]


@pytest.mark.parametrize(("facts", "person", "config", "says"), [
    (conversion(kind="purchase", value=5.0), contact(), {}, "purchase needs value and currency"),
    (conversion(value=5.0, currency="EURO"), contact(), {}, "3-letter"),
    (conversion(occurred_at=NOW + timedelta(minutes=5)), contact(), {}, "in the future"),
    (conversion(kind="nope"), contact(), {}, "no tiktok event name"),
    (conversion(), contact(emails=(), phones=()), {}, "nothing TikTok can match"),
    (conversion(), contact(), {"event_source": "shop"}, "event_source 'shop'"),
])
def test_events_tiktok_would_refuse_are_refused_locally(facts, person, config, says):
    with pytest.raises(ValidationError, match=says):
        tiktok.build(facts, person, [], dest(**config), now=NOW)


def test_old_crm_events_are_not_refused_locally():
    built = tiktok.build(conversion(occurred_at=NOW - timedelta(days=20)), contact(), [], dest(), now=NOW)
    assert built.payload["event_time"] == int((NOW - timedelta(days=20)).timestamp())


@pytest.mark.parametrize("source", ["crm", "offline", "web", "app"])
def test_the_age_window_of_every_event_source_ends_at_28_days(source):
    config = dest(event_source=source)
    assert tiktok.NETWORK.max_event_age(config) == 28  # what the dispatcher expires by
    edge = tiktok.build(conversion(occurred_at=NOW - timedelta(days=28)), contact(), [], config, now=NOW)
    assert edge.payload["event_time"] == int((NOW - timedelta(days=28)).timestamp())
    with pytest.raises(ValidationError, match="28 days old"):
        tiktok.build(conversion(occurred_at=NOW - timedelta(days=28, seconds=1)), contact(), [], config, now=NOW)


def test_an_unknown_event_source_has_no_window_and_is_refused():
    config = dest(event_source="shop")
    assert tiktok.NETWORK.max_event_age(config) is None
    with pytest.raises(ValidationError, match="event_source 'shop'"):
        tiktok.build(conversion(occurred_at=NOW - timedelta(days=400)), contact(), [], config, now=NOW)


def test_the_sender_refuses_an_event_that_aged_past_the_window_before_it_was_sent(mock):
    stale = BuiltEvent("ev-old", {"event": "Lead", "event_time": int((NOW - timedelta(days=29)).timestamp()),
                                  "event_id": "ev-old", "user": {"email": [sha("a@example.com")]}})
    [result] = sender().send([stale])
    assert result.status == "failed" and "28 days" in result.error and len(mock.calls) == 0


# -- sending --------------------------------------------------------------------------------------------------

@pytest.fixture
def mock():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


def events(n: int, poisoned=()) -> list[BuiltEvent]:
    at = int((NOW - timedelta(hours=1)).timestamp())
    return [BuiltEvent(f"ev-{i}", {"event": "Lead", "event_time": at, "event_id": f"ev-{i}",
                                   "user": {"email": [sha(f"{i}@example.com")]}, "lead": {"lead_id": str(i)},
                                   **({"properties": {"poison": True}} if i in poisoned else {})})
            for i in range(n)]


def body_of(call) -> dict:
    return json.loads(call.request.body)


def tiktok_server(request):
    """HTTP 200 always; code 40002 for a batch holding a poisoned event, like TikTok."""
    data = json.loads(request.body)["data"]
    if any(e.get("properties", {}).get("poison") for e in data):
        return 200, {}, json.dumps({"code": 40002, "message": "Invalid value for properties", "request_id": "r1"})
    return 200, {}, json.dumps({"code": 0, "message": "OK", "request_id": "r0"})


def sender(config=None, sleeps=None):
    return tiktok.Sender(config or dest(), sleep=(sleeps.append if sleeps is not None else lambda _s: None),
                         clock=lambda: NOW)


def test_sender_for_builds_the_tiktok_sender():
    built = sender_for(dest())
    assert isinstance(built, tiktok.Sender) and built.max_batch == 1000


def test_batches_to_the_maximum_with_header_source_partner_and_test_code(mock):
    mock.add_callback(responses.POST, URL, callback=tiktok_server,
                      match=[responses.matchers.header_matcher({"Access-Token": TOKEN})])
    results = sender(dest(test_event_code="TEST42")).send(events(2001))
    assert [len(body_of(c)["data"]) for c in mock.calls] == [1000, 1000, 1]
    body = body_of(mock.calls[0])
    assert {k: v for k, v in body.items() if k != "data"} == {
        "event_source": "crm", "event_source_id": "CRM_SET_1", "partner_name": "lifesync", "test_event_code": "TEST42"}
    assert all(r.status == "sent" for r in results)
    assert results[0].response == {"code": 0, "message": "OK", "request_id": "r0"}


@pytest.mark.parametrize("data", [
    {"failed_events": [{"index": 1, "message": "invalid event_time"}, {"index": [3], "msg": "invalid user"}]},
    {"partial_failure": [{"event_id": "ev-1", "reason": "invalid event_time"}, {"event_id": "ev-3"}]},
])
def test_partial_success_fails_only_the_named_events(mock, data):
    mock.add(responses.POST, URL, json={"code": 20001, "message": "Partial Success", "request_id": "r2",
                                        "data": data})
    results = sender().send(events(5))
    assert [r.status for r in results] == ["sent", "failed", "sent", "failed", "sent"]
    assert "invalid event_time" in results[1].error and "code 20001" in results[3].error


def test_partial_success_naming_no_event_counts_all_sent_and_warns(mock, caplog):
    mock.add(responses.POST, URL, json={"code": 20001, "message": "Partial Success", "request_id": "r3"})
    results = sender().send(events(3))
    assert [r.status for r in results] == ["sent"] * 3
    assert results[0].response["message"] == "Partial Success"
    assert "partial success (20001) naming no event" in caplog.text


def test_bisection_isolates_a_poisoned_event(mock):
    mock.add_callback(responses.POST, URL, callback=tiktok_server)
    results = sender().send(events(100, poisoned=(37,)))
    failed = [r for r in results if r.status == "failed"]
    assert [r.key for r in failed] == ["ev-37"]
    assert failed[0].error == "TikTok Events API rejected the event (code 40002): Invalid value for properties"
    assert sum(r.status == "sent" for r in results) == 99
    # [0:100] refused; [0:50] refused; [0:25] sent, so [25:50] is split unsent: [25:37] sent, so [37:50] is split
    # unsent: [37:43] refused, [37:40] refused, [37] refused alone; then [38:40], [40:43], [43:50], [50:100] sent
    assert len(mock.calls) == 11


@pytest.mark.parametrize(("code", "status", "attempts", "says"), [
    (40002, "failed", 1, "rejected the event (code 40002): nope"),  # bisectable; one event alone is the cause
    (40001, "failed", 1, "no permission for this event source id"),
    (40100, "retry", 5, "rate limit"),
    (40105, "failed", 1, "access token was refused"),
    (40104, "failed", 1, "access token is missing"),
    (50000, "retry", 5, "temporary"),
    (41234, "failed", 1, "the request was refused (HTTP 200, code 41234): nope"),  # unknown code: not assumed ok
])
def test_error_codes(mock, code, status, attempts, says):
    mock.add(responses.POST, URL, json={"code": code, "message": "nope", "request_id": "r"})
    sleeps: list[float] = []
    results = sender(sleeps=sleeps).send(events(1))
    assert len(mock.calls) == attempts and len(sleeps) == attempts - 1
    assert results[0].status == status
    assert says in results[0].error


def test_no_permission_is_not_bisected(mock):
    mock.add(responses.POST, URL, json={"code": 40001, "message": "No permission", "request_id": "r"})
    results = sender().send(events(100))
    assert len(mock.calls) == 1 and {r.status for r in results} == {"failed"}


def test_http_errors_still_classified(mock):
    mock.add(responses.POST, URL, status=503, body="unavailable")
    results = sender().send(events(2))
    assert [r.status for r in results] == ["retry", "retry"] and len(mock.calls) == 5


def test_no_token_or_personal_data_in_logs(mock, caplog):
    caplog.set_level(logging.DEBUG)
    mock.add(responses.POST, URL, json={"code": 40002, "message": f"bad email mary@example.com token {TOKEN}"})
    results = sender().send(events(1))
    text = caplog.text + (results[0].error or "")
    assert results[0].status == "failed"
    assert TOKEN not in text and "mary@example.com" not in text
