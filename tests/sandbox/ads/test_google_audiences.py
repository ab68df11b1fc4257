"""The Data Manager sandbox's Customer Match, driven by google_customer_match and by raw requests."""

from __future__ import annotations

from dataclasses import replace

import pytest
import requests

from sync.errors import SyncError
from sync.sandbox.ads.google_ads import GoogleAdsSandbox
from sync.sandbox.server import SandboxServer
from sync.segments.destinations import build
from sync.segments.destinations.base import Audience, AudienceMember, Entry
from sync.segments.destinations.google_customer_match import INGEST, GoogleCustomerMatch, request_body
from sync.settings import Settings

H = "b" * 64


@pytest.fixture(scope="module")
def served():
    sandbox = GoogleAdsSandbox()
    with SandboxServer(google=sandbox) as server:
        env = {**server.env(), "LIFESYNC_GOOGLE_ADS_LOGIN_CUSTOMER_ID": sandbox.MANAGER_ID}
        config = GoogleCustomerMatch.from_settings("g", {"customer_match_terms": "accepted"}, Settings.from_env(env))
        yield sandbox, config, f"{server.url}/google/v1"


@pytest.fixture
def google(served):
    sandbox = served[0]
    sandbox.requests, sandbox.rate.limit = 0, None
    return served


def people(count: int) -> list[AudienceMember]:
    return [AudienceMember(i, emails=(f"Ann.Lee+{i}@gmail.com",), phones=("+14155550100",), first_name="Ann",
                           last_name="Lee", country="US", zip="94103", consent={"ad_user_data": True})
            for i in range(count)]


def test_a_segment_becomes_a_user_list_filled_and_emptied_again(google):
    sandbox, config, _ = google
    dest = build(config)
    list_id = dest.ensure(Audience("lapsed", "Lapsed customers"))
    assert sandbox.user_lists[list_id]["displayName"] == "Lapsed customers (lifesync lapsed)"
    entries = [Entry(m.contact_id, dest.keys(m)) for m in people(4)]
    assert {r.status for r in dest.add(list_id, entries)} == {"done"}
    stored = sandbox.user_lists[list_id]["members"]
    assert len(stored) == 1 + 1 + 1  # Google drops a Gmail "+tag": one e-mail, one phone, one address
    assert all(consent == {"adUserData": "CONSENT_GRANTED"} for consent in stored.values())
    assert {r.status for r in dest.remove(list_id, entries)} == {"done"} and stored == {}


def test_a_list_name_is_unique_and_another_customer_is_not_ours(google):
    config = google[1]
    build(config).ensure(Audience("dupe", "Dupe"))
    with pytest.raises(SyncError) as caught:
        build(config).ensure(Audience("dupe", "Dupe"))
    assert caught.value.vendor_code == "DUPLICATE_USER_LIST_NAME"
    stranger = build(replace(config, options={**config.options, "customer_id": "5555555555"}))
    with pytest.raises(Exception, match="permission"):
        stranger.ensure(Audience("x", "X"))


def _ingest(base: str, sandbox: GoogleAdsSandbox, body: dict, path: str = INGEST):
    return requests.post(f"{base}/{path}", json=body, timeout=5,
                         headers={"Authorization": f"Bearer {sandbox.ACCESS_TOKEN}"})


def _body(config, list_id: str, members: list[dict]) -> dict:
    dest = build(config)
    return request_body(INGEST, dest.destination(list_id), [Entry(i, m) for i, m in enumerate(members)])


@pytest.mark.parametrize(("change", "reason", "field"), [
    (lambda b: b.pop("termsOfService"), "TERMS_AND_CONDITIONS_NOT_SIGNED", "terms_of_service"),
    (lambda b: b.pop("encoding"), "REQUIRED_FIELD_MISSING", "encoding"),
    (lambda b: b["audienceMembers"][1]["userData"]["userIdentifiers"].append({"emailAddress": "Ann@x.com"}),
     "INVALID_HEX_ENCODING", "audience_members[1].user_data.user_identifiers[1].emailAddress"),
    (lambda b: b["audienceMembers"][0]["userData"]["userIdentifiers"].extend([{"emailAddress": H}] * 10),
     "TOO_MANY_USER_IDENTIFIERS", "audience_members[0].user_data.user_identifiers"),
    (lambda b: b["audienceMembers"].append({"mobileData": {"mobileIds": ["x"]}}), "MULTIPLE_DATA_TYPES_NOT_ALLOWED",
     "audience_members"),
    (lambda b: b["destinations"][0].update(productDestinationId="1"), "INVALID_USER_LIST_ID",
     "destinations[0].product_destination_id"),
    (lambda b: b["audienceMembers"].extend(b["audienceMembers"][:1] * 10_000), "TOO_MANY_AUDIENCE_MEMBERS",
     "audience_members"),
])
def test_one_bad_record_refuses_the_whole_request_naming_it(google, change, reason, field):
    sandbox, config, base = google
    list_id = build(config).ensure(Audience(f"r{reason}{field}", f"R {reason} {field}"))
    body = _body(config, list_id, [{"userIdentifiers": [{"emailAddress": H}]}] * 2)
    change(body)
    answer = _ingest(base, sandbox, body)
    assert answer.status_code == 400
    details = answer.json()["error"]["details"]
    violations = [v for d in details for v in d.get("fieldViolations", [])]
    assert (violations[0]["reason"], violations[0]["field"]) == (reason, field)
    assert sandbox.user_lists[list_id]["members"] == {}


def test_members_need_a_token_and_the_quota_is_enforced(google):
    sandbox, config, base = google
    list_id = build(config).ensure(Audience("quota", "Quota"))
    body = _body(config, list_id, [{"userIdentifiers": [{"emailAddress": H}]}])
    assert requests.post(f"{base}/{INGEST}", json=body, timeout=5).status_code == 401
    sandbox.rate.limit = 1
    assert _ingest(base, sandbox, body).status_code == 200
    refused = _ingest(base, sandbox, body)
    assert refused.status_code == 429 and refused.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    dest = GoogleCustomerMatch(config, sleep=lambda _s: None)
    assert {r.status for r in dest.add(list_id, [Entry(1, {"userIdentifiers": [{"emailAddress": H}]})])} == {"retry"}


def test_a_member_google_refuses_fails_alone_against_the_sandbox(google):
    sandbox, config, _ = google
    dest = build(config)
    list_id = dest.ensure(Audience("one-bad", "One bad"))
    entries = [Entry(m.contact_id, dest.keys(m)) for m in people(3)]
    entries[1] = Entry(1, {"userIdentifiers": [{"emailAddress": "not-a-hash"}]})
    results = dest.add(list_id, entries)
    assert [r.status for r in results] == ["done", "failed", "done"]
    assert "INVALID_HEX_ENCODING" in results[1].reason and sandbox.requests == 1 + 2
