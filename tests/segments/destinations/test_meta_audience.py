"""meta_audience: settings, hashed multi-key rows, sessions, refusals and bisection (``responses``), and Meta's SDK.

The oracle is ``facebook_business``'s ``CustomAudience.format_params(schema, users, is_raw=True,
session=...)`` — what ``CustomAudience.add_users`` / ``remove_users`` send: our request's
parameters (besides the token) must equal it for the raw values the member holds.
"""

from __future__ import annotations

import hashlib
import json

import pytest
import responses
from facebook_business.adobjects.customaudience import CustomAudience

from sync.errors import SettingsError
from sync.segments.destinations import build, kind
from sync.segments.destinations.base import Audience, AudienceMember, Entry, Unmatchable
from sync.segments.destinations.meta_audience import SCHEMA, MetaAudience, request_params
from sync.settings import Settings

BASE = "https://graph.example"
TOKEN, SECRET = "marketing-token-123", "app-secret-456"
ENV = {"LIFESYNC_META_MARKETING_ACCESS_TOKEN": TOKEN, "LIFESYNC_META_APP_SECRET": SECRET,
       "LIFESYNC_META_AD_ACCOUNT_ID": "1029384756", "LIFESYNC_META_BASE_URL": BASE}
USERS = f"{BASE}/v26.0/777/users"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def destination(env: dict[str, str] | None = None, **options: str) -> MetaAudience:
    settings = Settings.from_env(env or ENV)
    return build(kind("meta_audience").from_settings("meta-lapsed", options, settings))  # type: ignore[return-value]


def member(contact_id: int, **fields) -> AudienceMember:
    fields.setdefault("emails", (f"u{contact_id}@example.com",))
    return AudienceMember(contact_id, **fields)


def sent(call: responses.Call) -> dict:
    return json.loads(call.request.body)


# ---- settings ------------------------------------------------------------------------------------------------------

def test_settings_are_the_marketing_token_app_secret_and_ad_account_at_todays_version():
    config = MetaAudience.from_settings("meta-lapsed", {}, Settings.from_env(ENV))
    assert config.credentials == {"access_token": TOKEN, "app_secret": SECRET}
    assert (config.base_url, config.api_version, config.options) == (BASE, "v26.0", {"ad_account_id": "act_1029384756"})


def test_a_named_connection_reads_its_own_token_and_account_but_shares_the_api_version():
    env = {**ENV, "LIFESYNC_META_API_VERSION": "v27.0", "LIFESYNC_META_MARKETING_ACCESS_TOKEN__EU": "eu-token",
           "LIFESYNC_META_AD_ACCOUNT_ID__EU": "act_55"}
    config = MetaAudience.from_settings("meta-eu", {"connection": "eu"}, Settings.from_env(env))
    assert config.credentials == {"access_token": "eu-token"}  # the default's app secret is not its own
    assert (config.api_version, config.options["ad_account_id"], config.base_url) == (
        "v27.0", "act_55", "https://graph.facebook.com")


@pytest.mark.parametrize(("env", "options", "expected"), [
    ({}, {}, "LIFESYNC_META_MARKETING_ACCESS_TOKEN"),
    ({"LIFESYNC_META_MARKETING_ACCESS_TOKEN": "t"}, {}, "LIFESYNC_META_AD_ACCOUNT_ID"),
    ({"LIFESYNC_META_MARKETING_ACCESS_TOKEN": "t"}, {"connection": "eu"}, "LIFESYNC_META_MARKETING_ACCESS_TOKEN__EU"),
    ({"LIFESYNC_META_MARKETING_ACCESS_TOKEN": "t"}, {"ad_account_id": "abc"}, "act_<digits>"),
    ({"LIFESYNC_META_MARKETING_ACCESS_TOKEN": "t"}, {"audience_id": "12x"}, "must be digits"),
])
def test_missing_or_malformed_settings_name_the_destination_and_what_to_set(env, options, expected):
    with pytest.raises(SettingsError, match="meta-lapsed") as caught:
        MetaAudience.from_settings("meta-lapsed", options, Settings.from_env(env))
    assert expected in str(caught.value)


