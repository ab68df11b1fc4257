"""``GET /api/audit``: the audit log, newest first, with filters and keyset pages."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from sync.access.audit import AuditFilter, entries
from sync.errors import Invalid
from sync.web.api.auth import requires
from sync.web.api.blueprint import Blueprint
from sync.web.api.context import store
from sync.web.api.schemas import PageArgs, decode_cursor, encode_cursor, page_schema

blp = Blueprint("audit", __name__, description="Who changed what, and when")


class AuditEntrySchema(ma.Schema):
    """One change."""

    id = ma.fields.Integer(required=True)
    at = ma.fields.AwareDateTime(required=True)
    actor = ma.fields.String(required=True, metadata={"description": "the token's name (cli:<user> at a shell)"})
    role = ma.fields.String(required=True)
    via = ma.fields.String(required=True, metadata={"description": "api, console or cli"})
    action = ma.fields.String(required=True, metadata={"description": "e.g. token.create"})
    target_type = ma.fields.String(required=True)
    target_id = ma.fields.String(allow_none=True)
    summary = ma.fields.String(required=True, metadata={"description": "the action and what changed: old → new"})
    before = ma.fields.Raw(allow_none=True)
    after = ma.fields.Raw(allow_none=True)


class AuditArgs(PageArgs):
    """Filters of the audit log."""

    actor = ma.fields.String()
    action = ma.fields.String()
    target_type = ma.fields.String()
    target_id = ma.fields.String()
    since = ma.fields.AwareDateTime(metadata={"description": "entries at or after"})
    until = ma.fields.AwareDateTime(metadata={"description": "entries before"})


@blp.route("/audit")
class Audit(MethodView):
    """The audit log."""

    @requires("viewer")
    @blp.arguments(AuditArgs, location="query")
    @blp.response(200, page_schema(AuditEntrySchema, "AuditPage"))
    def get(self, args: dict) -> Any:
        """Changes, newest first."""
        before_id = decode_cursor(args.pop("cursor"))
        if before_id is not None and not isinstance(before_id, int):
            raise Invalid("the cursor is not one this list gave", {"cursor": "the `next` of a previous page"})
        limit = args.pop("limit")
        found = entries(store(), AuditFilter(**args, before_id=before_id), limit + 1)
        more = len(found) > limit
        return {"items": found[:limit], "next": encode_cursor(found[limit - 1].id) if more else None}
