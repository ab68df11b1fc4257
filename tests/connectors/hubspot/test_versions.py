"""HubSpot's version table and the versions a connection calls (the legacy paths, until the date-based ones land)."""

from __future__ import annotations

from datetime import date

from sync.connectors.hubspot.settings import HubSpotSettings
from sync.connectors.hubspot.versions import VERSIONS, versions_in_use
from sync.http.versions import CURRENT, ENDED, ENDING
from sync.settings import Settings


def conf(**env: str) -> HubSpotSettings:
    return HubSpotSettings.of(Settings.from_env({"DATABASE_URL": "sqlite://", **env}))


def test_a_private_app_token_calls_v3_and_v4_and_an_oauth_connection_also_v1():
    assert [u.version for u in versions_in_use(conf(LIFESYNC_HUBSPOT_TOKEN="pat"))] == ["v3", "v4"]
    oauth = versions_in_use(conf(LIFESYNC_HUBSPOT_REFRESH_TOKEN="r", LIFESYNC_HUBSPOT_OAUTH_CLIENT_ID="c"))
    assert [u.version for u in oauth] == ["v3", "v4", "v1"]
    assert oauth[2].setting == "the connector's /oauth/v1/token (token refresh)" and oauth[2].fix


def test_v4_ends_before_the_other_legacy_paths_and_the_dated_versions_last_18_months():
    on = date(2027, 3, 1)
    assert [VERSIONS.check(v, on).state for v in ("v4", "v3", "2026-03", "2026-09")] == [
        ENDING, CURRENT, CURRENT, CURRENT]
    assert VERSIONS.check("v3", date(2027, 9, 1)).state == ENDED  # "September 2027": its first day, to be safe
    assert VERSIONS.find("2026-03").ends == date(2027, 9, 30) and VERSIONS.find("2026-09").ends == date(2028, 3, 8)
