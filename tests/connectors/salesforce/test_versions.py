"""Salesforce's REST API versions: blocks retired at a release season, the newest listed supported with no end."""

from __future__ import annotations

from datetime import date

import pytest

from sync.connectors.salesforce.client import DEFAULT_API_VERSION
from sync.connectors.salesforce.versions import VERSIONS
from sync.http.versions import CURRENT, ENDED, UNKNOWN

TODAY = date(2026, 12, 6)


@pytest.mark.parametrize(("version", "state"), [
    ("v68.0", CURRENT), ("v41.0", CURRENT), (DEFAULT_API_VERSION, CURRENT),
    ("v40.0", CURRENT), ("v31.0", CURRENT),  # unsupported from Summer '27, retired from Summer '28
    ("v30.0", ENDED), ("v21.0", ENDED), ("v20.0", ENDED), ("v7.0", ENDED),
    ("v69.0", UNKNOWN), ("v6.0", UNKNOWN),
])
def test_each_block_ends_at_its_season(version, state):
    assert VERSIONS.check(version, TODAY).state == state


def test_season_ends_are_months_and_the_block_of_31_to_40_ends_in_june_2028():
    version = VERSIONS.find("v35.0")
    assert (version.ends, version.approximate) == (date(2028, 6, 1), True)
    assert VERSIONS.find("v41.0").ends is None
