"""Plain-text rendering: aligned tables, durations, percentages, money, one format per report."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sync.reports.text import duration, format_report, money, percent, table, window_line

START, END = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)


def test_table_aligns_names_left_and_numbers_right():
    out = table(("stage", "from", "n"), [("Cold Lead", "New Lead", 3), ("Unqualified", "Hot", 12)], text_columns=2)
    assert out.splitlines() == [
        "  stage        from       n",
        "  -----------  --------  --",
        "  Cold Lead    New Lead   3",
        "  Unqualified  Hot       12",
    ]


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "-"), (0, "0s"), (59.6, "1m 0s"), (45, "45s"), (725, "12m 5s"), (3 * 3600, "3h 0m"),
    (2 * 86400 + 4 * 3600 + 59, "2d 4h")])
def test_duration(seconds, text):
    assert duration(seconds) == text


def test_percent_money_window():
    assert (percent(None), percent(0.6), percent(1 / 3)) == ("-", "60.0%", "33.3%")
    assert money({"EUR": 1234.5, "USD": 5.0}) == "EUR 1,234.50, USD 5.00"
    assert money({}) == "-"
    assert window_line(None, None) == "all time"
    assert window_line(START, None) == "from 2026-03-01T00:00:00+00:00 to now"
    assert window_line(None, END) == "from the beginning to 2026-04-01T00:00:00+00:00 (exclusive)"


def test_every_report_has_a_text_format(reports):
    funnel, lost, response, attribution, delivery = (format_report(r) for r in reports)
    new_lead = next(line for line in funnel.splitlines() if line.startswith("  New Lead "))
    assert new_lead.split() == ["New", "Lead", "acquisition", "10", "4", "6", "60.0%", "3h", "0m"]
    assert "12 contacts; 1 with no stage yet; 3 in a lost stage" in funnel
    assert "(entered lost)" in lost and "Came back (1 contacts)" in lost
    assert response.splitlines()[-1].split() == ["all", "4", "1", "25.0%"]
    assert "Conversions, from 2026-03-01" in attribution and "last-touch by campaign" in attribution
    assert "unattributed 1 (USD 5.00)" in attribution
    assert delivery.splitlines()[-1].split() == ["meta", "5", "3", "0", "1", "0", "1", "0", "0", "0", "0", "66.7%",
                                                 "em=100.0%", "ph=33.3%"]
    with pytest.raises(TypeError, match="no text format for str"):
        format_report("funnel")
