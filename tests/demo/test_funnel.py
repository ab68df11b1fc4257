"""The demo's funnel view on a real database keeps the shape the demo prints."""

from __future__ import annotations

from support.report_data import CONFIG
from support.report_data import funnel_data as funnel_data  # a fixture, re-exported for pytest

from sync.demo.funnel import funnel as demo_funnel


def test_demo_funnel_keeps_its_shape(funnel_data):
    with funnel_data.transaction() as s:
        report = demo_funnel(s, CONFIG)
    assert [(r.stage, r.current, r.entered) for r in report.active][:2] == [("New Lead", 1, 5), ("Hot Lead", 1, 3)]
    assert report.active[0].to_next == 0.6
    assert dict(report.lost) == {"Cold Lead": 1, "Unqualified": 1, "Lost to competitor": 0}
    assert report.never_staged == 1
