"""Reports as aligned plain-text tables (what ``lifesync report NAME`` prints without ``--json``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import singledispatch

from sync.quality.report import QualityReport
from sync.reports.attribution import DIMENSION_TITLES, DIMENSIONS, AttributionReport
from sync.reports.delivery import DeliveryReport
from sync.reports.funnel import FunnelReport
from sync.reports.lost import LostReport
from sync.reports.response import ResponseReport
from sync.reports.retention import RetentionReport


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, text_columns: int = 1,
          indent: str = "  ") -> str:
    """An aligned table: the first ``text_columns`` columns left-aligned (names), the rest right-aligned (numbers)."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return indent + "  ".join(c.ljust(w) if i < text_columns else c.rjust(w)
                                  for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip()

    return "\n".join([line(cells[0]), indent + "  ".join("-" * w for w in widths), *map(line, cells[1:])])


def percent(value: float | None) -> str:
    """``0.6`` → ``60.0%``; None → ``-``."""
    return "-" if value is None else f"{value:.1%}"


def duration(seconds: float | None) -> str:
    """Seconds as the two largest units: ``45s``, ``12m 5s``, ``3h 0m``, ``2d 4h``; None → ``-``."""
    if seconds is None:
        return "-"
    s = round(seconds)
    for unit, size, sub, sub_size in (("d", 86400, "h", 3600), ("h", 3600, "m", 60), ("m", 60, "s", 1)):
        if s >= size:
            return f"{s // size}{unit} {(s % size) // sub_size}{sub}"
    return f"{s}s"


def money(values: dict[str, float]) -> str:
    """``{"EUR": 150.0, "USD": 30.0}`` → ``EUR 150.00, USD 30.00``; empty → ``-``."""
    return ", ".join(f"{cur} {amount:,.2f}" for cur, amount in values.items()) or "-"


def window_line(start: datetime | None, end: datetime | None) -> str:
    """The window in words: ``from 2026-03-01T00:00:00+00:00 to ... (end exclusive)``."""
    if start is None and end is None:
        return "all time"
    return (f"from {start.isoformat() if start else 'the beginning'} "
            f"to {end.isoformat() + ' (exclusive)' if end else 'now'}")


@singledispatch
def format_report(report: object) -> str:
    """A report as text tables (one function per report type)."""
    raise TypeError(f"no text format for {type(report).__name__}")


@format_report.register
def _(report: FunnelReport) -> str:
    rows = [(r.stage, r.phase, r.entered, r.current, r.moved_on, percent(r.conversion_rate),
             duration(r.median_seconds)) for r in report.stages]
    return "\n".join([
        f"Lifecycle funnel, {window_line(report.start, report.end)}",
        table(("stage", "phase", "entered", "now", "moved on", "rate", "median stay"), rows, text_columns=2),
        f"  {report.contacts} contacts; {report.never_staged} with no stage yet; "
        f"{report.lost_now} in a lost stage (lifesync report lost)",
    ])


@format_report.register
def _(report: LostReport) -> str:
    parts = [f"Lost stages, {window_line(report.start, report.end)}",
             table(("lost stage", "now", "entered"), [(r.stage, r.current, r.entered) for r in report.stages]),
             "", "Lost from",
             table(("lost stage", "from", "contacts"),
                   [(r.lost_stage, r.from_stage or "(entered lost)", r.contacts) for r in report.lost_from],
                   text_columns=2),
             "", "Drop-off by stage",
             table(("stage", "contacts lost"), [(r.stage, r.contacts) for r in report.dropped_from]),
             "", f"Came back ({report.came_back_contacts} contacts)",
             table(("lost stage", "to", "contacts"),
                   [(r.lost_stage, r.to_stage, r.contacts) for r in report.came_back], text_columns=2)]
    return "\n".join(parts)


@format_report.register
def _(report: ResponseReport) -> str:
    rows = [(b.label, b.contacts, b.lost, percent(b.lost_share)) for b in report.buckets]
    rows.append(("all", report.contacts, report.lost, percent(report.lost_share)))
    return "\n".join([f"First response vs drop-off, first conversations {window_line(report.start, report.end)}",
                      table(("first response", "contacts", "lost", "lost share"), rows)])


