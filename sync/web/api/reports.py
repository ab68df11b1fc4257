"""``GET /api/reports/<name>``: the lifecycle reports as JSON, over a date range.

The same functions as ``lifesync report <name> --json`` (``sync.reports.REPORTS``) with the same
window: ``since`` and ``until`` take what ``--from`` and ``--to`` take (an ISO date or date-time;
a bare date as ``until`` includes that whole day; ``sync.reports.window.parse_moment``), so the
answer equals the CLI's JSON for the same window. The attribution report names campaigns from
the ``ad_names`` cache as it stands: a GET calls no ad network (the CLI looks names up first,
and so does the ``resolve_ad_names`` job, hourly). ``brand`` scopes a report to one brand
(``--brand``); a token limited to brands may only ask for its own (``sync.web.api.brand_access``).
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from sync.quality.report import QualityReport
from sync.reports import REPORTS
from sync.reports.attribution import AttributionReport
from sync.reports.delivery import DeliveryReport
from sync.reports.funnel import FunnelReport
from sync.reports.lost import LostReport
from sync.reports.response import ResponseReport
from sync.reports.retention import DEFAULT_INACTIVE_DAYS, MAX_INACTIVE_DAYS, RetentionReport
from sync.reports.window import check_window, parse_moment
from sync.web.api.auth import requires
from sync.web.api.blueprint import Blueprint
from sync.web.api.brand_access import scoped_brand
from sync.web.api.context import config, store
from sync.web.api.schemas import dataclass_schema

blp = Blueprint("reports", __name__, description="Funnel, lost, response, attribution, delivery, retention and "
                                                "data-quality reports")

SHAPES: dict[str, type] = {"funnel": FunnelReport, "lost": LostReport, "response": ResponseReport,
                           "attribution": AttributionReport, "delivery": DeliveryReport,
                           "retention": RetentionReport, "quality": QualityReport}


class Moment(ma.fields.Field):
    """An ISO date or date-time, read as ``lifesync report`` reads ``--from`` / ``--to``."""

    def __init__(self, *, end: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.end = end

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            return parse_moment(str(value), end=self.end)
        except ValueError as exc:
            raise ma.ValidationError(str(exc)) from None


class WindowArgs(ma.Schema):
    """The report's window, half-open: ``since <= at < until``; either end optional."""

    since = Moment(load_default=None, metadata={
        "description": "start, inclusive: an ISO date (2026-03-01) or date-time (2026-03-01T08:00:00+02:00)",
        "type": "string"})
    until = Moment(end=True, load_default=None, metadata={
        "description": "end, exclusive; a bare date includes that whole day (2026-03-31 = until 2026-04-01T00:00Z)",
        "type": "string"})
    brand = ma.fields.String(load_default=None, metadata={
        "description": "one brand's report (brands.yaml); funnel, lost and response default to the default brand, "
                       "attribution and delivery to every brand"})

    @ma.validates_schema
    def _ordered(self, data: dict[str, Any], **kwargs: Any) -> None:
        try:
            check_window(data.get("since"), data.get("until"))
        except ValueError as exc:
            raise ma.ValidationError(str(exc), "since") from None


class RetentionArgs(WindowArgs):
    """The window, and how long without activity a customer counts as churned."""

    inactive_days = ma.fields.Integer(load_default=DEFAULT_INACTIVE_DAYS, validate=ma.validate.Range(
        1, MAX_INACTIVE_DAYS, error=f"expected a whole number of days from 1 to {MAX_INACTIVE_DAYS}"),
        metadata={"description": "a customer with no message (either way) or conversion for this many days before "
                                 "the window's end counts as churned (`--inactive-days`)"})


# A report's own query arguments, beyond the window (the CLI's ``sync.cli.reports.OPTIONS``).
ARGS: dict[str, type[WindowArgs]] = {"retention": RetentionArgs}


def _route(name: str, shape: type) -> None:
    compute = REPORTS[name]

    class Report(MethodView):
        @requires("viewer", brand_scoped=True)
        @blp.arguments(ARGS.get(name, WindowArgs), location="query")
        @blp.response(200, dataclass_schema(shape))
        def get(self, window: dict[str, Any]) -> Any:
            args = dict(window)
            brand = scoped_brand(config(), args.pop("brand"))
            start, end = args.pop("since"), args.pop("until")
            return compute(store(), config(), start=start, end=end, brand=brand, **args).as_dict()

    Report.get.__doc__ = (compute.__doc__ or name).splitlines()[0]
    Report.__name__ = f"{name.title()}Report"
    blp.route(f"/reports/{name}", endpoint=f"report_{name}")(Report)


for _name, _shape in SHAPES.items():
    _route(_name, _shape)
