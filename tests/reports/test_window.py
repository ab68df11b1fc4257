"""Report plumbing: windows, medians, shares, JSON conversion, which config a report reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from support.lifecycle_fixtures import make_config

from sync.reports.window import ReportData, lifecycle_of, median, parse_moment, share, utc


@pytest.mark.parametrize(("text", "end", "expected"), [
    ("2026-03-01", False, datetime(2026, 3, 1, tzinfo=UTC)),
    ("2026-03-31", True, datetime(2026, 4, 1, tzinfo=UTC)),  # a bare end date includes that day
    ("2026-03-01T12:30:00", False, datetime(2026, 3, 1, 12, 30, tzinfo=UTC)),  # naive: UTC
    ("2026-03-01T12:30:00+02:00", True, datetime(2026, 3, 1, 10, 30, tzinfo=UTC)),  # a date-time is exact
    (" 2026-03-01 ", False, datetime(2026, 3, 1, tzinfo=UTC)),
])
def test_parse_moment(text, end, expected):
    got = parse_moment(text, end=end)
    assert got == expected and got.tzinfo == UTC


@pytest.mark.parametrize("text", ["March", "2026-13-01", "01/03/2026", ""])
def test_parse_moment_rejects_with_the_accepted_forms(text):
    with pytest.raises(ValueError, match=r"is not an ISO date \(2026-03-31\) or date-time"):
        parse_moment(text)


@pytest.mark.parametrize(("text", "end"), [("9999-12-31", True), ("0001-01-01T00:00:00+05:00", False)])
def test_parse_moment_refuses_moments_past_datetimes_range(text, end):
    with pytest.raises(ValueError, match=r"is out of range; expected a date from 0001-01-02 to 9999-12-30"):
        parse_moment(text, end=end)


def test_utc():
    assert utc(None) is None
    assert utc(datetime(2026, 1, 1, 5)) == datetime(2026, 1, 1, 5, tzinfo=UTC)
    assert utc(datetime(2026, 1, 1, 5, tzinfo=timezone(timedelta(hours=5)))) == datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("values", "expected"), [
    ([], None), ([7], 7.0), ([3, 1, 2], 2.0), ([4, 1, 3, 2], 2.5), ([1.0, 1.0, 9.0, 100.0], 5.0)])
def test_median(values, expected):
    assert median(values) == expected


def test_share_of_nobody_is_unknown():
    assert (share(1, 4), share(0, 4), share(0, 0)) == (0.25, 0.0, None)


@dataclass(frozen=True)
class Inner:
    at: datetime
    amounts: dict[str, float]


@dataclass(frozen=True)
class Outer(ReportData):
    rows: tuple[Inner, ...]
    rate: float | None


def test_as_dict_is_plain_json():
    report = Outer(rows=(Inner(datetime(2026, 3, 1, tzinfo=UTC), {"EUR": 0.1 + 0.2}),), rate=float("nan"))
    assert report.as_dict() == {"rows": [{"at": "2026-03-01T00:00:00+00:00", "amounts": {"EUR": 0.3}}],
                                "rate": None}


def test_lifecycle_of_accepts_the_loaded_config_or_its_lifecycle():
    lifecycle = make_config()

    @dataclass
    class Loaded:
        lifecycle: object

    assert lifecycle_of(lifecycle) is lifecycle
    assert lifecycle_of(Loaded(lifecycle)) is lifecycle
    with pytest.raises(TypeError, match="expected a Config or LifecycleConfig, got dict"):
        lifecycle_of({})
