"""google_customer_match: settings, keys and requests (Google's Formatter and proto messages as oracles), errors.

Oracles: ``google-ads-datamanager`` — the request we POST, read into ``IngestAudienceMembersRequest``
/ ``RemoveAudienceMembersRequest`` and printed back with ``to_json``, is unchanged (nothing unknown,
nothing lost, enums spelled as Google spells them); ``google-ads-datamanager-util``'s ``Formatter``
hashes each identifier to the same hex digest.
"""

from __future__ import annotations

import json

import pytest
import responses
from google.ads import datamanager_v1 as dm
from google.ads.datamanager_util.format import Encoding, Formatter

from sync.errors import SettingsError
from sync.segments.destinations import build, kind
from sync.segments.destinations.base import Audience, AudienceMember, Entry, Unmatchable
from sync.segments.destinations.google_customer_match import INGEST, REMOVE, GoogleCustomerMatch, request_body
from sync.settings import Settings

BASE = "https://dm.example"
ENV = {"LIFESYNC_GOOGLE_ADS_ACCESS_TOKEN": "oauth-token-1", "LIFESYNC_GOOGLE_ADS_CUSTOMER_ID": "123-456-7890",
       "LIFESYNC_GOOGLE_ADS_LOGIN_CUSTOMER_ID": "987-654-3210", "LIFESYNC_GOOGLE_ADS_BASE_URL": BASE}
TERMS = {"customer_match_terms": "accepted"}
FORMAT = Formatter()


def destination(env=None, **options) -> GoogleCustomerMatch:
    config = kind("google_customer_match").from_settings("google-lapsed", {**TERMS, **options},
                                                         Settings.from_env(env or ENV))
    return build(config)  # type: ignore[return-value]


def member(i: int, **fields) -> AudienceMember:
    fields.setdefault("emails", (f"u{i}@example.com",))
    return AudienceMember(i, **fields)


def test_settings_are_the_data_manager_token_customer_and_manager():
    config = GoogleCustomerMatch.from_settings("g", TERMS, Settings.from_env(ENV))
    assert config.credentials == {"access_token": "oauth-token-1"}
    assert (config.base_url, config.api_version) == (BASE, "v1")
    assert config.options == {"customer_id": "1234567890", "login_customer_id": "9876543210"}
    ads_api = GoogleCustomerMatch.from_settings("g", TERMS, Settings.from_env(
        {**ENV, "LIFESYNC_GOOGLE_ADS_TRANSPORT": "ads_api"}))
    assert ads_api.base_url == "https://datamanager.googleapis.com"  # that base URL is the Ads API's


@pytest.mark.parametrize(("env", "options", "said"), [
    (ENV, {}, "customer_match_terms: accepted"),
    ({}, TERMS, "LIFESYNC_GOOGLE_ADS_ACCESS_TOKEN, LIFESYNC_GOOGLE_ADS_CUSTOMER_ID"),
    (ENV, {**TERMS, "connection": "eu"}, "LIFESYNC_GOOGLE_ADS_ACCESS_TOKEN__EU"),
    (ENV, {**TERMS, "user_list_id": "list-1"}, "must be digits"),
])
def test_settings_problems_name_the_destination_and_the_fix(env, options, said):
    with pytest.raises(SettingsError, match="google-lapsed") as caught:
        GoogleCustomerMatch.from_settings("google-lapsed", options, Settings.from_env(env))
    assert said in str(caught.value)


@pytest.mark.parametrize("email", ["Cloudy.SanFrancisco+shopping@gmail.com", "  user.name+NYC@Example.com "])
def test_identifiers_hash_as_googles_formatter_does(email):
    keys = destination().keys(AudienceMember(1, emails=(email,), phones=("+1 (800) 555-0100",), first_name=" Ann ",
                                             last_name="Lee", country="us", zip="94103",
                                             consent={"ad_user_data": True, "ad_personalization": False}))
    assert keys == {"userIdentifiers": [
        {"emailAddress": FORMAT.process_email_address(email, Encoding.HEX)},
        {"phoneNumber": FORMAT.process_phone_number("+1 (800) 555-0100", Encoding.HEX)},
        {"address": {"givenName": FORMAT.process_given_name(" Ann ", Encoding.HEX),
                     "familyName": FORMAT.process_family_name("Lee", Encoding.HEX),
                     "regionCode": FORMAT.process_region_code("us"),
                     "postalCode": FORMAT.process_postal_code("94103")}},
    ], "consent": {"adUserData": "CONSENT_GRANTED", "adPersonalization": "CONSENT_DENIED"}}


