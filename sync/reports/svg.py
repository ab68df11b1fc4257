"""Horizontal bar charts as inline SVG strings: no script, no external assets, every text escaped.

The ``<svg>`` carries no ``xmlns``: inline in HTML5 it needs none, and the report then holds
no URL at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

PALETTE = ("#3b6ea5", "#e0863a", "#5b9e5b", "#b24c63")
LABEL_WIDTH, BAR_AREA, NOTE_WIDTH = 190, 360, 110
BAR_HEIGHT, BAR_GAP, GROUP_GAP, TOP = 14, 2, 10, 8
MAX_LABEL = 28


def _short(label: str) -> str:
    """A label cut to fit the label column (the full label stays in the row's tooltip)."""
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def bar_chart(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *,
              fmt: Callable[[float], str] = lambda v: f"{v:g}", empty: str = "no data") -> str:
    """A grouped horizontal bar chart: one group per label, one bar per series, value at each bar's end.

    ``series`` is ``[(name, values)]`` with one value per label; a legend is drawn when there
    is more than one series. Bars scale to the largest value (all zero: no bar drawn). Hovering a
    bar shows its series and value (its ``<title>``); ``empty`` is said when there are no labels.
    """
    t = escape(title)
    if not labels:
        return (f'<svg class="chart" role="img" aria-label="{t}" width="{LABEL_WIDTH + BAR_AREA}" height="30">'
                f'<title>{t}</title><text x="0" y="20" class="empty">{escape(empty)}</text></svg>')
    top = max((v for _, values in series for v in values), default=0) or 1
    group = len(series) * (BAR_HEIGHT + BAR_GAP) + GROUP_GAP
    legend = 20 if len(series) > 1 else 0
    width, height = LABEL_WIDTH + BAR_AREA + NOTE_WIDTH, TOP + legend + group * len(labels)
    out = [f'<svg class="chart" role="img" aria-label="{t}" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}"><title>{t}</title>']
    if legend:
        for i, (name, _) in enumerate(series):
            x = LABEL_WIDTH + i * 150
            out.append(f'<rect x="{x}" y="{TOP}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
                       f'<text x="{x + 14}" y="{TOP + 9}" class="legend">{escape(name)}</text>')
    for row, label in enumerate(labels):
        y0 = TOP + legend + row * group
        out.append(f'<g><title>{escape(label)}</title>'
                   f'<text x="{LABEL_WIDTH - 6}" y="{y0 + BAR_HEIGHT - 3}" text-anchor="end" class="label">'
                   f'{escape(_short(label))}</text>')
        for i, (name, values) in enumerate(series):
            value = values[row]
            y = y0 + i * (BAR_HEIGHT + BAR_GAP)
            w = max(0.0, value) / top * BAR_AREA
            out.append(f'<rect x="{LABEL_WIDTH}" y="{y}" width="{w:.1f}" height="{BAR_HEIGHT}" '
                       f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(name)}: {escape(fmt(value))}</title></rect>'
                       f'<text x="{LABEL_WIDTH + w + 4:.1f}" y="{y + BAR_HEIGHT - 3}" class="value">'
                       f'{escape(fmt(value))}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


DAYS_WIDTH, DAYS_HEIGHT, DAYS_AXIS = 640, 72, 18


def day_columns(title: str, days: Sequence[tuple[str, float]], *,
                fmt: Callable[[float], str] = lambda v: f"{v:g}") -> str:
    """A column a day (``[(YYYY-MM-DD, value)]`` in order), the first and last day written under them.

    Each column carries ``data-day`` and a tooltip; the ``<svg>`` carries ``data-days`` (how many),
    so a script can map a pointer's position to a day (the console's date-range brush).
    """
    t = escape(title)
    height = DAYS_HEIGHT + DAYS_AXIS
    out = [f'<svg class="chart days" role="img" aria-label="{t}" viewBox="0 0 {DAYS_WIDTH} {height}" '
           f'width="{DAYS_WIDTH}" height="{height}" data-days="{len(days)}"><title>{t}</title>']
    top = max((v for _, v in days), default=0) or 1
    step = DAYS_WIDTH / max(len(days), 1)
    for i, (day, value) in enumerate(days):
        h = max(0.0, value) / top * (DAYS_HEIGHT - 2)
        out.append(f'<rect x="{i * step:.2f}" y="{DAYS_HEIGHT - h:.2f}" width="{max(step - 1, 0.5):.2f}" '
                   f'height="{h:.2f}" fill="{PALETTE[0]}" data-day="{escape(day)}">'
                   f'<title>{escape(day)}: {escape(fmt(value))}</title></rect>')
    if days:
        y = DAYS_HEIGHT + DAYS_AXIS - 4
        out.append(f'<text x="0" y="{y}" class="label">{escape(days[0][0])}</text>'
                   f'<text x="{DAYS_WIDTH}" y="{y}" text-anchor="end" class="label">{escape(days[-1][0])}</text>')
    out.append("</svg>")
    return "".join(out)


HEAT_RGB = "30,70,120"  # a deep blue: with the ink below every shade keeps WCAG AA contrast (4.5:1)


def heat_style(share: float | None) -> str:
    """The inline style of a heat-map cell for a share from 0 to 1: deeper blue for more.

    Used by the cohort retention tables (HTML report and console); None (no such month yet) is
    unshaded. Below one half the shade stays light under dark ink, from one half on it is deep
    under white ink: the middle shades, where neither ink reads well enough, are skipped.
    """
    if share is None:
        return ""
    level = min(max(share, 0.0), 1.0)
    if level < 0.5:
        return f"background-color:rgba({HEAT_RGB},{0.06 + level * 0.98:.2f});color:#1d2733"
    return f"background-color:rgba({HEAT_RGB},{0.75 + (level - 0.5) * 0.5:.2f});color:#fff"
