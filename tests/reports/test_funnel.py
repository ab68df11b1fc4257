"""The funnel report on a real database (SQLite, or PostgreSQL with DATABASE_URL): entries, progress, stays."""

from __future__ import annotations

import pytest
from support.lifecycle_fixtures import patch
from support.report_data import CONFIG, at

from sync.ingest.pipeline import ingest_patches
from sync.reports import funnel, lost

HOUR = 3600


def rows_of(report):
    return {r.stage: (r.entered, r.current, r.moved_on, r.conversion_rate, r.median_seconds, r.timed)
            for r in report.stages}


def test_funnel_all_time(funnel_data):
    report = funnel(funnel_data, CONFIG)
    assert [r.stage for r in report.stages] == ["New Lead", "Hot Lead", "Payment", "Customer"]
    assert rows_of(report) == {
        # NL stays: 2h, 4h, 24h, 1h (one still open) → median 3h
        "New Lead": (5, 1, 3, 0.6, 3 * HOUR, 4),
        "Hot Lead": (3, 1, 1, pytest.approx(1 / 3), 4.5 * HOUR, 2),
        "Payment": (2, 1, 1, 0.5, 5 * HOUR, 1),
        "Customer": (1, 1, 0, 0.0, None, 0),
    }
    assert (report.contacts, report.never_staged, report.lost_now) == (7, 1, 2)


def test_funnel_window_bounds_entries_progress_and_stays(funnel_data):
    report = funnel(funnel_data, CONFIG, start=at(1.5), end=at(5))
    assert rows_of(report) == {
        "New Lead": (2, 1, 1, 0.5, 1 * HOUR, 1),  # entered at 2h and 3h; the first moved on at 3h
        "Hot Lead": (2, 1, 0, 0.0, None, 0),  # moved on at 5h = the (exclusive) end: not yet
        "Payment": (1, 1, 0, 0.0, None, 0),  # the 5h entry is outside
        "Customer": (0, 1, 0, None, None, 0),  # "current" is a snapshot of now
    }
    assert report.as_dict()["start"] == "2026-03-01T01:30:00+00:00"


def test_funnel_reads_what_the_pipeline_writes(store):
    items = [(patch("hubspot", "1", ["email:a@example.com"], minutes=0, stage="New Lead"), None),
             (patch("hubspot", "1", ["email:a@example.com"], minutes=60, stage="Hot Lead"), None),
             (patch("hubspot", "2", ["email:b@example.com"], minutes=0, stage="New Lead"), None),
             (patch("hubspot", "2", ["email:b@example.com"], minutes=30, stage="Cold Lead"), None)]
    for item in items:
        ingest_patches(store, CONFIG, [item])
    rows = rows_of(funnel(store, CONFIG))
    assert rows["New Lead"] == (2, 0, 1, 0.5, 45 * 60, 2)
    assert rows["Hot Lead"] == (1, 1, 0, 0.0, None, 0)
    report = lost(store, CONFIG)
    assert [(r.lost_stage, r.from_stage, r.contacts) for r in report.lost_from] == [("Cold Lead", "New Lead", 1)]
