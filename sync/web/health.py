"""``/healthz`` (the process answers) and ``/readyz`` (database and queue reachable)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from sync.store.outage import RETRY_AFTER_SECONDS

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    """The process is up."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Any:
    """The database and the job queue answer; 503 naming the one that does not."""
    ext = current_app.extensions["lifesync"]
    checks = {}
    try:
        with ext["store"].engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # report, never crash the probe
        checks["database"] = f"unreachable ({type(exc).__name__})"
    if ext["queue"] is not None:
        try:
            ext["queue"].ping()
            checks["queue"] = "ok"
        except Exception as exc:
            checks["queue"] = f"unreachable ({type(exc).__name__})"
    ok = all(v == "ok" for v in checks.values())
    if ok:
        return jsonify(status="ok", checks=checks)
    return jsonify(status="unavailable", checks=checks), 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}
