"""hubspot_list: a segment as a MANUAL HubSpot list (unit tests with ``responses``, the sandbox, and HubSpot's SDK)."""

from __future__ import annotations

import json

import pytest
import responses
from hubspot import HubSpot
from hubspot.crm.lists import ListCreateRequest

from sync.errors import PermanentError, SettingsError
from sync.sandbox.hubspot.lists import MAX_MEMBERSHIP_IDS
from sync.sandbox.hubspot.sandbox import HubSpotSandbox
from sync.sandbox.server import SandboxServer
from sync.segments.destinations import build, kind
from sync.segments.destinations.base import Audience, AudienceMember, Entry, Unmatchable
from sync.segments.destinations.hubspot_list import HubSpotList
from sync.settings import Settings

API = "https://api.hubapi.com"
AUDIENCE = Audience(key="lapsed-customers", label="Lapsed customers")
TOKEN = {"LIFESYNC_HUBSPOT_TOKEN": "pat-1"}


def _dest(env: dict[str, str] | None = None, **options: str) -> HubSpotList:
    dest = build(HubSpotList.from_settings("hs-lapsed", options, Settings.from_env(env or TOKEN)))
    dest.api.client.sleep = lambda s: None
    return dest


def test_the_kind_is_registered_with_the_sandbox_maximum():
    assert kind("hubspot_list") is HubSpotList
    assert HubSpotList.max_batch == MAX_MEMBERSHIP_IDS and HubSpotList.purpose == "marketing_messages"


def test_settings_name_what_is_missing_or_wrong():
    with pytest.raises(SettingsError, match="LIFESYNC_HUBSPOT_TOKEN__SALON2"):
        HubSpotList.from_settings("hs", {"connection": "salon2"}, Settings.from_env(TOKEN))
    with pytest.raises(SettingsError, match="list_id must be"):
        HubSpotList.from_settings("hs", {"list_id": "abc"}, Settings.from_env(TOKEN))
    with pytest.raises(SettingsError, match="lists_version must be one of"):
        HubSpotList.from_settings("hs", {"lists_version": "2025-01"}, Settings.from_env(TOKEN))


def test_a_named_connection_uses_its_token_and_the_shared_host():
    env = {"LIFESYNC_HUBSPOT_TOKEN": "pat-default", "LIFESYNC_HUBSPOT_TOKEN__LUMEN": "pat-lumen",
           "LIFESYNC_HUBSPOT_BASE_URL": "https://hs-proxy.example"}
    config = HubSpotList.from_settings("hs", {"connection": "lumen", "list_id": "12"}, Settings.from_env(env))
    assert "pat-default" not in config.credentials.values() and config.base_url == "https://hs-proxy.example"
    dest = build(config)
    with responses.RequestsMock() as mock:
        mock.put("https://hs-proxy.example/crm/lists/2026-03/12/memberships/add",
                 json={"recordIdsMissing": [], "recordIdsRemoved": [], "recordsIdsAdded": ["1"]})
        assert dest.add(dest.ensure(AUDIENCE), [Entry(1, {"record_id": "1"})])[0].status == "done"
        assert mock.calls[0].request.headers["Authorization"] == "Bearer pat-lumen"


def test_the_lists_version_follows_the_connector_unless_set():
    assert HubSpotList.from_settings("hs", {}, Settings.from_env(TOKEN)).api_version == "2026-03"
    legacy = {**TOKEN, "LIFESYNC_HUBSPOT_API_VERSION": "legacy"}
    assert HubSpotList.from_settings("hs", {}, Settings.from_env(legacy)).api_version == "v3"
    beta = HubSpotList.from_settings("hs", {"lists_version": "2026-09-beta"}, Settings.from_env(TOKEN))
    assert beta.api_version == "2026-09-beta"


def test_keys_are_the_hubspot_record_id_only():
    dest = _dest()
    assert dest.keys(AudienceMember(1, emails=("a@b.co",), identities=(("hubspot", "501"),))) == {"record_id": "501"}
    with pytest.raises(Unmatchable, match="no HubSpot record id"):
        dest.keys(AudienceMember(1, emails=("a@b.co",), identities=(("salesforce", "003x"),)))


@responses.activate
def test_ensure_finds_the_named_list_else_creates_a_manual_one():
    name_url = f"{API}/crm/lists/2026-03/object-type-id/0-1/name/lifesync%3A%20Lapsed%20customers"
    responses.get(name_url, status=404, json={"status": "error", "message": "List not found",
                                              "category": "OBJECT_NOT_FOUND"})
    responses.post(f"{API}/crm/lists/2026-03", json={"list": {"listId": "77", "processingType": "MANUAL"}})
    assert _dest().ensure(AUDIENCE) == "77"
    assert json.loads(responses.calls[1].request.body) == {"name": "lifesync: Lapsed customers",
                                                          "objectTypeId": "0-1", "processingType": "MANUAL"}
    assert _dest(list_id="12").ensure(AUDIENCE) == "12" and len(responses.calls) == 2


@responses.activate
def test_ensure_refuses_a_dynamic_list_of_that_name():
    responses.get(f"{API}/crm/lists/2026-03/object-type-id/0-1/name/lifesync%3A%20Lapsed%20customers",
                  json={"list": {"listId": "5", "processingType": "DYNAMIC"}})
    with pytest.raises(PermanentError, match="DYNAMIC"):
        _dest().ensure(AUDIENCE)


