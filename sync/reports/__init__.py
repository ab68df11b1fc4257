"""Read-only lifecycle reports over the canonical model (DESIGN §0, §6).

Each report is a function ``(session_or_store, config, *, start=None, end=None)`` returning
a frozen dataclass with ``.as_dict()``; the CLI (``lifesync report``) and the ops API share
them. Windows are half-open, ``start <= at < end`` (``sync.reports.window``).

- ``funnel``       entered / current / moved on / median time per active stage
- ``lost``         lost stages apart: by stage, by the stage lost from, who came back
- ``response``     first-response time buckets vs the share that ended lost
- ``attribution``  conversions and value by campaign / ad / channel / network, first and last touch
- ``delivery``     per destination: sent / failed / dead / pending, click-id and hashed-key shares
- ``retention``    customers acquired in the window: repeat-purchase rate, CLV by cohort and first-touch
                   campaign, churn (no activity for ``inactive_days``), monthly cohort retention
- ``quality``      data quality: invalid or missing e-mails and phones, values refused, contacts without
                   a stage, issues per day (``sync.quality.report``: a list of sections)

``write_html`` (``sync.reports.html``) renders funnel, lost, response, attribution, retention (and
delivery) as one self-contained HTML file with inline SVG charts; ``sync.cli.reports``
holds ``register(main)`` for the ``lifesync report`` command group.

The functions are exported under their modules' names (``sync.reports.funnel`` here is the
function); import the dataclasses from the modules: ``from sync.reports.funnel import StageRow``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sync.reports.attribution import AttributionReport, attribution
from sync.reports.delivery import DeliveryReport, delivery
from sync.reports.funnel import FunnelReport, funnel
from sync.reports.lost import LostReport, lost
from sync.reports.response import ResponseReport, response
from sync.reports.retention import RetentionReport, retention

if TYPE_CHECKING:
    from sync.quality.report import QualityReport


def quality(session_or_store: Any, config: Any, *, start: Any = None, end: Any = None,
            brand: str | None = None) -> QualityReport:
    """Data quality: invalid or missing e-mails and phones, values refused, contacts without a stage, trend.

    ``sync.quality.report.quality``, imported when called: that module builds on ``sync.reports.window``.
    """
    from sync.quality.report import quality as build

    return build(session_or_store, config, start=start, end=end, brand=brand)


REPORTS = {"funnel": funnel, "lost": lost, "response": response, "attribution": attribution, "delivery": delivery,
           "retention": retention, "quality": quality}

__all__ = [
    "REPORTS",
    "AttributionReport",
    "DeliveryReport",
    "FunnelReport",
    "LostReport",
    "ResponseReport",
    "RetentionReport",
    "attribution",
    "delivery",
    "funnel",
    "lost",
    "quality",
    "response",
    "retention",
]
