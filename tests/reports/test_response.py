"""The first-response report on a real database: contacts bucketed by their first answer, and how many were lost."""

from __future__ import annotations

import pytest
from support.report_data import CONFIG, at, contact, conversation

from sync.reports import response


@pytest.fixture
def response_data(store):
    with store.transaction() as s:
        for hours, seconds, lost_too in ((0, 120, False), (1, 600, True), (2, 7200, True), (3, 100_000, True),
                                         (4, None, True), (5, None, False), (8, 300, False)):
            cid = contact(s, ("New Lead", hours), *([("Cold Lead", hours + 48)] if lost_too else []))
            conversation(s, cid, hours, seconds)
        late = contact(s, ("New Lead", 6))  # first conversation answered after 25h, a later one at once
        conversation(s, late, 6, 90_000, "c1")
        conversation(s, late, 24 * 7, 60, "c2")
    return store


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
