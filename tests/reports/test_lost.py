"""The lost-stage report on a real database: where contacts were lost from, and who came back."""

from __future__ import annotations

import pytest
from support.report_data import CONFIG, at, contact

from sync.reports import lost


@pytest.fixture
def lost_data(store):
    with store.transaction() as s:
        contact(s, ("New Lead", 0), ("Cold Lead", 10))
        contact(s, ("New Lead", 0), ("Hot Lead", 1), ("Cold Lead", 5))
        contact(s, ("Hot Lead", 0), ("Unqualified", 2))
        contact(s, ("Cold Lead", 0))  # entered straight into a lost stage
        contact(s, ("New Lead", 0), ("Cold Lead", 3), ("New Lead", 20), ("Lost to competitor", 30))
        contact(s, ("New Lead", 0))
    return store


def test_lost_all_time(lost_data):
    report = lost(lost_data, CONFIG)
    assert [(r.stage, r.current, r.entered) for r in report.stages] == [
        ("Cold Lead", 3, 4), ("Unqualified", 1, 1), ("Lost to competitor", 1, 1)]
    assert [(r.lost_stage, r.from_stage, r.contacts) for r in report.lost_from] == [
        ("Cold Lead", "New Lead", 2), ("Cold Lead", "Hot Lead", 1), ("Cold Lead", None, 1),
        ("Unqualified", "Hot Lead", 1), ("Lost to competitor", "New Lead", 1)]
    # the contact lost twice from New Lead counts once
    assert [(r.stage, r.contacts) for r in report.dropped_from] == [("New Lead", 2), ("Hot Lead", 2)]
    assert [(r.lost_stage, r.to_stage, r.contacts) for r in report.came_back] == [("Cold Lead", "New Lead", 1)]
    assert (report.lost_contacts, report.came_back_contacts) == (5, 1)


def test_lost_window(lost_data):
    report = lost(lost_data, CONFIG, start=at(4), end=at(25))
    assert [(r.stage, r.current, r.entered) for r in report.stages] == [
        ("Cold Lead", 3, 2), ("Unqualified", 1, 0), ("Lost to competitor", 1, 0)]
    assert [(r.lost_stage, r.from_stage, r.contacts) for r in report.lost_from] == [
        ("Cold Lead", "New Lead", 1), ("Cold Lead", "Hot Lead", 1)]
    assert [(r.lost_stage, r.to_stage) for r in report.came_back] == [("Cold Lead", "New Lead")]
    assert (report.lost_contacts, report.came_back_contacts) == (2, 1)
