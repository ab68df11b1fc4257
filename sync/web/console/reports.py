"""Reports (viewer): funnel, lost stages, first response vs drop-off, attribution, delivery, retention and data
quality over a date range, each downloadable as CSV.

The figures are those of ``GET /api/reports/<name>`` and ``lifesync report``: the same functions
(``sync.reports.REPORTS``), over a window read by the API's own schema (``WindowArgs``: ``since``
and ``until``, a bare ``until`` date includes that day). A download is ``lifesync report NAME --csv``
for the same window (``sync.reports.csv_export``). A bad date is a 422 that names the field.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Response, abort, g, render_template, request
from flask_babel import gettext as _
from markupsafe import Markup

from sync.reports import REPORTS
from sync.reports.activity import activity
from sync.reports.attribution import DIMENSIONS, NONE, UNRESOLVED, AttributionReport, AttributionRow
from sync.reports.csv_export import CONTENT_TYPE, csv_filename, to_csv
from sync.reports.html import TOP_CAMPAIGNS, currencies_of, top_campaigns
from sync.reports.response import BUCKETS, NEVER
from sync.reports.retention import RetentionReport
from sync.reports.svg import bar_chart, day_columns, heat_style
from sync.reports.window import last_included, reading
from sync.store.model import utcnow
from sync.web.api.brand_access import scoped_brand
from sync.web.api.context import config, store
from sync.web.api.reports import WindowArgs
from sync.web.console.blueprint import bp, page
from sync.web.console.errors import N_
from sync.web.console.forms import load
from sync.web.console.i18n import day, number, percent, when

BOM = "\ufeff"  # the byte-order mark spreadsheet programs need to read a download as UTF-8
FIELDS = {"since": N_("From"), "until": N_("To")}
PRESETS = ((7, N_("Last 7 days")), (30, N_("Last 30 days")), (90, N_("Last 90 days")))
TITLES = {"funnel": N_("Lifecycle funnel"), "lost": N_("Lost stages"), "response": N_("First response vs drop-off"),
          "attribution": N_("Attribution"), "delivery": N_("Conversion delivery"),
          "retention": N_("Retention and loyalty"), "quality": N_("Data quality")}
# the data-quality report's sections and columns (sync.quality.report); one a section function adds later
# shows its own English title and column names until it is translated here
SECTION_TITLES = {"contact_points": N_("Invalid or missing e-mails and phones, by source"),
                  "refused_values": N_("Values refused, per mapping and field"),
                  "without_stage": N_("Contacts without a stage, by source"),
                  "suspected_duplicates": N_("Suspected duplicates waiting for review, by evidence"),
                  "trend": N_("Issues found per day")}
COLUMN_TITLES = {"source": N_("Source"), "contacts": N_("Contacts"), "invalid_emails": N_("Invalid e-mails"),
                 "without_email": N_("Without e-mail"), "invalid_phones": N_("Invalid phones"),
                 "without_phone": N_("Without phone"), "mapping": N_("Mapping"), "field": N_("Field"),
                 "kind": N_("Problem"), "reason": N_("Expected"), "open": N_("Open"), "resolved": N_("Resolved"),
                 "last_seen": N_("Last seen"), "day": N_("Day"), "found": N_("Found"),
                 "still_open": N_("Still open"), "evidence": N_("Evidence"), "open_pairs": N_("Open pairs")}
KIND_TITLES = {"invalid_phone": N_("invalid phone"), "invalid_email": N_("invalid e-mail"),
               "unmapped_value": N_("value with no mapping"), "unknown_stage": N_("stage not in the lifecycle"),
               "no_modified_at": N_("no modification time"), "invalid_value": N_("invalid value"),
               # evidence of a suspected duplicate pair (sync.quality.duplicates)
               "email": N_("Same e-mail"), "phone": N_("Same phone"), "name_city": N_("Same name and city"),
               "blocked": N_("merge refused by the identity rules")}
DIMENSION_TITLES = {"campaign": N_("By campaign"), "adset": N_("By ad set"), "ad": N_("By ad"),
                    "channel": N_("By channel"), "network": N_("By network")}
DIMENSION_COLUMNS = {"campaign": N_("Campaign"), "adset": N_("Ad set"), "ad": N_("Ad"), "channel": N_("Channel"),
                     "network": N_("Network")}
BUCKET_TITLES = dict(zip((*(label for label, _lo, _hi in BUCKETS), NEVER),
                         (N_("under 5 minutes"), N_("5 to 60 minutes"), N_("1 to 24 hours"), N_("over 24 hours"),
                          N_("never answered")), strict=True))


def _window() -> tuple[dict[str, str], dict[str, Any] | None, dict[str, str]]:
    """The range asked for (the non-empty ``since``/``until``), read by the API's schema: (given, window, errors)."""
    given = {name: value for name in FIELDS if (value := request.args.get(name, "").strip())}
    window, errors = load(WindowArgs(), given)
    return given, window, {name: _("%(field)s: %(problem)s", field=_(FIELDS.get(name, name)), problem=problem)
                           for name, problem in errors.items()}


