"""Authentication of rq-dashboard at ``/rq``, safe from other origins (the API and ``/metrics``: ``api.auth``).

``mount_ops_surfaces`` is the one place that mounts it and installs the guard.

- The token: ``LIFESYNC_OPS_TOKEN`` as a Bearer token (scripts, curl) or as the password of
  HTTP basic auth (a browser opening the dashboard: the only client that needs it), compared in
  constant time. Without the setting the ops surfaces are not mounted at all.
- No state change on GET: a route that accepts POST is a state-changing one (rq-dashboard's
  ``/requeue/<queue>`` answers GET and POST and requeues on both); GET or HEAD on it is 405.
- Same origin for every state-changing request: a browser caches basic credentials and sends
  them with a form another site posts, so a request other than GET/HEAD/OPTIONS must name this
  server's own origin in ``Origin`` (else ``Referer``) — a foreign or ``null`` one is 403. A
  request naming neither is accepted only with the Bearer header, which no foreign page can make
  a browser send (it needs a CORS preflight that is never allowed); with basic auth it is 403.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, abort, request
from werkzeug.datastructures import WWWAuthenticate

from sync.connectors.signatures import matches

OPS_PREFIXES = ("/rq",)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
log = logging.getLogger(__name__)


def _presented() -> tuple[str | None, str | None]:
    """(scheme, credential): ``("bearer", token)``, ``("basic", password)`` or (None, None)."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return "bearer", header[7:].strip()
    if request.authorization and request.authorization.type == "basic" and request.authorization.password:
        return "basic", request.authorization.password
    return None, None


def _origin_of(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else None


def same_origin_problem(scheme: str | None) -> str | None:
    """Why a state-changing request may not come from where it says it comes from, or None."""
    own = _origin_of(request.host_url)
    origin = request.headers.get("Origin")
    if origin is not None:
        return None if _origin_of(origin) == own else f"Origin {origin[:100]!r} is not this server's"
    referer = request.headers.get("Referer")
    if referer is not None:
        return None if _origin_of(referer) == own else "the Referer is not this server's"
    if scheme == "bearer":
        return None
    return "a state-changing request with basic auth must carry this server's Origin (or Referer)"


def require_ops_token(app: Flask, token: str, prefixes: tuple[str, ...] = OPS_PREFIXES) -> None:
    """Guard every request under ``prefixes``: the token (401), no GET on a POST route (405), same origin (403)."""

    @app.before_request
    def _check() -> Any:
        if not request.path.startswith(prefixes):
            return None
        scheme, given = _presented()
        if not matches(token, given):
            abort(401, www_authenticate=WWWAuthenticate("basic", {"realm": "lifesync ops"}),
                  description="the ops surfaces need LIFESYNC_OPS_TOKEN (Bearer header, or basic-auth password)")
        rule = request.url_rule
        if request.method in SAFE_METHODS:
            if rule is not None and rule.methods and "POST" in rule.methods and request.method != "OPTIONS":
                abort(405, valid_methods=["POST"], description="this ops action changes state: POST it")
            return None
        problem = same_origin_problem(scheme)
        if problem:
            abort(403, description=f"refused: {problem} (cross-site requests to the ops surfaces are refused)")
        return None


def mount_ops_surfaces(app: Flask, redis_url: str | None, token: str | None) -> list[str]:
    """Mount rq-dashboard at ``/rq`` when it can be served, and guard it with ``token``.

    Without a token nothing is mounted; what is not mounted answers 404. Returns the prefixes mounted.
    """
    if not token or not mount_rq_dashboard(app, redis_url):
        return []
    require_ops_token(app, token, OPS_PREFIXES)
    return list(OPS_PREFIXES)


def mount_rq_dashboard(app: Flask, redis_url: str | None) -> bool:
    """Mount rq-dashboard at ``/rq`` when it is installed and Redis is real (``mount_ops_surfaces`` guards it)."""
    if not redis_url:
        return False
    try:
        import rq_dashboard
    except ImportError:  # asked for (a token is set), so say why /rq answers 404
        log.warning("LIFESYNC_OPS_TOKEN is set, but rq-dashboard is not installed: /rq is not served "
                    "(pip install 'lifesync[dashboard]')")
        return False
    app.config.from_object(rq_dashboard.default_settings)
    app.config["RQ_DASHBOARD_REDIS_URL"] = [redis_url]
    # rq-dashboard's own app factory does this: its routes without an instance number (the actions) use the
    # connection of the last page viewed, which a first request would not have (500)
    from rq_dashboard.web import setup_rq_connection

    setup_rq_connection(app)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix="/rq")
    return True
