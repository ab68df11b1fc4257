"""Hand-built reports (no database) for the text and HTML renderers; names carry markup on purpose."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from support.report_data import attribution_data as attribution_data  # database fixtures, re-exported for pytest
from support.report_data import funnel_data as funnel_data
from support.report_data import retention_data as retention_data

from sync.reports.attribution import AttributionReport, AttributionRow, ModelBreakdown
from sync.reports.delivery import DeliveryReport, DestinationHealth
from sync.reports.funnel import FunnelReport, StageRow
from sync.reports.lost import ComebackRow, DropRow, LostFromRow, LostReport, LostStageRow
from sync.reports.response import ResponseBucket, ResponseReport

START, END = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
EVIL = '<b onclick="x()">R&D</b>'


@pytest.fixture
def reports():
    f = FunnelReport(START, END, (
        StageRow("New Lead", "acquisition", 10, 4, 6, 0.6, 3 * 3600.0, 5),
        StageRow(EVIL, "conversion", 6, 2, 0, 0.0, None, 0)), contacts=12, never_staged=1, lost_now=3)
    lo = LostReport(START, END, (LostStageRow("Cold Lead", 3, 4),), (LostFromRow("Cold Lead", "New Lead", 3),
                                                                     LostFromRow("Cold Lead", None, 1)),
                    (DropRow("New Lead", 3),), (ComebackRow("Cold Lead", "New Lead", 1),), 4, 1)
    r = ResponseReport(START, END, (ResponseBucket("< 5 min", 4, 1, 0.25),
                                    ResponseBucket("never answered", 0, 0, None)), 4, 1, 0.25)

    def model(name, campaign):
        return ModelBreakdown(name, campaign=campaign, adset=(AttributionRow(None, 2, {}, unresolved=True),),
                              ad=(AttributionRow(None, 2, {}),),
                              channel=(AttributionRow("whatsapp", 2, {"EUR": 150.0}),),
                              network=(AttributionRow("meta", 2, {"EUR": 150.0}),))

    a = AttributionReport(START, END, 3, {"EUR": 150.0, "USD": 5.0}, 1, {"USD": 5.0},
                          model("first_touch", (AttributionRow(EVIL, 2, {"EUR": 150.0}),)),
                          model("last_touch", (AttributionRow("C2", 1, {"EUR": 100.0}),
                                               AttributionRow(EVIL, 1, {"EUR": 50.0}))))
    d = DeliveryReport(START, END, (DestinationHealth("meta", 5, 3, 1, 0, 1, 0, 2, 2 / 3, {"fbc": 2},
                                                      {"em": 3, "ph": 1}, {"em": 1.0, "ph": 1 / 3}),))
    return f, lo, r, a, d
