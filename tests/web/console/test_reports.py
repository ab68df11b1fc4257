"""The console's Reports page: the API's report functions over a date range, each a CSV download (server side)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from html.parser import HTMLParser

import click
import pytest
from click.testing import CliRunner
from support.report_data import attribution_data as attribution_data  # database fixtures, re-exported for pytest
from support.report_data import delivery_data as delivery_data
from support.report_data import funnel_data as funnel_data
from support.report_data import quality_data as quality_data
from support.report_data import response_data as response_data

from sync.access.roles import ROLES
from sync.cli.reports import register
from sync.reports import REPORTS
from sync.reports.csv_export import to_csv
from sync.reports.window import parse_moment

WINDOWS = {  # query string → the window the API's schema reads from it
    "": (None, None),
    "?since=2026-03-02": (datetime(2026, 3, 2, tzinfo=UTC), None),
    "?since=2026-03-01&until=2026-03-01": (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)),
    "?until=2026-03-01&since=": (None, datetime(2026, 3, 2, tzinfo=UTC)),  # an empty field is no bound
}


class Figures(HTMLParser):
    """The text of every element carrying ``data-figure``, by that name."""

    def __init__(self, page: str):
        super().__init__()
        self.found: dict[str, str] = {}
        self._open: list[str | None] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag in ("input", "br", "meta", "link", "img"):
            return
        name = dict(attrs).get("data-figure")
        self._open.append(name)
        if name is not None:
            self.found[name] = ""

    def handle_endtag(self, tag):
        if self._open:
            self._open.pop()

    def handle_data(self, data):
        for name in self._open:
            if name is not None:
                self.found[name] += data


def shown(text: str) -> int | float | None:
    """A figure as the English page writes it (1,234 or 60.0%; — for none) back to a number."""
    text = text.strip().replace(",", "")
    if text == "—":
        return None
    return round(float(text[:-1]) / 100, 3) if text.endswith("%") else int(text)


@pytest.fixture
def data(funnel_data, attribution_data, delivery_data, response_data, quality_data):
    return funnel_data


@pytest.fixture
def compute(console_app, store):
    configs = console_app.extensions["lifesync"]["configs"]
    return lambda name, start, end: REPORTS[name](store, configs.get(), start=start, end=end)


def expected_figures(compute, start, end) -> dict[str, int | float]:
    """What the page must show for a window, from the report functions themselves."""
    f, lo, r, a, d, q, k = (compute(name, start, end) for name in
                            ("funnel", "lost", "response", "attribution", "delivery", "quality", "retention"))
    want: dict[str, int | float] = {
        "funnel:contacts": f.contacts, "funnel:never_staged": f.never_staged, "funnel:lost_now": f.lost_now,
        "response:contacts": r.contacts, "attribution:conversions": a.conversions,
        "attribution:unattributed": a.unattributed}
    for s in f.stages:
        want |= {f"funnel:{s.stage}:entered": s.entered, f"funnel:{s.stage}:current": s.current,
                 f"funnel:{s.stage}:moved_on": s.moved_on, f"funnel:{s.stage}:conversion_rate":
                 None if s.conversion_rate is None else round(s.conversion_rate, 3)}
    for s in lo.stages:
        want |= {f"lost:{s.stage}:current": s.current, f"lost:{s.stage}:entered": s.entered}
    want |= {f"lost_from:{x.lost_stage}:{x.from_stage or ''}": x.contacts for x in lo.lost_from}
    for b in r.buckets:
        want |= {f"response:{b.label}:contacts": b.contacts, f"response:{b.label}:lost": b.lost}
    for dimension in ("campaign", "adset", "ad", "channel", "network"):
        credit = {model.model: {row.label: row.conversions for row in model.rows(dimension)}
                  for model in (a.first_touch, a.last_touch)}
        for label in credit["first_touch"].keys() | credit["last_touch"].keys():  # a row either model credits
            want |= {f"attribution:{model}:{dimension}:{label}": by_label.get(label, 0)
                     for model, by_label in credit.items()}
    for dest in d.destinations:
        want |= {f"delivery:{dest.destination}:events": dest.events, f"delivery:{dest.destination}:sent": dest.sent}
    want |= {f"quality:{s.name}:total": s.total for s in q.sections}
    want |= {"retention:customers": k.customers, "retention:repeat_rate": _share(k.repeat_rate),
             "retention:churn_rate": _share(k.churn_rate)}
    for c in k.cohorts:
        want |= {f"retention:{c.cohort}:customers": c.customers,
                 **{f"retention:{c.cohort}:month:{m}": _share(v) for m, v in enumerate(c.retention)}}
    want |= {f"retention:campaign:{row.label}:customers": row.customers for row in k.campaigns}
    return want


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@pytest.mark.parametrize("role", ROLES)
def test_every_report_renders_for_every_role_with_data(data, signed_in, role):
    answer = signed_in[role].get("/console/reports")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    for name in REPORTS:
        assert f'id="report-{name}"' in page and f'href="/console/reports/{name}.csv"' in page, name
    # funnel, lost from, response, campaigns, issues per day, and retention's rates, CLV by cohort and by
    # first-touch campaign: every one has data
    assert page.count("<svg") == 8
    assert 'aria-current="page"' in page and 'href="/console/reports"' in page
    figures = Figures(page).found
    assert shown(figures["funnel:New Lead:entered"]) > 0 and shown(figures["attribution:conversions"]) > 0
    assert shown(figures["delivery:meta:events"]) > 0 and shown(figures["response:contacts"]) > 0
    assert shown(figures["quality:trend:total"]) == 3 and shown(figures["quality:without_stage:total"]) > 0


def test_the_quality_section_names_problems_in_the_persons_language_and_hides_nothing(data, signed_in):
    page = signed_in["viewer"].get("/console/reports", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert 'id="report-quality"' in page and "جودة البيانات" in page
    assert "بريد إلكتروني غير صالح" in page and "hubspot_contacts" in page  # a kind translated, a mapping as named
    english = signed_in["viewer"].get("/console/reports?since=2026-03-02").get_data(as_text=True)
    assert "invalid phone" in english and "salesforce_contacts" in english and "hubspot_contacts" not in english


@pytest.mark.parametrize("query", WINDOWS)
def test_the_figures_are_the_functions_for_the_same_range(data, signed_in, compute, query):
    page = signed_in["viewer"].get(f"/console/reports{query}").get_data(as_text=True)
    figures = {name: shown(text) for name, text in Figures(page).found.items() if name != "lost:summary"}
    want = expected_figures(compute, *WINDOWS[query])
    assert figures == want


def test_changing_the_range_changes_the_figures(data, signed_in):
    viewer = signed_in["viewer"]
    every = Figures(viewer.get("/console/reports").get_data(as_text=True)).found
    later = Figures(viewer.get("/console/reports?since=2026-03-02").get_data(as_text=True)).found
    assert shown(every["funnel:New Lead:entered"]) > 0 and shown(later["funnel:New Lead:entered"]) == 0
    assert shown(every["funnel:contacts"]) == shown(later["funnel:contacts"])  # a snapshot of now: no window


def test_the_range_is_shown_in_words_and_kept_in_the_form_and_downloads(data, signed_in):
    page = signed_in["viewer"].get("/console/reports?since=2026-03-01&until=2026-03-31").get_data(as_text=True)
    assert "Showing: Mar 1, 2026 to Mar 31, 2026" in page  # the exclusive end shown as the last day
    assert 'id="range-since" name="since" type="date"\n           value="2026-03-01"' in page
    assert 'href="/console/reports/funnel.csv?since=2026-03-01&amp;until=2026-03-31"' in page


@pytest.mark.parametrize("name", REPORTS)
def test_a_download_is_the_reports_csv_for_the_range(data, signed_in, compute, name):
    answer = signed_in["viewer"].get(f"/console/reports/{name}.csv?since=2026-03-01&until=2026-03-01")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert (answer.headers["Content-Disposition"]
            == f'attachment; filename="lifesync-{name}-2026-03-01-to-2026-03-01.csv"')
    want = to_csv(compute(name, parse_moment("2026-03-01"), parse_moment("2026-03-01", end=True)))
    assert answer.get_data(as_text=True) == "\ufeff" + want  # a byte-order mark: Excel reads Arabic names right
    assert len(list(csv.reader(io.StringIO(want)))) > 1  # a header and rows: there is data to compare


def test_a_download_equals_the_clis_csv(data, signed_in, database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("LIFESYNC_CONFIG_DIR", raising=False)
    monkeypatch.delenv("LIFESYNC_META_MARKETING_ACCESS_TOKEN", raising=False)
    group = click.Group("lifesync")
    register(group)
    for name in ("funnel", "attribution"):
        printed = CliRunner().invoke(group, ["report", name, "--csv", "--from", "2026-03-01"])
        assert printed.exit_code == 0, printed.output
        answer = signed_in["viewer"].get(f"/console/reports/{name}.csv?since=2026-03-01")
        assert answer.get_data(as_text=True) == "\ufeff" + printed.stdout_bytes.decode()
    all_time = signed_in["viewer"].get("/console/reports/delivery.csv")
    assert 'filename="lifesync-delivery-all-time.csv"' in all_time.headers["Content-Disposition"]


@pytest.mark.parametrize(("query", "field", "says"), [
    ("?since=March", "From", "is not an ISO date"),
    ("?until=2026-02-30", "To", "is not an ISO date"),
    ("?since=2026-03-05&until=2026-03-01", "From", "must be before the end"),
])
def test_a_bad_date_is_a_422_page_naming_the_field(signed_in, query, field, says):
    viewer = signed_in["viewer"]
    answer = viewer.get(f"/console/reports{query}")
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert 'role="alert"' in page and f"{field}: " in page and says in page
    assert 'aria-invalid="true"' in page and 'id="report-funnel"' not in page
    download = viewer.get(f"/console/reports/lost.csv{query}")
    assert download.status_code == 422 and download.headers["Content-Type"].startswith("text/html")
    assert f"{field}: " in download.get_data(as_text=True) and says in download.get_data(as_text=True)


def test_an_htmx_range_change_answers_the_part_that_changes(data, signed_in):
    viewer = signed_in["viewer"]
    answer = viewer.get("/console/reports?since=2026-03-02", headers={"HX-Request": "true"})
    assert answer.status_code == 200
    part = answer.get_data(as_text=True)
    assert "<html" not in part and part.count('id="reports-body"') == 1
    assert 'id="report-window"' in part and 'hx-swap-oob="true"' in part and "Mar 2, 2026" in part
    bad = viewer.get("/console/reports?since=x", headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "<html" not in bad.get_data(as_text=True)


def test_the_page_works_without_javascript_and_htmx_enhances_it(signed_in):
    page = signed_in["viewer"].get("/console/reports").get_data(as_text=True)
    assert '<form method="get" action="/console/reports" hx-get="/console/reports"' in page
    assert 'hx-push-url="true"' in page and 'hx-target="#reports-body"' in page
    assert 'method="post"' not in page.split('id="reports-body"')[1]  # a viewer's page: nothing to change


def test_the_presets_are_the_last_days_to_today(signed_in, monkeypatch):
    monkeypatch.setattr("sync.web.console.reports.utcnow", lambda: datetime(2026, 3, 31, 15, tzinfo=UTC))
    viewer = signed_in["viewer"]
    page = viewer.get("/console/reports").get_data(as_text=True)
    for since in ("2026-03-25", "2026-03-02", "2026-01-01"):  # 7, 30 and 90 days, today included
        assert f'href="/console/reports?since={since}&amp;until=2026-03-31"' in page
    chosen = viewer.get("/console/reports?since=2026-03-25&until=2026-03-31").get_data(as_text=True)
    link = '"/console/reports?since=2026-03-25&amp;until=2026-03-31"'
    assert f'hx-get={link} aria-current="true"' in chosen


def test_an_unknown_report_has_no_download(signed_in):
    assert signed_in["viewer"].get("/console/reports/revenue.csv").status_code == 404


def test_the_page_in_arabic_keeps_data_as_configured(data, signed_in):
    from support.console import csrf_of

    viewer = signed_in["viewer"]
    viewer.post("/console/language", data={"lang": "ar", "csrf_token": csrf_of(viewer, "/console/reports")})
    page = viewer.get("/console/reports?since=2026-03-01&until=2026-03-31").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    assert "قمع دورة الحياة" in page and "تنزيل CSV" in page  # "Lifecycle funnel", "Download CSV"
    assert "New Lead" in page  # stage names are configuration: shown as configured
    assert "01‏/03‏/2026" in page  # the range's days as the Arabic locale writes them


def test_the_brush_chart_is_the_stage_changes_per_day(data, signed_in, console_app, store):
    from sync.reports.activity import activity

    page = signed_in["viewer"].get("/console/reports").get_data(as_text=True)
    assert 'hx-get="/console/reports/activity" hx-trigger="load"' in page and "console-reports.js" in page
    part = signed_in["viewer"].get("/console/reports/activity", headers={"HX-Request": "true"})
    assert part.status_code == 200
    days = activity(store, console_app.extensions["lifesync"]["configs"].get()).days
    assert days and [f'data-day="{d.day}"' in part.get_data(as_text=True) for d in days] == [True] * len(days)
    assert f"<title>{days[0].day}: {days[0].entered}</title>" in part.get_data(as_text=True)


def test_with_no_history_there_is_no_brush(signed_in):
    part = signed_in["viewer"].get("/console/reports/activity", headers={"HX-Request": "true"})
    assert part.status_code == 200 and "<svg" not in part.get_data(as_text=True)
    assert "No stage changes yet." in part.get_data(as_text=True)
