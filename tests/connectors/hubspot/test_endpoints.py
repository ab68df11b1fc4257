"""HubSpot's paths per API version, the setting that picks one, and search paced at 4 per second per token."""

from __future__ import annotations

from datetime import UTC, datetime

import fakeredis
import pytest
import responses
from connectors.hubspot.hubspot_fakes import BASE, PRIVATE_TOKEN, Portal, record, settings_with

from sync.connectors.hubspot.connector import HubSpotConnector
from sync.connectors.hubspot.endpoints import VERSIONS, Endpoints
from sync.connectors.hubspot.settings import HubSpotSettings
from sync.errors import SettingsError

EXPECTED = {
    "legacy": {
        "objects": "/crm/v3/objects/contacts",
        "search": "/crm/v3/objects/contacts/search",
        "batch": "/crm/v3/objects/contacts/batch/upsert",
        "property": "/crm/v3/properties/contacts/lifecyclestage",
        "associations": "/crm/v4/associations/deals/contacts/batch/read",
    },
    "2026-09": {
        "objects": "/crm/objects/2026-09/contacts",
        "search": "/crm/objects/2026-09/contacts/search",
        "batch": "/crm/objects/2026-09/contacts/batch/upsert",
        "property": "/crm/properties/2026-09/contacts/lifecyclestage",
        "associations": "/crm/associations/2026-09/deals/contacts/batch/read",
    },
    "2026-03": {
        "objects": "/crm/objects/2026-03/contacts",
        "search": "/crm/objects/2026-03/contacts/search",
        "batch": "/crm/objects/2026-03/contacts/batch/upsert",
        "property": "/crm/properties/2026-03/contacts/lifecyclestage",
        "associations": "/crm/associations/2026-03/deals/contacts/batch/read",
    },
}


@pytest.mark.parametrize("version", sorted(EXPECTED))
def test_every_call_has_its_path_in_each_version(version):
    paths = Endpoints(version)
    assert {"objects": paths.objects("contacts"), "search": paths.search("contacts"),
            "batch": paths.batch("contacts", "upsert"), "property": paths.property("contacts", "lifecyclestage"),
            "associations": paths.associations("deals", "contacts")} == EXPECTED[version]


def test_only_2026_09_and_later_validate_writes_and_unknown_versions_are_refused():
    assert [v for v in VERSIONS if Endpoints(v).validates_writes] == ["2026-09"]
    with pytest.raises(ValueError, match="2099-01"):
        Endpoints("2099-01")


def test_the_default_is_2026_09_and_a_wrong_setting_names_its_variable():
    assert HubSpotSettings.of(settings_with()).api_version == "2026-09"
    assert HubSpotSettings.of(settings_with(LIFESYNC_HUBSPOT_API_VERSION="LEGACY")).api_version == "legacy"
    named = settings_with(LIFESYNC_HUBSPOT_API_VERSION="2026-03", LIFESYNC_HUBSPOT_TOKEN__SALON2="x")
    assert HubSpotSettings.of(named, "salon2").api_version == "2026-03"  # a named connection falls back
    with pytest.raises(SettingsError, match=r"LIFESYNC_HUBSPOT_API_VERSION must be 2026-09, 2026-03 or legacy"):
        HubSpotSettings.of(settings_with(LIFESYNC_HUBSPOT_API_VERSION="v3"))


@pytest.mark.parametrize("version", ["legacy", "2026-09"])
def test_the_connector_calls_the_configured_versions_paths(mock, clock, version):
    paths = EXPECTED[version]
    mock.add(responses.GET, f"{BASE}{paths['property']}",
             json={"name": "lifecyclestage", "options": [{"value": "lead", "displayOrder": 0}]})
    listed = {"results": [record("contacts", 5, "2026-03-01T00:00:00Z")]}
    mock.add(responses.GET, f"{BASE}{paths['objects']}", json=listed)
    connector = HubSpotConnector(settings_with(LIFESYNC_HUBSPOT_TOKEN=PRIVATE_TOKEN,
                                               LIFESYNC_HUBSPOT_API_VERSION=version),
                                 properties={"contacts": ["email"]}, sleep=clock.sleep, clock=clock)
    assert connector.stage_options() == ["lead"]
    assert [r["id"] for page in connector.pull("contacts", {}) for r in page.records] == ["5"]


def searches(count: int) -> list[dict]:
    """Contacts spread so that an incremental pull reads them in ``count`` search pages of 200."""
    return [record("contacts", n, "2026-03-01T11:00:00.000Z") for n in range(1, 200 * count + 1)]


def test_searches_start_a_quarter_second_apart_so_never_five_within_one_second(mock, clock):
    Portal("contacts", searches(5)).install(mock)
    mock.add(responses.GET, f"{BASE}{EXPECTED['2026-09']['objects']}", json={"results": []})  # the archived pass
    connector = HubSpotConnector(settings_with(LIFESYNC_HUBSPOT_TOKEN=PRIVATE_TOKEN), redis=fakeredis.FakeRedis(),
                                 properties={"contacts": ["email"]}, sleep=clock.sleep, clock=clock)
    cursor = {"v": 1, "bookmark": "2026-03-01T10:00:00.000Z", "run": None}
    pages = list(connector.pull("contacts", cursor, now=datetime(2026, 3, 1, 12, tzinfo=UTC)))
    assert sum(len(p.records) for p in pages) == 1000
    assert clock.slept == [0.25] * 4  # the fifth search starts a second after the first
    assert connector.stats.rate_limit_waits == 4 and connector.stats.rate_limit_seconds == 1.0
    assert connector.stats.api_calls == 6


def test_search_pacing_is_per_connection_and_leaves_other_calls_alone(mock, clock):
    redis = fakeredis.FakeRedis()
    Portal("contacts", searches(4)).install(mock)
    mock.add(responses.GET, f"{BASE}{EXPECTED['2026-09']['objects']}", json={"results": []})
    env = {"LIFESYNC_HUBSPOT_TOKEN": PRIVATE_TOKEN, "LIFESYNC_HUBSPOT_TOKEN__SALON2": "pat-other"}
    cursor = {"v": 1, "bookmark": "2026-03-01T10:00:00.000Z", "run": None}
    for connection in ("default", "salon2"):  # four searches each, on two tokens: each token's own pace
        connector = HubSpotConnector(settings_with(**env), connection, redis=redis, properties={"contacts": ["email"]},
                                     sleep=clock.sleep, clock=clock)
        list(connector.pull("contacts", cursor, now=datetime(2026, 3, 1, 12, tzinfo=UTC)))
        list(connector.pull("contacts", {}))  # list pages: not searches
        clock.now -= 0.75  # both connections' searches as if at once
    assert clock.slept == [0.25] * 6  # three waits per token, none for the list pages
    assert {k.decode() for k in redis.keys("lifesync:ratelimit:hubspot:*:search")} == {
        "lifesync:ratelimit:hubspot:default:search", "lifesync:ratelimit:hubspot:salon2:search"}
