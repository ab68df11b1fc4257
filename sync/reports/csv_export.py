"""Reports as CSV: one table a report, the same bytes for ``lifesync report NAME --csv`` and the console's download.

Numbers are written as computed, never formatted for a locale, so a spreadsheet reads them as
numbers: shares as fractions (0.25), times in seconds, money in one column per currency
(``value_EUR``). An empty cell is "none" (a share of nobody, a median of no stays). Reports that
hold several tables (lost, attribution, delivery's per-key counts) are written long: a column
says which table a row belongs to, so every report is one rectangular table.

Text that a spreadsheet would run as a formula (a cell starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return: campaign names come from ad networks) is written with a leading
``'`` (OWASP's advice against CSV injection; ``sync.reports.csv_cells``); numbers are written as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from functools import singledispatch
from typing import Any

from sync.quality.report import QualityReport
from sync.reports.attribution import DIMENSIONS, AttributionReport, AttributionRow
from sync.reports.csv_cells import formula_safe
from sync.reports.delivery import DeliveryReport
from sync.reports.funnel import FunnelReport
from sync.reports.lost import LostReport
from sync.reports.response import ResponseReport
from sync.reports.retention import RetentionReport
from sync.reports.window import jsonable, last_included

CONTENT_TYPE = "text/csv; charset=utf-8"

Table = tuple[list[str], list[list[Any]]]


@singledispatch
def csv_table(report: object) -> Table:
    """A report as (header, rows): one function per report type."""
    raise TypeError(f"no CSV table for {type(report).__name__}")


@csv_table.register
def _(report: FunnelReport) -> Table:
    header = ["stage", "phase", "entered", "current", "moved_on", "conversion_rate", "median_seconds", "timed"]
    return header, [[r.stage, r.phase, r.entered, r.current, r.moved_on, r.conversion_rate, r.median_seconds,
                     r.timed] for r in report.stages]


@csv_table.register
def _(report: LostReport) -> Table:
    rows: list[list[Any]] = []
    for s in report.stages:
        rows += [["now", s.stage, None, s.current], ["entered", s.stage, None, s.entered]]
    rows += [["lost_from", r.lost_stage, r.from_stage, r.contacts] for r in report.lost_from]
    rows += [["dropped_from", None, r.stage, r.contacts] for r in report.dropped_from]
    rows += [["came_back", r.lost_stage, r.to_stage, r.contacts] for r in report.came_back]
    return ["measure", "lost_stage", "stage", "contacts"], rows


@csv_table.register
def _(report: ResponseReport) -> Table:
    return (["first_response", "contacts", "lost", "lost_share"],
            [[b.label, b.contacts, b.lost, b.lost_share] for b in report.buckets])


@csv_table.register
def _(report: AttributionReport) -> Table:
    breakdowns = (report.first_touch, report.last_touch)
    currencies = sorted({*report.value, *(c for b in breakdowns for d in DIMENSIONS for r in b.rows(d)
                                          for c in r.value)})

    def line(model: str, dimension: str, row: AttributionRow) -> list[Any]:
        return [model, dimension, row.key, row.name, row.unresolved, row.conversions,
                *(row.value.get(c) for c in currencies)]

    rows = [line(b.model, d, r) for b in breakdowns for d in DIMENSIONS for r in b.rows(d)]
    rows.append(line("", "unattributed", AttributionRow(None, report.unattributed, report.unattributed_value)))
    return ["model", "dimension", "key", "name", "unresolved", "conversions",
            *(f"value_{c}" for c in currencies)], rows


DELIVERY_COUNTS = ("events", "sent", "delivered_before", "failed", "dead", "pending", "expired", "duplicate",
                   "validated", "retracted", "other", "with_click_id", "click_id_share")


@csv_table.register
def _(report: DeliveryReport) -> Table:
    spread = {part: sorted({k for d in report.destinations for k in getattr(d, part)})
              for part in ("click_ids", "keys", "key_shares", "adjustments")}
    header = ["destination", *DELIVERY_COUNTS,
              *(f"{part}:{key}" for part, keys in spread.items() for key in keys)]
    rows = [[d.destination, *(getattr(d, name) for name in DELIVERY_COUNTS),
             *(getattr(d, part).get(key) for part, keys in spread.items() for key in keys)]
            for d in report.destinations]
    return header, rows


@csv_table.register
def _(report: QualityReport) -> Table:
    columns = list(dict.fromkeys(c for s in report.sections for c in s.columns))  # each name once, in order
    rows: list[list[Any]] = []
    for s in report.sections:  # a row with the section's total first, then its rows
        rows.append([s.name, s.total, *(None for _ in columns)])
        rows += [[s.name, None, *(dict(zip(s.columns, row, strict=True)).get(c) for c in columns)] for row in s.rows]
    return ["section", "total", *columns], rows


@csv_table.register
def _(report: RetentionReport) -> Table:
    """Long: a row for all the customers, one per cohort, per (cohort, month since) and per first-touch campaign."""
    currencies = sorted({*report.value, *(c for r in report.cohorts for c in r.value),
                         *(c for r in report.campaigns for c in r.value)})
    header = ["measure", "cohort", "months_since", "campaign", "campaign_name", "customers", "repeat_customers",
              "repeat_rate", "buyers", "retention", "purchases", "churned", "churn_rate",
              *(f"value_{c}" for c in currencies), *(f"clv_{c}" for c in currencies)]

    def row(measure: str, value: dict[str, float] | None = None, clv: dict[str, float] | None = None,
            **cells: Any) -> list[Any]:
        return [measure, *(cells.get(h) for h in header[1:13]),
                *((value or {}).get(c) for c in currencies), *((clv or {}).get(c) for c in currencies)]

    rows = [row("all", report.value, report.clv, customers=report.customers,
                repeat_customers=report.repeat_customers, repeat_rate=report.repeat_rate, purchases=report.purchases,
                churned=report.churned, churn_rate=report.churn_rate)]
    for c in report.cohorts:
        rows.append(row("cohort", c.value, c.clv, cohort=c.cohort, customers=c.customers,
                        repeat_customers=c.repeat_customers,
                        repeat_rate=c.repeat_customers / c.customers if c.customers else None, purchases=c.purchases))
        rows += [row("cohort_month", cohort=c.cohort, months_since=m, customers=c.customers, buyers=n,
                     retention=c.retention[m]) for m, n in enumerate(c.buyers)]
    rows += [row("first_touch_campaign", r.value, r.clv, campaign=r.key, campaign_name=r.name,
                 customers=r.customers, purchases=r.purchases) for r in report.campaigns]
    return header, rows


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return formula_safe(value)
    return jsonable(value)  # floats without binary noise (0.333333), as the JSON has them


def write_csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """RFC 4180 CSV text (CRLF line ends), a header row first."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_cell(h) for h in header])
    writer.writerows([_cell(c) for c in row] for row in rows)
    return out.getvalue()


def to_csv(report: object) -> str:
    """The report as CSV text."""
    return write_csv(*csv_table(report))


def csv_filename(name: str, start: datetime | None, end: datetime | None) -> str:
    """``lifesync-funnel-2026-03-01-to-2026-03-31.csv``: the window's first and last day (the end is exclusive)."""
    if start is None and end is None:
        return f"lifesync-{name}-all-time.csv"
    first = start.date().isoformat() if start else "start"
    last = last_included(end).date().isoformat() if end else "now"
    return f"lifesync-{name}-{first}-to-{last}.csv"
