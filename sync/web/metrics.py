"""``GET /metrics``: Prometheus text format (``sync.metrics``), behind the ops guard (``sync.web.ops_auth``)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from sync.metrics.exposition import CONTENT_TYPE, render

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    """Every figure, read now."""
    return Response(render(current_app.extensions["lifesync"]["store"]), content_type=CONTENT_TYPE)
