"""The overview: the funnel, lost stages, conversions and delivery per network, connections, inbox, dead letters.

Every figure comes from the service function the ops API answers with: the reports of
``sync.reports`` (``/api/reports/<name>``, over the same window arguments), the connections'
health (``sync.connectors.health``, ``/api/connections``), the dead-letter groups
(``sync.ingest.deadletter_groups``, ``/api/dead-letters/groups``) and the inbox backlog and lag
``/metrics`` reports (``sync.metrics.database``). The page holds the cheap parts (inbox, dead-letter
groups); the reports, which read the whole history, and the connections, whose last 24 hours count
every delivery of that day, are parts htmx loads once the page is shown (``hx-trigger="load"``);
without script each is a link to the same part as a page of its own.

A token limited to brands sees the overview of its brands: the reports of its brand (``?brand=``
within its brands, as on the Reports page) and its brands' dead letters. The inbox and the
connections are installation-wide: not shown to it, and the connections part is refused to it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from sync.connectors import health
from sync.errors import Invalid
from sync.ingest import deadletter_groups
from sync.metrics.database import COUNT_CAP, inbox_backlog, inbox_lag
from sync.reports.attribution import attribution
from sync.reports.delivery import delivery
from sync.reports.funnel import funnel
from sync.reports.lost import lost
from sync.reports.svg import bar_chart
from sync.store.model import utcnow
from sync.web.api.brand_access import asking, scoped_brand, visible_brands
from sync.web.api.context import config, settings, store
from sync.web.api.reports import WindowArgs
from sync.web.console.blueprint import bp, page
from sync.web.console.connections import STATES as CONNECTION_STATES
from sync.web.console.errors import N_
from sync.web.console.forms import load
from sync.web.console.i18n import number

PERIODS = ((7, N_("Last 7 days")), (30, N_("Last 30 days")), (None, N_("All time")))
TOP_GROUPS = 5  # dead-letter groups listed; the dead-letters page has them all


def _window() -> dict[str, Any]:
    """``since`` / ``until`` of the query, read as ``GET /api/reports/<name>`` reads them."""
    given = {key: value for key in ("since", "until") if (value := request.args.get(key, "").strip())}
    values, errors = load(WindowArgs(), given)
    if values is None:
        raise Invalid(_("That period cannot be used: %(why)s", why=" ".join(errors.values())), errors)
    return {"start": values["since"], "end": values["until"], "query": given}


def _periods(window: dict[str, Any]) -> list[dict[str, Any]]:
    """The period links: a start that many days before today (a bare date, as the API takes), or none."""
    today = utcnow().date()
    found = []
    for days, label in PERIODS:
        query = {"since": (today - timedelta(days=days)).isoformat()} if days else {}
        found.append({"label": label, "query": query, "current": query == window["query"]})
    return found


def _dead_letters() -> dict[str, Any]:
    where = deadletter_groups.LetterFilter(brands=visible_brands(config()))
    found = deadletter_groups.groups(store(), where, TOP_GROUPS + 1)
    return {"groups": found[:TOP_GROUPS], "more": len(found) > TOP_GROUPS,
            "url": url_for("console.dead_letters")}


def _inbox() -> dict[str, Any] | None:
    if asking().brands is not None:  # every connection's events: installation-wide
        return None
    with store().transaction() as session:
        return {"lag": inbox_lag(session, utcnow()), **inbox_backlog(session)}




@bp.route("/overview")
@page("viewer", brand_scoped=True)
def overview() -> Any:
    """The overview page: the inbox and dead letters now; the connections and the reports load after it."""
    window = _window()
    shown = {name: part for name, part in PARTS.items() if asking().brands is None or name in BRAND_PARTS}
    return render_template("console/overview.html", window=window, periods=_periods(window), inbox=_inbox(),
                           dead_letters=_dead_letters(), parts=shown, cap=COUNT_CAP)


def _connections(window: dict[str, Any]) -> dict[str, Any]:
    """The configured connections' health (the period does not apply: health is now and the last 24 hours)."""
    found = [{**conn, "state": health.state(conn)} for conn in health.connections(store(), settings(), config())]
    shown = [conn for conn in found if conn["configured"]]
    return {"connections": shown, "unconfigured": len(found) - len(shown), "states": CONNECTION_STATES,
            "failing": sum(conn["state"] == "failing" for conn in shown),
            "url": url_for("console.connections")}


