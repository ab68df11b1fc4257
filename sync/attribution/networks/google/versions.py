"""The versions of Google's two conversion APIs, with their published dates.

Every Google Ads API version lives about a year (a new major every quarter or so, each sunset
roughly twelve months after its release), so no version lifesync pins outlives a year: that is
why the Data Manager API, whose ``v1`` has no published end, is Google's default transport and
the Ads API only an option. ``lifesync config check`` and the Google sandbox read these tables.
"""

from __future__ import annotations

from sync.http import version_table

# Google Ads API versions: release dates from the release notes (https://developers.google.com/google-ads/api/docs/release-notes),
# sunsets from Google's reminders ("Starting on this date, all vNN API requests will begin to fail"), and the projected
# months of v23-v26 from https://developers.google.com/ads/blog/posts/2025/09/more-frequent-releases-coming-for.
# Checked 2026-12-06.
_SUNSETS = "https://developers.google.com/ads/blog/posts/"
ADS_API = version_table("Google Ads API", "https://developers.google.com/google-ads/api/docs/sunset-dates", [
    ("v26", "2026-10-14", "2027-11"), ("v25", "2026-07-22", "2027-08"), ("v24", "2026-04-22", "2027-05"),
    ("v23", "2026-01", "2027-02"),
    ("v22", "2025-10", "2026-10-07", _SUNSETS + "2026/09/google-ads-api-v22-sunset-reminder"),
    ("v21", "2025-08", "2026-08-05", _SUNSETS + "2026/06/google-ads-api-v21-sunset-reminder"),
    ("v20", "2025-06-04", "2026-06-10", _SUNSETS + "2026/04/google-ads-api-v20-sunset-reminder"),
    ("v19", "2025-02-26", "2026-02-11", _SUNSETS + "2025/12/google-ads-api-v19-sunset-reminder"),
    ("v18", "2024-10-16", "2025-08-20", _SUNSETS + "2025/07/google-ads-api-v18-sunset-reminder"),
    ("v17", "2024-05", "2025-06-04", _SUNSETS + "2025/04/google-ads-api-v17-sunset-reminder"),
    ("v16", "2024-02-21", "2025-02-05", _SUNSETS + "2025/01/google-ads-api-v16-sunset-reminder"),
    ("v15", "2023-10-18", "2024-09-25", _SUNSETS + "2024/08/google-ads-api-v15-sunset-reminder"),
    ("v14", "2023-06-07", "2024-06-05", _SUNSETS + "2024/04/google-ads-api-v14-sunset-reminder"),
])
ADS_API_DEFAULT = "v26"  # the newest current version (ends 2027-11: `lifesync config check` warns 90 days ahead)

# The Data Manager API has one version, v1, with no end date published
# (https://developers.google.com/data-manager/api/reference/rest).
DATA_MANAGER = version_table("Google Data Manager API", "https://developers.google.com/data-manager/api/reference/rest",
                             [("v1", None, None)])