def _brand() -> str | None:
    """The brand asked for (``?brand=``), within what the signed-in token sees (``sync.access.brands``)."""
    return scoped_brand(config(), request.args.get("brand", "").strip() or None)


def _brands() -> list[tuple[str, str]]:
    """(key, name) of every brand the signed-in token sees; empty with one brand (no choice to offer)."""
    brands = config().brands
    if not brands.several:
        return []
    return [(b.key, b.name) for b in brands.brands if g.principal.sees(b.key)]


def _presets(given: dict[str, str]) -> list[dict[str, Any]]:
    today = utcnow().date()
    found = [{"label": _(label), "args": {"since": (today - timedelta(days=days - 1)).isoformat(),
                                          "until": today.isoformat()}} for days, label in PRESETS]
    found.append({"label": _("All time"), "args": {}})
    for preset in found:
        preset["current"] = preset["args"] == given
    return found


def _shown(window: dict[str, Any] | None) -> str:
    """The window in words, its days as the locale writes them."""
    if window is None:
        return ""
    start, end = window["since"], window["until"]

    def moment(value: datetime) -> str:
        return day(value) if (value.hour, value.minute, value.second) == (0, 0, 0) else when(value)

    first = moment(start) if start else None
    last = moment(last_included(end)) if end else None
    if first and last:
        return _("%(first)s to %(last)s", first=first, last=last)
    if first:
        return _("From %(first)s", first=first)
    return _("Until %(last)s", last=last) if last else _("All time")


def _touch_rows(report: AttributionReport, dimension: str) -> list[tuple[AttributionRow, AttributionRow | None,
                                                                          AttributionRow | None]]:
    """One dimension's rows under both models side by side: (the row, its first-touch credit, its last-touch credit)."""
    first = {(r.key, r.unresolved): r for r in report.first_touch.rows(dimension)}
    last = {(r.key, r.unresolved): r for r in report.last_touch.rows(dimension)}
    keys = [*first, *(k for k in last if k not in first)]
    return [(first.get(k) or last[k], first.get(k), last.get(k)) for k in keys]


def _charts(found: dict[str, Any]) -> dict[str, Markup]:
    """The inline SVG charts (``sync.reports.svg``) in the person's language, values as the locale writes them."""
    funnel, lost, response, attribution = (found[name] for name in ("funnel", "lost", "response", "attribution"))
    charts = {}
    if funnel.stages:
        charts["funnel"] = bar_chart(_("Contacts per stage"), [r.stage for r in funnel.stages],
                                     [(_("entered"), [r.entered for r in funnel.stages]),
                                      (_("in it now"), [r.current for r in funnel.stages])], fmt=number)
    if lost.dropped_from:
        charts["lost"] = bar_chart(_("Contacts lost, by the stage they were lost from"),
                                   [r.stage for r in lost.dropped_from],
                                   [(_("contacts lost"), [r.contacts for r in lost.dropped_from])], fmt=number)
    if response.contacts:
        charts["response"] = bar_chart(_("Share lost, by first-response time"),
                                       [_(BUCKET_TITLES.get(b.label, b.label)) for b in response.buckets],
                                       [(_("lost"), [b.lost_share or 0.0 for b in response.buckets])], fmt=percent)
    trend = found["quality"].section("trend")
    if trend is not None and trend.rows:
        charts["quality"] = day_columns(_("Issues found per day"), [(row[0], row[1]) for row in trend.rows],
                                        fmt=number)
    charts.update(_retention_charts(found["retention"]))
    top = top_campaigns(attribution)
    if top:
        charts["attribution"] = bar_chart(_("Conversions by campaign"), [_label(k) for k, _f, _l in top],
                                          [(_("first touch"), [n for _k, n, _l in top]),
                                           (_("last touch"), [n for _k, _f, n in top])], fmt=number)
    return {name: Markup(svg) for name, svg in charts.items()}  # noqa: S704 - bar_chart escapes every text


