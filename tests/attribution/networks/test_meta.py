"""Meta Conversions API: exact payloads, business messaging, batching, bisection, error codes, clean logs."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
import responses

from sync.attribution.destination import BuiltEvent, DestinationConfig
from sync.attribution.facts import ContactFacts, ConversionFacts, TouchpointFacts
from sync.attribution.networks import meta as meta_capi
from sync.attribution.networks import sender_for
from sync.errors import ValidationError

NOW = datetime(2025, 3, 11, 12, 0, 0, tzinfo=UTC)
URL = "https://graph.facebook.com/v21.0/1234567890/events"
TOKEN = "EAAGtokenSECRETvalue123"
APP_SECRET = "appsecret-xyz"
# Published Meta vectors (shared/reference/ads.md)
EM = "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"  # John_Smith@gmail.com
PH = "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"  # (650)555-1212, US
FN = "6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec"  # Mary


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def dest(**overrides) -> DestinationConfig:
    values = dict(name="meta", network="meta", base_url="https://graph.facebook.com", api_version="v21.0",
                  credentials={"access_token": TOKEN}, account_id="1234567890", event_names={})
    values.update(overrides)
    return DestinationConfig(**values)


def contact(**overrides) -> ContactFacts:
    values = dict(contact_id=42, emails=("John_Smith@gmail.com",), phones=("(650)555-1212",), first_name="Mary",
                  last_name="O'Connor", city="San Francisco", state="California", zip="94107-1234",
                  country="United States", date_of_birth="1990-02-01", gender="Female")
    values.update(overrides)
    return ContactFacts(**values)


def conversion(**overrides) -> ConversionFacts:
    values = dict(event_id="ev-1", kind="lead", occurred_at=NOW - timedelta(hours=1))
    values.update(overrides)
    return ConversionFacts(**values)


def touch(channel="web", network="meta", at=NOW - timedelta(days=1), **overrides) -> TouchpointFacts:
    return TouchpointFacts(channel=channel, network=network, occurred_at=at, **overrides)


FULL_USER = {"em": [EM], "ph": [PH], "fn": FN, "ln": sha("oconnor"), "ct": sha("sanfrancisco"), "st": sha("ca"),
             "zp": sha("94107"), "country": sha("us"), "db": sha("19900201"), "ge": sha("f"),
             "external_id": [sha("42")]}


def test_crm_event_with_fbclid_is_exact():
    clicked = NOW - timedelta(days=2)
    built = meta_capi.build(conversion(value=12.5, currency="USD", order_id="o-9"), contact(),
                            [touch(at=clicked, click_ids={"fbclid": "IwAR0abc"})], dest(), now=NOW)
    assert built.key == "ev-1"
    assert built.payload == {
        "event_name": "Lead", "event_time": int((NOW - timedelta(hours=1)).timestamp()), "event_id": "ev-1",
        "action_source": "system_generated",
        "user_data": {**FULL_USER, "fbc": f"fb.1.{int(clicked.timestamp() * 1000)}.IwAR0abc"},
        "custom_data": {"value": 12.5, "currency": "usd", "order_id": "o-9"},
    }


def test_prehashed_values_are_not_hashed_again_and_fbc_cookie_is_kept():
    built = meta_capi.build(conversion(), contact(emails=(EM.upper(),), phones=(PH,)),
                            [touch(click_ids={"fbc": "fb.1.1554763741205.AbCdEf", "fbclid": "ignored"})], dest(),
                            now=NOW)
    assert built.payload["user_data"]["em"] == [EM] and built.payload["user_data"]["ph"] == [PH]
    assert built.payload["user_data"]["fbc"] == "fb.1.1554763741205.AbCdEf"


WABA = "104996122399160"


@pytest.mark.parametrize(("tp", "person", "config", "channel", "ids"), [
    (touch("whatsapp", click_ids={"ctwa_clid": "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4X"},
           extra={"waba_id": WABA}), contact(), {}, "whatsapp",
     {"whatsapp_business_account_id": WABA,
      "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4X"}),
    (touch("whatsapp", click_ids={"ctwa_clid": "clid-2"}), contact(), {"extra": {"waba_id": "999"}}, "whatsapp",
     {"whatsapp_business_account_id": "999", "ctwa_clid": "clid-2"}),
    (touch("messenger", ad_id="6011", extra={"page_id": "PAGE1"}), contact(identities=(("messenger", "PSID7"),)),
     {}, "messenger", {"page_id": "PAGE1", "page_scoped_user_id": "PSID7"}),
    (touch("instagram", ad_id="6012"), contact(identities=(("instagram", "IGSID8"),)),
     {"extra": {"ig_account_id": "IG1"}}, "instagram", {"ig_account_id": "IG1", "ig_sid": "IGSID8"}),
    # lifesync's own identities are page-qualified ("<page>:<psid>", sync.connectors.meta.messenger): split them
    (touch("messenger", ad_id="6011"), contact(identities=(("messenger", "PAGE9:PSID7"),)),
     {"extra": {"page_id": "OTHER"}}, "messenger", {"page_id": "PAGE9", "page_scoped_user_id": "PSID7"}),
    (touch("instagram", ad_id="6012"), contact(identities=(("instagram", "IGSID8"),)),
     {"extra": {"ig_account_id": "IG1", "instagram_user_field": "instagram_scoped_id",
                "instagram_channel": "ig_direct"}},
     "ig_direct", {"ig_account_id": "IG1", "instagram_scoped_id": "IGSID8"}),
])
def test_business_messaging_per_channel(tp, person, config, channel, ids):
    web = touch(at=NOW - timedelta(days=3), click_ids={"fbclid": "older-web-click", "fbp": "fb.1.1.2"})
    built = meta_capi.build(conversion(), person, [web, tp], dest(**config), now=NOW)
    payload = built.payload
    assert payload["action_source"] == "business_messaging"
    assert payload["messaging_channel"] == channel
    assert payload["event_name"] == "LeadSubmitted"
    for key, value in ids.items():
        assert payload["user_data"][key] == value  # sent in clear, as Meta asks
    assert "fbc" not in payload["user_data"] and "fbp" not in payload["user_data"]  # web-only fields dropped
    assert payload["user_data"]["em"] == [EM]


@pytest.mark.parametrize(("kind", "names", "expected"), [
    ("qualified_lead", {}, "QualifiedLead"),
    ("booking", {}, "LeadSubmitted"),
    ("purchase", {}, "Purchase"),
    ("booking", {"whatsapp": {"booking": "OrderCreated"}}, "OrderCreated"),
])
def test_messaging_event_names(kind, names, expected):
    built = meta_capi.build(conversion(kind=kind, value=5.0, currency="EUR"), contact(),
                            [touch("whatsapp", click_ids={"ctwa_clid": "c"}, extra={"waba_id": WABA})],
                            dest(messaging_event_names=names), now=NOW)
    assert built.payload["event_name"] == expected


@pytest.mark.parametrize(("tp", "person", "says"), [
    (touch("whatsapp", click_ids={"ctwa_clid": "c"}), contact(), "extra\\['waba_id'\\]"),
    (touch("instagram", ad_id="1"), contact(identities=(("instagram", "x"),)), "ig_account_id"),
])
def test_business_messaging_without_the_account_id_is_refused(tp, person, says):
    with pytest.raises(ValidationError, match=says):
        meta_capi.build(conversion(), person, [tp], dest(), now=NOW)


@pytest.mark.parametrize("tp", [
    touch("whatsapp", ad_id="1", extra={"waba_id": WABA}),  # a referral whose ctwa_clid was not captured
    touch("messenger", ad_id="1", extra={"page_id": "P"}),  # the contact has no PSID
])
def test_business_messaging_without_the_user_id_is_sent_as_a_crm_event(tp):
    built = meta_capi.build(conversion(), contact(), [tp], dest(), now=NOW)
    assert built.payload["action_source"] == "system_generated" and built.payload["event_name"] == "Lead"
    assert "messaging_channel" not in built.payload


def test_whatsapp_touch_without_ad_is_not_business_messaging():
    plain = touch("whatsapp", network=None)
    built = meta_capi.build(conversion(kind="booking"), contact(), [plain], dest(), now=NOW)
    assert built.payload["action_source"] == "system_generated" and built.payload["event_name"] == "Schedule"


def test_touch_after_the_conversion_is_not_attributed():
    later = touch("whatsapp", at=NOW, click_ids={"ctwa_clid": "c"}, extra={"waba_id": WABA})
    built = meta_capi.build(conversion(), contact(), [later], dest(), now=NOW)
    assert built.payload["action_source"] == "system_generated"


@pytest.mark.parametrize(("facts", "config", "says"), [
    (conversion(occurred_at=NOW - timedelta(days=8)), {}, "8 days old"),
    (conversion(occurred_at=NOW + timedelta(minutes=2)), {}, "in the future"),
    (conversion(kind="purchase"), {}, "purchase needs value and currency"),
    (conversion(kind="purchase", value=3.0), {}, "purchase needs value and currency"),
    (conversion(value=3.0), {}, "value needs a currency"),
    (conversion(value=3.0, currency="dollars"), {}, "3-letter"),
    (conversion(kind="demo_booked"), {}, "no meta event name"),
    (conversion(), {"action_source": "website"}, "client_user_agent"),
])
def test_events_meta_would_refuse_are_refused_locally(facts, config, says):
    with pytest.raises(ValidationError, match=says):
        meta_capi.build(facts, contact(), [], dest(**config), now=NOW)


def test_event_age_is_configurable():
    built = meta_capi.build(conversion(occurred_at=NOW - timedelta(days=8)), contact(), [],
                            dest(max_event_age_days=30), now=NOW)
    assert built.payload["event_time"] == int((NOW - timedelta(days=8)).timestamp())


def test_no_matchable_user_data_is_refused():
    with pytest.raises(ValidationError, match="nothing Meta can match"):
        meta_capi.build(conversion(), contact(emails=(), phones=("not a phone",)), [], dest(), now=NOW)


def test_restricted_policy_is_ldu_and_custom_event_names():
    built = meta_capi.build(conversion(kind="qualified_lead"), contact().under("restricted"), [],
                            dest(event_names={"qualified_lead": "SQL"}), now=NOW)
    assert built.payload["event_name"] == "SQL"
    assert built.payload["data_processing_options"] == ["LDU"]
    assert built.payload["data_processing_options_country"] == 0
    assert built.payload["data_processing_options_state"] == 0


# -- sending --------------------------------------------------------------------------------------------------

@pytest.fixture
def mock():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


def events(n: int, *, poisoned=(), age=timedelta(hours=1)) -> list[BuiltEvent]:
    at = int((NOW - age).timestamp())
    return [BuiltEvent(f"ev-{i}", {"event_name": "Lead", "event_time": at, "event_id": f"ev-{i}",
                                   "action_source": "system_generated", "user_data": {"em": [EM]},
                                   **({"custom_data": {"poison": True}} if i in poisoned else {})})
            for i in range(n)]


def body_of(call) -> dict:
    return json.loads(call.request.body)


def meta_server(request):
    """Refuses a batch holding a poisoned event, like Meta (whole batch, code 100)."""
    data = json.loads(request.body)["data"]
    if any(e.get("custom_data", {}).get("poison") for e in data):
        return 400, {}, json.dumps({"error": {"message": "Invalid parameter", "type": "OAuthException", "code": 100,
                                              "error_subcode": 2804019, "error_user_msg": "Invalid custom_data",
                                              "fbtrace_id": "Axyz"}})
    return 200, {}, json.dumps({"events_received": len(data), "messages": [], "fbtrace_id": "Aok"})


def sender(config=None, sleeps=None):
    return meta_capi.Sender(config or dest(), sleep=(sleeps.append if sleeps is not None else lambda _s: None),
                            clock=lambda: NOW)


def test_sender_for_builds_the_meta_sender():
    built = sender_for(dest())
    assert isinstance(built, meta_capi.Sender) and built.max_batch == 1000


def test_batches_to_the_maximum_with_token_proof_test_code_and_partner(mock):
    mock.add_callback(responses.POST, URL, callback=meta_server)
    config = dest(credentials={"access_token": TOKEN, "app_secret": APP_SECRET}, test_event_code="TEST123")
    results = sender(config).send(events(2500))
    assert [len(body_of(c)["data"]) for c in mock.calls] == [1000, 1000, 500]
    assert all(r.status == "sent" for r in results) and [r.key for r in results] == [f"ev-{i}" for i in range(2500)]
    assert results[0].response == {"events_received": 1000, "fbtrace_id": "Aok", "messages": []}
    request = mock.calls[0].request
    proof = hmac.new(APP_SECRET.encode(), TOKEN.encode(), hashlib.sha256).hexdigest()
    assert "?" not in request.url  # the token and its proof travel in the body, never in a URL a log could show
    assert (body_of(mock.calls[0])["access_token"], body_of(mock.calls[0])["appsecret_proof"]) == (TOKEN, proof)
    assert body_of(mock.calls[0])["test_event_code"] == "TEST123"
    assert body_of(mock.calls[0])["partner_agent"] == "lifesync"


def test_no_proof_test_code_or_partner_unless_configured(mock):
    mock.add_callback(responses.POST, URL, callback=meta_server)
    sender(dest(partner_agent=None)).send(events(1))
    assert "?" not in mock.calls[0].request.url
    assert set(body_of(mock.calls[0])) == {"data", "access_token"} and body_of(mock.calls[0])["access_token"] == TOKEN


@pytest.mark.parametrize(("poisoned", "requests_made"), [
    # 100 refused; 50, 25, 12, 6, 3, 1 refused in turn, each refused half's sibling sent: 1 + 6 + 6
    ((0,), 13),
    # each good left half (50, 25, 12, 6, 3, 2, 1) proves the right half holds the refusal: no resend of it
    ((99,), 8),
    # 100; the left 50 isolated as above (11); the right 50 refused (1), then split like the previous case (6)
    ((0, 99), 19),
])
def test_bisection_isolates_poisoned_events_and_delivers_the_rest(mock, poisoned, requests_made):
    mock.add_callback(responses.POST, URL, callback=meta_server)
    results = sender().send(events(100, poisoned=poisoned))
    assert len(mock.calls) == requests_made
    failed = [r for r in results if r.status == "failed"]
    assert [r.key for r in failed] == [f"ev-{i}" for i in poisoned]
    assert all("code 100/2804019" in r.error and "Invalid custom_data" in r.error for r in failed)
    assert sum(r.status == "sent" for r in results) == 100 - len(poisoned)
    delivered = [e["event_id"] for c in mock.calls if c.response.status_code == 200 for e in body_of(c)["data"]]
    assert sorted(delivered) == sorted(f"ev-{i}" for i in range(100) if i not in poisoned)  # each exactly once


@pytest.mark.parametrize(("budget", "failed", "sent"), [
    (3, 0, 0),  # 50, 25, 12 refused in turn: the budget is spent, nothing is proven good or bad
    (8, 1, 5),  # 50, 25, 12, 6, 3, [0] refused; [1, 2] and [3, 4, 5] sent; the rest wait
])
def test_bisection_budget_leaves_unisolated_events_for_retry(mock, caplog, budget, failed, sent):
    mock.add_callback(responses.POST, URL, callback=meta_server)
    caplog.set_level(logging.INFO)
    results = sender(dest(max_bisect_requests=budget)).send(events(100, poisoned=(0,)))
    assert len(mock.calls) == 1 + budget
    statuses = [r.status for r in results]
    assert statuses == ["failed"] * failed + ["sent"] * sent + ["retry"] * (100 - failed - sent)
    assert f"not isolated within max_bisect_requests={budget}" in results[-1].error
    assert f"in {1 + budget} requests ({budget} extra to isolate" in caplog.text


def error(code, subcode=None, transient=None, status=400):
    body = {"error": {"message": "boom", "type": "OAuthException", "code": code, "fbtrace_id": "A"}}
    if subcode:
        body["error"]["error_subcode"] = subcode
    if transient is not None:
        body["error"]["is_transient"] = transient
    return status, body


@pytest.mark.parametrize(("reply", "status", "attempts", "says"), [
    (error(100, 33), "failed", 1, "dataset does not exist"),  # not about an event: no bisection
    (error(190, 463), "failed", 1, "access token is invalid or expired"),
    (error(10), "failed", 1, "lacks a permission"),
    (error(4), "retry", 5, "rate limit"),
    (error(17, status=403), "retry", 5, "rate limit"),
    (error(32), "retry", 5, "rate limit"),
    (error(613), "retry", 5, "rate limit"),
    (error(80003), "retry", 5, "rate limit"),
    (error(1, status=500), "retry", 5, "temporary"),
    (error(2, status=503), "retry", 5, "temporary"),
    (error(341), "retry", 5, "temporary"),
    (error(368), "retry", 5, "temporary"),
    (error(5000), "retry", 5, "temporary"),
    (error(999, transient=True), "retry", 5, "temporary"),
    (error(999), "failed", 1, "HTTP 400"),
    (error(2635), "failed", 1, "set LIFESYNC_META_API_VERSION to a current one"),  # an ended version: not bisected
    (error(2500), "failed", 1, "is LIFESYNC_META_API_VERSION a real version?"),
])
def test_error_codes(mock, reply, status, attempts, says):
    mock.add(responses.POST, URL, status=reply[0], json=reply[1])
    sleeps: list[float] = []
    results = sender(sleeps=sleeps).send(events(4))
    assert len(mock.calls) == attempts  # retries happen in the HTTP layer; no bisection for these codes
    assert len(sleeps) == attempts - 1
    assert {r.status for r in results} == {status}
    assert says in results[0].error


def test_recovered_rate_limit_delivers(mock):
    mock.add(responses.POST, URL, status=400, json=error(4)[1])
    mock.add(responses.POST, URL, json={"events_received": 2, "fbtrace_id": "B"})
    results = sender().send(events(2))
    assert [r.status for r in results] == ["sent", "sent"] and len(mock.calls) == 2


def test_business_use_case_header_sets_the_wait(mock):
    usage = json.dumps({"1234567890": [{"type": "ads_management", "call_count": 100,
                                        "estimated_time_to_regain_access": 5}]})
    mock.add(responses.POST, URL, status=400, json=error(17, 2446079)[1], headers={"X-Business-Use-Case-Usage": usage})
    sleeps: list[float] = []
    results = sender(sleeps=sleeps).send(events(2))
    # 5 minutes is longer than the HTTP layer waits: left to the job's retry, with the wait attached
    assert len(mock.calls) == 1 and sleeps == []
    assert [(r.status, r.retry_after) for r in results] == [("retry", 300.0)] * 2


def test_events_too_old_at_send_time_are_not_sent(mock):
    mock.add_callback(responses.POST, URL, callback=meta_server)
    batch = events(3)
    batch[1] = events(1, age=timedelta(days=9))[0]
    results = sender().send(batch)
    assert results[1].status == "failed" and results[1].error.startswith("not sent: event_time is 9 days old")
    assert [len(body_of(c)["data"]) for c in mock.calls] == [2]


def test_no_token_secret_or_personal_data_in_logs_or_results(mock, caplog):
    caplog.set_level(logging.DEBUG)
    leaky = {"error": {"message": "Invalid email john@example.com, phone +1 650 555 1212 for token " + TOKEN,
                       "code": 100, "error_subcode": 2804001}}
    mock.add(responses.POST, URL, status=400, json=leaky)
    config = dest(credentials={"access_token": TOKEN, "app_secret": APP_SECRET})
    results = sender(config).send(events(1))
    text = caplog.text + " ".join(r.error or "" for r in results)
    assert results[0].status == "failed"
    for secret in (TOKEN, APP_SECRET, "john@example.com", "650 555 1212"):
        assert secret not in text


def test_the_conversions_api_ends_each_version_on_the_marketing_apis_dates():
    from datetime import date

    from sync.http.versions import CURRENT, ENDED, ENDING

    versions = meta_capi.NETWORK.versions
    today = date(2026, 12, 6)
    # a Marketing API endpoint: v21.0 ended on 2025-09-09, not on the Graph API's 2027-01-21
    assert versions.find("v21.0").ends == date(2025, 9, 9) and versions.check("v21.0", today).state == ENDED
    assert versions.check("v25.0", today).state == ENDING and versions.find("v25.0").ends == date(2027, 2, 23)
    assert [versions.check(v, today).state for v in ("v26.0", "v27.0")] == [CURRENT, CURRENT]
    assert meta_capi.NETWORK.api_version == "v26.0"