def _chart(title: str, labels: list[str], series: list[tuple[str, list[float]]]) -> Markup:
    """``sync.reports.svg``'s bar chart in the page's language (each bar's value shows on hover)."""
    return Markup(bar_chart(title, labels, series, fmt=number, empty=_("Nothing in this period")))  # noqa: S704 (escaped by bar_chart)


def _brand() -> str | None:
    """The brand the overview shows (``?brand=``), within what the signed-in token sees (``sync.access.brands``)."""
    return scoped_brand(config(), request.args.get("brand", "").strip() or None)


def _funnel(window: dict[str, Any]) -> dict[str, Any]:
    report = funnel(store(), config(), start=window["start"], end=window["end"], brand=_brand())
    rows = report.stages
    chart = _chart(_("Contacts per stage"), [r.stage for r in rows],
                   [(_("Entered"), [r.entered for r in rows]), (_("Now"), [r.current for r in rows]),
                    (_("Moved on"), [r.moved_on for r in rows])])
    return {"report": report, "chart": chart}


def _lost(window: dict[str, Any]) -> dict[str, Any]:
    report = lost(store(), config(), start=window["start"], end=window["end"], brand=_brand())
    chart = _chart(_("Contacts lost, by the stage they were lost from"), [r.stage for r in report.dropped_from],
                   [(_("Lost"), [r.contacts for r in report.dropped_from])])
    return {"report": report, "chart": chart}


def _networks(first: tuple[Any, ...], last: tuple[Any, ...]) -> list[dict[str, Any]]:
    """The attribution's rows by network under both models side by side (a network only one model credits: 0)."""
    by_first, by_last = {r.key: r for r in first}, {r.key: r for r in last}
    keys = sorted(by_first.keys() | by_last.keys(), key=lambda key: (key is None, key or ""))
    return [{"network": key, "first": by_first[key].conversions if key in by_first else 0,
             "last": by_last[key].conversions if key in by_last else 0,
             "value": by_last[key].value if key in by_last else {}} for key in keys]


def _conversions(window: dict[str, Any]) -> dict[str, Any]:
    cfg = config()
    credited = attribution(store(), cfg, start=window["start"], end=window["end"], brand=_brand())
    sent = delivery(store(), cfg, start=window["start"], end=window["end"], brand=_brand())
    rows = _networks(credited.first_touch.network, credited.last_touch.network)
    none = _("(no ad network)")
    chart = _chart(_("Conversions per network"), [r["network"] or none for r in rows],
                   [(_("First touch"), [r["first"] for r in rows]), (_("Last touch"), [r["last"] for r in rows])])
    dests = sent.destinations
    health_chart = _chart(_("Conversion events per destination"), [d.destination for d in dests],
                          [(_("Sent"), [d.sent for d in dests]), (_("Failed"), [d.failed for d in dests]),
                           (_("Dead"), [d.dead for d in dests]), (_("Pending"), [d.pending for d in dests])])
    return {"attribution": credited, "networks": rows, "chart": chart, "delivery": sent, "delivery_chart": health_chart,
            "destination_networks": {dest.name: dest.network for dest in cfg.conversions.destinations}}


PARTS = {
    "connections": (N_("Connections"), _connections),
    "funnel": (N_("Lifecycle funnel"), _funnel),
    "lost": (N_("Lost stages"), _lost),
    "conversions": (N_("Conversions and delivery per network"), _conversions),
}


BRAND_PARTS = ("funnel", "lost", "conversions")  # the parts a token limited to brands sees (of its brand)


@bp.route("/overview/<any(funnel, lost, conversions):part>")
@page("viewer", brand_scoped=True)
def overview_part(part: str) -> Any:
    """One report's part of the overview: bare for htmx, else as a page of its own (no script needed)."""
    return _part(part)


@bp.route("/overview/connections")
@page("viewer")
def overview_connections() -> Any:
    """The connections' part of the overview (installation-wide)."""
    return _part("connections")


def _part(part: str) -> Any:
    window = _window()
    title, compute = PARTS[part]
    values = {"part": part, "title": title, "window": window, **compute(window)}
    if request.headers.get("HX-Request"):
        return render_template(f"console/overview/{part}.html", **values)
    return render_template("console/overview/page.html", **values)