def _retention_charts(report: RetentionReport) -> dict[str, str]:
    """Repeat rate and churn, CLV by cohort and by first-touch campaign (one series a currency: never converted)."""
    if not report.customers:
        return {}
    campaigns = report.campaigns[:TOP_CAMPAIGNS]
    return {
        "retention_rates": bar_chart(_("Repeat purchase and churn"), [_("repeat-purchase rate"), _("churn")],
                                     [(_("share of customers"), [report.repeat_rate or 0.0, report.churn_rate or 0.0])],
                                     fmt=percent),
        "retention_cohorts": bar_chart(_("Historical CLV by cohort"), [c.cohort for c in report.cohorts],
                                       [(cur, [c.clv.get(cur, 0.0) for c in report.cohorts])
                                        for cur in currencies_of(report.cohorts)], fmt=_money_figure),
        "retention_campaigns": bar_chart(_("Historical CLV by first-touch campaign"),
                                         [_label(r.label) for r in campaigns],
                                         [(cur, [r.clv.get(cur, 0.0) for r in campaigns])
                                          for cur in currencies_of(campaigns)], fmt=_money_figure),
    }


def _money_figure(value: float) -> str:
    """An amount with two decimals as the locale writes it (its currency is the bar's series)."""
    return number(value, 2)


def _label(text: str) -> str:
    """An attribution label, with the "(unresolved)" and "(none)" markers in the person's language."""
    return {UNRESOLVED: _("(unresolved)"), NONE: _("(none)")}.get(text, text)


def _render(status: int, **values: Any) -> Any:
    htmx = bool(request.headers.get("HX-Request"))
    values.setdefault("given", {})
    values.setdefault("errors", {})
    return render_template(
        "console/reports_body.html" if htmx else "console/reports.html", htmx=htmx, presets=_presets(values["given"]),
        fields=FIELDS, titles=TITLES, dimensions=DIMENSIONS, dimension_titles=DIMENSION_TITLES,
        dimension_columns=DIMENSION_COLUMNS, bucket_titles=BUCKET_TITLES, touch_rows=_touch_rows, label=_label,
        section_titles=SECTION_TITLES, column_titles=COLUMN_TITLES, kind_titles=KIND_TITLES, heat=heat_style,
        **values), status


@bp.route("/reports")
@page("viewer", brand_scoped=True)
def reports() -> Any:
    """Every report over the chosen range (all time by default), with a CSV download each."""
    given, window, errors = _window()
    if window is None:
        return _render(422, given=given, errors=errors)
    brand = _brand()
    with reading(store()) as session:  # one transaction: the reports agree with each other
        found = {name: compute(session, config(), start=window["since"], end=window["until"], brand=brand)
                 for name, compute in REPORTS.items()}
    return _render(200, given=given, reports=found, charts=_charts(found), shown=_shown(window), brand=brand,
                   brands=_brands())


@bp.route(f"/reports/<any({', '.join(REPORTS)}):name>.csv")
@page("viewer", brand_scoped=True)
def reports_csv(name: str) -> Any:
    """One report over the range as CSV: what ``lifesync report NAME --csv`` prints."""
    _given, window, errors = _window()
    if window is None:
        abort(422, description=" ".join(errors.values()))
    report = REPORTS[name](store(), config(), start=window["since"], end=window["until"], brand=_brand())
    filename = csv_filename(name, window["since"], window["until"])
    # a byte-order mark first: without it Excel reads UTF-8 as the system's code page and garbles
    # Arabic stage and campaign names (the CLI's output, read by programs, has none)
    return Response(BOM + to_csv(report), content_type=CONTENT_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/reports/activity")
@page("viewer")
def reports_activity() -> Any:
    """Stage changes per day over the whole history: the chart the date-range brush is drawn on (loaded by htmx)."""
    days = activity(store(), config()).days
    chart = day_columns(_("Stage changes per day"), [(d.day, d.entered) for d in days], fmt=number) if days else ""
    return render_template("console/reports_activity.html", chart=Markup(chart))  # noqa: S704 - escaped by day_columns
