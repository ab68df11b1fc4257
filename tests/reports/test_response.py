"""The first-response report on a real database: contacts bucketed by their first answer, and how many were lost."""

from __future__ import annotations

from support.report_data import CONFIG, at
from support.report_data import response_data as response_data  # database fixture, re-exported for pytest

from sync.reports import response


def test_response_buckets_each_contact_by_its_first_conversation(response_data):
    report = response(response_data, CONFIG)
    assert [(b.label, b.contacts, b.lost, b.lost_share) for b in report.buckets] == [
        ("< 5 min", 1, 0, 0.0), ("5–60 min", 2, 1, 0.5), ("1–24 h", 1, 1, 1.0), ("> 24 h", 2, 1, 0.5),
        ("never answered", 2, 1, 0.5)]
    assert (report.contacts, report.lost, report.lost_share) == (8, 4, 0.5)


def test_response_window_is_on_the_first_conversation(response_data):
    report = response(response_data, CONFIG, start=at(5))
    assert {b.label: b.contacts for b in report.buckets if b.contacts} == {
        "never answered": 1, "> 24 h": 1, "5–60 min": 1}
    # the contact's later conversation (day 7) does not bring it into a later window
    assert response(response_data, CONFIG, start=at(24)).contacts == 0
