"""salesforce_campaign: Campaign members per segment (unit tests with ``responses``, the sandbox, simple-salesforce)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce

from sync.errors import SettingsError
from sync.sandbox.salesforce.sandbox import SalesforceSandbox
from sync.sandbox.server import SandboxServer
from sync.segments.destinations import build, kind
from sync.segments.destinations.base import Audience, AudienceMember, Entry, Unmatchable
from sync.segments.destinations.salesforce_campaign import SalesforceCampaign
from sync.settings import Settings

LOGIN = "https://login.example"
ORG = "https://org.example"
CREDS = {"LIFESYNC_SALESFORCE_LOGIN_URL": LOGIN, "LIFESYNC_SALESFORCE_CLIENT_ID": "cid",
         "LIFESYNC_SALESFORCE_CLIENT_SECRET": "sec", "LIFESYNC_SALESFORCE_REFRESH_TOKEN": "rt",
         "LIFESYNC_SALESFORCE_API_VERSION": "v61.0"}
AUDIENCE = Audience(key="lapsed-customers", label="Lapsed customers")
CAMPAIGN = "701000000000001AAA"
COLLECTIONS = f"{ORG}/services/data/v61.0/composite/sobjects"
C1, C2, L1 = "003000000000001AAA", "003000000000002AAA", "00Q000000000001AAA"


def _dest(**options: str) -> SalesforceCampaign:
    dest = build(SalesforceCampaign.from_settings("sf-lapsed", options, Settings.from_env(CREDS)))
    dest.client.http.sleep = lambda s: None
    return dest


def _login(mock: responses.RequestsMock) -> None:
    mock.post(f"{LOGIN}/services/oauth2/token", json={"access_token": "at", "instance_url": ORG, "issued_at": "1"})


def test_the_kind_is_registered_with_the_collections_maximum():
    assert kind("salesforce_campaign") is SalesforceCampaign
    assert SalesforceCampaign.max_batch == 200 and SalesforceCampaign.purpose == "marketing_messages"


def test_settings_name_what_is_missing_or_wrong():
    with pytest.raises(SettingsError, match="LIFESYNC_SALESFORCE_CLIENT_ID__EU"):
        SalesforceCampaign.from_settings("sf", {"connection": "eu"}, Settings.from_env(CREDS))
    with pytest.raises(SettingsError, match="campaign_id must be a Campaign id"):
        SalesforceCampaign.from_settings("sf", {"campaign_id": C1}, Settings.from_env(CREDS))
    config = SalesforceCampaign.from_settings("sf", {}, Settings.from_env(CREDS))
    assert config.api_version == "v61.0" and "sec" not in repr(config)


def test_keys_prefer_the_contact_then_the_lead():
    dest = _dest()
    both = AudienceMember(1, identities=(("salesforce_lead", L1), ("salesforce", C1)))
    assert dest.keys(both) == {"ContactId": C1}
    assert dest.keys(AudienceMember(1, identities=(("salesforce_lead", L1),))) == {"LeadId": L1}
    with pytest.raises(Unmatchable, match="no Salesforce Contact or Lead id"):
        dest.keys(AudienceMember(1, emails=("a@b.co",), identities=(("hubspot", "5"),)))


def test_add_sends_one_collection_and_reads_each_result():
    with responses.RequestsMock() as mock:
        _login(mock)
        mock.post(COLLECTIONS, json=[
            {"id": "00v000000000001AAA", "success": True, "errors": []},
            {"success": False, "errors": [{"statusCode": "DUPLICATE_VALUE", "message": "Already a campaign member.",
                                           "fields": []}]},
            {"success": False, "errors": [{"statusCode": "INVALID_CROSS_REFERENCE_KEY",
                                           "message": "invalid cross reference id", "fields": []}]},
            {"success": False, "errors": [{"statusCode": "UNABLE_TO_LOCK_ROW", "message": "locked", "fields": []}]}])
        entries = [Entry(1, {"ContactId": C1}), Entry(2, {"ContactId": C2}), Entry(3, {"LeadId": L1}),
                   Entry(4, {"ContactId": C1})]
        results = _dest(status="Responded").add(CAMPAIGN, entries)
        body = json.loads(mock.calls[1].request.body)
    assert body["allOrNone"] is False
    assert body["records"][2] == {"attributes": {"type": "CampaignMember"}, "CampaignId": CAMPAIGN, "LeadId": L1,
                                  "Status": "Responded"}
    assert [r.status for r in results] == ["done", "done", "failed", "retry"]
    assert "INVALID_CROSS_REFERENCE_KEY" in results[2].reason


def test_remove_queries_the_members_then_deletes_them_by_id():
    with responses.RequestsMock() as mock:
        _login(mock)
        mock.get(f"{ORG}/services/data/v61.0/query", json={"done": True, "records": [
            {"Id": "00v000000000001AAA", "ContactId": C1, "LeadId": None}]})
        mock.delete(COLLECTIONS, json=[{"id": "00v000000000001AAA", "success": True, "errors": []}])
        results = _dest().remove(CAMPAIGN, [Entry(1, {"ContactId": C1}), Entry(2, {"LeadId": L1})])
        soql = parse_qs(urlsplit(mock.calls[1].request.url).query)["q"][0]
        deleted = parse_qs(urlsplit(mock.calls[2].request.url).query)
    assert f"CampaignId = '{CAMPAIGN}'" in soql and f"ContactId IN ('{C1}')" in soql and f"LeadId IN ('{L1}')" in soql
    assert deleted == {"ids": ["00v000000000001AAA"], "allOrNone": ["false"]}
    assert [r.status for r in results] == ["done", "done"]


def test_a_refused_request_gives_every_entry_the_same_outcome():
    with responses.RequestsMock() as mock:
        _login(mock)
        mock.post(COLLECTIONS, status=403, json=[{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "limit"}])
        results = _dest().add(CAMPAIGN, [Entry(1, {"ContactId": C1}), Entry(2, {"ContactId": C2})])
    assert {r.status for r in results} == {"retry"}


# ---- against the sandbox -------------------------------------------------------------------------------------


@pytest.fixture
def org():
    sandbox = SalesforceSandbox.seeded(leads=3, contacts=3)
    with SandboxServer(salesforce=sandbox) as server:
        yield sandbox, server


def _sandbox_dest(server: SandboxServer, **options: str) -> SalesforceCampaign:
    return build(SalesforceCampaign.from_settings("sf", options, Settings.from_env(server.env())))


class _PlainHttp(HTTPAdapter):
    """simple-salesforce's https URLs, sent to the sandbox's plain-HTTP loopback server."""

    def __init__(self, https: str, http: str) -> None:
        super().__init__()
        self.https, self.http = https, http

    def send(self, request, **kwargs):
        request.url = request.url.replace(self.https, self.http, 1)
        return super().send(request, **kwargs)


def _live_members(sandbox: SalesforceSandbox, campaign: str) -> set[str]:
    return {r["ContactId"] or r["LeadId"] for r in sandbox.records("CampaignMember") if r["CampaignId"] == campaign}


def test_sandbox_add_twice_then_remove_with_an_unknown_contact_failing_alone(org):
    sandbox, server = org
    contacts = [r["Id"] for r in sandbox.records("Contact")]
    leads = [r["Id"] for r in sandbox.records("Lead")]
    dest = _sandbox_dest(server)
    campaign = dest.ensure(AUDIENCE)
    assert dest.ensure(AUDIENCE) == campaign and len(sandbox.records("Campaign")) == 1  # found, not made twice
    members = [AudienceMember(n, identities=(("salesforce", c),)) for n, c in enumerate(contacts)]
    members += [AudienceMember(10 + n, identities=(("salesforce_lead", lead),)) for n, lead in enumerate(leads)]
    entries = [Entry(m.contact_id, dest.keys(m)) for m in members]
    unknown = Entry(99, {"ContactId": "003000000000999AAA"[:15]})
    results = dest.add(campaign, [*entries, unknown])
    assert [r.status for r in results] == ["done"] * len(entries) + ["failed"]
    assert _live_members(sandbox, campaign) == {*contacts, *leads}
    assert [r.status for r in dest.add(campaign, entries)] == ["done"] * len(entries)  # duplicates: already done
    assert len(sandbox.records("CampaignMember")) == len(entries)
    assert [r.status for r in dest.remove(campaign, [entries[0], entries[-1], unknown])] == ["done"] * 3
    assert _live_members(sandbox, campaign) == {*contacts[1:], *leads[:-1]}


def test_sandbox_enforces_the_collections_maximum(org):
    sandbox, server = org
    dest = _sandbox_dest(server)
    campaign = dest.ensure(AUDIENCE)
    contact = sandbox.records("Contact")[0]["Id"]
    results = dest.add(campaign, [Entry(n, {"ContactId": contact}) for n in range(201)])
    assert {r.status for r in results} == {"failed"} and "EXCEEDED_ID_LIMIT" in results[0].reason
    assert sandbox.records("CampaignMember") == []


def test_simple_salesforce_reads_the_sandbox_campaign_members(org):
    sandbox, server = org
    dest = _sandbox_dest(server)
    campaign = dest.ensure(AUDIENCE)
    contact = sandbox.records("Contact")[0]["Id"]
    dest.add(campaign, [Entry(1, {"ContactId": contact})])
    token = dest.client.auth.token()
    https = server.url.replace("http://", "https://")  # simple-salesforce speaks https to the instance's host
    session = requests.Session()
    session.mount(https, _PlainHttp(https, token.instance_url))
    sf = Salesforce(instance_url=token.instance_url, session_id=token.access_token, version="61.0", session=session)
    found = sf.query(f"SELECT Id, CampaignId, ContactId, Status FROM CampaignMember WHERE CampaignId = '{campaign}'")
    assert found["totalSize"] == 1 and found["records"][0]["ContactId"] == contact
    assert found["records"][0]["Status"] == "Sent"
    assert sf.Campaign.get(campaign)["Name"] == "lifesync: Lapsed customers"
    answer = sf.restful("composite/sobjects", method="DELETE", params={"ids": found["records"][0]["Id"]})
    assert answer == [{"id": found["records"][0]["Id"], "success": True, "errors": []}]
    assert _live_members(sandbox, campaign) == set()
