"""The one version check every vendor table shares: current, ending within 90 days, ended, unknown; on a pinned day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from sync.http.versions import (
    CURRENT,
    ENDED,
    ENDING,
    ERROR,
    UNKNOWN,
    WARNING,
    VersionUse,
    problem,
    version_table,
)

TABLE = version_table("Acme API", "https://acme.example/versions", [
    ("v3.0", "2026-07-01", None),
    ("v2.0", "2025-06-01", "2027-03-01", "https://acme.example/v2-sunset"),
    ("v1.0", None, "2026-01-15"),
    ("v0.9", "2024-01", "2027-05"),  # the vendor named the month only
])
END = date(2027, 3, 1)


@pytest.mark.parametrize(("name", "on", "state"), [
    ("v3.0", date(2026, 12, 6), CURRENT),  # no published end
    ("v2.0", END - timedelta(days=91), CURRENT),
    ("v2.0", END - timedelta(days=90), ENDING),  # 90 days before: warn
    ("v2.0", END - timedelta(days=1), ENDING),
    ("v2.0", END, ENDED),  # the end day itself: the vendor refuses it
    ("v2.0", END + timedelta(days=400), ENDED),
    ("v1.0", date(2026, 12, 6), ENDED),
    ("v9.9", date(2026, 12, 6), UNKNOWN),
    ("v3.0", date(2026, 6, 30), UNKNOWN),  # not released yet that day: it does not exist
    ("v3.0", date(2026, 7, 1), CURRENT),
])
def test_a_version_is_judged_by_its_published_dates_on_the_day_given(name, on, state):
    assert TABLE.check(name, on).state == state


def test_a_month_only_end_counts_from_the_first_of_that_month():
    version = TABLE.find("v0.9")
    assert (version.ends, version.approximate, version.when()) == (date(2027, 5, 1), True, "in 2027-05")
    assert TABLE.check("v0.9", date(2027, 1, 30)).state == CURRENT  # 91 days before 2027-05-01
    assert TABLE.check("v0.9", date(2027, 1, 31)).state == ENDING
    assert TABLE.check("v0.9", date(2027, 5, 1)).state == ENDED
    assert version.released == date(2024, 1, 1)


def test_names_are_found_without_case_spaces_or_the_v():
    assert TABLE.find(" V2.0 ") is TABLE.find("2.0") is TABLE.find("v2.0")
    assert TABLE.find("v2") is None and TABLE.find("") is None


def test_each_row_keeps_its_own_source_or_the_tables():
    assert TABLE.find("v2.0").source == "https://acme.example/v2-sunset"
    assert TABLE.find("v3.0").source == "https://acme.example/versions"


def test_available_versions_are_those_released_and_not_ended_newest_first():
    on = date(2026, 12, 6)
    assert [v.name for v in TABLE.available(on)] == ["v3.0", "v2.0", "v0.9"]
    assert TABLE.describe_available(on) == "v3.0, v2.0 (until 2027-03-01), v0.9 (until 2027-05)"
    assert TABLE.describe_available(on, most=2) == "v3.0, …, v0.9 (until 2027-05)"
    assert TABLE.describe_available(date(2030, 1, 1)) == "v3.0"


def use(version: str, **changes) -> VersionUse:
    values = dict(table=TABLE, version=version, setting="LIFESYNC_ACME_API_VERSION__EU",
                  user="conversion destination 'acme-eu'")
    return VersionUse(**{**values, **changes})


def test_an_ended_version_is_an_error_naming_the_setting_the_end_date_and_the_source():
    found = problem(use("v2.0"), date(2027, 3, 2))
    assert found is not None and found.severity == ERROR
    assert found.message == (
        "conversion destination 'acme-eu': LIFESYNC_ACME_API_VERSION__EU = v2.0: Acme API v2.0 ended on 2027-03-01 "
        "(source: https://acme.example/v2-sunset); set it to one of: v3.0, v0.9 (until 2027-05)")


def test_a_version_ending_within_90_days_is_a_warning_with_the_days_left():
    found = problem(use("v2.0"), date(2027, 1, 30))
    assert found is not None and found.severity == WARNING
    assert "Acme API v2.0 ends on 2027-03-01, in 30 days" in found.message
    assert found.verdict.days_left == 30


def test_an_unknown_version_is_an_error_listing_the_known_ones():
    found = problem(use("v4.0"), date(2026, 12, 6))
    assert found is not None and found.severity == ERROR
    assert found.message.endswith("= v4.0, which is not a Acme API version available on 2026-12-06; "
                                  "set it to one of: v3.0, v2.0 (until 2027-03-01), v0.9 (until 2027-05)")


def test_a_current_version_is_no_problem():
    assert problem(use("v3.0"), date(2026, 12, 6)) is None
    assert problem(use("v2.0"), date(2026, 11, 30)) is None  # 91 days out: not yet


def test_a_version_the_code_chooses_says_what_calls_it_and_how_to_fix_it():
    found = problem(use("v1.0", setting="the connector's /v1/ paths", user="Acme connection 'default'",
                        fix="move the connector to v3.0"), date(2026, 12, 6))
    assert found is not None
    assert found.message.startswith("Acme connection 'default': the connector's /v1/ paths calls v1.0: Acme API v1.0 "
                                    "ended on 2026-01-15")
    assert found.message.endswith("; move the connector to v3.0")