def test_a_member_with_nothing_google_matches_is_unmatchable():
    with pytest.raises(Unmatchable, match="e-mail, a phone"):
        destination().keys(AudienceMember(1, first_name="Ann", country="US"))  # an address needs all four parts


def printed(message, value) -> str:
    """The message as REST JSON: enums by name, fields left unset not printed."""
    return message.to_json(value, use_integers_for_enums=False, always_print_fields_with_no_presence=False)


@pytest.mark.parametrize(("method", "message"), [(INGEST, dm.IngestAudienceMembersRequest),
                                                  (REMOVE, dm.RemoveAudienceMembersRequest)])
def test_our_requests_are_googles_messages_unchanged(method, message):
    dest = destination()
    entries = [Entry(i, dest.keys(member(i, phones=("+14155550100",), consent={"ad_user_data": True})))
               for i in range(3)]
    ours = request_body(method, dest.destination("4455"), entries)
    theirs = json.loads(printed(message, message.from_json(json.dumps(ours))))
    assert theirs == ours
    built = message(destinations=[dm.Destination(
        operating_account=dm.ProductAccount(account_type=dm.ProductAccount.AccountType.GOOGLE_ADS,
                                            account_id="1234567890"),
        login_account=dm.ProductAccount(account_type=dm.ProductAccount.AccountType.GOOGLE_ADS,
                                        account_id="9876543210"),
        product_destination_id="4455")], encoding=dm.Encoding.HEX)
    assert json.loads(printed(message, built)) == {k: v for k, v in ours.items() if k in ("destinations", "encoding")}
    assert ("termsOfService" in ours) is (method == INGEST)
    assert all("consent" not in m for m in ours["audienceMembers"]) is (method == REMOVE)


@responses.activate
def test_ensure_creates_a_customer_match_list_through_the_manager():
    responses.post(f"{BASE}/v1/accountTypes/GOOGLE_ADS/accounts/1234567890/userLists",
                   json={"name": "accountTypes/GOOGLE_ADS/accounts/1234567890/userLists/4455", "id": "4455"})
    assert destination().ensure(Audience("lapsed", "Lapsed")) == "4455"
    call = responses.calls[0].request
    assert call.headers["login-account"] == "accountTypes/GOOGLE_ADS/accounts/9876543210"
    body = json.loads(call.body)
    assert body["ingestedUserListInfo"]["uploadKeyTypes"] == ["CONTACT_ID"]
    dm.UserList.from_json(call.body)  # Google's own message reads it
    assert destination(user_list_id="77").ensure(Audience("lapsed", "Lapsed")) == "77"


@responses.activate
def test_members_google_names_in_a_refusal_fail_and_the_rest_are_sent_again():
    refusal = {"error": {"code": 400, "message": "Request contains an invalid argument.", "status": "INVALID_ARGUMENT",
                         "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "INVALID_FORMAT"},
                                     {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [
                                         {"field": "audience_members[1].user_data.user_identifiers[0]",
                                          "description": "bad hash", "reason": "INVALID_SHA256_FORMAT"}]}]}}
    responses.post(f"{BASE}/v1/{INGEST}", status=400, json=refusal)
    responses.post(f"{BASE}/v1/{INGEST}", json={"requestId": "r-2"})
    dest = destination()
    results = dest.add("4455", [Entry(i, dest.keys(member(i))) for i in range(3)])
    assert [r.status for r in results] == ["done", "failed", "done"]
    assert "bad hash" in results[1].reason and results[0].reason == "request r-2"
    assert len(json.loads(responses.calls[1].request.body)["audienceMembers"]) == 2


@responses.activate
def test_a_quota_refusal_leaves_every_member_to_retry():
    responses.post(f"{BASE}/v1/{REMOVE}", status=429, json={"error": {
        "code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED",
        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED"}]}})
    config = GoogleCustomerMatch.from_settings("g", TERMS, Settings.from_env(ENV))
    dest = GoogleCustomerMatch(config, sleep=lambda _s: None)
    results = dest.remove("4455", [Entry(i, dest.keys(member(i))) for i in range(4)])
    assert {r.status for r in results} == {"retry"}
