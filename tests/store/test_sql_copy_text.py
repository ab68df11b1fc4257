"""How ``sync.store.sql`` turns timestamps into COPY text: UTC, one formatting per distinct instant."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from sync.store.sql import _utc_text


def test_timestamps_become_utc_text_and_anything_else_is_left_to_psycopg():
    text = _utc_text()
    lima = datetime(2026, 3, 4, 0, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert text(lima) == "2026-03-04T05:30:00+00:00"
    assert text(datetime(2026, 3, 4, 5, 30)) == "2026-03-04T05:30:00+00:00"  # naive: taken as UTC
    assert text(None) is None
    day = date(2026, 3, 4)
    assert text(day) is day


def test_each_instant_is_formatted_once_whatever_its_offset():
    text = _utc_text()
    at = datetime(2026, 3, 4, 5, 30, 1, 250, tzinfo=UTC)
    first = text(at)
    assert text(at.astimezone(timezone(timedelta(hours=9)))) is first  # the same instant: the same text
    assert text(at + timedelta(microseconds=1)) == "2026-03-04T05:30:01.000251+00:00"
