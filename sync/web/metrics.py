"""``GET /metrics``: Prometheus text format (``sync.metrics``), for any API token (``sync.web.api.auth``)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from sync.metrics.exposition import CONTENT_TYPE, render
from sync.web.api.auth import requires

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
@requires("viewer")
def metrics() -> Response:
    """Every figure, read now."""
    return Response(render(current_app.extensions["lifesync"]["store"]), content_type=CONTENT_TYPE)