def test_an_existing_audience_needs_no_ad_account_and_ensure_returns_it_without_a_call():
    dest = destination({"LIFESYNC_META_MARKETING_ACCESS_TOKEN": TOKEN}, audience_id="4242")
    with responses.RequestsMock():  # any request would fail the test
        assert dest.ensure(Audience("lapsed", "Lapsed")) == "4242"


# ---- keys ----------------------------------------------------------------------------------------------------------

def test_keys_are_one_hashed_row_per_email_and_phone_with_metas_normalisation():
    keys = destination().keys(member(7, emails=(" Ann.Lee@Gmail.com ", "a2@example.com"),
                                     phones=("+44 7911 123456",), first_name="Ann-Marie", last_name="Lee",
                                     country="United Kingdom", zip="SW1A 1AA"))
    common = {"FN": sha("annmarie"), "LN": sha("lee"), "COUNTRY": sha("gb"), "ZIP": sha("sw1a1aa")}
    assert keys == {"rows": [{"EMAIL": sha("ann.lee@gmail.com"), "PHONE": sha("447911123456"), **common},
                             {"EMAIL": sha("a2@example.com"), **common}]}  # Meta keeps Gmail dots; no "+"


def test_a_member_without_email_or_phone_is_unmatchable_and_says_what_meta_needs():
    with pytest.raises(Unmatchable, match="e-mail or a phone"):
        destination().keys(AudienceMember(1, emails=("not an email",), first_name="Ann"))


# ---- requests ------------------------------------------------------------------------------------------------------

@responses.activate
def test_ensure_creates_a_customer_list_audience_with_the_token_and_proof_in_the_body():
    responses.post(f"{BASE}/v26.0/act_1029384756/customaudiences", json={"id": "777"})
    assert destination().ensure(Audience("lapsed", "Lapsed customers", brand="shop")) == "777"
    body = sent(responses.calls[0])
    assert body["name"] == "Lapsed customers" and body["subtype"] == "CUSTOM"
    assert body["customer_file_source"] == "USER_PROVIDED_ONLY" and "lapsed" in body["description"]
    assert body["access_token"] == TOKEN and len(body["appsecret_proof"]) == 64
    assert TOKEN not in responses.calls[0].request.url


@responses.activate
def test_an_upload_over_the_row_limit_is_one_session_of_numbered_batches_the_last_flagged():
    responses.post(USERS, json={"audience_id": "777", "num_received": 2, "num_invalid_entries": 0})
    dest = destination()
    dest.max_batch = 4  # type: ignore[misc]
    members = [member(i, phones=("+14155550100",) if i == 0 else ()) for i in range(9)]  # member 0 has two rows
    entries = [Entry(m.contact_id, dest.keys(m)) for m in members]
    results = dest.add("777", entries)
    assert [r.status for r in results] == ["done"] * 9
    sessions = [sent(call)["session"] for call in responses.calls]
    assert [len(sent(call)["payload"]["data"]) for call in responses.calls] == [4, 4, 1]
    assert len({s["session_id"] for s in sessions}) == 1
    assert [(s["batch_seq"], s["last_batch_flag"], s["estimated_num_total"]) for s in sessions] == [
        (1, False, 9), (2, False, 9), (3, True, 9)]


@responses.activate
def test_remove_is_a_delete_of_the_same_rows():
    responses.delete(USERS, json={"audience_id": "777", "num_received": 1, "num_invalid_entries": 0})
    dest = destination()
    entry = Entry(3, dest.keys(member(3)))
    assert dest.remove("777", [entry])[0].status == "done"
    assert responses.calls[0].request.method == "DELETE"
    assert sent(responses.calls[0])["payload"]["data"] == [[sha("u3@example.com"), "", "", "", "", ""]]


def _refuse_member(bad: int):
    """A /users endpoint refusing (code 100) every request holding member ``bad``'s e-mail hash."""
    def answer(request):
        rows = json.loads(request.body)["payload"]["data"]
        if any(row[0] == sha(f"u{bad}@example.com") for row in rows):
            return 400, {}, json.dumps({"error": {"message": "Invalid parameter", "code": 100,
                                                  "error_subcode": 2804051, "error_user_msg": "data[3] is bad"}})
        return 200, {}, json.dumps({"num_received": len(rows), "num_invalid_entries": 0})
    return answer


