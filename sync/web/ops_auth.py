"""Authentication of the ops surfaces (``/rq`` today): ``LIFESYNC_OPS_TOKEN`` as a Bearer token
or as the password of HTTP basic auth, compared in constant time. Without the setting the ops
surfaces are not mounted at all.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, abort, request
from werkzeug.datastructures import WWWAuthenticate

from sync.connectors.signatures import matches

OPS_PREFIXES = ("/rq",)
log = logging.getLogger(__name__)


def _presented() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    if request.authorization and request.authorization.password:
        return request.authorization.password
    return None


def require_ops_token(app: Flask, token: str) -> None:
    """Refuse every request under an ops prefix that lacks the token (401 with a challenge)."""

    @app.before_request
    def _check() -> Any:
        if not request.path.startswith(OPS_PREFIXES):
            return None
        given = _presented()
        if not matches(token, given):
            abort(401, www_authenticate=WWWAuthenticate("basic", {"realm": "lifesync ops"}),
                  description="the ops surfaces need LIFESYNC_OPS_TOKEN (Bearer, or basic-auth password)")
        return None


def mount_rq_dashboard(app: Flask, redis_url: str | None, token: str | None) -> bool:
    """Mount rq-dashboard at ``/rq`` when it is installed, Redis is real and an ops token is set."""
    if not token or not redis_url:
        return False
    try:
        import rq_dashboard
    except ImportError:  # asked for (a token is set), so say why /rq answers 404
        log.warning("LIFESYNC_OPS_TOKEN is set, but rq-dashboard is not installed: /rq is not served "
                    "(pip install 'lifesync[dashboard]')")
        return False
    app.config.from_object(rq_dashboard.default_settings)
    app.config["RQ_DASHBOARD_REDIS_URL"] = [redis_url]
    require_ops_token(app, token)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix="/rq")
    return True
