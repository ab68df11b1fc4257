"""``/api/connections``: every connection with its health; queue a connection's sync, run its check.

The routes wrap ``sync.connectors.health`` (the list) and ``sync.connectors.operations`` (sync and
check, audit-logged): the same check as ``lifesync connections check``. A connection is named
``<kind>/<name>`` as the list gives it: ``hubspot/default``, ``whatsapp/salon2``,
``destination/meta-eu``.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from sync.connectors import health, operations
from sync.web.api.auth import requires
from sync.web.api.blueprint import Blueprint
from sync.web.api.context import config, jobs, principal, settings, store
from sync.web.api.schemas import list_schema

blp = Blueprint("connections", __name__, description="Connections (CRMs, webhook channels, respond.io, ad "
                                                     "destinations) and their health")


class EventSchema(ma.Schema):
    """When something last happened, and what was said."""

    at = ma.fields.AwareDateTime(required=True)
    message = ma.fields.String(allow_none=True, required=True,
                               metadata={"description": "a failure: the error, ending with the vendor's message"})


class CountsSchema(ma.Schema):
    """Over the last 24 hours."""

    records_in = ma.fields.Integer(required=True, metadata={"description": "records pulled plus webhook events"})
    records_out = ma.fields.Integer(required=True, metadata={"description": "records delivered to it"})
    errors = ma.fields.Integer(required=True, metadata={"description": "failed runs, dead events and refusals"})
    refused_values = ma.fields.Integer(required=True, metadata={
        "description": "values of its source's records first refused (data-quality issues: GET /api/reports/quality)"})


class RateLimitSchema(ma.Schema):
    """The last finished sync run's use of the vendor's API."""

    api_calls = ma.fields.Integer(required=True)
    waits = ma.fields.Integer(required=True, metadata={"description": "times it waited for the rate limit"})
    wait_seconds = ma.fields.Float(required=True)
    quota_reached = ma.fields.Boolean(required=True, metadata={"description": "it stopped at its API quota"})


class NextRunSchema(ma.Schema):
    """The schedule.yaml entry doing this connection's work."""

    schedule = ma.fields.String(required=True)
    every = ma.fields.Integer(allow_none=True, required=True)
    cron = ma.fields.String(allow_none=True, required=True)
    at = ma.fields.AwareDateTime(allow_none=True, required=True,
                                 metadata={"description": "next run, when known (cron; interval after a run)"})


class ConnectionHealthSchema(ma.Schema):
    """One connection and its health."""

    kind = ma.fields.String(required=True, metadata={"description": "hubspot, salesforce, whatsapp, messenger, "
                                                     "instagram, tiktok, twilio, generic, respondio, destination"})
    name = ma.fields.String(required=True)
    category = ma.fields.String(required=True, metadata={"description": "crm, channel, messaging or destination"})
    network = ma.fields.String(allow_none=True, required=True, metadata={"description": "a destination's network"})
    configured = ma.fields.Boolean(required=True)
    last_success = ma.fields.Nested(EventSchema, allow_none=True, required=True)
    last_failure = ma.fields.Nested(EventSchema, allow_none=True, required=True)
    running_since = ma.fields.AwareDateTime(allow_none=True, required=True)
    cursor = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Raw(), allow_none=True, required=True,
                            metadata={"description": "a CRM connection's cursor per object"})
    last_24h = ma.fields.Nested(CountsSchema, required=True)
    rate_limit = ma.fields.Nested(RateLimitSchema, allow_none=True, required=True)
    next_run = ma.fields.Nested(NextRunSchema, allow_none=True, required=True)
    last_webhook_at = ma.fields.AwareDateTime(allow_none=True, required=True)


ConnectionList = list_schema(ConnectionHealthSchema, "ConnectionList")


class SyncQueuedSchema(ma.Schema):
    """The job doing the sync."""

    job_id = ma.fields.String(required=True)
    queued = ma.fields.Boolean(required=True, metadata={"description": "false: that job was already pending"})
    task = ma.fields.String(required=True)


class CheckResultSchema(ma.Schema):
    """The connection check's answer."""

    connection = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    status = ma.fields.String(required=True, metadata={"description": "ok, failed or skipped"})
    detail = ma.fields.String(required=True, metadata={"description": "what it saw, or the vendor's message"})


@blp.route("/connections")
class Connections(MethodView):
    """Every connection."""

    @requires("viewer")
    @blp.response(200, ConnectionList)
    def get(self) -> Any:
        """Every connection, configured or not, with its health."""
        return {"items": health.connections(store(), settings(), config())}


@blp.route("/connections/<kind>/<name>")
class Connection(MethodView):
    """One connection."""

    @requires("viewer")
    @blp.response(200, ConnectionHealthSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, kind: str, name: str) -> Any:
        """One connection's health."""
        return health.connection(store(), settings(), config(), kind, name)


@blp.route("/connections/<kind>/<name>/sync")
class ConnectionSync(MethodView):
    """Sync now."""

    @requires("operator")
    @blp.response(202, SyncQueuedSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def post(self, kind: str, name: str) -> Any:
        """Queue the connection's sync (a CRM pull and write-back, respond.io or conversion dispatch); audit-logged.

        Asking again while that job is pending queues nothing more (`queued: false`).
        """
        return operations.request_sync(store(), settings(), config(), principal(), kind, name, jobs().enqueue)


@blp.route("/connections/<kind>/<name>/check")
class ConnectionCheck(MethodView):
    """Test the connection."""

    @requires("operator")
    @blp.response(200, CheckResultSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, kind: str, name: str) -> Any:
        """Make the connection's cheap authenticated call (`lifesync connections check`); audit-logged."""
        return operations.check(store(), settings(), config(), principal(), kind, name)
