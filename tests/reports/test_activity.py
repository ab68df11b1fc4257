"""Stage changes per day (what the console's date-range brush draws), on a real database."""

from __future__ import annotations

from support.report_data import CONFIG, at, contact
from support.report_data import funnel_data as funnel_data  # database fixture, re-exported for pytest

from sync.reports.activity import activity


def test_changes_into_active_stages_are_counted_per_utc_day(funnel_data):
    days = [(d.day, d.entered) for d in activity(funnel_data, CONFIG).days]
    # day 1: every transition of the fixture but Cold Lead (lost, hour 25) and Unqualified (lost)
    assert days == [("2026-03-01", 11)]  # 4 + 2 + 1 + 2 + 1 + 1 per contact


def test_every_day_between_the_first_and_last_is_there_and_the_window_applies(store):
    with store.transaction() as s:
        contact(s, ("New Lead", 0), ("Hot Lead", 23.99), ("Payment", 72))  # 1 Mar, 1 Mar, 4 Mar
        contact(s, ("New Lead", 24), ("Cold Lead", 49))  # 2 Mar; lost stages are not counted
    days = [(d.day, d.entered) for d in activity(store, CONFIG).days]
    assert days == [("2026-03-01", 2), ("2026-03-02", 1), ("2026-03-03", 0), ("2026-03-04", 1)]
    assert [(d.day, d.entered) for d in activity(store, CONFIG, start=at(24), end=at(48)).days] == [
        ("2026-03-02", 1)]
    assert activity(store, CONFIG, start=at(1000)).days == ()