@responses.activate
def test_add_puts_an_id_array_and_missing_ids_fail_alone():
    responses.put(f"{API}/crm/lists/2026-03/77/memberships/add",
                  json={"recordIdsMissing": ["999"], "recordIdsRemoved": [], "recordsIdsAdded": ["501"]})
    results = _dest().add("77", [Entry(1, {"record_id": "501"}), Entry(2, {"record_id": "999"}),
                                 Entry(3, {"record_id": "502"})])  # 502: already a member, ignored by HubSpot
    assert json.loads(responses.calls[0].request.body) == ["501", "999", "502"]
    assert responses.calls[0].request.headers["Authorization"] == "Bearer pat-1"
    assert [(r.contact_id, r.status) for r in results] == [(1, "done"), (2, "failed"), (3, "done")]
    assert "recordIdsMissing" in results[1].reason


@responses.activate
def test_a_refused_or_throttled_call_gives_every_entry_the_same_outcome():
    responses.put(f"{API}/crm/lists/2026-03/77/memberships/remove", status=429,
                  headers={"Retry-After": "3600"}, json={"status": "error", "errorType": "RATE_LIMIT", "message": "x"})
    responses.put(f"{API}/crm/lists/2026-03/78/memberships/remove", status=400,
                  json={"status": "error", "category": "VALIDATION_ERROR", "message": "List 78 is DYNAMIC"})
    entries = [Entry(1, {"record_id": "501"}), Entry(2, {"record_id": "502"})]
    assert {r.status for r in _dest().remove("77", entries)} == {"retry"}
    refused = _dest().remove("78", entries)
    assert {r.status for r in refused} == {"failed"} and "DYNAMIC" in refused[0].reason


# ---- against the sandbox -------------------------------------------------------------------------------------


@pytest.fixture
def portal():
    sandbox = HubSpotSandbox.seeded(5, 0, rate_per_10s=None)
    with SandboxServer(hubspot=sandbox) as server:
        yield sandbox, server


def _sandbox_dest(server: SandboxServer, **options: str) -> HubSpotList:
    return build(HubSpotList.from_settings("hs", options, Settings.from_env(server.env())))


@pytest.mark.parametrize("version", ["2026-03", "2026-09-beta", "v3"])
def test_sandbox_add_then_remove_with_an_unknown_contact_failing_alone(portal, version):
    sandbox, server = portal
    ids = [r["id"] for r in sandbox.records("contacts")]
    dest = _sandbox_dest(server, lists_version=version)
    list_id = dest.ensure(AUDIENCE)
    assert dest.ensure(AUDIENCE) == list_id  # found by name, not created twice
    assert len(sandbox.lists) == 1
    entries = [Entry(n, dest.keys(AudienceMember(n, identities=(("hubspot", i),)))) for n, i in enumerate(ids)]
    entries.append(Entry(99, {"record_id": "987654"}))
    results = dest.add(list_id, entries)
    assert [r.status for r in results] == ["done"] * len(ids) + ["failed"]
    assert sandbox.lists[int(list_id)].members == {int(i) for i in ids}
    assert {r.status for r in dest.remove(list_id, entries[:2])} == {"done"}
    assert sandbox.lists[int(list_id)].members == {int(i) for i in ids[2:]}


def test_sandbox_enforces_the_batch_maximum_and_manual_lists(portal):
    sandbox, server = portal
    sandbox.list_membership_max = 3
    dest = _sandbox_dest(server)
    list_id = dest.ensure(AUDIENCE)
    too_many = [Entry(n, {"record_id": str(n)}) for n in range(4)]
    results = dest.add(list_id, too_many)
    assert {r.status for r in results} == {"failed"} and "at most 3" in results[0].reason
    dynamic = dest.api.post("/crm/lists/2026-03", {"name": "d", "objectTypeId": "0-1", "processingType": "DYNAMIC",
                                                    "filterBranch": {"filterBranchType": "OR"}})[1]["list"]["listId"]
    refused = dest.add(dynamic, [Entry(1, {"record_id": sandbox.records("contacts")[0]["id"]})])
    assert refused[0].status == "failed" and "DYNAMIC" in refused[0].reason


def test_sandbox_refuses_a_wrong_token_and_an_unknown_version(portal):
    _, server = portal
    env = {**server.env(), "LIFESYNC_HUBSPOT_TOKEN": "wrong"}
    bad = build(HubSpotList.from_settings("hs", {}, Settings.from_env(env)))
    assert bad.add("1", [Entry(1, {"record_id": "1"})])[0].status == "retry"
    http = _sandbox_dest(server).api
    with pytest.raises(PermanentError, match="404"):
        http.get("/crm/lists/2026-09/object-type-id/0-1/name/x")


def test_the_sdk_reads_the_sandbox_lists_answers(portal):
    sandbox, server = portal
    api = HubSpot(access_token=HubSpotSandbox.TOKEN, host=f"{server.url}/hubspot", client_side_validation=True)
    created = api.crm.lists.lists_api.create(ListCreateRequest(name="lifesync: SDK", object_type_id="0-1",
                                                               processing_type="MANUAL"))
    list_id = created.list.list_id
    assert api.crm.lists.lists_api.get_by_name("lifesync: SDK", "0-1").list.list_id == list_id
    ids = [r["id"] for r in sandbox.records("contacts")][:2]
    added = api.crm.lists.memberships_api.add(list_id, [*ids, "987654"])
    assert added.records_ids_added == ids and added.record_ids_missing == ["987654"]
    removed = api.crm.lists.memberships_api.remove(list_id, ids[:1])
    assert removed.record_ids_removed == ids[:1]
