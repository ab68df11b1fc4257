"""The audit log: who changed what, newest first, with filters and older pages."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from sync.access.audit import AuditFilter, entries
from sync.web.api.context import store
from sync.web.console.blueprint import bp, page

PAGE_SIZE = 50
FILTERS = ("actor", "action", "target_type", "target_id")


@bp.route("/audit")
@page("viewer")
def audit() -> Any:
    """A page of the audit log; ``before`` (an entry id) pages back."""
    chosen = {name: value.strip()[:255] for name in FILTERS if (value := request.args.get(name, "")).strip()}
    before = request.args.get("before", "")
    before_id = int(before) if before.isdigit() and 0 < len(before) < 19 else None
    found = entries(store(), AuditFilter(**chosen, before_id=before_id), PAGE_SIZE + 1)
    older = found[PAGE_SIZE - 1].id if len(found) > PAGE_SIZE else None
    return render_template("console/audit.html", entries=found[:PAGE_SIZE], chosen=chosen, older=older)
