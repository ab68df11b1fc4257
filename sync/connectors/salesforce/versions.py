"""Salesforce's REST API versions with their published end dates (``LIFESYNC_SALESFORCE_API_VERSION``).

Salesforce supports each version at least three years and retires them in blocks at a release
season, which it names but does not date: 7.0-20.0 retired in Summer '22, 21.0-30.0 in Summer
'25; 31.0-40.0 are unsupported from Summer '27 and retired from Summer '28 (a retired version
answers 410 GONE). Summer releases reach production in June, so ``YYYY-06`` stands for them
(``approximate``). 41.0-68.0 are supported with no end announced; 68.0 is the newest listed.
"""

from __future__ import annotations

from sync.http.versions import version_table

NEWEST = 68
# Checked 2026-12-06: https://developer.salesforce.com/docs/platform/api-tooling/guide/tooling-api-eol.html
# (the REST API's own page, atlas.en-us.api_rest.meta/api/api_rest_eol.htm, gives the same blocks)
_RETIRED = ((20, "2022-06"), (30, "2025-06"), (40, "2028-06"))  # (last version of a block, its retirement season)


def _ends(major: int) -> str | None:
    return next((season for last, season in _RETIRED if major <= last), None)


VERSIONS = version_table(
    "Salesforce REST API", "https://developer.salesforce.com/docs/platform/api-tooling/guide/tooling-api-eol.html",
    [(f"v{major}.0", None, _ends(major)) for major in range(NEWEST, 6, -1)])
