"""``GET /api/alerts``: incidents of the alert rules (``sync.alerts``), newest first; open ones only on request."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from sync.alerts.incidents import list_incidents
from sync.web.api.auth import requires
from sync.web.api.blueprint import Blueprint
from sync.web.api.context import store
from sync.web.api.schemas import MAX_LIMIT, list_schema

blp = Blueprint("alerts", __name__, description="Incidents of the alert rules (config/alerts.yaml)")


class IncidentSchema(ma.Schema):
    """One incident: a rule firing for one subject, from when it opened until it resolved."""

    id = ma.fields.Integer(required=True)
    rule = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    subject = ma.fields.String(required=True)
    summary = ma.fields.String(required=True)
    opened_at = ma.fields.AwareDateTime(required=True)
    resolved_at = ma.fields.AwareDateTime(allow_none=True)


class IncidentArgs(ma.Schema):
    """Which incidents."""

    open = ma.fields.Boolean(load_default=False, metadata={"description": "only those not resolved"})
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(1, MAX_LIMIT))


IncidentList = list_schema(IncidentSchema, "IncidentList")


@blp.route("/alerts")
class Alerts(MethodView):
    """Alert incidents."""

    @requires("viewer")
    @blp.arguments(IncidentArgs, location="query")
    @blp.response(200, IncidentList)
    def get(self, args: dict) -> Any:
        """Incidents, newest first."""
        return {"items": list_incidents(store(), open_only=args["open"], limit=args["limit"])}
