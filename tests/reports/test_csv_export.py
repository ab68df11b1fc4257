"""Reports as CSV (``lifesync report NAME --csv`` and the console's download): one rectangular table a report."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from sync.reports.csv_export import csv_filename, csv_table, to_csv


def parsed(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_every_report_is_one_table_with_a_header_and_rectangular_rows(reports):
    for report in reports:
        rows = parsed(to_csv(report))
        assert len(rows) > 1, type(report).__name__
        assert {len(row) for row in rows} == {len(rows[0])}, type(report).__name__


def test_funnel_rows_are_the_reports_numbers_unformatted(reports):
    funnel = reports[0]
    header, *rows = parsed(to_csv(funnel))
    assert header == ["stage", "phase", "entered", "current", "moved_on", "conversion_rate", "median_seconds",
                      "timed"]
    assert rows[0] == ["New Lead", "acquisition", "10", "4", "6", "0.6", "10800.0", "5"]
    assert rows[1][6] == ""  # no median: an empty cell, not "-" or "None"
    assert to_csv(funnel).endswith("\r\n")


def test_lost_is_written_long_with_the_table_each_row_belongs_to(reports):
    header, *rows = parsed(to_csv(reports[1]))
    assert header == ["measure", "lost_stage", "stage", "contacts"]
    assert rows == [["now", "Cold Lead", "", "3"], ["entered", "Cold Lead", "", "4"],
                    ["lost_from", "Cold Lead", "New Lead", "3"], ["lost_from", "Cold Lead", "", "1"],
                    ["dropped_from", "", "New Lead", "3"], ["came_back", "Cold Lead", "New Lead", "1"]]


def test_attribution_has_a_value_column_per_currency_and_the_unattributed_row(reports):
    attribution = reports[3]
    header, *rows = parsed(to_csv(attribution))
    assert header == ["model", "dimension", "key", "name", "unresolved", "conversions", "value_EUR", "value_USD"]
    first_campaign = next(r for r in rows if r[:2] == ["first_touch", "campaign"])
    assert first_campaign[5:] == ["2", "150.0", ""]
    assert ["first_touch", "adset", "", "", "true", "2", "", ""] in rows
    assert rows[-1] == ["", "unattributed", "", "", "false", "1", "", "5.0"]
    assert sum(1 for r in rows if r[0] == "last_touch" and r[1] == "campaign") == 2


def test_delivery_spreads_click_ids_and_keys_into_columns(reports):
    header, *rows = parsed(to_csv(reports[4]))
    assert header[:3] == ["destination", "events", "sent"]
    assert "click_ids:fbc" in header and "keys:em" in header and "key_shares:ph" in header
    meta = dict(zip(header, rows[0], strict=True))
    assert (meta["destination"], meta["events"], meta["keys:em"], meta["key_shares:ph"]) == ("meta", "5", "3",
                                                                                            "0.333333")


def test_text_a_spreadsheet_would_run_as_a_formula_is_quoted(reports):
    from dataclasses import replace

    from sync.reports.funnel import StageRow

    funnel = replace(reports[0], stages=(StageRow("=HYPERLINK(\"x\")", "-1+1", 1, 0, 0, 0.0, None, 0),))
    _header, row = parsed(to_csv(funnel))
    assert row[:2] == ["'=HYPERLINK(\"x\")", "'-1+1"]
    assert csv_table(funnel)[1][0][0] == "=HYPERLINK(\"x\")"  # the table keeps the value; only CSV text guards it


MARCH = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(("start", "end", "name"), [
    (None, None, "lifesync-funnel-all-time.csv"),
    (MARCH, datetime(2026, 4, 1, tzinfo=UTC), "lifesync-funnel-2026-03-01-to-2026-03-31.csv"),
    (MARCH, None, "lifesync-funnel-2026-03-01-to-now.csv"),
    (None, datetime(2026, 3, 2, 18, tzinfo=UTC), "lifesync-funnel-start-to-2026-03-02.csv"),
])
def test_the_file_is_named_for_its_report_and_days(start, end, name):
    assert csv_filename("funnel", start, end) == name


def test_an_unknown_object_has_no_table():
    with pytest.raises(TypeError):
        csv_table(object())
