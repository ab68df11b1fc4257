"""The HTML page and its SVG charts: self-contained, escaped, bars to scale."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

from support.report_data import CONFIG, contact, conversation, convert, touch
from support.report_data import retention_data as retention_data  # a database fixture, re-exported for pytest

from sync.reports.html import render_html, write_html
from sync.reports.svg import BAR_AREA, MAX_LABEL, bar_chart, heat_style

EVIL = '<b onclick="x()">R&D</b>'


def widths(svg: str) -> list[float]:
    return [float(w) for w in re.findall(r'<rect x="\d+" y="\d+" width="([\d.]+)" height="14"', svg)]


def test_bars_scale_to_the_largest_value():
    svg = bar_chart("t", ["a", "b", "c"], [("n", [10, 5, 0])])
    assert widths(svg) == [BAR_AREA, BAR_AREA / 2, 0.0]
    assert "<rect" in svg and "legend" not in svg  # one series: no legend


def test_grouped_bars_have_a_legend_and_one_bar_per_series():
    svg = bar_chart("t", ["a", "b"], [("first", [4, 2]), ("last", [1, 8])], fmt=lambda v: f"{v:.0f} conv")
    assert widths(svg) == [BAR_AREA / 2, BAR_AREA / 8, BAR_AREA / 4, BAR_AREA]
    assert svg.count('class="legend"') == 2 and ">8 conv</text>" in svg


def test_all_zero_and_empty_charts():
    assert widths(bar_chart("t", ["a"], [("n", [0])])) == [0.0]
    empty = bar_chart("Nothing <yet>", [], [("n", [])])
    assert "no data" in empty and "Nothing &lt;yet&gt;" in empty and "<yet>" not in empty
    said = bar_chart("t", [], [("n", [])], empty="لا شيء <بعد>")
    assert "لا شيء &lt;بعد&gt;" in said and "no data" not in said  # the console says it in the page's language


def test_chart_text_is_escaped_and_long_labels_cut_but_kept_in_the_tooltip():
    long = "campaign-" + "x" * 60
    svg = bar_chart(EVIL, [EVIL, long], [("s&p", [1, 2])])
    assert EVIL not in svg and "onclick=\"x()\"" not in svg
    assert "&lt;b onclick=&quot;x()&quot;&gt;R&amp;D&lt;/b&gt;" in svg and "s&amp;p" in svg
    assert f"<title>{long}</title>" in svg and f">{long[:MAX_LABEL - 1]}…</text>" in svg


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)


def test_page_is_self_contained_and_escapes_every_name(reports):
    page = render_html(*reports, generated_at=datetime(2026, 4, 1, 8, tzinfo=UTC))
    assert page.startswith("<!DOCTYPE html>")
    assert "http://" not in page and "https://" not in page and "//" not in page  # no URL of any kind
    parser = Tags()
    parser.feed(page)
    assert not {"script", "link", "img", "iframe", "object"} & set(parser.tags)
    assert not [name for name, _ in parser.attrs if name in ("src", "href") or name.startswith("on")]
    assert parser.tags.count("svg") == 4 and "style" in parser.tags
    assert EVIL not in page and "&lt;b onclick=&quot;x()&quot;&gt;R&amp;D&lt;/b&gt;" in page
    for heading in ("Lifecycle funnel", "Lost stages", "First response vs drop-off", "Conversions by campaign",
                    "Conversion delivery health"):
        assert f"<h2>{heading}</h2>" in page
    assert "generated 2026-04-01T08:00:00+00:00" in page


def test_campaign_chart_compares_first_and_last_touch(reports):
    page = render_html(*reports[:4])
    chart = re.findall(r'<svg[^>]*aria-label="Conversions by campaign".*?</svg>', page, re.S)[0]
    # the markup-named campaign: 2 first-touch, 1 last-touch; C2: 0 and 1
    assert widths(chart) == [BAR_AREA, BAR_AREA / 2, 0.0, BAR_AREA / 2]
    assert "Conversion delivery health" not in page  # delivery is optional


def test_html_is_self_contained_and_escapes_names(attribution_data, tmp_path):
    evil = '<script>alert("x")</script>'
    with attribution_data.transaction() as s:
        p = contact(s, ("New Lead", 0), ("Cold Lead", 3))
        touch(s, p, 0, "meta", evil, "A&B", "whatsapp")
        convert(s, p, 1, "purchase", 5.0, "EUR")
        conversation(s, p, 0, 400)
    out = write_html(tmp_path / "report.html", attribution_data, CONFIG)
    text = out.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text
    assert "<script" not in text and "<link" not in text and "src=" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text and "A&amp;B" in text
    assert text.count("<svg") == 6  # funnel, drop-off, response, campaigns, repeat and churn, CLV by cohort
    for heading in ("Lifecycle funnel", "Lost stages", "First response vs drop-off", "Conversions by campaign",
                    "Retention and loyalty"):
        assert f"<h2>{heading}</h2>" in text


def test_the_retention_section_charts_clv_by_cohort_and_shades_the_cohort_table(retention_data, tmp_path):
    text = write_html(tmp_path / "report.html", retention_data, CONFIG, start=datetime(2026, 1, 1, tzinfo=UTC),
                      end=datetime(2026, 4, 1, tzinfo=UTC)).read_text(encoding="utf-8")
    section = text[text.index("<h2>Retention and loyalty</h2>"):]
    assert "4 customers acquired in the window" in section and "2 retracted purchases left out" in section
    assert '<svg class="chart" role="img" aria-label="CLV by cohort"' in section
    assert ">EUR</text>" in section and ">USD</text>" in section  # one series a currency, never converted
    matrix = section[section.index("<h3>Cohort retention"):]
    jan = re.search(r"<tr><td>2026-01</td><td>3</td>(.*?)</tr>", matrix).group(1)
    assert re.findall(r'style="background-color:rgba\(30,70,120,([\d.]+)\);color:([^"]*)">([^<]*)<', jan) == [
        ("1.00", "#fff", "100.0%"), ("0.39", "#1d2733", "33.3%"), ("0.39", "#1d2733", "33.3%")]


def test_every_heat_map_shade_keeps_aa_contrast_with_its_ink():
    def luminance(rgb):
        parts = [c / 255 for c in rgb]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in parts)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    for step in range(101):
        style = heat_style(step / 100)
        alpha, ink = re.match(r"background-color:rgba\(30,70,120,([\d.]+)\);color:(.*)", style).groups()
        shade = [255 - float(alpha) * (255 - c) for c in (30, 70, 120)]  # over the page's white
        text = (255, 255, 255) if ink == "#fff" else (0x1d, 0x27, 0x33)
        light, dark = sorted((luminance(shade), luminance(text)), reverse=True)
        assert (light + 0.05) / (dark + 0.05) >= 4.5, (step, style)
    assert heat_style(None) == ""


def segment_state(sizes, audiences=(), unsynced=(), size=3):
    from sync.segments.report import SegmentState

    summary = {"key": "lapsed", "label": EVIL, "brand": "lumen", "description": "gone a while", "size": size,
               "destinations": [a["destination"] for a in audiences] + list(unsynced)}
    return SegmentState(summary, sizes, list(audiences), list(unsynced))


def test_the_segments_section_gives_each_size_and_each_audiences_state_escaped(reports):
    audience = {"destination": "meta-lapsed", "kind": "meta_audience", "remote_id": "238<1>", "error": None,
                "synced_at": datetime(2026, 4, 1, 8, tzinfo=UTC),
                "members": {"added": 2, "pending_add": 0, "pending_remove": 0, "skipped": 1, "failed": 0}}
    flat = [("2026-03-31", 0), ("2026-04-01", 3)]
    page = render_html(*reports, segments=[segment_state(flat, [audience], ["csv-lapsed"])])
    section = page[page.index("<h2>Segments and their audiences</h2>"):]
    assert EVIL not in section
    assert "&lt;b onclick=&quot;x()&quot;&gt;R&amp;D&lt;/b&gt; (lapsed, brand lumen): 3 members" in section
    assert ("<tr><td>meta-lapsed</td><td>meta_audience</td><td>238&lt;1&gt;</td><td>2026-04-01T08:00:00+00:00</td>"
            "<td>2</td><td>0</td><td>0</td><td>1</td><td>0</td><td></td></tr>") in section
    assert "<td>csv-lapsed</td>" in section and "not synced yet" in section
    assert "<svg" not in section  # one step from nothing is no history: no chart
    moved = render_html(*reports, segments=[segment_state([("2026-03-30", 2), ("2026-03-31", 5), ("2026-04-01", 3)])])
    chart = moved[moved.index("<h2>Segments and their audiences</h2>"):]
    assert chart.count("<svg") == 1 and 'data-days="3"' in chart and "No destinations" in chart
    assert "Segments and their audiences" not in render_html(*reports)  # no segments, no section