@format_report.register
def _(report: AttributionReport) -> str:
    parts = [f"Conversions, {window_line(report.start, report.end)}: {report.conversions} "
             f"({money(report.value)}); unattributed {report.unattributed} ({money(report.unattributed_value)})"]
    for breakdown in (report.first_touch, report.last_touch):
        for dimension in DIMENSIONS:
            rows = [(r.label, r.conversions, money(r.value)) for r in breakdown.rows(dimension)]
            parts += ["", f"{breakdown.model.replace('_', '-')} by {DIMENSION_TITLES[dimension]}",
                      table((DIMENSION_TITLES[dimension], "conversions", "value"), rows)]
    return "\n".join(parts)


@format_report.register
def _(report: DeliveryReport) -> str:
    rows = [(d.destination, d.events, d.sent, d.delivered_before, d.failed, d.dead, d.pending, d.expired, d.duplicate,
             d.retracted, d.skipped, percent(d.click_id_share),
             " ".join(f"{k}={percent(v)}" for k, v in d.key_shares.items()) or "-")
            for d in report.destinations]
    parts = [f"Conversion delivery health, queued {window_line(report.start, report.end)}",
             table(("destination", "events", "sent", "of which before", "failed", "dead", "pending", "too old",
                    "duplicate", "retracted", "withheld (privacy)", "click id", "hashed keys (share of sent)"), rows)]
    adjusted = [d for d in report.destinations if d.adjustments]
    if adjusted:  # retractions and restatements told (or not) to the destinations that were sent the conversion
        statuses = ("sent", "unsupported", "skipped", "expired", "pending", "failed", "dead")
        parts += ["", "Adjustments (refunds, cancellations) of conversions sent",
                  table(("destination", *(s.replace("unsupported", "not supported") for s in statuses)),
                        [(d.destination, *(d.adjustments.get(s, 0) for s in statuses)) for d in adjusted])]
    return "\n".join(parts)


@format_report.register
def _(report: RetentionReport) -> str:
    span = max((len(c.retention) for c in report.cohorts), default=0)
    return "\n".join([
        f"Retention of the customers acquired {window_line(report.start, report.end)}, "
        f"as of {report.as_of.isoformat()}",
        f"  {report.customers} customers, {report.purchases} purchases ({money(report.value)}; "
        f"{report.retracted} retracted left out)",
        f"  repeat-purchase rate {percent(report.repeat_rate)} ({report.repeat_customers} bought again)",
        f"  churn {percent(report.churn_rate)} ({report.churned} with no activity for {report.inactive_days} days)",
        f"  CLV {money(report.clv)} per customer",
        "", "Cohorts (month of the first purchase)",
        table(("cohort", "customers", "repeat", "purchases", "value", "CLV"),
              [(c.cohort, c.customers, c.repeat_customers, c.purchases, money(c.value), money(c.clv))
               for c in report.cohorts]),
        "", "Cohort retention (share buying in each month since the first purchase)",
        table(("cohort", *(f"+{m}" for m in range(span))),
              [(c.cohort, *(percent(v) for v in c.retention), *("" for _ in range(span - len(c.retention))))
               for c in report.cohorts]),
        "", "CLV by first-touch campaign",
        table(("campaign", "customers", "purchases", "value", "CLV"),
              [(r.label, r.customers, r.purchases, money(r.value), money(r.clv)) for r in report.campaigns]),
    ])


@format_report.register
def _(report: QualityReport) -> str:
    parts = [f"Data quality, {window_line(report.start, report.end)}"]
    for s in report.sections:
        rows = [tuple("-" if v is None else v.isoformat() if isinstance(v, datetime) else v for v in row)
                for row in s.rows]
        parts += ["", f"{s.title}: {s.total}",
                  table([c.replace("_", " ") for c in s.columns], rows, text_columns=_text_columns(s.rows))
                  if rows else "  (none)"]
    return "\n".join(parts)


def _text_columns(rows: Sequence[Sequence[object]]) -> int:
    """How many leading columns hold text (left-aligned): those before the first number."""
    first = rows[0]
    return next((i for i, v in enumerate(first) if isinstance(v, int | float)), len(first)) or 1
