"""One self-contained HTML file with every report: inline CSS, inline SVG charts, no script, no URLs.

``write_html`` computes the reports and writes the file; ``render_html`` is the pure part.
Every value from the database or the config (stage names, campaign ids, destinations) is
HTML-escaped, so a name holding ``<`` or ``&`` shows as written and cannot inject markup.
The page opens from disk with no network: nothing is fetched. Segments (when the configuration
has any) come last: each one's size, its size a day over the last month when it moved, and
where each of its audiences stands.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from sync.reports.attribution import DIMENSION_TITLES, DIMENSIONS, NONE, UNRESOLVED, AttributionReport, attribution
from sync.reports.delivery import DeliveryReport, delivery
from sync.reports.funnel import FunnelReport, funnel
from sync.reports.lost import LostReport, lost
from sync.reports.response import ResponseReport, response
from sync.reports.retention import CampaignRow, CohortRow, RetentionReport, retention
from sync.reports.svg import bar_chart, day_columns, heat_style
from sync.reports.text import duration, money, percent, window_line
from sync.reports.window import reading
from sync.segments.audiences.diff import STATES as AUDIENCE_STATES
from sync.segments.report import SegmentState, segment_states
from sync.store.engine import Store
from sync.store.model import utcnow

if TYPE_CHECKING:
    from sync.config import Config, LifecycleConfig

TOP_CAMPAIGNS = 12  # campaigns charted; the tables below the chart list them all

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2733;margin:2rem auto;max-width:980px;
padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2.2rem;border-bottom:1px solid #d8dee6;
padding-bottom:.3rem}h3{font-size:1rem;margin-top:1.4rem}
.meta{color:#5a6776}table{border-collapse:collapse;margin:.6rem 0 1rem}th,td{padding:.25rem .7rem;
border-bottom:1px solid #e6eaef;text-align:right}th{background:#f3f5f8;font-weight:600}
th:first-child,td:first-child{text-align:left}.chart{display:block;margin:.6rem 0;max-width:100%;height:auto}
.chart text{font-size:12px;fill:#1d2733}.chart .value{fill:#46505c}.chart .empty{fill:#8a94a0}
.note{color:#5a6776;font-size:.9rem}
"""


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """An HTML table, every cell escaped."""
    head = "".join(f"<th>{escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _funnel(report: FunnelReport) -> str:
    labels = [r.stage for r in report.stages]
    chart = bar_chart("Contacts per stage", labels, [("entered", [r.entered for r in report.stages]),
                                                     ("in it now", [r.current for r in report.stages])])
    rows = [(r.stage, r.phase, r.entered, r.current, r.moved_on, percent(r.conversion_rate),
             duration(r.median_seconds)) for r in report.stages]
    return ("<h2>Lifecycle funnel</h2>" + chart
            + _table(("stage", "phase", "entered", "now", "moved on", "conversion", "median stay"), rows)
            + f'<p class="note">{report.contacts} contacts; {report.never_staged} with no stage yet; '
            f"{report.lost_now} in a lost stage (below, kept apart from the funnel).</p>")


def _lost(report: LostReport) -> str:
    chart = bar_chart("Drop-off by stage", [r.stage for r in report.dropped_from],
                      [("contacts lost", [r.contacts for r in report.dropped_from])])
    return ("<h2>Lost stages</h2>"
            + _table(("lost stage", "now", "entered"), [(r.stage, r.current, r.entered) for r in report.stages])
            + "<h3>Drop-off by the stage contacts were lost from</h3>" + chart
            + _table(("lost stage", "from", "contacts"),
                     [(r.lost_stage, r.from_stage or "(entered lost)", r.contacts) for r in report.lost_from])
            + f"<h3>Came back ({report.came_back_contacts} contacts)</h3>"
            + _table(("lost stage", "to", "contacts"), [(r.lost_stage, r.to_stage, r.contacts)
                                                       for r in report.came_back]))


def _response(report: ResponseReport) -> str:
    chart = bar_chart("Share lost by first-response time", [b.label for b in report.buckets],
                      [("lost share", [b.lost_share or 0.0 for b in report.buckets])], fmt=lambda v: f"{v:.0%}")
    rows = [(b.label, b.contacts, b.lost, percent(b.lost_share)) for b in report.buckets]
    rows.append(("all", report.contacts, report.lost, percent(report.lost_share)))
    return ("<h2>First response vs drop-off</h2>"
            '<p class="note">Each contact counted once, by its first conversation.</p>'
            + chart + _table(("first response", "contacts", "lost", "lost share"), rows))


def top_campaigns(report: AttributionReport, limit: int = TOP_CAMPAIGNS) -> list[tuple[str, int, int]]:
    """The campaigns to chart: (label, first-touch conversions, last-touch conversions), most credited first."""
    first = {r.label: r.conversions for r in report.first_touch.campaign}
    last = {r.label: r.conversions for r in report.last_touch.campaign}
    keys = sorted(first.keys() | last.keys(),
                  key=lambda k: (-max(first.get(k, 0), last.get(k, 0)), k.startswith("("), k))[:limit]
    return [(k, first.get(k, 0), last.get(k, 0)) for k in keys]


def _attribution(report: AttributionReport) -> str:
    top = top_campaigns(report)
    chart = bar_chart("Conversions by campaign", [k for k, _, _ in top],
                      [("first touch", [n for _, n, _ in top]), ("last touch", [n for _, _, n in top])])
    parts = ["<h2>Conversions by campaign</h2>",
             f'<p class="note">{report.conversions} conversions ({escape(money(report.value))}); '
             f"unattributed: {report.unattributed} ({escape(money(report.unattributed_value))}). "
             f"{escape(UNRESOLVED)}: an ad touch whose campaign its network has not named (yet); "
             f"{escape(NONE)}: a touch with no ad.</p>", chart]
    for breakdown in (report.first_touch, report.last_touch):
        for dimension in DIMENSIONS:
            rows = [(r.label, r.conversions, money(r.value)) for r in breakdown.rows(dimension)]
            title = DIMENSION_TITLES[dimension]
            parts.append(f"<h3>{escape(breakdown.model.replace('_', '-'))} by {escape(title)}</h3>"
                         + _table((title, "conversions", "value"), rows))
    return "".join(parts)


def currencies_of(rows: Sequence[CohortRow] | Sequence[CampaignRow]) -> list[str]:
    """The currencies of the rows' CLV, in order (one chart series each: values are never converted)."""
    return sorted({c for r in rows for c in r.clv})


def _retention(report: RetentionReport) -> str:
    rates = bar_chart("Repeat purchase and churn", ["repeat-purchase rate", "churn"],
                      [("share of customers", [report.repeat_rate or 0.0, report.churn_rate or 0.0])],
                      fmt=lambda v: f"{v:.0%}")
    cohort_chart = bar_chart("CLV by cohort", [c.cohort for c in report.cohorts],
                             [(cur, [c.clv.get(cur, 0.0) for c in report.cohorts])
                              for cur in currencies_of(report.cohorts)], fmt=lambda v: f"{v:,.2f}")
    span = max((len(c.retention) for c in report.cohorts), default=0)
    head = "".join(f"<th>+{m}</th>" for m in range(span))
    body = "".join(
        f"<tr><td>{escape(c.cohort)}</td><td>{c.customers}</td>"
        + "".join(f'<td style="{heat_style(c.retention[m] if m < len(c.retention) else None)}">'
                  f"{escape(percent(c.retention[m])) if m < len(c.retention) else ''}</td>" for m in range(span))
        + "</tr>" for c in report.cohorts)
    return ("<h2>Retention and loyalty</h2>"
            f'<p class="note">{report.customers} customers acquired in the window, as of '
            f"{escape(report.as_of.isoformat())}: {report.repeat_customers} bought again "
            f"({escape(percent(report.repeat_rate))}); {report.churned} with no activity for "
            f"{report.inactive_days} days ({escape(percent(report.churn_rate))}); CLV {escape(money(report.clv))}; "
            f"{report.retracted} retracted purchases left out.</p>" + rates
            + "<h3>Historical CLV by cohort (month of the first purchase)</h3>" + cohort_chart
            + _table(("cohort", "customers", "repeat", "purchases", "value", "CLV"),
                     [(c.cohort, c.customers, c.repeat_customers, c.purchases, money(c.value), money(c.clv))
                      for c in report.cohorts])
            + "<h3>Cohort retention (share buying in each month since the first purchase)</h3>"
            + f"<table><thead><tr><th>cohort</th><th>customers</th>{head}</tr></thead><tbody>{body}</tbody></table>"
            + "<h3>Historical CLV by first-touch campaign</h3>"
            + _table(("campaign", "customers", "purchases", "value", "CLV"),
                     [(r.label, r.customers, r.purchases, money(r.value), money(r.clv)) for r in report.campaigns]))


def _delivery(report: DeliveryReport) -> str:
    rows = [(d.destination, d.events, d.sent, d.failed, d.dead, d.pending, percent(d.click_id_share),
             " ".join(f"{k} {percent(v)}" for k, v in d.key_shares.items()) or "-") for d in report.destinations]
    return ("<h2>Conversion delivery health</h2>"
            + _table(("destination", "events", "sent", "failed", "dead", "pending", "with click id",
                      "hashed keys (share of sent)"), rows))


def _segments(states: Sequence[SegmentState]) -> str:
    parts = ["<h2>Segments and their audiences</h2>"]
    for st in states:
        s = st.summary
        size = "not evaluated yet" if s["size"] is None else f"{s['size']:,} members"
        brand = "" if s["brand"] == "default" else f", brand {s['brand']}"
        parts.append(f"<h3>{escape(s['label'])} ({escape(s['key'])}{escape(brand)}): {escape(size)}</h3>")
        if s["description"]:
            parts.append(f'<p class="note">{escape(s["description"])}</p>')
        if st.changed:  # a history to show: the size moved during the window
            parts.append(day_columns(f"Members at the end of each day ({len(st.sizes)} days)",
                                     [(d, float(n)) for d, n in st.sizes], fmt=lambda v: f"{v:,.0f}"))
        rows = [(a["destination"], a["kind"], a["remote_id"] or "-",
                 a["synced_at"].isoformat(timespec="seconds") if a["synced_at"] else "never",
                 *(a["members"][k] for k in AUDIENCE_STATES), a["error"] or "") for a in st.audiences]
        rows += [(name, "", "-", "never", *(0 for _ in AUDIENCE_STATES), "not synced yet") for name in st.unsynced]
        none = '<p class="note">No destinations: the segment is kept for broadcasts and exports.</p>'
        parts.append(_table(("destination", "kind", "audience", "last sync", *AUDIENCE_STATES, "error"), rows)
                     if rows else none)
    return "".join(parts)


def render_html(funnel_report: FunnelReport, lost_report: LostReport, response_report: ResponseReport,
                attribution_report: AttributionReport, delivery_report: DeliveryReport | None = None, *,
                retention_report: RetentionReport | None = None, segments: Sequence[SegmentState] = (),
                generated_at: datetime | None = None) -> str:
    """The whole page from computed reports (pure)."""
    window = window_line(funnel_report.start, funnel_report.end)
    stamp = f", generated {generated_at.isoformat(timespec='seconds')}" if generated_at else ""
    sections = [_funnel(funnel_report), _lost(lost_report), _response(response_report),
                _attribution(attribution_report)]
    if retention_report is not None:
        sections.append(_retention(retention_report))
    if delivery_report is not None:
        sections.append(_delivery(delivery_report))
    if segments:
        sections.append(_segments(segments))
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>lifesync lifecycle report</title><style>{CSS}</style></head><body>"
            f'<h1>Lifecycle report</h1><p class="meta">{escape(window)}{escape(stamp)}</p>'
            + "".join(sections) + "</body></html>\n")


def write_html(path: str | Path, store: Store | Session, config: Config | LifecycleConfig, *,
               start: datetime | None = None, end: datetime | None = None) -> Path:
    """Compute funnel, lost, response, attribution, delivery and retention in one transaction and write the page.

    With a ``Store`` and a configuration holding segments, the segments' sizes and audiences too
    (``sync.segments.report``: the ops surfaces' service functions).
    """
    with reading(store) as session:
        reports = [fn(session, config, start=start, end=end) for fn in (funnel, lost, response, attribution, delivery)]
        kept = retention(session, config, start=start, end=end)
    segments = getattr(config, "segments", ())
    states = segment_states(store, segments) if segments and isinstance(store, Store) else []
    out = Path(path)
    out.write_text(render_html(*reports, retention_report=kept, segments=states, generated_at=utcnow()),
                   encoding="utf-8")
    return out