@responses.activate
def test_a_refused_batch_is_bisected_until_the_bad_member_stands_alone():
    responses.add_callback(responses.POST, USERS, callback=_refuse_member(5))
    dest = destination()
    entries = [Entry(i, dest.keys(member(i))) for i in range(8)]
    results = dest.add("777", entries)
    assert [r.status for r in results] == ["done"] * 5 + ["failed"] + ["done"] * 2
    assert "data[3] is bad" in results[5].reason
    assert len(responses.calls) < 8  # halves, not one request per member
    accepted = [sent(c)["session"]["batch_seq"] for c in responses.calls if c.response.status_code == 200]
    assert accepted == list(range(1, len(accepted) + 1))  # refused requests leave no gap in the session


@responses.activate
def test_a_blocked_audience_fails_every_member_at_once_without_bisecting():
    responses.post(USERS, status=400, json={"error": {"message": "Invalid parameter", "code": 100,
                                                      "error_subcode": 1713230,
                                                      "error_user_title": "Audience Upload Blocked"}})
    dest = destination()
    results = dest.add("777", [Entry(i, dest.keys(member(i))) for i in range(6)])
    assert {r.status for r in results} == {"failed"} and len(responses.calls) == 1
    assert "Audience Upload Blocked" in results[0].reason


@responses.activate
def test_a_rate_limit_leaves_every_member_to_retry_and_a_refused_token_too():
    responses.post(USERS, status=400, json={"error": {"message": "too many calls", "code": 80003,
                                                      "is_transient": True}})
    settings = Settings.from_env(ENV)
    dest = MetaAudience(MetaAudience.from_settings("m", {}, settings), sleep=lambda _s: None)
    results = dest.add("777", [Entry(i, dest.keys(member(i))) for i in range(3)])
    assert {r.status for r in results} == {"retry"}
    responses.replace(responses.POST, USERS, status=400, json={"error": {"message": "bad token", "code": 190}})
    results = dest.add("777", [Entry(1, dest.keys(member(1)))])
    assert results[0].status == "retry" and "credentials" in results[0].reason


@responses.activate
def test_a_member_meta_counts_invalid_fails_and_the_others_are_done():
    dest = destination()
    entries = [Entry(i, dest.keys(member(i))) for i in range(3)]
    responses.post(USERS, json={"num_received": 3, "num_invalid_entries": 1,
                                "invalid_entry_samples": {sha("u1@example.com"): "invalid"}})
    assert [r.status for r in dest.add("777", entries)] == ["done", "failed", "done"]


# ---- Meta's SDK as the oracle ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    {"email": "Ann.Lee@Example.com", "phone": "+1 (415) 555-0100", "first_name": "Ann", "last_name": "O'Lee",
     "country": "US", "zip": "94103-1234"},
    {"email": "  bob@example.org ", "phone": "+44 7911 123456", "first_name": "BOB", "last_name": "Smith",
     "country": "gb", "zip": "12345"},
])
def test_our_users_request_is_what_the_sdk_sends_for_the_same_people(raw):
    dest = destination()
    entry = Entry(1, dest.keys(AudienceMember(1, emails=(raw["email"],), phones=(raw["phone"],),
                                              first_name=raw["first_name"], last_name=raw["last_name"],
                                              country=raw["country"], zip=raw["zip"])))
    from sync.segments.destinations.ad_delivery import Part
    session = {"session_id": 99, "batch_seq": 1, "last_batch_flag": True, "estimated_num_total": 1}
    ours = request_params([entry], 99, Part(1, True, 1))
    by_key = {"EMAIL": raw["email"], "PHONE": raw["phone"], "FN": raw["first_name"], "LN": raw["last_name"],
              "COUNTRY": raw["country"], "ZIP": raw["zip"]}
    theirs = CustomAudience.format_params(list(SCHEMA), [[by_key[k] for k in SCHEMA]], is_raw=True, session=session)
    assert ours == theirs
    multi = CustomAudience.Schema.MultiKeySchema
    assert list(SCHEMA) == [multi.email, multi.phone, multi.fn, multi.ln, multi.zip, multi.country]
