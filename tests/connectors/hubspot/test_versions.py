"""HubSpot's version table and the versions a connection calls (its date-based version, or the legacy paths)."""

from __future__ import annotations

from datetime import date

from sync.connectors.hubspot.settings import HubSpotSettings
from sync.connectors.hubspot.versions import VERSIONS, versions_in_use
from sync.http.versions import CURRENT, ENDED, ENDING
from sync.settings import Settings


def conf(**env: str) -> HubSpotSettings:
    return HubSpotSettings.of(Settings.from_env({"DATABASE_URL": "sqlite://", **env}))


def test_a_connection_calls_its_date_based_version_and_an_oauth_connection_also_v1():
    plain = versions_in_use(conf(LIFESYNC_HUBSPOT_TOKEN="pat"))
    assert [(u.version, u.setting) for u in plain] == [
        ("2026-09", "LIFESYNC_HUBSPOT_API_VERSION"), ("2026-09", "LIFESYNC_HUBSPOT_COMMUNICATION_PREFERENCES_VERSION")]
    oauth = versions_in_use(conf(LIFESYNC_HUBSPOT_REFRESH_TOKEN="r", LIFESYNC_HUBSPOT_OAUTH_CLIENT_ID="c",
                                 LIFESYNC_HUBSPOT_API_VERSION="2026-03"))
    assert [u.version for u in oauth] == ["2026-03", "2026-09", "v1"]
    assert oauth[2].setting == "the connector's /oauth/v1/token (token refresh)" and oauth[2].fix


def test_the_legacy_setting_calls_v3_and_v4_and_says_what_to_set_instead():
    legacy = versions_in_use(conf(LIFESYNC_HUBSPOT_TOKEN="pat", LIFESYNC_HUBSPOT_API_VERSION="legacy"))
    assert [u.version for u in legacy] == ["v3", "v4", "2026-09"]
    assert all("LIFESYNC_HUBSPOT_API_VERSION=legacy" in u.setting and "2026-09" in u.fix for u in legacy[:2])


def test_v4_ends_before_the_other_legacy_paths_and_the_dated_versions_last_18_months():
    on = date(2027, 3, 1)
    assert [VERSIONS.check(v, on).state for v in ("v4", "v3", "2026-03", "2026-09")] == [
        ENDING, CURRENT, CURRENT, CURRENT]
    assert VERSIONS.check("v3", date(2027, 9, 1)).state == ENDED  # "September 2027": its first day, to be safe
    assert VERSIONS.find("2026-03").ends == date(2027, 9, 30) and VERSIONS.find("2026-09").ends == date(2028, 3, 8)
